/**
 * Typed failures of the signalling session: the `SignallingError` family of src/errors.ts,
 * re-exported with a guard that narrows to its codes.
 */
import { SignallingError, type SignallingErrorCode } from '../../errors.js';

export { SignallingError };
export type { SignallingErrorCode };

export function isSignallingError(e: unknown, code?: SignallingErrorCode): e is SignallingError {
  return e instanceof SignallingError && (code === undefined || e.code === code);
}
