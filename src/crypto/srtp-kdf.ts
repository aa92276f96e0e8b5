/**
 * SRTP/SRTCP session keys from the master key and salt: RFC 3711 4.3.1 and 4.3.3 (AES-CM PRF),
 * key derivation rate 0 as TS 33.179 7.5.1 / 7.6.1 require, and RFC 6188 (AES_256_CM_PRF, the
 * same construction keyed with AES-256) for a 32-octet master key.
 *
 *   key_id = label ‖ (index DIV kdr)       (8 + 48 bits; the index term is 0 when kdr = 0)
 *   x      = key_id XOR master_salt        (key_id right-aligned against the 112-bit salt)
 *   out    = first n bits of AES-CM(master_key, IV = x · 2^16)
 *
 * AEAD_AES_128_GCM (RFC 7714, TS 33.179 7.5.1) uses a 96-bit master salt. RFC 7714 section 11 as
 * corrected by verified erratum 4938: "the 96-bit master salt … must be multiplied by 2^16 to
 * form the 112-bit salt used as the master salt in those key derivation functions", i.e. two
 * zero octets are appended on the right. The session salt is then the first 96 bits of the PRF
 * output. A 14-octet master salt (the RFC 3711 AES-CM suites, Appendix B.3) is used as is and
 * yields 14-octet session salts.
 *
 * AES-CM is AES in counter mode whose counter is the low 16 bits of the IV, which is exactly
 * Web Crypto AES-CTR with `length: 16`.
 */
import { bytesOf } from '../util/bytes.js';
import { bufferSource, subtle } from '../util/webcrypto.js';

/** RFC 3711 4.3.1 / 4.3.2 labels. */
export const SRTP_KDF_LABEL = Object.freeze({
  SRTP_ENCRYPTION: 0x00,
  SRTP_AUTHENTICATION: 0x01,
  SRTP_SALT: 0x02,
  SRTCP_ENCRYPTION: 0x03,
  SRTCP_AUTHENTICATION: 0x04,
  SRTCP_SALT: 0x05,
} as const);

export interface SrtpSessionKeys {
  readonly srtp: { readonly key: Uint8Array; readonly salt: Uint8Array };
  readonly srtcp: { readonly key: Uint8Array; readonly salt: Uint8Array };
}

/** One AES-CM keystream segment is at most 2^16 blocks (RFC 3711 4.1.1). */
const MAX_PRF_OUTPUT = 0x10000 * 16;

async function importAesCtr(masterKey: Uint8Array): Promise<CryptoKey> {
  return subtle().importKey('raw', bufferSource(masterKey), 'AES-CTR', false, ['encrypt']);
}

/** The 112-bit master salt the KDF works on: 14 octets as is, 12 octets · 2^16 (erratum 4938). */
function kdfSalt(masterSalt: Uint8Array): Uint8Array {
  const s = new Uint8Array(14);
  s.set(masterSalt);
  return s;
}

async function prf(key: CryptoKey, salt14: Uint8Array, label: number, length: number): Promise<Uint8Array> {
  const iv = new Uint8Array(16);
  iv.set(salt14); // x · 2^16: the two trailing octets stay zero
  iv[7]! ^= label; // key_id = label ‖ 0^48 ends at octet 13, so the label sits at octet 7
  const ks = await subtle().encrypt({ name: 'AES-CTR', counter: iv, length: 16 }, key, new Uint8Array(length));
  return new Uint8Array(ks);
}

function checkMasterKeys(masterKey: Uint8Array, masterSalt: Uint8Array): void {
  bytesOf(masterKey, [16, 32], 'SRTP master key');
  bytesOf(masterSalt, [12, 14], 'SRTP master salt');
}

/**
 * RFC 3711 4.3.3 AES-CM PRF with kdr = 0: the first `length` octets of the keystream for
 * `label`. Exposed for the RFC 3711 Appendix B vectors and for the authentication keys of the
 * non-AEAD suites; `srtpSessionKeys` is what the media path uses.
 */
export async function aesCmPrf(args: {
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  label: number;
  length: number;
}): Promise<Uint8Array> {
  checkMasterKeys(args.masterKey, args.masterSalt);
  const { label, length } = args;
  if (!Number.isInteger(label) || label < 0 || label > 0xff) throw new RangeError('label must be an integer 0..255');
  if (!Number.isInteger(length) || length < 1 || length > MAX_PRF_OUTPUT) {
    throw new RangeError(`length must be an integer 1..${MAX_PRF_OUTPUT}`);
  }
  return prf(await importAesCtr(args.masterKey), kdfSalt(args.masterSalt), label, length);
}

/**
 * One AES-CM keystream block, AES_k(counter) (RFC 3711 4.1.1, the blocks listed in Appendix B.2):
 * used by the vector conformance checks.
 */
export async function aesCmKeystreamBlock(sessionKey: Uint8Array, counter: Uint8Array): Promise<Uint8Array> {
  bytesOf(sessionKey, [16, 32], 'AES-CM session key');
  const iv = bytesOf(counter, 16, 'AES-CM counter block');
  const key = await importAesCtr(sessionKey);
  // A single block never carries into the counter, so the counter width is irrelevant here.
  const ks = await subtle().encrypt({ name: 'AES-CTR', counter: bufferSource(iv), length: 16 }, key, new Uint8Array(16));
  return new Uint8Array(ks);
}

/**
 * Session encryption keys and salts for SRTP (labels 0x00, 0x02) and SRTCP (0x03, 0x05), kdr = 0.
 * Keys have the master key's length (16, or 32 for AES_256_CM_PRF); salts the master salt's
 * length (12 for AEAD_AES_*_GCM, 14 for AES-CM). The AEAD transforms need no authentication keys.
 */
export async function srtpSessionKeys(args: { masterKey: Uint8Array; masterSalt: Uint8Array }): Promise<SrtpSessionKeys> {
  const { masterKey, masterSalt } = args;
  checkMasterKeys(masterKey, masterSalt);
  const key = await importAesCtr(masterKey);
  const salt14 = kdfSalt(masterSalt);
  const [srtpKey, srtpSalt, srtcpKey, srtcpSalt] = await Promise.all([
    prf(key, salt14, SRTP_KDF_LABEL.SRTP_ENCRYPTION, masterKey.length),
    prf(key, salt14, SRTP_KDF_LABEL.SRTP_SALT, masterSalt.length),
    prf(key, salt14, SRTP_KDF_LABEL.SRTCP_ENCRYPTION, masterKey.length),
    prf(key, salt14, SRTP_KDF_LABEL.SRTCP_SALT, masterSalt.length),
  ]);
  return { srtp: { key: srtpKey, salt: srtpSalt }, srtcp: { key: srtcpKey, salt: srtcpSalt } };
}
