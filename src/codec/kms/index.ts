/**
 * KMS message codec, TS 33.179 Annex D with the KMS security extension of the change request:
 * request URIs and signed request bodies, responses (KmsInit, KmsKeyProv, KmsCertCache,
 * KmsError), HMAC-SHA-256 XML signatures and AES-256 key wrap of key material. Pure: no I/O.
 */
export { parseKmsResponse, buildKmsResponse } from './response.js';
export type {
  ParseKmsResponseOptions,
  BuildKmsResponseOptions,
  KmsResponseInput,
  KmsResponseSecurity,
  KmsMessageInput,
  KmsKeySetInput,
} from './response.js';
export { buildKmsRequest, parseKmsRequest, kmsRequestPath, parseKmsRequestPath, ntpTimestamp } from './request.js';
export type { BuildKmsRequestOptions, BuiltKmsRequest, KmsRequestInput, KmsRequestSecurity, ParseKmsRequestOptions } from './request.js';
export { verifyHmacEnvelope, signHmacEnvelope } from './dsig.js';
export type { TransportKeyLookup, HmacSignOptions, VerifyEnvelopeInput } from './dsig.js';
export { kmsDateTime, parseKmsDateTime, decodeBase64, encodeBase64, decodeHexBinary, encodeHexBinary } from './encoding.js';
export { KmsError, isKmsError } from './errors.js';
export type { KmsErrorCode, KmsServerError } from './errors.js';
export * from './constants.js';
export type * from './types.js';
