/**
 * Byte helpers shared by every layer. Inputs are checked at the boundary and returned
 * (the `abytes` idiom of noble), so callers write `const k = bytesOf(key, 16, 'GMK')`.
 */
import { CryptoError } from '../errors.js';

/** Misuse check: throws TypeError when `value` is not a Uint8Array. */
export function assertBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  return value;
}

/**
 * Hostile-input check: `value` must be a Uint8Array of one of `lengths`;
 * a wrong length is a typed `ERR_CRYPTO_BAD_LENGTH` (it may come from the network).
 */
export function bytesOf(value: unknown, lengths: number | readonly number[], what: string): Uint8Array {
  const b = assertBytes(value, what);
  const ok = typeof lengths === 'number' ? b.length === lengths : lengths.includes(b.length);
  if (!ok) {
    const want = typeof lengths === 'number' ? String(lengths) : lengths.join(' or ');
    throw new CryptoError('ERR_CRYPTO_BAD_LENGTH', `${what} must be ${want} bytes, got ${b.length}`);
  }
  return b;
}

export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError('hex must be a string');
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new RangeError('invalid hex string');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Comparison whose running time depends only on the lengths, not on where bytes differ. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Big-endian unsigned integer of the bytes. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + bytesToHex(bytes));
}

/** Big-endian encoding of `n` in exactly `length` bytes; RangeError when it does not fit. */
export function bigIntToBytes(n: bigint, length: number): Uint8Array {
  if (n < 0n) throw new RangeError('negative integer');
  const hex = n.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError(`integer does not fit in ${length} bytes`);
  return hexToBytes(hex);
}

/** UTF-8 bytes of a string (identities, URIs). */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Big-endian 32-bit unsigned integer. */
export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError('u32 out of range');
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

export function readU32be(b: Uint8Array, offset: number): number {
  return ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
}
