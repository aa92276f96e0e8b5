/**
 * RFC 6507 (ECCSI) Appendix A on P-256, plus the ECCSI parts of the published MIKEY-SAKKE
 * interop I_MESSAGEs (signatures made by other implementations), plus boundary checks.
 */
import { describe, expect, it } from 'vitest';
import { p256 } from '@noble/curves/nist.js';
import {
  eccsiDeriveKpak,
  eccsiIssueSigningKey,
  eccsiSign,
  eccsiValidateSigningKey,
  eccsiVerify,
  type EccsiSigningKeys,
} from '../../src/crypto/eccsi.js';
import { CryptoError } from '../../src/errors.js';
import { bigIntToBytes, bytesToBigInt, bytesToHex, concatBytes, hexToBytes } from '../../src/util/bytes.js';
import { sharedVector } from '../helpers/shared.js';

const v = sharedVector('rfc6507-eccsi');
const interop = sharedVector('impl-mikey-sakke-published-interop');
const h = (s: string): Uint8Array => hexToBytes(s.replace(/\s+/g, ''));
const q = p256.Point.Fn.ORDER;
const p = p256.Point.Fp.ORDER;

/** randomBytes adapter returning the given integers (left-padded) in turn. */
function fixedRandom(...values: Uint8Array[]): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    const value = values[Math.min(i++, values.length - 1)]!;
    const out = new Uint8Array(n);
    out.set(value, n - value.length);
    return out;
  };
}

const rfcKeys: EccsiSigningKeys = { id: h(v.ID), kpak: h(v.KPAK), ssk: h(v.SSK), pvt: h(v.PVT) };

function expectCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    expect((e as CryptoError).code).toBe(code);
    return;
  }
  throw new Error(`expected CryptoError ${code}`);
}

describe('RFC 6507 Appendix A', () => {
  it('KPAK = [KSAK]G', () => {
    expect(bytesToHex(eccsiDeriveKpak(h(v.KSAK)))).toBe(v.KPAK);
    // The same integer as a full 32-octet string gives the same KPAK.
    expect(bytesToHex(eccsiDeriveKpak(bigIntToBytes(0x12345n, 32)))).toBe(v.KPAK);
  });

  it('PVT, HS and SSK issued from v (5.1.1)', () => {
    const k = eccsiIssueSigningKey({ ksak: h(v.KSAK), id: h(v.ID), v: h(v.v) });
    expect(bytesToHex(k.pvt)).toBe(v.PVT);
    expect(bytesToHex(k.hs)).toBe(v.HS);
    expect(bytesToHex(k.ssk)).toBe(v.SSK);
    // v through the RNG adapter instead of the argument: same key.
    const k2 = eccsiIssueSigningKey({ ksak: h(v.KSAK), id: h(v.ID), randomBytes: fixedRandom(h(v.v)) });
    expect(bytesToHex(k2.ssk)).toBe(v.SSK);
  });

  it('the signing key validates (5.1.2)', () => {
    expect(eccsiValidateSigningKey(rfcKeys)).toBe(true);
  });

  it('signature from j reproduces r, s and the 129-octet wire format (5.2.1)', () => {
    const sig = eccsiSign(h(v.M), rfcKeys, { randomBytes: fixedRandom(h(v.j)) });
    expect(sig.length).toBe(129);
    expect(bytesToHex(sig.subarray(0, 32))).toBe(v.r);
    expect(bytesToHex(sig.subarray(32, 64))).toBe(v.s);
    expect(bytesToHex(sig.subarray(64))).toBe(v.PVT);
    expect(bytesToHex(sig)).toBe(v.signature_r_s_PVT);
  });

  it('the RFC signature verifies; a changed message or ID does not (5.2.2)', () => {
    const sig = h(v.signature_r_s_PVT);
    expect(eccsiVerify(h(v.M), sig, rfcKeys)).toBe(true);
    expect(eccsiVerify(h('6d65737361676501'), sig, rfcKeys)).toBe(false);
    expect(eccsiVerify(h(v.M), sig, { id: h(v.ID).slice(0, -1), kpak: h(v.KPAK) })).toBe(false);
  });

  it('verifies repeatedly (the cached-signer path gives the same answers)', () => {
    const sig = h(v.signature_r_s_PVT);
    const bad = sig.slice();
    bad[40]! ^= 0x80;
    for (let i = 0; i < 8; i++) {
      expect(eccsiVerify(h(v.M), sig, rfcKeys)).toBe(true);
      expect(eccsiVerify(h(v.M), bad, rfcKeys)).toBe(false);
      expect(eccsiVerify(h('00'), sig, rfcKeys)).toBe(false);
    }
  });

  it('j is redrawn when out of range: 0 and q are skipped, the next valid j signs', () => {
    const sig = eccsiSign(h(v.M), rfcKeys, {
      randomBytes: fixedRandom(new Uint8Array(32), bigIntToBytes(q, 32), bigIntToBytes(q + 1n, 32), h(v.j)),
    });
    expect(bytesToHex(sig)).toBe(v.signature_r_s_PVT);
  });

  it('s and q − s both verify (−J has the same x), as RFC 6507 5.2.1 step 6 relies on', () => {
    const sig = h(v.signature_r_s_PVT);
    const s = bytesToBigInt(sig.subarray(32, 64));
    const flipped = concatBytes(sig.subarray(0, 32), bigIntToBytes(q - s, 32), sig.subarray(64));
    expect(eccsiVerify(h(v.M), flipped, rfcKeys)).toBe(true);
  });
});

describe('interop: ECCSI inside published MIKEY-SAKKE I_MESSAGEs', () => {
  for (const set of interop.i_message_sets as any[]) {
    const kpak = h(set.kms.KPAK_PubAuthKey);
    // Users taking part in a message. The Alea set also lists sip:u2alea@veronica-cluster, whose
    // PVT in the source data is a copy of u1alea's, so its SSK cannot validate; it signs nothing.
    const inMessages = new Set(
      (set.messages as any[]).flatMap((m) => [m.parsed.uid_initiator.toLowerCase(), m.parsed.uid_responder.toLowerCase()]),
    );
    for (const user of set.users as any[]) {
      if (!inMessages.has(user.uid.toLowerCase())) continue;
      it(`${set.origin.slice(0, 24)}…: signing key of ${user.uri} validates`, () => {
        expect(eccsiValidateSigningKey({ id: h(user.uid), kpak, ssk: h(user.SSK), pvt: h(user.PVT) })).toBe(true);
      });
    }
    for (const m of set.messages as any[]) {
      it(`${set.origin.slice(0, 24)}…: ${m.title}: signature verifies with KPAK and the initiator UID`, () => {
        const msg = h(m.i_message_hex);
        // The signature value is the last 129 octets; it covers everything before it.
        const signed = msg.subarray(0, msg.length - 129);
        const sig = msg.subarray(msg.length - 129);
        const keys = { id: h(m.parsed.uid_initiator), kpak };
        expect(eccsiVerify(signed, sig, keys)).toBe(true);
        const tampered = signed.slice();
        tampered[tampered.length - 3]! ^= 1;
        expect(eccsiVerify(tampered, sig, keys)).toBe(false);
        expect(eccsiVerify(signed, sig, { id: h(m.parsed.uid_responder), kpak })).toBe(false);
      });
    }
  }
});

describe('boundaries', () => {
  const sig = h(v.signature_r_s_PVT);
  const M = h(v.M);

  it('non-bytes arguments are TypeErrors', () => {
    expect(() => eccsiVerify('message' as never, sig, rfcKeys)).toThrow(TypeError);
    expect(() => eccsiVerify(M, [1, 2] as never, rfcKeys)).toThrow(TypeError);
    expect(() => eccsiVerify(M, sig, { id: 'x' as never, kpak: h(v.KPAK) })).toThrow(TypeError);
    expect(() => eccsiVerify(M, sig, null as never)).toThrow(TypeError);
    expect(() => eccsiSign(M, { ...rfcKeys, ssk: 'x' as never })).toThrow(TypeError);
    expect(() => eccsiDeriveKpak(123 as never)).toThrow(TypeError);
    expect(() => eccsiSign(M, rfcKeys, { randomBytes: () => new Uint8Array(31) })).toThrow(TypeError);
  });

  it('a malformed KPAK is a typed error in verify, sign and validate', () => {
    const kpak = h(v.KPAK);
    const offCurve = kpak.slice();
    offCurve[64]! ^= 1;
    const compressed = kpak.slice();
    compressed[0] = 0x02;
    const bigX = kpak.slice();
    bigX.set(bigIntToBytes(p, 32), 1);
    for (const [bad, code] of [
      [kpak.subarray(0, 33), 'ERR_CRYPTO_BAD_LENGTH'],
      [compressed, 'ERR_CRYPTO_BAD_POINT_ENCODING'],
      [bigX, 'ERR_CRYPTO_BAD_POINT_ENCODING'],
      [offCurve, 'ERR_CRYPTO_POINT_NOT_ON_CURVE'],
      [concatBytes(Uint8Array.of(4), new Uint8Array(64)), 'ERR_CRYPTO_POINT_NOT_ON_CURVE'], // (0,0): no infinity
    ] as const) {
      expectCode(() => eccsiVerify(M, sig, { id: h(v.ID), kpak: bad }), code);
      expectCode(() => eccsiSign(M, { ...rfcKeys, kpak: bad }), code);
      expectCode(() => eccsiValidateSigningKey({ ...rfcKeys, kpak: bad }), code);
    }
  });

  it('malformed signatures verify false, never throw', () => {
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      sig.subarray(0, 128),
      concatBytes(sig, Uint8Array.of(0)),
      concatBytes(new Uint8Array(32), sig.subarray(32)), // r = 0
      concatBytes(bigIntToBytes(p, 32), sig.subarray(32)), // r = p
      concatBytes(sig.subarray(0, 32), new Uint8Array(32), sig.subarray(64)), // s = 0
      concatBytes(sig.subarray(0, 32), bigIntToBytes(q, 32), sig.subarray(64)), // s = q
      concatBytes(sig.subarray(0, 32), new Uint8Array(32).fill(0xff), sig.subarray(64)), // s > q
      concatBytes(new Uint8Array(32).fill(0xff), sig.subarray(32)), // r > p
      concatBytes(sig.subarray(0, 64), Uint8Array.of(2), sig.subarray(65)), // PVT not uncompressed
      concatBytes(sig.subarray(0, 64), Uint8Array.of(4), new Uint8Array(64)), // PVT (0,0)
      concatBytes(sig.subarray(0, 128), Uint8Array.of(sig[128]! ^ 1)), // PVT off the curve
    ];
    for (const c of cases) expect(eccsiVerify(M, c, rfcKeys)).toBe(false);
  });

  it('a signature carrying another (valid) PVT fails', () => {
    const other = eccsiIssueSigningKey({ ksak: h(v.KSAK), id: h(v.ID), v: h('0abcdef1') });
    const forged = concatBytes(sig.subarray(0, 64), other.pvt);
    expect(eccsiVerify(M, forged, rfcKeys)).toBe(false);
  });

  it('scalars 0 or ≥ q are refused', () => {
    expectCode(() => eccsiDeriveKpak(new Uint8Array(32)), 'ERR_CRYPTO_SCALAR_OUT_OF_RANGE');
    expectCode(() => eccsiDeriveKpak(bigIntToBytes(q, 32)), 'ERR_CRYPTO_SCALAR_OUT_OF_RANGE');
    expectCode(() => eccsiDeriveKpak(new Uint8Array(33)), 'ERR_CRYPTO_BAD_LENGTH');
    expectCode(() => eccsiDeriveKpak(new Uint8Array(0)), 'ERR_CRYPTO_BAD_LENGTH');
    expectCode(() => eccsiIssueSigningKey({ ksak: h(v.KSAK), id: h(v.ID), v: bigIntToBytes(q, 32) }), 'ERR_CRYPTO_SCALAR_OUT_OF_RANGE');
    expectCode(() => eccsiSign(M, { ...rfcKeys, ssk: new Uint8Array(32) }), 'ERR_ECCSI_INVALID_SIGNING_KEY');
    expectCode(() => eccsiSign(M, { ...rfcKeys, ssk: bigIntToBytes(q, 32) }), 'ERR_ECCSI_INVALID_SIGNING_KEY');
    expectCode(() => eccsiSign(M, { ...rfcKeys, ssk: h(v.SSK).subarray(1) }), 'ERR_CRYPTO_BAD_LENGTH');
  });

  it('validation fails for a wrong SSK, a wrong ID, a foreign PVT or an off-curve PVT', () => {
    const wrongSsk = h(v.SSK);
    wrongSsk[31]! ^= 1;
    expect(eccsiValidateSigningKey({ ...rfcKeys, ssk: wrongSsk })).toBe(false);
    expect(eccsiValidateSigningKey({ ...rfcKeys, id: h('00') })).toBe(false);
    expect(eccsiValidateSigningKey({ ...rfcKeys, pvt: h(v.KPAK) })).toBe(false);
    const offCurve = h(v.PVT);
    offCurve[64]! ^= 1;
    expect(eccsiValidateSigningKey({ ...rfcKeys, pvt: offCurve })).toBe(false);
    expect(eccsiValidateSigningKey({ ...rfcKeys, ssk: new Uint8Array(32) })).toBe(false);
    expectCode(() => eccsiValidateSigningKey({ ...rfcKeys, pvt: h(v.PVT).subarray(1) }), 'ERR_CRYPTO_BAD_LENGTH');
  });

  it('an invalid signing key never signs', () => {
    const wrongSsk = h(v.SSK);
    wrongSsk[0]! ^= 1;
    expectCode(() => eccsiSign(M, { ...rfcKeys, ssk: wrongSsk }), 'ERR_ECCSI_INVALID_SIGNING_KEY');
  });

  it('an RNG that never yields a usable j ends in ERR_ECCSI_SIGNING_FAILED', () => {
    expectCode(() => eccsiSign(M, rfcKeys, { randomBytes: (n) => new Uint8Array(n) }), 'ERR_ECCSI_SIGNING_FAILED');
    expectCode(() => eccsiSign(M, rfcKeys, { randomBytes: (n) => new Uint8Array(n).fill(0xff) }), 'ERR_ECCSI_SIGNING_FAILED');
  });

  it('freshly issued random keys validate and sign verifiable signatures', () => {
    const ksak = crypto.getRandomValues(new Uint8Array(32));
    ksak[0] = 0x42;
    const kpak = eccsiDeriveKpak(ksak);
    const id = crypto.getRandomValues(new Uint8Array(32));
    const k = eccsiIssueSigningKey({ ksak, id });
    const keys = { id, kpak, ssk: k.ssk, pvt: k.pvt };
    expect(k.ssk.length).toBe(32);
    expect(k.pvt.length).toBe(65);
    expect(k.hs.length).toBe(32);
    expect(eccsiValidateSigningKey(keys)).toBe(true);
    const s = eccsiSign(M, keys);
    expect(eccsiVerify(M, s, keys)).toBe(true);
    expect(eccsiVerify(M, s, { id, kpak: h(v.KPAK) })).toBe(false);
  });
});
