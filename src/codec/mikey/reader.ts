/**
 * Bounds-checked big-endian reader for MIKEY (RFC 3830 §6: every field is a whole number of
 * octets except V/PRF, S type/length and S/#P, which callers split themselves).
 *
 * Every read checks the remaining length first and throws `ERR_MIKEY_MALFORMED` on overrun,
 * so a decoder built on it cannot index past the input whatever the length fields claim.
 * `bytes()` returns views (no copy): the I_MESSAGE decoder copies its input once and hands
 * out views of that private copy.
 */
import { MikeyError } from '../../errors.js';

/**
 * Work counter for hostile-input tests: decoders add one step per loop iteration (payload,
 * crypto-session entry, policy parameter). Each iteration consumes at least one octet, so
 * `steps <= input length` is the linear-work guarantee the fuzz tests assert.
 */
export interface DecodeStats {
  steps: number;
}

export class MikeyReader {
  readonly #buf: Uint8Array;
  readonly #end: number;
  readonly #base: number;
  #pos: number;
  readonly stats: DecodeStats | undefined;

  /**
   * `base` is the offset of `buf[0]` inside the whole message, so error messages and
   * payload offsets of sub-readers stay absolute.
   */
  constructor(buf: Uint8Array, stats?: DecodeStats, base = 0) {
    this.#buf = buf;
    this.#end = buf.length;
    this.#pos = 0;
    this.#base = base;
    this.stats = stats;
  }

  /** Absolute offset of the next octet. */
  get offset(): number {
    return this.#base + this.#pos;
  }

  /** Offset relative to this reader's own buffer. */
  get position(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  get atEnd(): boolean {
    return this.#pos === this.#end;
  }

  /** Count one unit of work (see `DecodeStats`). */
  step(): void {
    if (this.stats !== undefined) this.stats.steps++;
  }

  #need(n: number, what: string): void {
    if (n > this.#end - this.#pos) {
      throw new MikeyError(
        'ERR_MIKEY_MALFORMED',
        `MIKEY ${what}: needs ${n} octet(s) at offset ${this.offset}, only ${this.remaining} left`,
      );
    }
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#buf[this.#pos++]!;
  }

  u16(what: string): number {
    this.#need(2, what);
    const b = this.#buf;
    const p = this.#pos;
    this.#pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u32(what: string): number {
    this.#need(4, what);
    const b = this.#buf;
    const p = this.#pos;
    this.#pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** A view of the next `n` octets. */
  bytes(n: number, what: string): Uint8Array {
    this.#need(n, what);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** A reader over the next `n` octets (for length-delimited parts such as SP parameters). */
  sub(n: number, what: string): MikeyReader {
    const base = this.offset;
    return new MikeyReader(this.bytes(n, what), this.stats, base);
  }

  /** Throws when octets remain: used where a length field promised an exact fit. */
  expectEnd(what: string): void {
    if (this.#pos !== this.#end) {
      throw new MikeyError(
        'ERR_MIKEY_MALFORMED',
        `MIKEY ${what}: ${this.remaining} unexpected octet(s) at offset ${this.offset}`,
      );
    }
  }
}
