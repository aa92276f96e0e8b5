/**
 * The Tate–Lichtenbaum pairing <R, Q> of RFC 6508 §3.2 on E: y² = x³ − 3x (parameter set 1,
 * RFC 6509 Appendix A): a Miller loop over the bits of q − 1 on R, evaluated at the
 * distorted point ψ(Q) = (−x_Q, i·y_Q) ∈ E(F_p²), raised to c = (p + 1)/q = 4 and read
 * in PF_p = F_p²* / F_p* as the representative x2/x1 (RFC 6508 §2.1).
 *
 * Two implementations:
 * - `pairing`: the plain algorithm, Jacobian coordinates, binary expansion of q − 1. It is
 *   the reference the fast one is tested against, and serves one-off pairings (g = <P, P>).
 * - `precomputeMillerLines` + `evaluateMillerLines`: a Miller loop on a FIXED point S (the
 *   receiver's RSK) whose line coefficients are computed once, so that a pairing with a new
 *   point R costs only F_p² arithmetic. It evaluates <S, R>, which equals <R, S> because
 *   the modified pairing is symmetric on the order-q subgroup (ψ is an endomorphism of E
 *   and both points are multiples of P: <[a]P, [b]P> = <P, P>^(ab)).
 *
 * Why lines may be simplified (RFC 6508 §3.2 works in PF_p):
 * - every factor in F_p* vanishes in PF_p, so a line may be divided by any non-zero F_p
 *   element, and vertical lines (X − x_T evaluated at X = −x_Q ∈ F_p) disappear;
 * - the line through T with slope λ, Y − y_T − λ(X − x_T), evaluated at ψ(R), is
 *   (λ·x_R + c_T) + i·y_R with c_T = λ·x_T − y_T: one product per line at run time.
 */
import { fp2Sqr, mod, fpBatchInvertInPlace, pfpRepresentative, type Fp2 } from './field.js';
import type { AffinePoint } from './curve.js';
import { P, Q } from './params.js';

/** v^c with c = (p + 1)/q = 4, the final exponentiation in PF_p (RFC 6508 §3.2). */
function finalExponentiation(a: bigint, b: bigint): Fp2 {
  return fp2Sqr(fp2Sqr([mod(a), mod(b)]));
}

/**
 * <R, Q> per RFC 6508 §3.2, as the PF_p representative in [0, p); undefined when the Miller
 * loop degenerates (a point outside the order-q subgroup). Both points must be on E.
 */
export function pairing(r: AffinePoint, qp: AffinePoint): bigint | undefined {
  const xq = qp.x;
  const yq = qp.y;
  const xr = r.x;
  const yr = r.y;
  let a = 1n;
  let b = 0n;
  let X = xr;
  let Y = yr;
  let Z = 1n;
  const n = Q - 1n;
  for (let bit = BigInt(n.toString(2).length - 2); bit >= 0n; bit--) {
    // Tangent at C = (X, Y, Z), scaled by 2Y·Z³ ∈ F_p*:
    //   (M·Z²·x_Q + M·X − 2Y²) + i·(2Y·Z³)·y_Q with M = 3(X² − Z⁴).
    const delta = (Z * Z) % P;
    const gamma = (Y * Y) % P;
    const beta = (X * gamma) % P;
    const m = (3n * (X - delta) * (X + delta)) % P;
    const z3 = (2n * Y * Z) % P;
    const l0 = (((m * delta) % P) * xq + m * X - 2n * gamma) % P;
    const l1 = (((z3 * delta) % P) * yq) % P;
    // v = v² · l
    const s = ((a + b) * (a - b)) % P;
    const t = (2n * a * b) % P;
    const m1 = s * l0;
    const m2 = t * l1;
    a = (m1 - m2) % P;
    b = ((s + t) * (l0 + l1) - m1 - m2) % P;
    // C = [2]C
    const x3 = (m * m - 8n * beta) % P;
    Y = (m * (4n * beta - x3) - 8n * gamma * gamma) % P;
    X = x3;
    Z = z3;
    if ((n >> bit) & 1n) {
      // Chord through C and R, scaled by Z·H: (r·(x_Q + x_R) − y_R·Z·H) + i·(Z·H)·y_Q.
      const zz = (Z * Z) % P;
      const h = (xr * zz - X) % P;
      const rr = (yr * ((Z * zz) % P) - Y) % P;
      if (h === 0n) return undefined; // C = ±R: only for R outside the subgroup
      const zh = (Z * h) % P;
      const c0 = (rr * (xq + xr) - yr * zh) % P;
      const c1 = (zh * yq) % P;
      const n1 = a * c0;
      const n2 = b * c1;
      const nb = ((a + b) * (c0 + c1) - n1 - n2) % P;
      a = (n1 - n2) % P;
      b = nb;
      // C = C + R
      const hh = (h * h) % P;
      const hhh = (h * hh) % P;
      const v = (X * hh) % P;
      const x4 = (rr * rr - hhh - 2n * v) % P;
      Y = (rr * (v - x4) - Y * hhh) % P;
      X = x4;
      Z = zh;
    }
  }
  const [fa, fb] = finalExponentiation(a, b);
  return pfpRepresentative(fa, fb);
}

/** Non-adjacent form of q − 1, most significant digit first (digits in {−1, 0, 1}). */
function nafOfQMinus1(): Int8Array {
  let k = Q - 1n;
  const digits: number[] = [];
  while (k > 0n) {
    if (k & 1n) {
      const d = 2 - Number(k & 3n);
      digits.push(d);
      k -= BigInt(d);
    } else {
      digits.push(0);
    }
    k >>= 1n;
  }
  return Int8Array.from(digits.reverse());
}

/**
 * Loop shape shared by every receiver: NAF digits of q − 1 (1022 digits, 353 non-zero,
 * against 513 ones in binary). A subtraction step multiplies by the chord through T and −S;
 * the Miller function it builds differs from the binary one of §3.2 only by vertical lines
 * and constants, which are F_p values at ψ(R) and vanish in PF_p.
 */
const LOOP_DIGITS = nafOfQMinus1();

/**
 * Line coefficients of the Miller loop on a fixed point S, in loop order. A doubling-only
 * step stores (λ, c): its line at ψ(R) is (λ·x_R + c) + i·y_R. A step that doubles and then
 * adds ±S stores the product of its two lines, (λ1·x + c1 + i·y)(λ2·x + c2 + i·y), as
 *   real = λ1λ2·x² + (λ1c2 + λ2c1)·x + c1c2 − y²,   imag = (λ1 + λ2)·xy + (c1 + c2)·y,
 * i.e. five coefficients (A2, A1, A0, B1, B0), so that step costs one F_p² product.
 */
export interface MillerLines {
  readonly coefficients: readonly bigint[];
}

/**
 * Runs the Miller loop of <S, ·> once on S (Jacobian trajectory, one batch inversion for
 * all slopes) and returns its line coefficients. Returns undefined unless S has order q:
 * the loop ends on [q − 1]S, which equals −S exactly when [q]S = O.
 */
export function precomputeMillerLines(s: AffinePoint): MillerLines | undefined {
  const xs = s.x;
  const ys = s.y;
  const steps = LOOP_DIGITS.length - 1;
  // Per line: numerator of λ, numerator of c (doubling only) and the common denominator.
  const lamNum: bigint[] = [];
  const cNum: bigint[] = [];
  const den: bigint[] = [];
  let X = xs;
  let Y = ys;
  let Z = 1n;
  for (let i = 1; i <= steps; i++) {
    // Doubling: λ = M/(2YZ), c = λx − y = (M·X − 2Y²)/(2YZ·Z²), M = 3(X² − Z⁴).
    const delta = (Z * Z) % P;
    const gamma = (Y * Y) % P;
    const beta = (X * gamma) % P;
    const m = (3n * (X - delta) * (X + delta)) % P;
    const z3 = (2n * Y * Z) % P;
    lamNum.push((m * delta) % P);
    cNum.push((m * X - 2n * gamma) % P);
    den.push((z3 * delta) % P);
    const x3 = (m * m - 8n * beta) % P;
    Y = (m * (4n * beta - x3) - 8n * gamma * gamma) % P;
    X = x3;
    Z = z3;
    const d = LOOP_DIGITS[i]!;
    if (d !== 0) {
      // Chord through T and ±S: λ = (y_S' − y_T)/(x_S − x_T) = r/(Z·H); c = λ·x_S − y_S'.
      const yS = d > 0 ? ys : -ys;
      const zz = (Z * Z) % P;
      const h = (xs * zz - X) % P;
      const rr = (yS * ((Z * zz) % P) - Y) % P;
      if (h === 0n) return undefined;
      const zh = (Z * h) % P;
      lamNum.push(rr);
      cNum.push(yS); // c is finished once λ is known
      den.push(zh);
      const hh = (h * h) % P;
      const hhh = (h * hh) % P;
      const v = (X * hh) % P;
      const x4 = (rr * rr - hhh - 2n * v) % P;
      Y = (rr * (v - x4) - Y * hhh) % P;
      X = x4;
      Z = zh;
    }
  }
  // [q − 1]S must be −S: X = x_S·Z², Y = −y_S·Z³ (and Z ≠ 0).
  const zz = (Z * Z) % P;
  if (Z % P === 0n || (X - xs * zz) % P !== 0n || (Y + ys * ((zz * Z) % P)) % P !== 0n) return undefined;
  if (!fpBatchInvertInPlace(den)) return undefined;

  const coefficients: bigint[] = [];
  let k = 0;
  for (let i = 1; i <= steps; i++) {
    const lam1 = mod(lamNum[k]! * den[k]!);
    const c1 = mod(cNum[k]! * den[k]!);
    k++;
    if (LOOP_DIGITS[i] === 0) {
      coefficients.push(lam1, c1);
    } else {
      const lam2 = mod(lamNum[k]! * den[k]!);
      const c2 = mod(lam2 * xs - cNum[k]!);
      k++;
      coefficients.push(
        mod(lam1 * lam2),
        mod(lam1 * c2 + lam2 * c1),
        mod(c1 * c2),
        mod(lam1 + lam2),
        mod(c1 + c2),
      );
    }
  }
  return { coefficients };
}

/**
 * <S, R> for the S of `lines` and R on E, as the PF_p representative in [0, p); undefined
 * if the value degenerates (R of order 2, outside the subgroup). Per doubling step:
 * v² (2 products) + line (1) + Karatsuba product (3), with 5 reductions.
 */
export function evaluateMillerLines(lines: MillerLines, r: AffinePoint): bigint | undefined {
  const co = lines.coefficients;
  const x = r.x;
  const y = r.y;
  if (y === 0n) return undefined;
  const x2 = (x * x) % P;
  const xy = (x * y) % P;
  const y2 = (y * y) % P;
  const digits = LOOP_DIGITS;
  const steps = digits.length;
  // The first step squares v = 1: start from its line directly.
  let a: bigint;
  let b: bigint;
  let k: number;
  if (digits[1] === 0) {
    a = (co[0]! * x + co[1]!) % P;
    b = y;
    k = 2;
  } else {
    a = (co[0]! * x2 + co[1]! * x + co[2]! - y2) % P;
    b = (co[3]! * xy + co[4]! * y) % P;
    k = 5;
  }
  for (let i = 2; i < steps; i++) {
    const s = ((a + b) * (a - b)) % P;
    const t = (2n * a * b) % P;
    let l0: bigint;
    let l1: bigint;
    if (digits[i] === 0) {
      l0 = (co[k]! * x + co[k + 1]!) % P;
      l1 = y;
      k += 2;
    } else {
      l0 = (co[k]! * x2 + co[k + 1]! * x + co[k + 2]! - y2) % P;
      l1 = (co[k + 3]! * xy + co[k + 4]! * y) % P;
      k += 5;
    }
    const m1 = s * l0;
    const m2 = t * l1;
    a = (m1 - m2) % P;
    b = ((s + t) * (l0 + l1) - m1 - m2) % P;
  }
  const [fa, fb] = finalExponentiation(a, b);
  return pfpRepresentative(fa, fb);
}
