/**
 * The few Web Crypto calls the E.6 parameter codecs need (AES-128-CBC per TS 33.179 E.6.8 /
 * RFC 3602, AES-128-GCM for the TS 33.180 protected payload). `crypto.subtle` exists in
 * Node 20 and in browsers, so the codec stays free of Node modules.
 */

import { bufferSource as ab, randomBytes, subtle } from '../../util/webcrypto.js';

export { ab, randomBytes, subtle };

/** Imports a raw AES-128 key; a key of another length is caller misuse. */
export async function importAes128(
  key: Uint8Array | CryptoKey,
  name: 'AES-CBC' | 'AES-GCM',
  what: string,
): Promise<CryptoKey> {
  if (key instanceof Uint8Array) {
    if (key.length !== 16) throw new RangeError(`${what} must be 16 octets, got ${key.length}`);
    return subtle().importKey('raw', ab(key), { name }, false, ['encrypt', 'decrypt']);
  }
  return key;
}

/**
 * AES-CBC without padding. Web Crypto always applies PKCS#7; for a plaintext that is a
 * whole number of blocks the padding only adds one final block, so dropping it leaves the
 * plain CBC ciphertext.
 */
export async function cbcEncryptRaw(key: CryptoKey, iv: Uint8Array, pt: Uint8Array): Promise<Uint8Array> {
  if (pt.length % 16 !== 0) throw new RangeError('CBC plaintext must be a multiple of 16 octets');
  const c = new Uint8Array(await subtle().encrypt({ name: 'AES-CBC', iv: ab(iv) }, key, ab(pt)));
  return c.subarray(0, pt.length);
}

/**
 * AES-CBC decryption without padding. Web Crypto rejects ciphertexts whose last block does
 * not decrypt to valid PKCS#7 padding, and E.6 pads with random octets. So we append one
 * crafted block X = E_K(C_last ⊕ 0x10…10): it decrypts (chained on C_last) to a full padding
 * block, which Web Crypto strips, leaving exactly the raw plaintext. X is simply the CBC
 * encryption of an empty plaintext under IV = C_last (PKCS#7 pads "" to one 0x10 block).
 * Costs one extra block operation and needs only the encrypt/decrypt primitives every
 * platform has, so it works the same in Node and in browsers.
 */
export async function cbcDecryptRaw(key: CryptoKey, iv: Uint8Array, ct: Uint8Array): Promise<Uint8Array> {
  if (ct.length === 0 || ct.length % 16 !== 0) throw new RangeError('CBC ciphertext must be a positive multiple of 16 octets');
  const s = subtle();
  const last = ab(ct.subarray(ct.length - 16));
  const x = new Uint8Array(await s.encrypt({ name: 'AES-CBC', iv: last }, key, new Uint8Array(0)));
  const joined = new Uint8Array(ct.length + 16);
  joined.set(ct, 0);
  joined.set(x.subarray(0, 16), ct.length);
  const pt = new Uint8Array(await s.decrypt({ name: 'AES-CBC', iv: ab(iv) }, key, joined));
  return pt;
}
