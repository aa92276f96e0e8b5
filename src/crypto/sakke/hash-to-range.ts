/**
 * HashToIntegerRange(s, n, hashfn) of RFC 6508 §5.1 with hashfn = SHA-256 (RFC 6509 §7):
 *
 *   A = hashfn(s); h_0 = 00…0 (one hash length of zero octets);
 *   l = ceiling(lg(n) / hashlen); for i = 1..l: h_i = hashfn(h_(i−1)), v_i = hashfn(h_i ‖ A);
 *   v' = v_1 ‖ … ‖ v_l;  v = v' mod n.
 *
 * With n = q (1022 bits) l = 4; with n = 2^128 (the mask of RFC 6508 §6.2.1) l = 1.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, bytesToBigInt, concatBytes } from '../../util/bytes.js';

const HASH_BITS = 256;

/** ceil(lg n) for n ≥ 2, which is the bit length of n − 1. */
function ceilLog2(n: bigint): number {
  return (n - 1n).toString(2).length;
}

export function hashToIntegerRange(s: Uint8Array, n: bigint): bigint {
  assertBytes(s, 'HashToIntegerRange input');
  if (typeof n !== 'bigint' || n < 2n) throw new RangeError('HashToIntegerRange needs n ≥ 2');
  const a = sha256(s);
  const l = Math.ceil(ceilLog2(n) / HASH_BITS);
  let h: Uint8Array = new Uint8Array(HASH_BITS / 8);
  const parts: Uint8Array[] = [];
  for (let i = 1; i <= l; i++) {
    h = sha256(h);
    parts.push(sha256(concatBytes(h, a)));
  }
  return bytesToBigInt(concatBytes(...parts)) % n;
}
