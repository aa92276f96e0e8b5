/**
 * Fixed-width "regular" recoding of scalars and exponents for the window tables of
 * curve.ts (points of E, RFC 6508 §2.1) and field.ts (powers in PF_p, RFC 6508 §6.2.1).
 *
 * Every digit is odd and non-zero, so a table multiplication performs one addition per
 * window whatever the scalar: the sequence of operations does not depend on secret bits
 * (the table index does; see the timing note in sakke.ts).
 */
import { Q } from './params.js';

/** Bit length of the scalars the tables accept: odd representatives below 2q < 2^1023. */
export const SCALAR_BITS = 1023;

/** Number of w-bit windows that hold every odd scalar below 2^bits. */
export function windowCount(bits: number, w: number): number {
  // The top digit is (k >> w·(m − 1)) | 1, below 2^w as soon as k < 2^(w·m).
  return Math.ceil(bits / w);
}

/**
 * Recodes an odd k > 0 as k = Σ d_j·2^(w·j), j < m, every d_j odd with |d_j| < 2^w.
 * Digit j is bits w·j … w·j + w of k with the lowest forced to 1, minus 2^w (the top digit
 * is not shifted): forcing the bit to 1 is exactly the carry of the digit below it, so
 * digits are read independently.
 */
export function recodeOdd(k: bigint, w: number, m: number): Int32Array {
  if (k <= 0n || (k & 1n) === 0n) throw new RangeError('recodeOdd needs an odd positive scalar');
  const width = w * m + 1;
  const bin = k.toString(2);
  if (bin.length > width - 1) throw new RangeError('scalar too large for the window count');
  const bits = bin.padStart(width, '0');
  const digits = new Int32Array(m);
  const top = 1 << w;
  for (let j = 0; j < m; j++) {
    // Bit i of k is bits[width − 1 − i]; digit j reads bits w·j … w·j + w.
    const lo = width - 1 - w * j;
    let v = 0;
    for (let t = w; t >= 0; t--) v = (v << 1) | (bits.charCodeAt(lo - t) - 48);
    v |= 1;
    digits[j] = j === m - 1 ? v : v - top;
  }
  return digits;
}

/** An odd k' ≡ k (mod q), k in [0, q): multiplying an element of order q by k' or k is the same. */
export function oddRepresentative(k: bigint): bigint {
  return (k & 1n) === 1n ? k : k + Q;
}
