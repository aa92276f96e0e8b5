/**
 * Names and algorithm identifiers of the KMS interface, TS 33.179 Annex D (D.3.4 schemas) and
 * the KMS security extension of the change request (D.2.2, D.3.1, examples D.3.3.x).
 */

/** Base interface namespace, as the change request's examples write it (without their leading space). */
export const KMS_NS = 'urn:3gpp:ns:mcsecKMSInterface:1.0';
/** Security extension namespace (SignedKmsResponse, SignedKmsRequest, NewTransportKey, …). */
export const KMS_SECEXT_NS = 'urn:3gpp:ns:mcsecKMSSecExt:1.0';
/** The placeholder that TS 33.179 v13 prints for both namespaces; accepted when reading. */
export const KMS_PLACEHOLDER_NS = 'TOBEDEFINED';

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const XENC_NS = 'http://www.w3.org/2001/04/xmlenc#';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** XML-DSig algorithms of the security extension examples (RFC 4051 names the HMAC). */
export const ALG_HMAC_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256';
export const ALG_SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const ALG_ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
/** XML Encryption AES-256 key wrap, i.e. RFC 3394 with the default IV. */
export const ALG_KW_AES256 = 'http://www.w3.org/2001/04/xmlenc#kw-aes256';

/** Root path of every KMS resource (D.2). */
export const KMS_PATH_ROOT = '/keymanagement/identity/v1';

/** `Version` attribute values that the schemas fix (D.3.4.1). */
export const KMS_RESPONSE_VERSION = '1.0.0';
export const KMS_MESSAGE_VERSION = '1.0.0';
export const KMS_CERTIFICATE_VERSION = '1.1.0';
export const KMS_KEYSET_VERSION = '1.1.0';
export const KMS_REQUEST_VERSION = '1.0.0';

/**
 * Octet lengths of the private key material for parameter set 1 (RFC 6509: SAKKE over the
 * 1024-bit prime of RFC 6508 Appendix A, ECCSI over P-256), as the crypto core encodes them:
 * RSK and PVT are uncompressed points 0x04 ‖ x ‖ y, SSK a 32-octet integer. Used only to strip
 * the zero padding that RFC 3394 wrapping needs for lengths that are not multiples of 8.
 */
export const KEY_MATERIAL_LENGTHS = Object.freeze({
  userDecryptKey: 257,
  userSigningKeySSK: 32,
  userPubTokenPVT: 65,
});

/** A TrK is an AES-256 key (kw-aes256). */
export const TRANSPORT_KEY_LENGTH = 32;
