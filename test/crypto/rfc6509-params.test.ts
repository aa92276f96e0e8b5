/**
 * RFC 6509 Appendix A, SAKKE parameter set 1: the constants match the shared vector file
 * and satisfy the relations RFC 6508 §2.1/§3 require, the pairing being computed here.
 */
import { describe, it, expect } from 'vitest';
import { sharedVector } from '../helpers/shared.js';
import { hexToBytes, bytesToHex } from '../../src/util/bytes.js';
import {
  SAKKE_PARAMETER_SET_1 as S,
  ENCAPSULATED_BYTES,
  POINT_BYTES,
  SSV_BYTES,
  sakkeParameterSetChecks,
} from '../../src/crypto/sakke/params.js';
import { BASE_POINT, encodePoint, isInfinity, isOnCurve, mulOdd, FixedBaseTable } from '../../src/crypto/sakke/curve.js';
import { pairing, precomputeMillerLines, evaluateMillerLines } from '../../src/crypto/sakke/pairing.js';
import { checkParameterSet1 } from '../../src/crypto/sakke/param-checks.js';

interface ParamVector {
  n_bits: number;
  Hash: string;
  p: string;
  q: string;
  Px: string;
  Py: string;
  P_uncompressed: string;
  g: string;
}

const v = sharedVector<ParamVector>('rfc6509-sakke-parameter-set-1');
const big = (h: string): bigint => BigInt('0x' + h);

describe('RFC 6509 Appendix A: SAKKE parameter set 1', () => {
  it('constants are the published values, frozen', () => {
    expect(S.p).toBe(big(v.p));
    expect(S.q).toBe(big(v.q));
    expect(S.Px).toBe(big(v.Px));
    expect(S.Py).toBe(big(v.Py));
    expect(S.g).toBe(big(v.g));
    expect(S.n).toBe(v.n_bits);
    expect(S.hash).toBe(v.Hash);
    expect(Object.isFrozen(S)).toBe(true);
    expect(bytesToHex(encodePoint(BASE_POINT))).toBe(v.P_uncompressed);
    expect([POINT_BYTES, SSV_BYTES, ENCAPSULATED_BYTES]).toEqual([257, 16, 273]);
  });

  it('p ≡ 3 (mod 4), p + 1 = 4q, and 3 is a non-residue (p ≡ 7 mod 12: E(F_p) cyclic)', () => {
    expect(S.p % 4n).toBe(3n);
    expect(S.p + 1n).toBe(4n * S.q);
    expect(S.p % 12n).toBe(7n);
  });

  it('P is on E: y² = x³ − 3x and [q]P = O', () => {
    expect(isOnCurve(S.Px, S.Py)).toBe(true);
    expect(isInfinity(mulOdd(BASE_POINT, S.q))).toBe(true);
    // Through the window table too (exceptional additions at the end of the sum).
    expect(FixedBaseTable.build(BASE_POINT)!.hasOrderQ()).toBe(true);
  });

  it('g = <P, P> with the plain RFC 6508 §3.2 pairing and with the fixed-argument one', () => {
    expect(pairing(BASE_POINT, BASE_POINT)).toBe(S.g);
    const lines = precomputeMillerLines(BASE_POINT)!;
    expect(evaluateMillerLines(lines, BASE_POINT)).toBe(S.g);
  });

  it('self-check and the conformance entry point', async () => {
    expect(checkParameterSet1().filter((c) => !c.ok)).toEqual([]);
    const values = { p: hexToBytes(v.p), q: hexToBytes(v.q), px: hexToBytes(v.Px), py: hexToBytes(v.Py), g: hexToBytes(v.g) };
    await expect(sakkeParameterSetChecks(values)).resolves.toBe(true);
    const g = values.g.slice();
    g[127]! ^= 1;
    await expect(sakkeParameterSetChecks({ ...values, g })).resolves.toBe(false);
  });
});
