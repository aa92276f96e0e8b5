/**
 * TS 33.179 clause 9.3: protection of XML content with the XPK (CSK between client and server,
 * SPK between servers), pure core: 9.3.2 allow-list, 9.3.4 XML encryption (aes128-gcm,
 * Type Content), 9.3.5 XML signature (HMAC-SHA-256/128, C14N 1.0, one #id Reference).
 * Keys derive from the XPK per F.1.4 (src/crypto xpkKeys). mcptt-info.ts and bodies.ts apply
 * it to the mcpttinfo parts of the SIP bodies (service authorization, GMK notification, calls).
 */
export { protectXmlElements, unprotectXmlElements } from './encrypt.js';
export type { ProtectXmlOptions, UnprotectXmlOptions } from './encrypt.js';
export { signXmlElement, verifyXmlElement } from './sign.js';
export type { SignXmlOptions, VerifyXmlOptions } from './sign.js';
export { PROTECTABLE_ELEMENTS } from './common.js';
export type { ProtectableElement, XmlElementName, XpkLookup, XpkMaterial } from './common.js';
export { XENC_CONTENT, ALG_AES128_GCM } from './constants.js';
export { XmlProtectError, isXmlProtectError } from './errors.js';
export type { XmlProtectErrorCode } from './errors.js';
export {
  MCPTT_PARAMS_ID,
  cskByIdLookup,
  cskXpk,
  mcpttInfoProtectionState,
  protectMcpttInfo,
  singleCskLookup,
  unprotectMcpttInfo,
} from './mcptt-info.js';
export type { CskLike, McpttInfoProtectionState, ProtectMcpttInfoOptions, UnprotectMcpttInfoOptions, UnprotectedMcpttInfo } from './mcptt-info.js';
export { buildGmkNotificationBodyXml, buildServiceAuthorizationBodyXml, readMcpttBody } from './bodies.js';
export type { RawMcpttBody } from './bodies.js';
