/**
 * TS 33.179 clause 9.3: protection of XML content with the XPK (CSK between client and server,
 * SPK between servers), pure core: 9.3.2 allow-list, 9.3.4 XML encryption (aes128-gcm,
 * Type Content), 9.3.5 XML signature (HMAC-SHA-256/128, C14N 1.0, one #id Reference).
 * Keys derive from the XPK per F.1.4 (src/crypto xpkKeys). No SIP integration yet.
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
