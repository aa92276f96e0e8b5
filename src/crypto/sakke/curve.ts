/**
 * Points of E: y² = x³ − 3x over F_p (RFC 6508 §2.1, §3.1; parameter set 1 of RFC 6509
 * Appendix A): the 0x04 ‖ x ‖ y encoding (RFC 6508 §2.1 "octet string of a point"),
 * Jacobian arithmetic with a = −3, scalar multiplication and fixed-base window tables.
 *
 * #E(F_p) = p + 1 = 4q and, since p ≡ 7 (mod 12) makes 3 a non-residue, (0, 0) is the only
 * F_p-rational 2-torsion point: E(F_p) is cyclic of order 4q and the order-q subgroup is
 * exactly the points with [q]X = O.
 *
 * Scalars are recoded to fixed-width windows whose digits are all odd and non-zero (the
 * "regular" recoding), so a multiplication always performs the same sequence of additions
 * whatever the scalar; see the timing note in sakke.ts.
 */
import { CryptoError } from '../../errors.js';
import { bigIntToBytes, bytesOf, bytesToBigInt, concatBytes } from '../../util/bytes.js';
import { fpBatchInvertInPlace, fpInv, mod } from './field.js';
import { FP_BYTES, P, POINT_BYTES, Q, SAKKE_PARAMETER_SET_1 } from './params.js';
import { oddRepresentative, recodeOdd, SCALAR_BITS, windowCount } from './recode.js';

/** A finite point of E(F_p) in affine coordinates, coordinates in [0, p). */
export interface AffinePoint {
  readonly x: bigint;
  readonly y: bigint;
}

/**
 * A point in Jacobian coordinates (x, y) = (X/Z², Y/Z³); Z = 0 is the point at infinity.
 * Coordinates are kept in (−p, p), not necessarily canonical: products stay below 4p².
 */
export interface Jacobian {
  X: bigint;
  Y: bigint;
  Z: bigint;
}

/** The base point P of parameter set 1. */
export const BASE_POINT: AffinePoint = Object.freeze({ x: SAKKE_PARAMETER_SET_1.Px, y: SAKKE_PARAMETER_SET_1.Py });

export function isOnCurve(x: bigint, y: bigint): boolean {
  return (y * y - (x * x - 3n) * x) % P === 0n;
}

/**
 * Decodes 0x04 ‖ x ‖ y (257 octets) into a point on E, refusing a wrong length, another
 * prefix, coordinates ≥ p and points off the curve. Subgroup membership is the caller's
 * business (it costs a scalar multiplication, and some callers get it for free).
 */
export function decodePoint(bytes: unknown, what: string): AffinePoint {
  const b = bytesOf(bytes, POINT_BYTES, what);
  if (b[0] !== 0x04) throw new CryptoError('ERR_CRYPTO_BAD_POINT_ENCODING', `${what} must start with 0x04`);
  const x = bytesToBigInt(b.subarray(1, 1 + FP_BYTES));
  const y = bytesToBigInt(b.subarray(1 + FP_BYTES));
  if (x >= P || y >= P) throw new CryptoError('ERR_CRYPTO_BAD_POINT_ENCODING', `${what} has a coordinate ≥ p`);
  if (!isOnCurve(x, y)) throw new CryptoError('ERR_CRYPTO_POINT_NOT_ON_CURVE', `${what} is not on the curve`);
  return { x, y };
}

export function encodePoint(pt: AffinePoint): Uint8Array {
  return concatBytes(Uint8Array.of(0x04), bigIntToBytes(pt.x, FP_BYTES), bigIntToBytes(pt.y, FP_BYTES));
}

export function jacobianOf(pt: AffinePoint): Jacobian {
  return { X: pt.x, Y: pt.y, Z: 1n };
}

export function isInfinity(j: Jacobian): boolean {
  return j.Z % P === 0n;
}

/** [2]J in place (dbl-2001-b for a = −3: 3M + 5S; the last two products share a reduction). */
export function doubleInPlace(j: Jacobian): void {
  const { X, Y, Z } = j;
  const delta = (Z * Z) % P;
  const gamma = (Y * Y) % P;
  const beta = (X * gamma) % P;
  const alpha = (3n * (X - delta) * (X + delta)) % P;
  const X3 = (alpha * alpha - 8n * beta) % P;
  j.Y = (alpha * (4n * beta - X3) - 8n * gamma * gamma) % P;
  j.Z = (2n * Y * Z) % P;
  j.X = X3;
}

/**
 * J += (x2, y2) in place (mixed Jacobian–affine addition, 8M + 3S), with the exceptional
 * cases handled: J = O, J = (x2, y2) (doubling) and J = −(x2, y2) (result O).
 */
export function addAffineInPlace(j: Jacobian, x2: bigint, y2: bigint): void {
  const { X, Y, Z } = j;
  if (Z % P === 0n) {
    j.X = x2;
    j.Y = y2;
    j.Z = 1n;
    return;
  }
  const zz = (Z * Z) % P;
  const u2 = (x2 * zz) % P;
  const s2 = (y2 * ((Z * zz) % P)) % P;
  const h = u2 - X;
  const r = s2 - Y;
  if (h % P === 0n) {
    if (r % P === 0n) {
      j.X = x2;
      j.Y = y2;
      j.Z = 1n;
      doubleInPlace(j);
    } else {
      j.X = 1n;
      j.Y = 1n;
      j.Z = 0n;
    }
    return;
  }
  const hh = (h * h) % P;
  const hhh = (h * hh) % P;
  const v = (X * hh) % P;
  const X3 = (r * r - hhh - 2n * v) % P;
  j.Y = (r * (v - X3) - Y * hhh) % P;
  j.Z = (Z * h) % P;
  j.X = X3;
}

/** Affine form of J, or undefined for O (one inversion). */
export function toAffine(j: Jacobian): AffinePoint | undefined {
  const zi = fpInv(j.Z);
  if (zi === 0n) return undefined;
  const zi2 = (zi * zi) % P;
  return { x: mod(j.X * zi2), y: mod(j.Y * ((zi2 * zi) % P)) };
}

/** J == pt without an inversion: X = x·Z², Y = y·Z³. */
export function jacobianEqualsAffine(j: Jacobian, pt: AffinePoint): boolean {
  if (j.Z % P === 0n) return false;
  const zz = (j.Z * j.Z) % P;
  if ((j.X - pt.x * zz) % P !== 0n) return false;
  return (j.Y - pt.y * ((zz * j.Z) % P)) % P === 0n;
}

/** Affine forms of many Jacobian points with one inversion; undefined if one of them is O. */
export function normalizeBatch(points: readonly Jacobian[]): AffinePoint[] | undefined {
  const zs = points.map((j) => j.Z);
  if (!fpBatchInvertInPlace(zs)) return undefined;
  return points.map((j, k) => {
    const zi = zs[k]!;
    const zi2 = (zi * zi) % P;
    return { x: mod(j.X * zi2), y: mod(j.Y * ((zi2 * zi) % P)) };
  });
}

/**
 * [k]X for an odd k < 2^1023 and any X on the curve, left to right over 5-bit regular
 * windows with a table of the odd multiples 1X … 31X: 1020 doublings and 204 additions
 * whatever k is. Used where no fixed-base table exists: subgroup checks ([q]X) and tests.
 */
export function mulOdd(pt: AffinePoint, k: bigint): Jacobian {
  const w = 5;
  const m = windowCount(SCALAR_BITS, w);
  const digits = recodeOdd(k, w, m);
  const half = 1 << (w - 1);
  // Odd multiples (2t + 1)X in Jacobian, then one batch normalisation.
  const twice = jacobianOf(pt);
  doubleInPlace(twice);
  const twiceA = toAffine(twice);
  const multiples: Jacobian[] = [jacobianOf(pt)];
  if (twiceA !== undefined) {
    for (let t = 1; t < half; t++) {
      const prev = multiples[t - 1]!;
      const next = { X: prev.X, Y: prev.Y, Z: prev.Z };
      addAffineInPlace(next, twiceA.x, twiceA.y);
      multiples.push(next);
    }
  }
  const table = multiples.length === half ? normalizeBatch(multiples) : undefined;
  if (table === undefined) return mulOddSlow(pt, k); // X of order 2: the table degenerates
  const entry = (d: number): AffinePoint => table[(Math.abs(d) - 1) >> 1]!;
  const top = entry(digits[m - 1]!); // the top digit is positive
  const acc: Jacobian = { X: top.x, Y: top.y, Z: 1n };
  for (let j = m - 2; j >= 0; j--) {
    for (let t = 0; t < w; t++) doubleInPlace(acc);
    const d = digits[j]!;
    const e = entry(d);
    addAffineInPlace(acc, e.x, d > 0 ? e.y : P - e.y);
  }
  return acc;
}

/** Double-and-add fallback for points of tiny order, where the window table degenerates. */
function mulOddSlow(pt: AffinePoint, k: bigint): Jacobian {
  const acc: Jacobian = { X: 1n, Y: 1n, Z: 0n };
  for (let bit = BigInt(k.toString(2).length - 1); bit >= 0n; bit--) {
    doubleInPlace(acc);
    if ((k >> bit) & 1n) addAffineInPlace(acc, pt.x, pt.y);
  }
  return acc;
}

/** True when [q]X = O, i.e. X lies in the order-q subgroup (E(F_p) is cyclic of order 4q). */
export function isInSubgroup(pt: AffinePoint): boolean {
  // A point with y = 0 has order 2; catching it here spares the multiplication.
  if (pt.y === 0n) return false;
  return isInfinity(mulOdd(pt, Q));
}

/**
 * Fixed-base table of a point B of order q: for each of m windows j, the odd multiples
 * (2t + 1)·2^(w·j)·B, t < 2^(w−1), in affine coordinates. [k]B then costs m mixed
 * additions and no doubling. With w = 6: 171 windows × 32 points (≈ 1.5 MB of BigInts).
 */
export class FixedBaseTable {
  private constructor(
    private readonly w: number,
    private readonly m: number,
    private readonly xs: readonly bigint[],
    private readonly ys: readonly bigint[],
  ) {}

  /**
   * Builds the table. Returns undefined when the base turns out to have a small order (a
   * denominator vanished), which never happens for a point of order q.
   */
  static build(base: AffinePoint, w = 6): FixedBaseTable | undefined {
    const m = windowCount(SCALAR_BITS, w);
    const half = 1 << (w - 1);
    // Doubling chain: B_j = 2^(w·j)·B and D_j = 2·B_j, normalised together.
    const chain: Jacobian[] = [];
    const cur = jacobianOf(base);
    for (let j = 0; j < m; j++) {
      chain.push({ X: cur.X, Y: cur.Y, Z: cur.Z });
      doubleInPlace(cur);
      chain.push({ X: cur.X, Y: cur.Y, Z: cur.Z });
      for (let t = 1; t < w; t++) doubleInPlace(cur);
    }
    const affine = normalizeBatch(chain);
    if (affine === undefined) return undefined;
    const xs: bigint[] = new Array<bigint>(m * half);
    const ys: bigint[] = new Array<bigint>(m * half);
    for (let j = 0; j < m; j++) {
      xs[j * half] = affine[2 * j]!.x;
      ys[j * half] = affine[2 * j]!.y;
    }
    // Odd multiples by affine additions E_t = E_(t−1) + D_j, all windows in one batch per t.
    const den: bigint[] = new Array<bigint>(m);
    for (let t = 1; t < half; t++) {
      for (let j = 0; j < m; j++) den[j] = affine[2 * j + 1]!.x - xs[j * half + t - 1]!;
      if (!fpBatchInvertInPlace(den)) return undefined;
      for (let j = 0; j < m; j++) {
        const x1 = xs[j * half + t - 1]!;
        const y1 = ys[j * half + t - 1]!;
        const d = affine[2 * j + 1]!;
        const lambda = ((d.y - y1) * den[j]!) % P;
        const x3 = mod(lambda * lambda - x1 - d.x);
        xs[j * half + t] = x3;
        ys[j * half + t] = mod(lambda * (x1 - x3) - y1);
      }
    }
    return new FixedBaseTable(w, m, xs, ys);
  }

  /** acc += [k]B for an odd k < 2^1023: exactly m mixed additions. */
  mulInto(acc: Jacobian, k: bigint): void {
    const { w, m, xs, ys } = this;
    const digits = recodeOdd(k, w, m);
    const half = 1 << (w - 1);
    for (let j = 0; j < m; j++) {
      const d = digits[j]!;
      const idx = j * half + ((Math.abs(d) - 1) >> 1);
      const y = ys[idx]!;
      addAffineInPlace(acc, xs[idx]!, d > 0 ? y : P - y);
    }
  }

  /** True when [q]B = O: the base has order q (q is odd, so the table can compute it). */
  hasOrderQ(): boolean {
    const acc: Jacobian = { X: 1n, Y: 1n, Z: 0n };
    this.mulInto(acc, Q);
    return isInfinity(acc);
  }

  /** [k]B for k in [0, q), B of order q (k is made odd by adding q). */
  mul(k: bigint): Jacobian {
    const acc: Jacobian = { X: 1n, Y: 1n, Z: 0n };
    this.mulInto(acc, oddRepresentative(k));
    return acc;
  }
}
