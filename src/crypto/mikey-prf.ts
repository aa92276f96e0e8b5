/**
 * MIKEY pseudo-random function and key derivation from the TGK: RFC 3830 4.1.2 and 4.1.3, with
 * PRF-HMAC-SHA-256 (RFC 6043 6.1, MIKEY HDR PRF func = 1) as TS 33.179 / RFC 6509 require.
 *
 *   P(s, label, m) = HMAC(s, A_1 ‖ label) ‖ … ‖ HMAC(s, A_m ‖ label),  A_0 = label,
 *                    A_i = HMAC(s, A_{i−1})
 *   PRF(inkey, label) = P(s_1, label, m) XOR … XOR P(s_n, label, m), truncated to outkey_len,
 *                    with inkey cut into 256-bit pieces s_1..s_n (the last may be shorter) and
 *                    m = ceil(outkey_len / 256).
 *
 * 4.1.3: label = constant ‖ cs_id (1 octet) ‖ csb_id (4 octets) ‖ RAND. In MCPTT (TS 33.179 7.3,
 * 7.5) TGK is the GMK / PCK / CSK, CSB-ID the GUK-ID (group) or the key's own ID, and the SRTP
 * master key (16 octets) and master salt (12 octets, AEAD_AES_128_GCM) come from the TEK and salt
 * constants.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from '../errors.js';
import { assertBytes, bytesOf, concatBytes } from '../util/bytes.js';

/** RFC 3830 4.1.3 label constants. */
export const MIKEY_PRF_CONSTANT = Object.freeze({
  TEK: 0x2ad01c64,
  SALT: 0x39a2c14b,
  ENCRYPTION: 0x15798cef,
  AUTHENTICATION: 0x1b5c7973,
} as const);

const HASH_LEN = 32; // SHA-256 output: the "256" of RFC 6043 6.1
const MAX_OUT = 255 * HASH_LEN; // far above any MIKEY use; bounds the work a caller can ask for

/** RFC 3830 4.1.2 P(s, label, m), m taken as the number of blocks covering `outLength`. */
function pHash(s: Uint8Array, label: Uint8Array, outLength: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(outLength / HASH_LEN) * HASH_LEN);
  let a = label; // A_0
  for (let o = 0; o < out.length; o += HASH_LEN) {
    a = hmac(sha256, s, a); // A_i
    out.set(hmac(sha256, s, concatBytes(a, label)), o);
  }
  return out;
}

/** RFC 3830 4.1.2 PRF(inkey, label) with PRF-HMAC-SHA-256; `outLength` in octets. */
export function mikeyPrf(inkey: Uint8Array, label: Uint8Array, outLength: number): Uint8Array {
  assertBytes(inkey, 'inkey');
  assertBytes(label, 'label');
  if (!Number.isInteger(outLength) || outLength < 1 || outLength > MAX_OUT) {
    throw new RangeError(`outLength must be an integer 1..${MAX_OUT}`);
  }
  if (inkey.length === 0) throw new RangeError('inkey must not be empty');
  const out = new Uint8Array(outLength);
  for (let i = 0; i < inkey.length; i += HASH_LEN) {
    const p = pHash(inkey.subarray(i, i + HASH_LEN), label, outLength);
    for (let j = 0; j < outLength; j++) out[j]! ^= p[j]!;
  }
  return out;
}

/** RFC 3830 4.1.3 label: constant ‖ cs_id ‖ csb_id ‖ RAND. */
function tgkLabel(constant: number, csId: number, csbId: Uint8Array, rand: Uint8Array): Uint8Array {
  const l = new Uint8Array(9 + rand.length);
  l[0] = constant >>> 24;
  l[1] = (constant >>> 16) & 0xff;
  l[2] = (constant >>> 8) & 0xff;
  l[3] = constant & 0xff;
  l[4] = csId;
  l[5] = csbId[0]!;
  l[6] = csbId[1]!;
  l[7] = csbId[2]!;
  l[8] = csbId[3]!;
  l.set(rand, 9);
  return l;
}

/**
 * SRTP master key (16 octets) and master salt (12 octets, the AEAD_AES_128_GCM size of
 * TS 33.179 7.5.1) for crypto session `csId` of CSB `csbId`, from the TGK and the RAND payload.
 */
export function srtpMasterKeys(args: { tgk: Uint8Array; csId: number; csbId: Uint8Array; rand: Uint8Array }): {
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
} {
  const tgk = bytesOf(args.tgk, [16, 32], 'TGK');
  const csbId = bytesOf(args.csbId, 4, 'CSB-ID');
  const rand = assertBytes(args.rand, 'RAND');
  // RFC 3830 6.11: RAND is at least 128 bits; its payload length field is one octet.
  if (rand.length < 16 || rand.length > 255) {
    throw new CryptoError('ERR_CRYPTO_BAD_LENGTH', `RAND must be 16..255 bytes, got ${rand.length}`);
  }
  const csId = args.csId;
  if (!Number.isInteger(csId) || csId < 0 || csId > 0xff) throw new RangeError('csId must be an integer 0..255');
  return {
    masterKey: mikeyPrf(tgk, tgkLabel(MIKEY_PRF_CONSTANT.TEK, csId, csbId, rand), 16),
    masterSalt: mikeyPrf(tgk, tgkLabel(MIKEY_PRF_CONSTANT.SALT, csId, csbId, rand), 12),
  };
}
