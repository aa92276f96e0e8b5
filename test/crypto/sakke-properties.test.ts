/**
 * SAKKE (RFC 6508) beyond the worked example: round trips with random identities and SSVs,
 * hostile encapsulations and keys (every failure a typed CryptoError, never a wrong SSV),
 * and the algebra the fast paths rely on (recoding, tables, pairing bilinearity).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { CryptoError, type CryptoErrorCode } from '../../src/errors.js';
import { bigIntToBytes, bytesToBigInt, equalBytes, hexToBytes } from '../../src/util/bytes.js';
import {
  createSakkeReceiver,
  hashToIntegerRange,
  sakkeDecapsulate,
  sakkeDerivePublicKey,
  sakkeEncapsulate,
  sakkeIssueReceiverKey,
  sakkeValidateReceiverKey,
  type SakkeReceiverKeys,
} from '../../src/crypto/sakke/sakke.js';
import {
  BASE_POINT,
  FixedBaseTable,
  addAffineInPlace,
  decodePoint,
  encodePoint,
  isInSubgroup,
  isOnCurve,
  jacobianOf,
  mulOdd,
  toAffine,
  type AffinePoint,
} from '../../src/crypto/sakke/curve.js';
import { fpPow, mod } from '../../src/crypto/sakke/field.js';
import { evaluateMillerLines, precomputeMillerLines } from '../../src/crypto/sakke/pairing.js';
import { oddRepresentative, recodeOdd, windowCount } from '../../src/crypto/sakke/recode.js';
import { P, Q, SAKKE_PARAMETER_SET_1 as S } from '../../src/crypto/sakke/params.js';
import { PfpPowerTable, pfpRepresentative } from '../../src/crypto/sakke/field.js';

const ZS = hexToBytes('3a1f0c9d8e7b6a5948372615f4e3d2c1b0a9988776655443322110ffeeddccbb');
const Z = sakkeDerivePublicKey(ZS);
const ALICE = new TextEncoder().encode('2024-01\0sip:alice@example.org\0');
const BOB = new TextEncoder().encode('2024-01\0sip:bob@example.org\0');
const aliceKeys: SakkeReceiverKeys = { id: ALICE, z: Z, rsk: sakkeIssueReceiverKey({ zS: ZS, id: ALICE }) };
const bobKeys: SakkeReceiverKeys = { id: BOB, z: Z, rsk: sakkeIssueReceiverKey({ zS: ZS, id: BOB }) };
const SSV = hexToBytes('00112233445566778899aabbccddeeff');

/** Runs f and returns the CryptoError code it throws; fails the test if it returns. */
function codeOf(f: () => unknown): CryptoErrorCode {
  let result: unknown;
  try {
    result = f();
  } catch (e) {
    if (e instanceof CryptoError) return e.code;
    throw e;
  }
  throw new Error(`expected a CryptoError, got a result: ${String(result)}`);
}

const add = (a: AffinePoint, b: AffinePoint): AffinePoint => {
  const j = jacobianOf(a);
  addAffineInPlace(j, b.x, b.y);
  return toAffine(j)!;
};

/** A point of E(F_p) of order 4q: x chosen so that x³ − 3x is a square with x not one. */
function pointOfOrder4q(): AffinePoint {
  for (let x = 2n; ; x++) {
    const rhs = mod(x * x * x - 3n * x);
    const y = fpPow(rhs, (P + 1n) / 4n); // a square root when one exists (p ≡ 3 mod 4)
    if ((y * y) % P !== rhs) continue;
    const pt = { x, y };
    // x a non-residue ⇒ pt ∉ 2E(F_p); E(F_p) is cyclic of order 4q, so pt has order 4q.
    if (fpPow(x, (P - 1n) / 2n) !== 1n) return pt;
  }
}

describe('SAKKE round trips', () => {
  it('random identities and SSVs: encapsulate, then decapsulate one-shot', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (id, ssv) => {
        const rsk = sakkeIssueReceiverKey({ zS: ZS, id });
        const enc = sakkeEncapsulate(ssv, { id, z: Z });
        expect(enc.length).toBe(273);
        expect(equalBytes(sakkeDecapsulate(enc, { id, z: Z, rsk }), ssv)).toBe(true);
      }),
      { numRuns: 8, seed: 6508 },
    );
  });

  it('a receiver decapsulates many random SSVs; 32-byte UIDs as identities', () => {
    const uid = hexToBytes('b5c452309219da6a3d805615548d6c1b0f4de45a6b48fb13d9a24d857fc03dc4');
    const keys = { id: uid, z: Z, rsk: sakkeIssueReceiverKey({ zS: ZS, id: uid }) };
    expect(sakkeValidateReceiverKey(keys)).toBe(true);
    const receiver = createSakkeReceiver(keys);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (ssv) => {
        expect(equalBytes(receiver.decapsulate(sakkeEncapsulate(ssv, keys)), ssv)).toBe(true);
      }),
      { numRuns: 16, seed: 33179 },
    );
  });

  it('encapsulation is deterministic in (SSV, b) and differs between identities', () => {
    const a = sakkeEncapsulate(SSV, aliceKeys);
    expect(equalBytes(a, sakkeEncapsulate(SSV, aliceKeys))).toBe(true);
    expect(equalBytes(a, sakkeEncapsulate(SSV, bobKeys))).toBe(false);
  });
});

describe('SAKKE hostile encapsulated data', () => {
  const receiver = createSakkeReceiver(aliceKeys);
  const enc = sakkeEncapsulate(SSV, aliceKeys);
  const REFUSALS: readonly CryptoErrorCode[] = [
    'ERR_CRYPTO_BAD_POINT_ENCODING',
    'ERR_CRYPTO_POINT_NOT_ON_CURVE',
    'ERR_CRYPTO_POINT_NOT_IN_SUBGROUP',
    'ERR_SAKKE_DECAPSULATION_FAILED',
  ];

  it('every single-byte change at sampled positions is refused with a typed error', () => {
    const positions = [0, 1, 2, 63, 64, 127, 128, 129, 130, 192, 255, 256, 257, 258, 264, 271, 272];
    for (const pos of positions) {
      for (const delta of [0x01, 0x80]) {
        const bad = enc.slice();
        bad[pos]! ^= delta;
        expect(REFUSALS).toContain(codeOf(() => receiver.decapsulate(bad)));
      }
    }
    // Changes of H only: R stays valid, the check [r]([b]P + Z) = R catches them.
    const badH = enc.slice();
    badH[260]! ^= 0x10;
    expect(codeOf(() => receiver.decapsulate(badH))).toBe('ERR_SAKKE_DECAPSULATION_FAILED');
    expect(codeOf(() => sakkeDecapsulate(badH, aliceKeys))).toBe('ERR_SAKKE_DECAPSULATION_FAILED');
  });

  it('random byte changes anywhere are refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 272 }), fc.integer({ min: 1, max: 255 }), (pos, delta) => {
        const bad = enc.slice();
        bad[pos]! ^= delta;
        expect(REFUSALS).toContain(codeOf(() => receiver.decapsulate(bad)));
      }),
      { numRuns: 30, seed: 4 },
    );
  });

  it('wrong length, wrong prefix, coordinate ≥ p, off-curve, outside the subgroup', () => {
    expect(codeOf(() => receiver.decapsulate(enc.subarray(0, 272)))).toBe('ERR_CRYPTO_BAD_LENGTH');
    expect(codeOf(() => receiver.decapsulate(new Uint8Array(274)))).toBe('ERR_CRYPTO_BAD_LENGTH');
    expect(codeOf(() => receiver.decapsulate(new Uint8Array(0)))).toBe('ERR_CRYPTO_BAD_LENGTH');
    for (const prefix of [0x00, 0x02, 0x03, 0x05]) {
      const bad = enc.slice();
      bad[0] = prefix;
      expect(codeOf(() => receiver.decapsulate(bad))).toBe('ERR_CRYPTO_BAD_POINT_ENCODING');
    }
    const R = decodePoint(enc.subarray(0, 257), 'R');
    const H = enc.subarray(257);
    const withR = (x: bigint, y: bigint): Uint8Array => {
      const out = new Uint8Array(273);
      out[0] = 4;
      out.set(bigIntToBytes(x, 128), 1);
      out.set(bigIntToBytes(y, 128), 129);
      out.set(H, 257);
      return out;
    };
    expect(codeOf(() => receiver.decapsulate(withR(R.x + P, R.y)))).toBe('ERR_CRYPTO_BAD_POINT_ENCODING');
    expect(codeOf(() => receiver.decapsulate(withR(R.x, R.y + P)))).toBe('ERR_CRYPTO_BAD_POINT_ENCODING');
    expect(codeOf(() => receiver.decapsulate(withR(R.x, mod(R.y + 1n))))).toBe('ERR_CRYPTO_POINT_NOT_ON_CURVE');
    // (0, 0) has order 2; R + (0, 0) and a point of order 4q are on E but outside the subgroup.
    expect(codeOf(() => receiver.decapsulate(withR(0n, 0n)))).toBe('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP');
    const shifted = add(R, { x: 0n, y: 0n });
    expect(isOnCurve(shifted.x, shifted.y)).toBe(true);
    expect(codeOf(() => receiver.decapsulate(withR(shifted.x, shifted.y)))).toBe('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP');
    const t = pointOfOrder4q();
    expect(codeOf(() => receiver.decapsulate(withR(t.x, t.y)))).toBe('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP');
    expect(codeOf(() => sakkeDecapsulate(withR(shifted.x, shifted.y), aliceKeys))).toBe('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP');
  });

  it('misuse is a TypeError', () => {
    expect(() => receiver.decapsulate('04ab' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => sakkeEncapsulate([1, 2] as unknown as Uint8Array, aliceKeys)).toThrow(TypeError);
    expect(() => sakkeEncapsulate(SSV, null as unknown as SakkeReceiverKeys)).toThrow(TypeError);
    expect(() => sakkeEncapsulate(SSV, { id: 'alice', z: Z } as unknown as SakkeReceiverKeys)).toThrow(TypeError);
    expect(() => createSakkeReceiver({ ...aliceKeys, rsk: undefined } as unknown as SakkeReceiverKeys)).toThrow(TypeError);
    expect(() => sakkeValidateReceiverKey({ ...aliceKeys, z: [4] } as unknown as SakkeReceiverKeys)).toThrow(TypeError);
  });

  it('bad SSV length, empty identifier, bad KMS key', () => {
    expect(codeOf(() => sakkeEncapsulate(new Uint8Array(15), aliceKeys))).toBe('ERR_CRYPTO_BAD_LENGTH');
    expect(codeOf(() => sakkeEncapsulate(new Uint8Array(32), aliceKeys))).toBe('ERR_CRYPTO_BAD_LENGTH');
    expect(codeOf(() => sakkeEncapsulate(SSV, { id: new Uint8Array(0), z: Z }))).toBe('ERR_CRYPTO_BAD_LENGTH');
    expect(codeOf(() => sakkeEncapsulate(SSV, { id: ALICE, z: Z.subarray(1) }))).toBe('ERR_CRYPTO_BAD_LENGTH');
    const offCurve = Z.slice();
    offCurve[256]! ^= 1;
    expect(codeOf(() => sakkeEncapsulate(SSV, { id: ALICE, z: offCurve }))).toBe('ERR_CRYPTO_POINT_NOT_ON_CURVE');
    const zPoint = decodePoint(Z, 'Z');
    const zOutside = encodePoint(add(zPoint, { x: 0n, y: 0n }));
    expect(codeOf(() => sakkeEncapsulate(SSV, { id: ALICE, z: zOutside }))).toBe('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP');
    expect(codeOf(() => createSakkeReceiver({ ...aliceKeys, z: zOutside }))).toBe('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP');
    expect(sakkeValidateReceiverKey({ ...aliceKeys, z: zOutside })).toBe(false);
  });
});

describe('SAKKE receiver keys', () => {
  it('another identity’s RSK is refused at creation and fails decapsulation', () => {
    const wrong = { id: ALICE, z: Z, rsk: bobKeys.rsk };
    expect(sakkeValidateReceiverKey(wrong)).toBe(false);
    expect(codeOf(() => createSakkeReceiver(wrong))).toBe('ERR_SAKKE_INVALID_RECEIVER_KEY');
    const toAlice = sakkeEncapsulate(SSV, aliceKeys);
    expect(codeOf(() => sakkeDecapsulate(toAlice, wrong))).toBe('ERR_SAKKE_DECAPSULATION_FAILED');
    expect(codeOf(() => createSakkeReceiver(bobKeys).decapsulate(toAlice))).toBe('ERR_SAKKE_DECAPSULATION_FAILED');
  });

  it('validation is false for a wrong identifier, a tampered or malformed RSK', () => {
    expect(sakkeValidateReceiverKey(aliceKeys)).toBe(true);
    expect(sakkeValidateReceiverKey({ ...aliceKeys, id: BOB })).toBe(false);
    for (const pos of [0, 1, 100, 128, 129, 200, 256]) {
      const rsk = aliceKeys.rsk.slice();
      rsk[pos]! ^= 0x04;
      expect(sakkeValidateReceiverKey({ ...aliceKeys, rsk })).toBe(false);
    }
    expect(sakkeValidateReceiverKey({ ...aliceKeys, rsk: aliceKeys.rsk.subarray(0, 200) })).toBe(false);
    expect(sakkeValidateReceiverKey({ ...aliceKeys, z: Z.subarray(0, 256) })).toBe(false);
    expect(sakkeValidateReceiverKey({ ...aliceKeys, id: new Uint8Array(0) })).toBe(false);
    // On the curve, right coset in the pairing, wrong order: RSK + (0, 0).
    const rskOutside = encodePoint(add(decodePoint(aliceKeys.rsk, 'RSK'), { x: 0n, y: 0n }));
    expect(sakkeValidateReceiverKey({ ...aliceKeys, rsk: rskOutside })).toBe(false);
    expect(codeOf(() => createSakkeReceiver({ ...aliceKeys, rsk: rskOutside }))).toBe('ERR_SAKKE_INVALID_RECEIVER_KEY');
    const offCurve = aliceKeys.rsk.slice();
    offCurve[256]! ^= 1;
    expect(codeOf(() => createSakkeReceiver({ ...aliceKeys, rsk: offCurve }))).toBe('ERR_SAKKE_INVALID_RECEIVER_KEY');
    expect(codeOf(() => createSakkeReceiver({ ...aliceKeys, rsk: new Uint8Array(257) }))).toBe('ERR_SAKKE_INVALID_RECEIVER_KEY');
  });

  it('KMS side refuses out-of-range master secrets and b + z_S ≡ 0 (mod q)', () => {
    expect(codeOf(() => sakkeDerivePublicKey(new Uint8Array([0])))).toBe('ERR_CRYPTO_SCALAR_OUT_OF_RANGE');
    expect(codeOf(() => sakkeDerivePublicKey(new Uint8Array([1])))).toBe('ERR_CRYPTO_SCALAR_OUT_OF_RANGE');
    expect(codeOf(() => sakkeDerivePublicKey(bigIntToBytes(Q, 128)))).toBe('ERR_CRYPTO_SCALAR_OUT_OF_RANGE');
    expect(codeOf(() => sakkeDerivePublicKey(new Uint8Array(0)))).toBe('ERR_CRYPTO_BAD_LENGTH');
    expect(codeOf(() => sakkeDerivePublicKey(new Uint8Array(129)))).toBe('ERR_CRYPTO_BAD_LENGTH');
    const z = bytesToBigInt(ZS);
    const unlucky = bigIntToBytes(Q - z, 128);
    expect(codeOf(() => sakkeIssueReceiverKey({ zS: ZS, id: unlucky }))).toBe('ERR_CRYPTO_SCALAR_OUT_OF_RANGE');
    // For that identifier [b]P + Z = O: nothing can be encapsulated to it.
    expect(codeOf(() => sakkeEncapsulate(SSV, { id: unlucky, z: Z }))).toBe('ERR_CRYPTO_SCALAR_OUT_OF_RANGE');
  });
});

describe('SAKKE building blocks', () => {
  it('regular recoding: odd digits below 2^w that sum to k', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: Q - 1n }), fc.integer({ min: 2, max: 8 }), (k, w) => {
        const odd = oddRepresentative(k);
        const m = windowCount(1023, w);
        const digits = recodeOdd(odd, w, m);
        let sum = 0n;
        for (let j = m - 1; j >= 0; j--) {
          const d = digits[j]!;
          expect(Math.abs(d) % 2).toBe(1);
          expect(Math.abs(d)).toBeLessThan(1 << w);
          sum = (sum << BigInt(w)) + BigInt(d);
        }
        expect(sum).toBe(odd);
      }),
      { numRuns: 40, seed: 1 },
    );
  });

  it('fixed-base table and generic multiplication agree, edge scalars included', () => {
    const table = FixedBaseTable.build(BASE_POINT, 4)!;
    const same = (k: bigint): void => {
      const a = toAffine(table.mul(k));
      const b = toAffine(mulOdd(BASE_POINT, oddRepresentative(k)));
      expect(a).toEqual(b);
    };
    for (const k of [0n, 1n, 2n, 3n, Q - 1n, Q - 2n, (Q - 1n) / 2n, (Q + 1n) / 2n, 1n << 1021n]) same(k);
    expect(toAffine(table.mul(0n))).toBeUndefined();
    expect(toAffine(table.mul(Q - 1n))).toEqual({ x: BASE_POINT.x, y: P - BASE_POINT.y });
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: Q - 1n }), same), { numRuns: 4, seed: 2 });
  });

  it('subgroup test: [4]X is in it for X of order 4q, X is not', () => {
    const t = pointOfOrder4q();
    expect(isInSubgroup(t)).toBe(false);
    const t2 = add(t, t);
    expect(isInSubgroup(t2)).toBe(false);
    expect(isInSubgroup(add(t2, t2))).toBe(true);
    expect(isInSubgroup({ x: 0n, y: 0n })).toBe(false);
    expect(precomputeMillerLines(t)).toBeUndefined();
    expect(precomputeMillerLines(t2)).toBeUndefined();
  });

  it('pairing bilinearity: <[a]P, [b]P> = g^(ab) (fixed-argument pairing)', () => {
    const table = FixedBaseTable.build(BASE_POINT)!;
    const gTable = PfpPowerTable.build(S.g);
    const a = 0x1234567890abcdef1234567890abcdefn;
    const lines = precomputeMillerLines(toAffine(table.mul(a))!)!;
    for (const b of [2n, 0xfedcba9876543210n, Q - 3n]) {
      const [x, y] = gTable.pow((a * b) % Q);
      expect(evaluateMillerLines(lines, toAffine(table.mul(b))!)).toBe(pfpRepresentative(x, y));
    }
  });

  it('HashToIntegerRange: l = ceil(lg(n)/256) blocks, result below n', () => {
    const s = new Uint8Array([1, 2, 3]);
    // n = 2^256 needs one block, n = 2^256 + 1 two: the second block changes the value.
    const one = hashToIntegerRange(s, 1n << 256n);
    const two = hashToIntegerRange(s, (1n << 256n) + 1n);
    expect(one).toBeLessThan(1n << 256n);
    expect(one).not.toBe(two);
    expect(hashToIntegerRange(s, 1n << 128n)).toBe(one % (1n << 128n));
    expect(hashToIntegerRange(s, Q)).toBeLessThan(Q);
    expect(() => hashToIntegerRange(s, 1n)).toThrow(RangeError);
  });
});
