/**
 * Growable big-endian writer for MIKEY encoding (RFC 3830 §6 field widths).
 *
 * Encoding takes values from our own code, not from the network, so a value that does not
 * fit its field is misuse: `RangeError`, never a silent truncation (a 300-octet RAND would
 * otherwise be written with a length of 44).
 */
export class MikeyWriter {
  #buf: Uint8Array;
  #len = 0;

  constructor(initialCapacity = 1024) {
    this.#buf = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.#len;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  u8(v: number, what: string): this {
    checkUint(v, 0xff, what);
    this.#reserve(1);
    this.#buf[this.#len++] = v;
    return this;
  }

  u16(v: number, what: string): this {
    checkUint(v, 0xffff, what);
    this.#reserve(2);
    this.#buf[this.#len++] = v >>> 8;
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }

  u32(v: number, what: string): this {
    checkUint(v, 0xffffffff, what);
    this.#reserve(4);
    this.#buf[this.#len++] = v >>> 24;
    this.#buf[this.#len++] = (v >>> 16) & 0xff;
    this.#buf[this.#len++] = (v >>> 8) & 0xff;
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }

  bytes(b: Uint8Array, what: string): this {
    if (!(b instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** Writes `b.length` in a field of `lengthBits` (8 or 16) followed by `b`. */
  lengthPrefixed(b: Uint8Array, lengthBits: 8 | 16, what: string): this {
    if (!(b instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
    if (lengthBits === 8) this.u8(b.length, `${what} length`);
    else this.u16(b.length, `${what} length`);
    return this.bytes(b, what);
  }

  /** A copy of what has been written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

export function checkUint(v: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer`);
  if (v < 0 || v > max) throw new RangeError(`${what} out of range 0..${max}: ${v}`);
  return v;
}
