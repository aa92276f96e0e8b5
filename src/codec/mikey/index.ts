/**
 * MIKEY-SAKKE codec (RFC 3830, RFC 6043, RFC 6509; TS 33.179 Annex E): decode and encode
 * I_MESSAGEs byte-exactly, the E.5/E.6 General Extensions, and a text rendering. Pure: no I/O
 * except Web Crypto for the E.6 parameter ciphers. Named exports only.
 */
export * from './constants.js';
export type { DecodeStats } from './reader.js';
export { MikeyReader } from './reader.js';
export { MikeyWriter } from './writer.js';
export type { CommonHeader, CsIdMap, GenericIdEntry, SrtpIdEntry } from './header.js';
export { readCommonHeader, writeCommonHeader } from './header.js';
export type {
  CertPayload,
  GeneralExtensionPayload,
  IdPayload,
  IdrPayload,
  MikeyPayload,
  PayloadKind,
  RandPayload,
  SakkePayload,
  SignPayload,
  SpParam,
  SpPayload,
  TimestampPayload,
} from './payloads.js';
export { PAYLOAD_TYPE_OF_KIND, ntpTimeOf, ntpUtcTimestamp, readPayload, writePayload } from './payloads.js';
export type { SrtpPolicyValue } from './sp.js';
export { GMK_DEFAULT_SRTP_PROFILE, PCK_DEFAULT_SRTP_PROFILE, spParamMap, srtpSecurityPolicy } from './sp.js';
export type {
  DecodedIMessage,
  DecodeOptions,
  IMessage,
  PayloadSpan,
  SignOptions,
  UnsignedIMessage,
} from './imessage.js';
export { decodeIMessage, encodeIMessage, encodeIMessageBytes, findIdr } from './imessage.js';
export { decodeSakkeToSelf, extensionsOfType, sakkeToSelfExtension } from './extensions.js';
export type { GmkParameters, GmkParametersEncodeOptions } from './gmk-params.js';
export {
  decodeGmkParametersPlaintext,
  decryptGmkParameters,
  encodeGmkParametersPlaintext,
  encryptGmkParameters,
  gmkParametersExtension,
} from './gmk-params.js';
export type {
  KeyParameterGroupId,
  KeyParameters,
  KeyParametersExtension,
  KeyParametersProtectOptions,
  ProtectedKeyParameters,
} from './key-params.js';
export {
  KEY_PARAMETER_STATUS,
  KEY_PARAMETER_TYPE,
  PROTECTED_PAYLOAD_AES_128_GCM,
  decodeKeyParametersExtension,
  decodeKeyParametersPlaintext,
  decryptKeyParameters,
  encodeKeyParametersPlaintext,
  encryptKeyParameters,
  keyParametersExtension,
} from './key-params.js';
export type { DescribeOptions } from './describe.js';
export { describeIMessage } from './describe.js';
