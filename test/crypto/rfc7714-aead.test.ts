/**
 * RFC 7714 sections 16 (SRTP) and 17 (SRTCP): IV formation (8.1, 9.1) from the packet fields,
 * then every encryption / tagging vector encrypted and every vector decrypted / verified.
 */
import { describe, expect, it } from 'vitest';
import { aesGcmDecrypt, aesGcmEncrypt, srtcpAeadIv, srtpAeadIv } from '../../src/crypto/aead.js';
import { CryptoError } from '../../src/errors.js';
import { bytesToHex, concatBytes, hexToBytes, readU32be } from '../../src/util/bytes.js';
import { sharedVector } from '../helpers/shared.js';

interface AeadVector {
  section: string;
  title: string;
  input_packet: string;
  key: string;
  salt: string;
  iv: string;
  aad: string;
  plaintext?: string;
  cipher_with_tag?: string;
  output_packet: string | null;
  tag: string;
}

const vectors = sharedVector('rfc7714-aead-aes-gcm').vectors as AeadVector[];
const h = hexToBytes;
const isSrtcp = (t: AeadVector) => t.section.startsWith('17');
const encrypting = (t: AeadVector) => t.cipher_with_tag === undefined;

/** The (ciphertext ‖ tag) and plaintext of a vector, derived from its packets. */
function parts(t: AeadVector): { sealed: Uint8Array; plaintext: Uint8Array } {
  if (encrypting(t)) {
    const plaintext = t.plaintext === undefined ? new Uint8Array(0) : h(t.plaintext);
    const out = h(t.output_packet!);
    // The output packet is header (or whole packet when only tagging) ‖ ciphertext ‖ tag
    // [‖ ESRTCP word for SRTCP].
    const end = isSrtcp(t) ? out.length - 4 : out.length;
    return { sealed: out.subarray(end - plaintext.length - 16, end), plaintext };
  }
  const sealed = h(t.cipher_with_tag!);
  const plaintext = sealed.length === 16 ? new Uint8Array(0) : isSrtcp(t) ? h(t.output_packet!).subarray(8) : h(t.output_packet!);
  return { sealed, plaintext };
}

describe('RFC 7714 IV formation', () => {
  for (const t of vectors) {
    it(`${t.section} ${t.title}: IV from salt and packet fields`, () => {
      const pkt = h(t.input_packet);
      if (isSrtcp(t)) {
        const aad = h(t.aad);
        const index = readU32be(aad, aad.length - 4) & 0x7fffffff; // ESRTCP word without the E flag
        expect(bytesToHex(srtcpAeadIv({ salt: h(t.salt), ssrc: readU32be(pkt, 4), index }))).toBe(t.iv);
      } else {
        const seq = (pkt[2]! << 8) | pkt[3]!;
        expect(bytesToHex(srtpAeadIv({ salt: h(t.salt), ssrc: readU32be(pkt, 8), roc: 0, seq }))).toBe(t.iv);
      }
    });
  }

  it('IV layouts: 00 00 ‖ SSRC ‖ ROC ‖ SEQ and 00 00 ‖ SSRC ‖ 00 00 ‖ index', () => {
    const zero = new Uint8Array(12);
    expect(bytesToHex(srtpAeadIv({ salt: zero, ssrc: 0x01020304, roc: 0x05060708, seq: 0x090a }))).toBe('000001020304050607' + '08090a');
    expect(bytesToHex(srtcpAeadIv({ salt: zero, ssrc: 0x01020304, index: 0x7fffffff }))).toBe('0000010203040000' + '7fffffff');
    expect(() => srtcpAeadIv({ salt: zero, ssrc: 1, index: 0x80000000 })).toThrow(RangeError);
    expect(() => srtpAeadIv({ salt: zero, ssrc: 1, roc: 0, seq: 0x10000 })).toThrow(RangeError);
    expect(() => srtpAeadIv({ salt: new Uint8Array(14), ssrc: 1, roc: 0, seq: 1 })).toThrow(CryptoError);
  });
});

describe('RFC 7714 AEAD_AES_128_GCM / AEAD_AES_256_GCM', () => {
  for (const t of vectors) {
    it(`${t.section} ${t.title}`, async () => {
      const { sealed, plaintext } = parts(t);
      const args = { key: h(t.key), iv: h(t.iv), aad: h(t.aad) };
      expect(bytesToHex(sealed.subarray(sealed.length - 16))).toBe(t.tag);
      const encrypted = await aesGcmEncrypt({ ...args, plaintext });
      expect(bytesToHex(encrypted)).toBe(bytesToHex(sealed));
      const decrypted = await aesGcmDecrypt({ ...args, ciphertext: sealed });
      expect(bytesToHex(decrypted)).toBe(bytesToHex(plaintext));
      if (encrypting(t)) {
        // Rebuild the printed output packet from its parts.
        const out = h(t.output_packet!);
        const head = out.subarray(0, out.length - sealed.length - (isSrtcp(t) ? 4 : 0));
        const tail = isSrtcp(t) ? h(t.aad).subarray(-4) : new Uint8Array(0);
        expect(bytesToHex(concatBytes(head, encrypted, tail))).toBe(t.output_packet);
      }
    });
  }

  it('a flipped bit anywhere, a wrong AAD or IV → ERR_AEAD_AUTH_FAILED', async () => {
    const t = vectors[0]!;
    const { sealed } = parts(t);
    const args = { key: h(t.key), iv: h(t.iv), aad: h(t.aad) };
    for (const i of [0, 10, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[i]! ^= 0x80;
      await expect(aesGcmDecrypt({ ...args, ciphertext: bad })).rejects.toMatchObject({ code: 'ERR_AEAD_AUTH_FAILED' });
    }
    const aad = h(t.aad);
    aad[0]! ^= 1;
    await expect(aesGcmDecrypt({ ...args, aad, ciphertext: sealed })).rejects.toMatchObject({ code: 'ERR_AEAD_AUTH_FAILED' });
    const iv = h(t.iv);
    iv[11]! ^= 1;
    await expect(aesGcmDecrypt({ ...args, iv, ciphertext: sealed })).rejects.toMatchObject({ code: 'ERR_AEAD_AUTH_FAILED' });
  });

  it('size checks', async () => {
    const ok = { key: new Uint8Array(16), iv: new Uint8Array(12), aad: new Uint8Array(0) };
    await expect(aesGcmEncrypt({ ...ok, key: new Uint8Array(24), plaintext: new Uint8Array(1) })).rejects.toMatchObject({ code: 'ERR_CRYPTO_BAD_LENGTH' });
    await expect(aesGcmEncrypt({ ...ok, iv: new Uint8Array(16), plaintext: new Uint8Array(1) })).rejects.toMatchObject({ code: 'ERR_CRYPTO_BAD_LENGTH' });
    await expect(aesGcmDecrypt({ ...ok, ciphertext: new Uint8Array(15) })).rejects.toMatchObject({ code: 'ERR_CRYPTO_BAD_LENGTH' });
    await expect(aesGcmEncrypt({ ...ok, plaintext: 'p' as never })).rejects.toBeInstanceOf(TypeError);
  });
});
