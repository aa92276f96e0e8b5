/**
 * Generic key derivation function of 3GPP TS 33.220 Annex B.2 (as used by TS 33.179 Annex F.1
 * and TS 33.180 Annex F.1):
 *
 *   derived key = HMAC-SHA-256(Key, S),  S = FC ‖ P0 ‖ L0 ‖ P1 ‖ L1 ‖ … ‖ Pn ‖ Ln
 *
 * FC is one octet; every Li is the length of Pi in octets as a 2-octet big-endian integer.
 * The same encoding of S (Annex B.1) without the HMAC is what TS 33.179 F.2.1 hashes for the
 * MIKEY-SAKKE UID, so `encodeKdfInput` is shared with uid.ts.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes } from '../util/bytes.js';

/** TS 33.220 B.1: S = FC ‖ P0 ‖ L0 ‖ … (Li 2-octet big-endian, so every Pi is < 64 KiB). */
export function encodeKdfInput(fc: number, params: readonly Uint8Array[]): Uint8Array {
  if (!Number.isInteger(fc) || fc < 0 || fc > 0xff) throw new RangeError('FC must be an integer 0..255');
  if (!Array.isArray(params)) throw new TypeError('KDF parameters must be an array of Uint8Array');
  let n = 1;
  params.forEach((p, i) => {
    assertBytes(p, `KDF parameter P${i}`);
    if (p.length > 0xffff) throw new RangeError(`KDF parameter P${i} is longer than 65535 octets`);
    n += p.length + 2;
  });
  const s = new Uint8Array(n);
  s[0] = fc;
  let o = 1;
  for (const p of params) {
    s.set(p, o);
    o += p.length;
    s[o++] = p.length >>> 8;
    s[o++] = p.length & 0xff;
  }
  return s;
}

/** TS 33.220 B.2 KDF: the full 32-octet HMAC-SHA-256 output; callers truncate per their clause. */
export function kdf33220(key: Uint8Array, fc: number, params: readonly Uint8Array[]): Uint8Array {
  assertBytes(key, 'KDF key');
  return hmac(sha256, key, encodeKdfInput(fc, params));
}
