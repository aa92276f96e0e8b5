/**
 * MIKEY number spaces used by MIKEY-SAKKE I_MESSAGEs (RFC 3830 §6, RFC 6043 §6, RFC 6509 §4,
 * TS 33.179 Annex E, and the TS 33.180 values that deployed implementations put on the wire).
 *
 * Every set is a frozen `as const` object so that values stay plain numbers on the wire while
 * code reads names. The `*_NAMES` maps exist for `describe.ts` only; decoding never depends
 * on a value being named, because unknown values must round-trip unchanged.
 */

/** RFC 3830 §6.1: the only defined version. */
export const MIKEY_VERSION = 1 as const;

/** RFC 3830 §6.1 "data type" (+ RFC 4650, RFC 4738, RFC 6509 §4.1). */
export const DATA_TYPE = Object.freeze({
  PRE_SHARED: 0,
  PSK_VERIFY: 1,
  PUBLIC_KEY: 2,
  PK_VERIFY: 3,
  DH_INIT: 4,
  DH_RESP: 5,
  ERROR: 6,
  DHHMAC_INIT: 7, // RFC 4650
  DHHMAC_RESP: 8, // RFC 4650
  RSA_R_I_MSG: 9, // RFC 4738
  RSA_R_R_MSG: 10, // RFC 4738
  SAKKE_I_MSG: 26, // RFC 6509 §4.1: the only data type this codec decodes
} as const);

/**
 * RFC 3830 §6.1 "next payload" numbers (+ RFC 6043 §6 for 13..17, RFC 6509 §4.2 for SAKKE).
 * Only some of these carry a length that lets a parser step over them; see `payloads.ts`.
 */
export const PAYLOAD_TYPE = Object.freeze({
  LAST: 0,
  KEMAC: 1,
  PKE: 2,
  DH: 3,
  SIGN: 4,
  T: 5,
  ID: 6,
  CERT: 7,
  CHASH: 8,
  V: 9,
  SP: 10,
  RAND: 11,
  ERR: 12,
  TR: 13, // RFC 6043
  IDR: 14, // RFC 6043 §6.6
  RANDR: 15, // RFC 6043
  TP: 16, // RFC 6043
  TICKET: 17, // RFC 6043
  KEY_DATA: 20,
  GENERAL_EXTENSION: 21, // RFC 3830 §6.15
  SAKKE: 26, // RFC 6509 §4.2
} as const);

/** RFC 3830 §6.1 PRF func (7 bits) + RFC 6043 §6.1. TS 33.179 7.3.6 uses PRF-HMAC-SHA-256. */
export const PRF_FUNC = Object.freeze({
  MIKEY_1: 0,
  PRF_HMAC_SHA_256: 1, // RFC 6043 §6.1
} as const);

/** RFC 3830 §6.1 CS ID map type (+ RFC 4738 EMPTY, RFC 6043 §6.1.1 GENERIC-ID). */
export const CS_ID_MAP_TYPE = Object.freeze({
  SRTP_ID: 0,
  EMPTY: 1,
  GENERIC_ID: 2,
} as const);

/** RFC 3830 §6.10 security protocol ("Prot type"). */
export const PROT_TYPE = Object.freeze({ SRTP: 0 } as const);

/** RFC 3830 §6.6 TS type. TS 33.179 E.1.1 requires NTP-UTC. */
export const TS_TYPE = Object.freeze({
  NTP_UTC: 0,
  NTP: 1,
  COUNTER: 2,
} as const);

/**
 * Length of the TS value per TS type (RFC 3830 §6.6). A T payload has no length field, so a
 * TS type missing here makes the rest of the message unparseable (ERR_MIKEY_UNSUPPORTED).
 */
export const TS_VALUE_LENGTH: Readonly<Record<number, number>> = Object.freeze({
  [TS_TYPE.NTP_UTC]: 8,
  [TS_TYPE.NTP]: 8,
  [TS_TYPE.COUNTER]: 4,
});

/** RFC 3830 §6.7 ID type (+ RFC 6043 §6.6 byte string). */
export const ID_TYPE = Object.freeze({
  NAI: 0,
  URI: 1,
  BYTE_STRING: 2, // RFC 6043
} as const);

/**
 * IDR ID role: RFC 6043 §6.6 (1..5), RFC 6509 §4.4 (6, 7), and the identity-hiding roles of
 * TS 33.179 E.7 (v13 still asks IANA for them). Both interop implementations put the 32-octet
 * UID in roles 8 (initiator) and 9 (responder), as TS 33.180 later standardised.
 */
export const ID_ROLE = Object.freeze({
  INITIATOR: 1, // IDRi
  RESPONDER: 2, // IDRr
  KMS: 3, // IDRkms
  PSK: 4, // IDRpsk
  APP: 5, // IDRapp
  KMS_INITIATOR: 6, // IDRkmsi (RFC 6509)
  KMS_RESPONDER: 7, // IDRkmsr (RFC 6509)
  UID_INITIATOR: 8, // IDRuidi (TS 33.179 E.7 / TS 33.180)
  UID_RESPONDER: 9, // IDRuidr (TS 33.179 E.7 / TS 33.180)
} as const);

/** RFC 6509 §4.2 SAKKE params. */
export const SAKKE_PARAMS = Object.freeze({ PARAMETER_SET_1: 1 } as const);

/**
 * RFC 6509 §4.2 ID scheme. RFC 6509 defines 1 (tel URI, monthly keys); TS 33.179 F.2.1 asks
 * for a new value ("BB" in v13); the deployed value, seen in every interop message, is 2.
 */
export const SAKKE_ID_SCHEME = Object.freeze({
  TEL_URI_MONTHLY: 1,
  TS33180_UID: 2,
} as const);

/** Length of the SAKKE Encapsulated Data for parameter set 1 (RFC 6508 §4: R (257) ‖ H (16)). */
export const SAKKE_DATA_LENGTH_SET_1 = 273 as const;

/** RFC 3830 §6.5 S type (4 bits) + RFC 6509 §4.3 (ECCSI). */
export const SIGN_TYPE = Object.freeze({
  RSA_PKCS1_V1_5: 0,
  RSA_PSS: 1,
  ECCSI: 2,
} as const);

/** ECCSI signature length: r (32) ‖ s (32) ‖ PVT (65) (RFC 6507 §3.3). */
export const ECCSI_SIGNATURE_LENGTH = 129 as const;

/**
 * RFC 3830 §6.15 General Extension type. 0 and 1 are RFC 3830's; TS 33.179 v13 E.6 puts the
 * GMK associated parameters under VENDOR_ID. 6 and 7 are what TS 33.180 (and both interop
 * implementations) use for SAKKE-to-self (E.5, "AA" in v13) and the key parameters (E.6).
 */
export const GENERAL_EXTENSION_TYPE = Object.freeze({
  VENDOR_ID: 0,
  SDP_IDS: 1,
  SAKKE_TO_SELF: 6,
  KEY_PARAMETERS: 7,
} as const);

/** RFC 3830 §6.10.1 SRTP policy parameter types (+ RFC 4771, TS 33.179 Table E.2-1, RFC 7714). */
export const SRTP_POLICY_PARAM = Object.freeze({
  ENCRYPTION_ALGORITHM: 0,
  SESSION_ENCRYPTION_KEY_LENGTH: 1,
  AUTHENTICATION_ALGORITHM: 2,
  SESSION_AUTH_KEY_LENGTH: 3,
  SESSION_SALT_KEY_LENGTH: 4,
  SRTP_PRF: 5,
  KEY_DERIVATION_RATE: 6,
  SRTP_ENCRYPTION: 7,
  SRTCP_ENCRYPTION: 8,
  SENDER_FEC_ORDER: 9,
  SRTP_AUTHENTICATION: 10,
  AUTH_TAG_LENGTH: 11,
  SRTP_PREFIX_LENGTH: 12,
  ROC_TRANSMISSION_RATE: 13, // RFC 4771
  SRTP_AUTH_TAG_LENGTH_RCC: 18, // TS 33.179 Table E.2-1 ("SRTP Authentication tag length")
  SRTCP_AUTH_TAG_LENGTH_RCC: 19, // TS 33.179 Table E.2-1
  AEAD_AUTH_TAG_LENGTH: 20, // RFC 7714 §14.2
} as const);

/** SRTP encryption algorithm values (RFC 3830 §6.10.1; AES-GCM per TS 33.179 Table E.2-1). */
export const SRTP_ENCRYPTION_ALGORITHM = Object.freeze({
  NULL: 0,
  AES_CM: 1,
  AES_F8: 2,
  AES_GCM: 6,
} as const);

/** SRTP authentication algorithm values (RFC 3830 §6.10.1, RFC 4771 RCCm1..3). */
export const SRTP_AUTH_ALGORITHM = Object.freeze({
  NULL: 0,
  HMAC_SHA_1: 1,
  RCCM1: 2,
  RCCM2: 3,
  RCCM3: 4,
} as const);

export type DataType = (typeof DATA_TYPE)[keyof typeof DATA_TYPE];
export type PayloadType = (typeof PAYLOAD_TYPE)[keyof typeof PAYLOAD_TYPE];
export type IdRole = (typeof ID_ROLE)[keyof typeof ID_ROLE];

function invert(o: Readonly<Record<string, number>>): Readonly<Record<number, string>> {
  const out: Record<number, string> = {};
  for (const [k, v] of Object.entries(o)) out[v] = k;
  return Object.freeze(out);
}

/** Names for rendering only (`describe.ts`). */
export const PAYLOAD_TYPE_NAMES = invert(PAYLOAD_TYPE);
export const DATA_TYPE_NAMES = invert(DATA_TYPE);
export const PRF_FUNC_NAMES = invert(PRF_FUNC);
export const CS_ID_MAP_TYPE_NAMES = invert(CS_ID_MAP_TYPE);
export const TS_TYPE_NAMES = invert(TS_TYPE);
export const ID_TYPE_NAMES = invert(ID_TYPE);
export const ID_ROLE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'IDRi',
  2: 'IDRr',
  3: 'IDRkms',
  4: 'IDRpsk',
  5: 'IDRapp',
  6: 'IDRkmsi',
  7: 'IDRkmsr',
  8: 'IDRuidi',
  9: 'IDRuidr',
});
export const SIGN_TYPE_NAMES = invert(SIGN_TYPE);
export const SAKKE_ID_SCHEME_NAMES = invert(SAKKE_ID_SCHEME);
export const GENERAL_EXTENSION_TYPE_NAMES = invert(GENERAL_EXTENSION_TYPE);
export const SRTP_POLICY_PARAM_NAMES = invert(SRTP_POLICY_PARAM);
