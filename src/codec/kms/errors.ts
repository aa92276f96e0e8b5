/**
 * Typed failures of the KMS codec (TS 33.179 Annex D and the security extension) and of the
 * strict XML parser beneath it: the `KmsError` family of src/errors.ts.
 */
import { KmsError, type KmsErrorCode } from '../../errors.js';

export { KmsError };
export type { KmsErrorCode, KmsServerError } from '../../errors.js';

/** True when `e` is a `KmsError`, optionally with the given code. */
export function isKmsError(e: unknown, code?: KmsErrorCode): e is KmsError {
  return e instanceof KmsError && (code === undefined || e.code === code);
}
