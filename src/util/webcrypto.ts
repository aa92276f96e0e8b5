/**
 * The platform's Web Crypto, as every layer reaches it: `crypto.subtle` exists in Node 20,
 * browsers and workers, so no layer below `platform/` needs a Node module for AES or HMAC.
 */

export function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new TypeError('Web Crypto (crypto.subtle) is not available in this context');
  return s;
}

/** Web Crypto's types want ArrayBuffer-backed views; copy only a view over a SharedArrayBuffer. */
export function bufferSource(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b.buffer instanceof ArrayBuffer ? (b as Uint8Array<ArrayBuffer>) : new Uint8Array(b);
}

/** `n` bytes from the platform's CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  // getRandomValues takes at most 65536 bytes per call.
  for (let o = 0; o < n; o += 65536) globalThis.crypto.getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
  return out;
}
