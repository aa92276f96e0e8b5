/**
 * Property tests (fast-check): ECCSI sign/verify round trip and tamper rejection, AES key wrap
 * round trip and tamper, AEAD tamper.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { aesGcmDecrypt, aesGcmEncrypt } from '../../src/crypto/aead.js';
import { aesKeyUnwrap, aesKeyWrap } from '../../src/crypto/aes-key-wrap.js';
import { eccsiDeriveKpak, eccsiIssueSigningKey, eccsiSign, eccsiVerify, type EccsiSigningKeys } from '../../src/crypto/eccsi.js';
import { CryptoError } from '../../src/errors.js';
import { hexToBytes } from '../../src/util/bytes.js';

const ksak = hexToBytes('6b1c2a1d2f0e3d4c5b6a79887766554433221100ffeeddccbbaa998877665544');
const kpak = eccsiDeriveKpak(ksak);
const id = hexToBytes('b5c452309219da6a3d805615548d6c1b0f4de45a6b48fb13d9a24d857fc03dc4');
const issued = eccsiIssueSigningKey({ ksak, id });
const keys: EccsiSigningKeys = { id, kpak, ssk: issued.ssk, pvt: issued.pvt };
const message = fc.uint8Array({ minLength: 0, maxLength: 600 });

describe('ECCSI properties', () => {
  it('sign then verify is true for random messages', () => {
    fc.assert(
      fc.property(message, (m) => eccsiVerify(m, eccsiSign(m, keys), keys)),
      { numRuns: 60 },
    );
  });

  it('any single-byte change of the message makes verify false', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (m, at, delta) => {
        const sig = eccsiSign(m, keys);
        const bad = m.slice();
        bad[at % bad.length] = (bad[at % bad.length]! + delta) & 0xff;
        return !eccsiVerify(bad, sig, keys);
      }),
      { numRuns: 60 },
    );
  });

  it('any single-byte change of the signature (r, s or PVT) makes verify false, never throws', () => {
    const m = hexToBytes('011a05010c340888');
    const sig = eccsiSign(m, keys);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 128 }), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const bad = sig.slice();
        bad[at] = (bad[at]! + delta) & 0xff;
        return eccsiVerify(m, bad, keys) === false;
      }),
      { numRuns: 200 },
    );
    // and every position at least once
    for (let at = 0; at < sig.length; at++) {
      const bad = sig.slice();
      bad[at]! ^= 0x01;
      expect(eccsiVerify(m, bad, keys)).toBe(false);
    }
  });

  it('a different ID (or KPAK) makes verify false', () => {
    const otherKpak = eccsiDeriveKpak(hexToBytes('01'));
    fc.assert(
      fc.property(message, fc.uint8Array({ minLength: 0, maxLength: 40 }), (m, other) => {
        fc.pre(other.length !== id.length || other.some((b, i) => b !== id[i]));
        const sig = eccsiSign(m, keys);
        return !eccsiVerify(m, sig, { id: other, kpak }) && !eccsiVerify(m, sig, { id, kpak: otherKpak });
      }),
      { numRuns: 40 },
    );
  });

  it('signatures are randomised (fresh j) yet all verify', () => {
    const m = hexToBytes('00');
    const a = eccsiSign(m, keys);
    const b = eccsiSign(m, keys);
    expect(a).not.toEqual(b);
    expect(eccsiVerify(m, a, keys) && eccsiVerify(m, b, keys)).toBe(true);
  });
});

describe('AES key wrap properties', () => {
  const kekArb = fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 32, maxLength: 32 }));
  const dataArb = fc.integer({ min: 2, max: 8 }).chain((n) => fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n }));

  it('unwrap(wrap(x)) = x', async () => {
    await fc.assert(
      fc.asyncProperty(kekArb, dataArb, async (kek, data) => {
        const w = await aesKeyWrap(kek, data);
        expect(w.length).toBe(data.length + 8);
        expect(await aesKeyUnwrap(kek, w)).toEqual(data);
      }),
      { numRuns: 50 },
    );
  });

  it('any altered octet → ERR_KEY_UNWRAP_FAILED', async () => {
    await fc.assert(
      fc.asyncProperty(kekArb, dataArb, fc.nat(), fc.integer({ min: 1, max: 255 }), async (kek, data, at, delta) => {
        const w = await aesKeyWrap(kek, data);
        w[at % w.length] = (w[at % w.length]! + delta) & 0xff;
        await expect(aesKeyUnwrap(kek, w)).rejects.toSatisfy((e: unknown) => e instanceof CryptoError && e.code === 'ERR_KEY_UNWRAP_FAILED');
      }),
      { numRuns: 50 },
    );
  });
});

describe('AEAD properties', () => {
  it('decrypt(encrypt(x)) = x and any altered octet → ERR_AEAD_AUTH_FAILED', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (key, iv, aad, plaintext, at, delta) => {
          const sealed = await aesGcmEncrypt({ key, iv, aad, plaintext });
          expect(await aesGcmDecrypt({ key, iv, aad, ciphertext: sealed })).toEqual(plaintext);
          const bad = sealed.slice();
          bad[at % bad.length] = (bad[at % bad.length]! + delta) & 0xff;
          await expect(aesGcmDecrypt({ key, iv, aad, ciphertext: bad })).rejects.toSatisfy(
            (e: unknown) => e instanceof CryptoError && e.code === 'ERR_AEAD_AUTH_FAILED',
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});
