/**
 * Typed failures of the SIP layer: the `SipError` family of src/errors.ts, re-exported here
 * with a guard that narrows to the SIP codes.
 */
import { SipError, type McpttErrorOptions, type SipErrorCode } from '../../errors.js';

export { SipError };
export type { SipErrorCode };

export interface SipErrorOptions extends McpttErrorOptions {
  /** The SIP status code that caused the failure, when one did. */
  readonly statusCode?: number;
}

/** True when `e` is a `SipError`, optionally with the given code. */
export function isSipError(e: unknown, code?: SipErrorCode): e is SipError {
  return e instanceof SipError && (code === undefined || e.code === code);
}
