/**
 * Typed failures of end-to-end media protection: the encrypted frame (the SDK's carrying over
 * of TS 33.179 7.5 SRTP into WebRTC encoded frames), the media key ring and the E2EE worker.
 *
 * `MediaError` lives with the other families in src/errors.ts; this file re-exports it with the
 * list of codes that the worker protocol validates and a narrowing guard.
 */
import { MediaError, type MediaErrorCode } from '../errors.js';

export { MediaError };
export type { MediaErrorCode };

/** Every media code, for validating codes that cross the worker boundary. */
export const MEDIA_ERROR_CODES: readonly MediaErrorCode[] = Object.freeze([
  'ERR_MEDIA_NO_KEY',
  'ERR_MEDIA_UNKNOWN_KEY',
  'ERR_MEDIA_KEY_EXPIRED',
  'ERR_MEDIA_KEY_CONFLICT',
  'ERR_MEDIA_AUTH_FAILED',
  'ERR_MEDIA_REPLAY',
  'ERR_MEDIA_MALFORMED',
  'ERR_MEDIA_UNENCRYPTED',
  'ERR_MEDIA_WRONG_PURPOSE',
  'ERR_MEDIA_WORKER',
]);

/** True when `e` is a `MediaError`, optionally with the given code. */
export function isMediaError(e: unknown, code?: MediaErrorCode): e is MediaError {
  return e instanceof MediaError && (code === undefined || e.code === code);
}

/** The code of a `MediaError`. */
export function mediaErrorCode(e: MediaError): MediaErrorCode {
  return e.code;
}
