/**
 * Typed errors of the SDK (CONVENTIONS 4).
 *
 * Every failure a caller can meet on hostile input is an `McpttError` with a stable `code`
 * string; misuse of the API (a number where bytes belong) stays a `TypeError`/`RangeError`.
 * Messages name what failed, never a secret value: no keys, SSVs, tokens or MCPTT IDs.
 */

/** Codes of the crypto layer (RFC 6507, RFC 6508, key derivations, key wrap, AEAD). */
export type CryptoErrorCode =
  | 'ERR_CRYPTO_BAD_LENGTH'
  | 'ERR_CRYPTO_BAD_POINT_ENCODING'
  | 'ERR_CRYPTO_POINT_NOT_ON_CURVE'
  | 'ERR_CRYPTO_POINT_NOT_IN_SUBGROUP'
  | 'ERR_CRYPTO_SCALAR_OUT_OF_RANGE'
  | 'ERR_SAKKE_INVALID_RECEIVER_KEY'
  | 'ERR_SAKKE_DECAPSULATION_FAILED'
  | 'ERR_ECCSI_INVALID_SIGNING_KEY'
  | 'ERR_ECCSI_SIGNING_FAILED'
  | 'ERR_KEY_UNWRAP_FAILED'
  | 'ERR_AEAD_AUTH_FAILED';

/** Codes of MIKEY parsing and processing (RFC 3830, RFC 6509, TS 33.179 Annex E). */
export type MikeyErrorCode =
  | 'ERR_MIKEY_MALFORMED'
  | 'ERR_MIKEY_UNSUPPORTED'
  | 'ERR_MIKEY_STALE'
  | 'ERR_MIKEY_REPLAY'
  | 'ERR_MIKEY_UNKNOWN_INITIATOR'
  | 'ERR_MIKEY_BAD_SIGNATURE'
  | 'ERR_MIKEY_UNAUTHORIZED_INITIATOR'
  | 'ERR_MIKEY_NOT_FOR_US'
  | 'ERR_MIKEY_NO_KEY_FOR_PERIOD'
  | 'ERR_MIKEY_DECAPSULATION_FAILED'
  | 'ERR_MIKEY_DUPLICATE_KEY'
  | 'ERR_MIKEY_BAD_GMK_PARAMETERS'
  | 'ERR_MIKEY_GROUP_MISMATCH'
  | 'ERR_MIKEY_WRONG_PURPOSE';

export type McpttErrorCode = CryptoErrorCode | MikeyErrorCode;

export interface McpttErrorOptions {
  readonly cause?: unknown;
}

/** Base class: `instanceof McpttError` catches every typed failure of the SDK. */
export class McpttError extends Error {
  readonly code: McpttErrorCode;

  constructor(code: McpttErrorCode, message: string, options?: McpttErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** Failures of the pure crypto layer. */
export class CryptoError extends McpttError {
  declare readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options?: McpttErrorOptions) {
    super(code, message, options);
  }
}

/** Failures of MIKEY decoding and I_MESSAGE processing. */
export class MikeyError extends McpttError {
  declare readonly code: MikeyErrorCode;

  constructor(code: MikeyErrorCode, message: string, options?: McpttErrorOptions) {
    super(code, message, options);
  }
}

/** True when `e` is an `McpttError` carrying `code`; handy in `catch` blocks and tests. */
export function isMcpttError(e: unknown, code?: McpttErrorCode): e is McpttError {
  return e instanceof McpttError && (code === undefined || e.code === code);
}
