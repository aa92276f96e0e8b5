/**
 * Arithmetic in F_p and F_p² = F_p[i]/(i² + 1) for SAKKE parameter set 1 (RFC 6508 §2.1,
 * §3.1; RFC 6509 Appendix A), and the quotient PF_p = F_p²* / F_p* in which the pairing
 * takes its values (RFC 6508 §3.2).
 *
 * Cost model (V8 BigInt, 1024-bit p): a product costs ~0.3–0.4 µs, `% P` of a 2048-bit
 * product as much or (Node 20) 2.5× more, an inversion ~100 µs. Hence the hot loops of
 * pairing.ts and curve.ts inline their arithmetic on local bigints and reduce lazily; the
 * helpers here serve the cold paths.
 */
import { P, Q } from './params.js';
import { recodeOdd, SCALAR_BITS, windowCount } from './recode.js';

/** Canonical residue in [0, P). */
export function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

/** Canonical residue in [0, Q). */
export function modQ(a: bigint): bigint {
  const r = a % Q;
  return r < 0n ? r + Q : r;
}

/**
 * Inverse modulo `m` by the extended Euclidean algorithm (faster than Fermat for BigInt).
 * Returns 0n when `a` is not invertible; callers treat that as a failure of their own.
 */
export function invMod(a: bigint, m: bigint): bigint {
  let r0 = m;
  let r1 = a % m;
  if (r1 < 0n) r1 += m;
  let t0 = 0n;
  let t1 = 1n;
  while (r1 !== 0n) {
    const k = r0 / r1;
    const r2 = r0 - k * r1;
    r0 = r1;
    r1 = r2;
    const t2 = t0 - k * t1;
    t0 = t1;
    t1 = t2;
  }
  if (r0 !== 1n) return 0n;
  return t0 < 0n ? t0 + m : t0;
}

/** Inverse in F_p; 0n for 0. */
export function fpInv(a: bigint): bigint {
  return invMod(a, P);
}

/**
 * Inverts every element at the price of one inversion and three products each
 * (Montgomery's trick). Returns false, leaving `values` unspecified, if one is zero.
 */
export function fpBatchInvertInPlace(values: bigint[]): boolean {
  const n = values.length;
  if (n === 0) return true;
  const prefix: bigint[] = new Array<bigint>(n);
  let acc = 1n;
  for (let k = 0; k < n; k++) {
    const v = values[k]!;
    if (v % P === 0n) return false;
    prefix[k] = acc;
    acc = (acc * v) % P;
  }
  let inv = fpInv(acc);
  if (inv === 0n) return false;
  for (let k = n - 1; k >= 0; k--) {
    const v = values[k]!;
    values[k] = mod(inv * prefix[k]!);
    inv = (inv * v) % P;
  }
  return true;
}

/** a^e mod P for e ≥ 0 (square-and-multiply; public exponents only). */
export function fpPow(a: bigint, e: bigint): bigint {
  let result = 1n;
  let base = mod(a);
  while (e > 0n) {
    if (e & 1n) result = (result * base) % P;
    base = (base * base) % P;
    e >>= 1n;
  }
  return result;
}

/** An element a + b·i of F_p² (i² = −1; p ≡ 3 mod 4 makes x² + 1 irreducible). */
export type Fp2 = readonly [a: bigint, b: bigint];

export function fp2Mul(x: Fp2, y: Fp2): Fp2 {
  // Karatsuba: three products, two reductions.
  const t0 = x[0] * y[0];
  const t1 = x[1] * y[1];
  const t2 = (x[0] + x[1]) * (y[0] + y[1]);
  return [mod(t0 - t1), mod(t2 - t0 - t1)];
}

export function fp2Sqr(x: Fp2): Fp2 {
  const [a, b] = x;
  return [mod((a + b) * (a - b)), mod(2n * a * b)];
}

/** x^e in F_p² for e ≥ 0 (square-and-multiply; tests and cold paths only). */
export function fp2Pow(x: Fp2, e: bigint): Fp2 {
  let result: Fp2 = [1n, 0n];
  let base: Fp2 = [mod(x[0]), mod(x[1])];
  while (e > 0n) {
    if (e & 1n) result = fp2Mul(result, base);
    base = fp2Sqr(base);
    e >>= 1n;
  }
  return result;
}

/**
 * PF_p representative of a + b·i: the class of a + b·i modulo F_p* is that of 1 + (b/a)·i,
 * so RFC 6508 §2.1 writes it as the F_p element b/a. Returns undefined when a = 0 (the class
 * of i, which has order 2 and is never the value of a pairing of order-q points).
 */
export function pfpRepresentative(a: bigint, b: bigint): bigint | undefined {
  const inv = fpInv(a);
  if (inv === 0n) return undefined;
  return mod(b * inv);
}

/**
 * Fixed-base powers in PF_p of an element G of order q (RFC 6508 §6.2.1 computes g^r with
 * G = 1 + g·i). For each of m windows j the table holds the odd powers G^((2t + 1)·2^(w·j)),
 * each normalised to 1 + τ·i so that a table product costs two products, not three; a
 * negative digit uses the conjugate 1 − τ·i, which is the inverse in PF_p (their product
 * 1 + τ² lies in F_p*). G^k then costs m such products and no squaring.
 */
export class PfpPowerTable {
  private constructor(
    private readonly w: number,
    private readonly m: number,
    private readonly taus: readonly bigint[],
  ) {}

  /** Table of 1 + tau·i. Throws RangeError if the element degenerates (not of order q). */
  static build(tau: bigint, w = 6): PfpPowerTable {
    const m = windowCount(SCALAR_BITS, w);
    const half = 1 << (w - 1);
    // Powers chain in F_p² (unnormalised): G_j = G^(2^(w·j)) and D_j = G_j².
    const re: bigint[] = new Array<bigint>(m * half);
    const im: bigint[] = new Array<bigint>(m * half);
    const dRe: bigint[] = new Array<bigint>(m);
    const dIm: bigint[] = new Array<bigint>(m);
    let a = 1n;
    let b = mod(tau);
    for (let j = 0; j < m; j++) {
      re[j * half] = a;
      im[j * half] = b;
      for (let t = 0; t < w; t++) {
        const a2 = (((a + b) * (a - b)) % P);
        b = (2n * a * b) % P;
        a = a2;
        if (t === 0) {
          dRe[j] = a;
          dIm[j] = b;
        }
      }
    }
    // D_j normalised to 1 + δ·i, then E_t = E_(t−1)·(1 + δ·i).
    const dInv = dRe.slice();
    if (!fpBatchInvertInPlace(dInv)) throw new RangeError('PF_p element of order 2');
    for (let j = 0; j < m; j++) {
      const delta = mod(dIm[j]! * dInv[j]!);
      for (let t = 1; t < half; t++) {
        const pa = re[j * half + t - 1]!;
        const pb = im[j * half + t - 1]!;
        re[j * half + t] = (pa - pb * delta) % P;
        im[j * half + t] = (pb + pa * delta) % P;
      }
    }
    const inv = re.slice();
    if (!fpBatchInvertInPlace(inv)) throw new RangeError('PF_p element of order 2');
    const taus = im.map((v, k) => mod(v * inv[k]!));
    return new PfpPowerTable(w, m, taus);
  }

  /** G^k for k in [0, q), as an unnormalised a + b·i (k made odd by adding q). */
  pow(k: bigint): Fp2 {
    const { w, m, taus } = this;
    const digits = recodeOdd((k & 1n) === 1n ? k : k + Q, w, m);
    const half = 1 << (w - 1);
    let a = 1n;
    let b = 0n;
    for (let j = 0; j < m; j++) {
      const d = digits[j]!;
      const tau = taus[j * half + ((Math.abs(d) - 1) >> 1)]!;
      const t = d > 0 ? tau : -tau;
      const a2 = (a - b * t) % P;
      b = (b + a * t) % P;
      a = a2;
    }
    return [mod(a), mod(b)];
  }
}
