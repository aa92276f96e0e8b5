/**
 * AES Key Wrap, RFC 3394 (default IV A6A6A6A6A6A6A6A6), used by the KMS security extension of
 * TS 33.179 Annex D (AES-256 KEK). Web Crypto's AES-KW is exactly RFC 3394 section 2.2, so the
 * wrapping itself is the platform's; this module checks sizes and maps failures to typed errors.
 *
 * Web Crypto wraps only `CryptoKey`s, so the key data travels as an extractable HMAC key: HMAC
 * is the one key type that imports any octet length, and it is never used for anything else.
 * KEKs are 128 or 256 bits: RFC 3394 also allows 192, but Chromium's Web Crypto does not
 * implement 192-bit AES, and refusing it everywhere keeps Node and browsers alike.
 */
import { CryptoError } from '../errors.js';
import { assertBytes, bytesOf } from '../util/bytes.js';
import { bufferSource, subtle } from '../util/webcrypto.js';

const KEY_CONTAINER = { name: 'HMAC', hash: 'SHA-256' } as const;

async function importKek(kek: Uint8Array, usage: 'wrapKey' | 'unwrapKey'): Promise<CryptoKey> {
  bytesOf(kek, [16, 32], 'KEK');
  return subtle().importKey('raw', bufferSource(kek), 'AES-KW', false, [usage]);
}

/** RFC 3394 2.2.1: key data of n ≥ 2 64-bit blocks → (n + 1) · 8 octets. */
export async function aesKeyWrap(kek: Uint8Array, keyData: Uint8Array): Promise<Uint8Array> {
  assertBytes(keyData, 'key data');
  if (keyData.length < 16 || keyData.length % 8 !== 0) {
    throw new CryptoError('ERR_CRYPTO_BAD_LENGTH', `key data must be a multiple of 8 bytes, at least 16, got ${keyData.length}`);
  }
  const wrappingKey = await importKek(kek, 'wrapKey');
  const data = await subtle().importKey('raw', bufferSource(keyData), KEY_CONTAINER, true, ['sign']);
  return new Uint8Array(await subtle().wrapKey('raw', data, wrappingKey, 'AES-KW'));
}

/**
 * RFC 3394 2.2.2 with the 2.2.3 integrity check: a wrong KEK or any altered octet fails the
 * check and yields `ERR_KEY_UNWRAP_FAILED`; nothing of the unwrapped data is returned then.
 */
export async function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Promise<Uint8Array> {
  assertBytes(wrapped, 'wrapped key');
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) {
    throw new CryptoError('ERR_CRYPTO_BAD_LENGTH', `wrapped key must be a multiple of 8 bytes, at least 24, got ${wrapped.length}`);
  }
  const unwrappingKey = await importKek(kek, 'unwrapKey');
  let data: CryptoKey;
  try {
    data = await subtle().unwrapKey('raw', bufferSource(wrapped), unwrappingKey, 'AES-KW', KEY_CONTAINER, true, ['sign']);
  } catch (cause) {
    throw new CryptoError('ERR_KEY_UNWRAP_FAILED', 'AES key unwrap failed its integrity check', { cause });
  }
  return new Uint8Array(await subtle().exportKey('raw', data));
}
