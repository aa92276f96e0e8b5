/**
 * Namespaces and algorithm identifiers of TS 33.179 clause 9.3.4 (XML Encryption 1.1) and
 * 9.3.5 (XML Signature). The 9.3.4 text spells the namespace "xmlesc"; that is a typo of the
 * spec (its own example uses xmlenc), and only the W3C identifiers are written and accepted.
 */
export { DSIG_NS, XENC_NS, ALG_HMAC_SHA256, ALG_SHA256 } from '../kms/constants.js';

/** EncryptedData Type: the element's content (not the element) was encrypted. */
export const XENC_CONTENT = 'http://www.w3.org/2001/04/xmlenc#Content';
/** XML Encryption 1.1 AES-128-GCM (the one 9.3.4 makes mandatory). */
export const ALG_AES128_GCM = 'http://www.w3.org/2009/xmlenc11#aes128-gcm';
