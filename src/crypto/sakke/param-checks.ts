/**
 * Self-check of SAKKE parameter set 1 (RFC 6509 Appendix A) against the relations RFC 6508
 * §2.1 and §3 require: p ≡ 3 (mod 4), p + 1 = 4q, P on E: y² = x³ − 3x, [q]P = O and
 * g = <P, P> computed with the pairing of RFC 6508 §3.2.
 */
import { bytesToBigInt } from '../../util/bytes.js';
import { BASE_POINT, isInfinity, isOnCurve, mulOdd } from './curve.js';
import { pairing } from './pairing.js';
import { SAKKE_PARAMETER_SET_1 as S, type SakkeParameterValues } from './params.js';

export interface ParameterCheck {
  readonly name: string;
  readonly ok: boolean;
}

/** Each relation of parameter set 1, computed (about 60 ms: one [q]P and one pairing). */
export function checkParameterSet1(): ParameterCheck[] {
  return [
    { name: 'p ≡ 3 (mod 4)', ok: S.p % 4n === 3n },
    { name: 'p + 1 = 4q', ok: S.p + 1n === 4n * S.q },
    { name: 'P on E: y² = x³ − 3x', ok: isOnCurve(S.Px, S.Py) },
    { name: '[q]P = O', ok: isInfinity(mulOdd(BASE_POINT, S.q)) },
    { name: 'g = <P, P>', ok: pairing(BASE_POINT, BASE_POINT) === S.g },
  ];
}

/** True when `values` are parameter set 1 and every relation of the set holds. */
export function parameterSetChecks(values: SakkeParameterValues): boolean {
  const given = [values.p, values.q, values.px, values.py, values.g].map((v) => bytesToBigInt(v));
  const ours = [S.p, S.q, S.Px, S.Py, S.g];
  if (given.some((v, k) => v !== ours[k])) return false;
  return checkParameterSet1().every((c) => c.ok);
}
