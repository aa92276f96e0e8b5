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
  | 'ERR_AEAD_AUTH_FAILED'
  | 'ERR_CRYPTO_WORKER';

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

/** Codes of KMS messages and provisioning (TS 33.179 7.2, Annex D and the security extension). */
export type KmsErrorCode =
  | 'ERR_KMS_MALFORMED'
  | 'ERR_KMS_DOCTYPE_REFUSED'
  | 'ERR_KMS_TOO_LARGE'
  | 'ERR_KMS_UNSUPPORTED'
  | 'ERR_KMS_BAD_SIGNATURE'
  | 'ERR_KMS_UNKNOWN_TRANSPORT_KEY'
  | 'ERR_KMS_ERROR_RESPONSE'
  | 'ERR_KMS_UNREACHABLE'
  | 'ERR_KMS_HTTP'
  | 'ERR_KMS_INVALID_CERTIFICATE'
  | 'ERR_KMS_CERTIFICATE_EXPIRED'
  | 'ERR_KMS_CERTIFICATE_REVOKED'
  | 'ERR_KMS_INVALID_KEY_SET'
  | 'ERR_KMS_WRONG_IDENTITY';

/** Codes of login and tokens (TS 33.179 5.5, Annex B). */
export type AuthErrorCode =
  | 'ERR_AUTH_LOGIN_FAILED'
  | 'ERR_AUTH_NOT_LOGGED_IN'
  | 'ERR_AUTH_NO_MCPTT_ID'
  | 'ERR_AUTH_INVALID_TOKEN'
  | 'ERR_AUTH_REFRESH_FAILED';

/** Codes of the key store (IndexedDB). */
export type StoreErrorCode = 'ERR_STORE_UNAVAILABLE' | 'ERR_STORE_CORRUPT' | 'ERR_STORE_VERSION';

/** Codes of SIP bodies and the SIP user agent (TS 33.179 5.6.2, 7.3.2, 9.1.3.2; RFC 3261). */
export type SipErrorCode =
  | 'ERR_SIP_BODY_MALFORMED'
  | 'ERR_SIP_BODY_TOO_LARGE'
  | 'ERR_SIP_BODY_UNSUPPORTED'
  | 'ERR_SIP_BODY_MISSING_PART'
  | 'ERR_SIP_TRANSPORT'
  | 'ERR_SIP_REGISTRATION_REJECTED'
  | 'ERR_SIP_REQUEST_FAILED'
  | 'ERR_SIP_INVALID_STATE'
  | 'ERR_SIP_STOPPED'
  | 'ERR_GROUP_CALL_REFUSED';

/** Codes of the MCPTT signalling session (service authorization, group keys, private calls). */
export type SignallingErrorCode =
  | 'ERR_SIGNALLING_NO_IDENTITY'
  | 'ERR_SIGNALLING_INVALID_STATE'
  | 'ERR_GMS_UNREACHABLE'
  | 'ERR_GMS_HTTP'
  | 'ERR_GMS_MALFORMED'
  | 'ERR_CALL_NOT_ESTABLISHED'
  | 'ERR_GROUP_CALL_NO_KEY' | 'ERR_GROUP_CALL_NO_FLOOR_KEY' | 'ERR_GROUP_CALL_NO_E2EE' | 'ERR_GROUP_CALL_SETUP' | 'ERR_GROUP_CALL_ENDED';

/** Codes of the media frame format, key ring and E2EE worker (TS 33.179 7.5, 7.6). */
export type MediaErrorCode =
  | 'ERR_MEDIA_NO_KEY'
  | 'ERR_MEDIA_UNKNOWN_KEY'
  | 'ERR_MEDIA_KEY_EXPIRED'
  | 'ERR_MEDIA_KEY_CONFLICT'
  | 'ERR_MEDIA_AUTH_FAILED'
  | 'ERR_MEDIA_REPLAY'
  | 'ERR_MEDIA_MALFORMED'
  | 'ERR_MEDIA_UNENCRYPTED'
  | 'ERR_MEDIA_WRONG_PURPOSE'
  | 'ERR_MEDIA_WORKER';

/** Codes of XML content protection with the CSK/XPK (TS 33.179 9.3). */
export type XmlProtectErrorCode =
  | 'ERR_XML_PROTECT_MALFORMED'
  | 'ERR_XML_PROTECT_AUTH_FAILED'
  | 'ERR_XML_PROTECT_BAD_SIGNATURE'
  | 'ERR_XML_PROTECT_UNKNOWN_KEY'
  | 'ERR_XML_PROTECT_NOT_ALLOWED'
  | 'ERR_XML_PROTECT_REQUIRED';

/** Codes of floor control: MBCP (TS 24.380 8.2), its SRTCP protection (TS 33.179 7.6), the floor state machines. */
export type FloorErrorCode =
  | 'ERR_FLOOR_MALFORMED'
  | 'ERR_FLOOR_UNPROTECTED'
  | 'ERR_FLOOR_UNKNOWN_KEY'
  | 'ERR_FLOOR_AUTH_FAILED'
  | 'ERR_FLOOR_REPLAY'
  | 'ERR_FLOOR_BAD_SSRC'
  | 'ERR_FLOOR_INDEX_EXHAUSTED'
  | 'ERR_FLOOR_WRONG_PURPOSE'
  | 'ERR_FLOOR_DENIED'
  | 'ERR_FLOOR_TIMEOUT'
  | 'ERR_FLOOR_CANCELLED'
  | 'ERR_FLOOR_INVALID_STATE';

export type McpttErrorCode =
  | FloorErrorCode
  | CryptoErrorCode
  | MikeyErrorCode
  | KmsErrorCode
  | AuthErrorCode
  | StoreErrorCode
  | SipErrorCode
  | SignallingErrorCode
  | MediaErrorCode
  | XmlProtectErrorCode;

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

/** What a KMS said in its `KmsError` element (Annex D.3.4.1): show it, never trust it. */
export interface KmsServerError {
  readonly errorCode: number;
  readonly errorMsg: string;
}

/** Failures of KMS messages, their security extension, and provisioning. */
export class KmsError extends McpttError {
  declare readonly code: KmsErrorCode;
  /** Set only for `ERR_KMS_ERROR_RESPONSE`. */
  readonly serverError: KmsServerError | undefined;

  constructor(code: KmsErrorCode, message: string, options?: McpttErrorOptions & { readonly serverError?: KmsServerError }) {
    super(code, message, options);
    this.serverError = options?.serverError;
  }
}

/** Failures of login and tokens. */
export class AuthError extends McpttError {
  declare readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, message: string, options?: McpttErrorOptions) {
    super(code, message, options);
  }
}

/** Failures of the key store. */
export class StoreError extends McpttError {
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: McpttErrorOptions) {
    super(code, message, options);
  }
}

/** Failures of SIP bodies and of the SIP user agent. */
export class SipError extends McpttError {
  declare readonly code: SipErrorCode;
  /** Set when a SIP response caused the failure (e.g. 403, 488, 408 for a timeout). */
  readonly statusCode: number | undefined;

  constructor(code: SipErrorCode, message: string, options?: McpttErrorOptions & { readonly statusCode?: number }) {
    super(code, message, options);
    this.statusCode = options?.statusCode;
  }
}

/** Failures of the MCPTT signalling session and of the group configuration pull. */
export class SignallingError extends McpttError {
  declare readonly code: SignallingErrorCode;
  /** Set for `ERR_GMS_HTTP`. */
  readonly httpStatus: number | undefined;

  constructor(code: SignallingErrorCode, message: string, options?: McpttErrorOptions & { readonly httpStatus?: number }) {
    super(code, message, options);
    this.httpStatus = options?.httpStatus;
  }
}

/** Failures of the media frame format, the key ring and the E2EE worker. */
export class MediaError extends McpttError {
  declare readonly code: MediaErrorCode;

  constructor(code: MediaErrorCode, message: string, options?: McpttErrorOptions) {
    super(code, message, options);
  }
}

/** Failures of XML encryption and signatures under the CSK/XPK. */
export class XmlProtectError extends McpttError {
  declare readonly code: XmlProtectErrorCode;

  constructor(code: XmlProtectErrorCode, message: string, options?: McpttErrorOptions) {
    super(code, message, options);
  }
}

/** Failures of floor control; `refusal` carries the TS 24.380 Reject Cause of ERR_FLOOR_DENIED. */
export class FloorError extends McpttError {
  declare readonly code: FloorErrorCode;
  readonly refusal: { readonly cause: number; readonly text: string | undefined } | undefined;

  constructor(code: FloorErrorCode, message: string, options?: McpttErrorOptions & { readonly refusal?: { readonly cause: number; readonly text: string | undefined } }) {
    super(code, message, options);
    this.refusal = options?.refusal;
  }
}

/** True when `e` is an `McpttError` carrying `code`; handy in `catch` blocks and tests. */
export function isMcpttError(e: unknown, code?: McpttErrorCode): e is McpttError {
  return e instanceof McpttError && (code === undefined || e.code === code);
}
