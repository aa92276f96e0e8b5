/**
 * RFC 3394 section 4 test vectors for the 128- and 256-bit KEKs (4.1, 4.3, 4.5, 4.6), checked
 * also against node:crypto's independent id-aesNNN-wrap, plus size and integrity failures.
 */
import { describe, expect, it } from 'vitest';
import { createCipheriv } from 'node:crypto';
import { aesKeyUnwrap, aesKeyWrap } from '../../src/crypto/aes-key-wrap.js';
import { CryptoError } from '../../src/errors.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';

const h = (s: string): Uint8Array => hexToBytes(s.replace(/\s+/g, ''));
const KEK128 = '000102030405060708090A0B0C0D0E0F';
const KEK192 = '000102030405060708090A0B0C0D0E0F1011121314151617';
const KEK256 = '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F';

const vectors = [
  { section: '4.1', kek: KEK128, data: '00112233445566778899AABBCCDDEEFF', wrapped: '1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5' },
  { section: '4.3', kek: KEK256, data: '00112233445566778899AABBCCDDEEFF', wrapped: '64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7' },
  {
    section: '4.5',
    kek: KEK256,
    data: '00112233445566778899AABBCCDDEEFF0001020304050607',
    wrapped: 'A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1',
  },
  {
    section: '4.6',
    kek: KEK256,
    data: '00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F',
    wrapped: '28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21',
  },
];

function nodeWrap(kek: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(`id-aes${kek.length * 8}-wrap`, kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

describe('RFC 3394 section 4 vectors', () => {
  for (const t of vectors) {
    it(`${t.section}: wrap and unwrap`, async () => {
      const kek = h(t.kek);
      const wrapped = await aesKeyWrap(kek, h(t.data));
      expect(bytesToHex(wrapped)).toBe(bytesToHex(h(t.wrapped)));
      expect(bytesToHex(nodeWrap(kek, h(t.data)))).toBe(bytesToHex(h(t.wrapped)));
      expect(bytesToHex(await aesKeyUnwrap(kek, h(t.wrapped)))).toBe(bytesToHex(h(t.data)));
    });
  }
});

describe('integrity and sizes', () => {
  it('any altered octet or a wrong KEK fails the integrity check (2.2.3)', async () => {
    const t = vectors[3]!;
    const wrapped = h(t.wrapped);
    for (let i = 0; i < wrapped.length; i++) {
      const bad = wrapped.slice();
      bad[i]! ^= 0x01;
      await expect(aesKeyUnwrap(h(t.kek), bad)).rejects.toMatchObject({ code: 'ERR_KEY_UNWRAP_FAILED' });
    }
    const otherKek = h(t.kek);
    otherKek[0]! ^= 1;
    await expect(aesKeyUnwrap(otherKek, wrapped)).rejects.toBeInstanceOf(CryptoError);
  });

  it('refuses sizes RFC 3394 (or Chromium, for 192-bit KEKs) cannot take', async () => {
    const kek = h(KEK256);
    await expect(aesKeyWrap(kek, new Uint8Array(8))).rejects.toMatchObject({ code: 'ERR_CRYPTO_BAD_LENGTH' });
    await expect(aesKeyWrap(kek, new Uint8Array(20))).rejects.toMatchObject({ code: 'ERR_CRYPTO_BAD_LENGTH' });
    await expect(aesKeyWrap(h(KEK192), new Uint8Array(16))).rejects.toMatchObject({ code: 'ERR_CRYPTO_BAD_LENGTH' });
    await expect(aesKeyUnwrap(kek, new Uint8Array(16))).rejects.toMatchObject({ code: 'ERR_CRYPTO_BAD_LENGTH' });
    await expect(aesKeyUnwrap(kek, new Uint8Array(30))).rejects.toMatchObject({ code: 'ERR_CRYPTO_BAD_LENGTH' });
    await expect(aesKeyWrap(kek, 'k' as never)).rejects.toBeInstanceOf(TypeError);
  });
});
