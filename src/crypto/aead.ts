/**
 * AEAD_AES_128_GCM / AEAD_AES_256_GCM for SRTP and SRTCP, RFC 7714 (TS 33.179 7.5.1, 7.6.1).
 *
 * IV formation (RFC 7714 8.1 for SRTP, 9.1 for SRTCP), 12 octets XOR the 12-octet session salt:
 *
 *   SRTP   0 0 | SSRC (4) | ROC (4) | SEQ (2)
 *   SRTCP  0 0 | SSRC (4) | 0 0 | 0 ‖ SRTCP index (31 bits)
 *
 * Encryption is AES-GCM with a 16-octet tag (RFC 7714 section 7); the output is
 * ciphertext ‖ tag. What goes into the AAD (header, ESRTCP word) is the packet layer's business.
 */
import { CryptoError } from '../errors.js';
import { assertBytes, bytesOf } from '../util/bytes.js';
import { bufferSource, subtle } from '../util/webcrypto.js';

const TAG_LENGTH = 16;

function uint(v: number, bits: 16 | 31 | 32, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 2 ** bits - 1) throw new RangeError(`${what} must be an unsigned ${bits}-bit integer`);
  return v;
}

function putU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}

function xorSalt(iv: Uint8Array, salt: Uint8Array): Uint8Array {
  for (let i = 0; i < 12; i++) iv[i]! ^= salt[i]!;
  return iv;
}

/** RFC 7714 8.1: the 12-octet SRTP IV. */
export function srtpAeadIv(args: { salt: Uint8Array; ssrc: number; roc: number; seq: number }): Uint8Array {
  const salt = bytesOf(args.salt, 12, 'SRTP session salt');
  const iv = new Uint8Array(12);
  putU32(iv, 2, uint(args.ssrc, 32, 'SSRC'));
  putU32(iv, 6, uint(args.roc, 32, 'ROC'));
  const seq = uint(args.seq, 16, 'SEQ');
  iv[10] = seq >>> 8;
  iv[11] = seq & 0xff;
  return xorSalt(iv, salt);
}

/** RFC 7714 9.1: the 12-octet SRTCP IV (the index is 31 bits; the E flag is not part of it). */
export function srtcpAeadIv(args: { salt: Uint8Array; ssrc: number; index: number }): Uint8Array {
  const salt = bytesOf(args.salt, 12, 'SRTCP session salt');
  const iv = new Uint8Array(12);
  putU32(iv, 2, uint(args.ssrc, 32, 'SSRC'));
  putU32(iv, 8, uint(args.index, 31, 'SRTCP index'));
  return xorSalt(iv, salt);
}

async function importGcm(key: Uint8Array, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  bytesOf(key, [16, 32], 'AES-GCM key');
  return subtle().importKey('raw', bufferSource(key), 'AES-GCM', false, [usage]);
}

/** RFC 7714 section 5/7: ciphertext ‖ 16-octet tag. */
export async function aesGcmEncrypt(args: {
  key: Uint8Array;
  iv: Uint8Array;
  aad: Uint8Array;
  plaintext: Uint8Array;
}): Promise<Uint8Array> {
  const iv = bytesOf(args.iv, 12, 'AEAD IV');
  const aad = assertBytes(args.aad, 'AAD');
  const plaintext = assertBytes(args.plaintext, 'plaintext');
  const key = await importGcm(args.key, 'encrypt');
  const out = await subtle().encrypt(
    { name: 'AES-GCM', iv: bufferSource(iv), additionalData: bufferSource(aad), tagLength: TAG_LENGTH * 8 },
    key,
    bufferSource(plaintext),
  );
  return new Uint8Array(out);
}

/** Inverse of `aesGcmEncrypt`; a wrong key, IV, AAD or any altered octet → `ERR_AEAD_AUTH_FAILED`. */
export async function aesGcmDecrypt(args: {
  key: Uint8Array;
  iv: Uint8Array;
  aad: Uint8Array;
  ciphertext: Uint8Array;
}): Promise<Uint8Array> {
  const iv = bytesOf(args.iv, 12, 'AEAD IV');
  const aad = assertBytes(args.aad, 'AAD');
  const ciphertext = assertBytes(args.ciphertext, 'ciphertext');
  if (ciphertext.length < TAG_LENGTH) {
    throw new CryptoError('ERR_CRYPTO_BAD_LENGTH', `ciphertext must hold at least the ${TAG_LENGTH}-byte tag`);
  }
  const key = await importGcm(args.key, 'decrypt');
  let out: ArrayBuffer;
  try {
    out = await subtle().decrypt(
      { name: 'AES-GCM', iv: bufferSource(iv), additionalData: bufferSource(aad), tagLength: TAG_LENGTH * 8 },
      key,
      bufferSource(ciphertext),
    );
  } catch (cause) {
    throw new CryptoError('ERR_AEAD_AUTH_FAILED', 'AEAD authentication failed', { cause });
  }
  return new Uint8Array(out);
}
