/**
 * MIKEY-SAKKE I_MESSAGE (RFC 6509 §4.1; TS 33.179 Annex E.2 GMK, E.3 PCK, E.4 CSK):
 *
 *   HDR, T, RAND, [IDRi], [IDRr], [IDRkmsi], [IDRkmsr], [SP], SAKKE, [GE…], SIGN
 *
 * in whatever order the sender chose: the interop messages put the GE before or after SAKKE.
 *
 * Signature coverage (RFC 3830 §5.2, RFC 6509 §4.3): the ECCSI signature is computed over the
 * whole message up to and including the SIGN payload's 2-octet header (S type | length),
 * i.e. everything except the 129-octet signature value. `signedBytes` is exactly that range,
 * and `encodeIMessage` produces it first so the signer (ECCSI, in the crypto layer) can run
 * before the signature is appended.
 *
 * Decoding is a single forward pass with no recursion: each payload is read once, every
 * length is checked against the octets left, and every loop consumes input, so the work is
 * linear in the input size. Hostile input ends in a `MikeyError`, never another exception.
 */
import { MikeyError } from '../../errors.js';
import { DATA_TYPE, MIKEY_VERSION, PAYLOAD_TYPE, SIGN_TYPE, ECCSI_SIGNATURE_LENGTH } from './constants.js';
import { HEADER_FIXED_LENGTH, readCommonHeader, writeCommonHeader, type CommonHeader } from './header.js';
import {
  PAYLOAD_TYPE_OF_KIND,
  ntpTimeOf,
  readPayload,
  writePayload,
  writeSignHeader,
  type GeneralExtensionPayload,
  type IdrPayload,
  type MikeyPayload,
  type PayloadKind,
  type SakkePayload,
  type SignPayload,
  type SpPayload,
  type TimestampPayload,
} from './payloads.js';
import { MikeyReader, type DecodeStats } from './reader.js';
import { MikeyWriter } from './writer.js';

/** A MIKEY message as data: the header and the payloads in wire order (SIGN, if any, last). */
export interface IMessage {
  readonly header: CommonHeader;
  readonly payloads: readonly MikeyPayload[];
}

/** Where a part of the message sits in the input (for `describe`, docs and tests). */
export interface PayloadSpan {
  readonly kind: PayloadKind | 'HDR';
  /** Payload type number (−1 for the header). */
  readonly type: number;
  readonly offset: number;
  readonly length: number;
}

export interface DecodedIMessage extends IMessage {
  /** A private copy of the input; every octet field of the message is a view into it. */
  readonly bytes: Uint8Array;
  readonly layout: readonly PayloadSpan[];
  /** Octets covered by the signature (view), or undefined when there is no SIGN payload. */
  readonly signedBytes: Uint8Array | undefined;
  readonly signature: SignPayload | undefined;
  /**
   * Accessors below pick the first payload of each kind. Duplicates are kept in `payloads`
   * (the codec does not judge them) so that the processing layer can refuse them.
   */
  readonly timestamp: TimestampPayload | undefined;
  /** 64-bit NTP value (seconds ‖ fraction) of an NTP/NTP-UTC T payload. */
  readonly ntpTime: bigint | undefined;
  /** Whole NTP seconds (since 1900), the TIME of TS 33.179 F.2.1. */
  readonly ntpSeconds: number | undefined;
  readonly rand: Uint8Array | undefined;
  readonly idrs: readonly IdrPayload[];
  readonly sakke: SakkePayload | undefined;
  readonly sakkePayloads: readonly SakkePayload[];
  readonly securityPolicies: readonly SpPayload[];
  readonly extensions: readonly GeneralExtensionPayload[];
}

export interface DecodeOptions {
  /** Incremented once per payload / map entry / SP parameter (see `DecodeStats`). */
  readonly stats?: DecodeStats;
}

/**
 * Decodes a MIKEY-SAKKE I_MESSAGE (data type 26). Throws `MikeyError`:
 * - `ERR_MIKEY_MALFORMED`: truncated, a length past the end, a count larger than the
 *   octets left, or octets after the last payload;
 * - `ERR_MIKEY_UNSUPPORTED`: another version or data type, an unknown CS ID map type, TS
 *   type or payload type (none of which can be stepped over).
 */
export function decodeIMessage(input: Uint8Array, options: DecodeOptions = {}): DecodedIMessage {
  if (!(input instanceof Uint8Array)) throw new TypeError('I_MESSAGE must be a Uint8Array');
  // One copy up front: views handed out below cannot change if the caller reuses its buffer.
  // (`new Uint8Array(x)` copies; a Node Buffer's own `slice()` would return a view.)
  const bytes = new Uint8Array(input);
  if (bytes.length < HEADER_FIXED_LENGTH) {
    throw new MikeyError('ERR_MIKEY_MALFORMED', `MIKEY HDR: ${bytes.length} octet(s), the header alone needs ${HEADER_FIXED_LENGTH}`);
  }
  if (bytes[0] !== MIKEY_VERSION) {
    throw new MikeyError('ERR_MIKEY_UNSUPPORTED', `MIKEY version ${bytes[0]!} is not supported`);
  }
  if (bytes[1] !== DATA_TYPE.SAKKE_I_MSG) {
    throw new MikeyError('ERR_MIKEY_UNSUPPORTED', `MIKEY data type ${bytes[1]!} is not a SAKKE I_MESSAGE`);
  }
  const r = new MikeyReader(bytes, options.stats);
  const layout: PayloadSpan[] = [];
  const { header, nextPayload } = readCommonHeader(r);
  layout.push({ kind: 'HDR', type: -1, offset: 0, length: r.offset });

  const payloads: MikeyPayload[] = [];
  let signedBytes: Uint8Array | undefined;
  let signature: SignPayload | undefined;
  let next = nextPayload;
  while (next !== PAYLOAD_TYPE.LAST) {
    r.step();
    const start = r.offset;
    const { payload, next: after } = readPayload(r, next);
    if (payload.kind === 'SIGN') {
      // Everything up to and including the 2-octet S type|length is signed.
      signedBytes = bytes.subarray(0, start + 2);
      signature = payload;
    }
    payloads.push(payload);
    layout.push({ kind: payload.kind, type: next, offset: start, length: r.offset - start });
    next = after;
  }
  if (!r.atEnd) {
    throw new MikeyError('ERR_MIKEY_MALFORMED', `MIKEY: ${r.remaining} octet(s) after the last payload at offset ${r.offset}`);
  }

  let timestamp: TimestampPayload | undefined;
  let rand: Uint8Array | undefined;
  const idrs: IdrPayload[] = [];
  const sakkePayloads: SakkePayload[] = [];
  const securityPolicies: SpPayload[] = [];
  const extensions: GeneralExtensionPayload[] = [];
  for (const p of payloads) {
    switch (p.kind) {
      case 'T':
        timestamp ??= p;
        break;
      case 'RAND':
        rand ??= p.rand;
        break;
      case 'IDR':
        idrs.push(p);
        break;
      case 'SAKKE':
        sakkePayloads.push(p);
        break;
      case 'SP':
        securityPolicies.push(p);
        break;
      case 'GENERAL_EXTENSION':
        extensions.push(p);
        break;
      default:
        break;
    }
  }
  const ntpTime = timestamp === undefined ? undefined : ntpTimeOf(timestamp);
  return {
    header,
    payloads,
    bytes,
    layout,
    signedBytes,
    signature,
    timestamp,
    ntpTime,
    ntpSeconds: ntpTime === undefined ? undefined : Number(ntpTime >> 32n),
    rand,
    idrs,
    sakke: sakkePayloads[0],
    sakkePayloads,
    securityPolicies,
    extensions,
  };
}

/** The first IDR payload with `role`, if any. */
export function findIdr(msg: IMessage, role: number): IdrPayload | undefined {
  for (const p of msg.payloads) if (p.kind === 'IDR' && p.role === role) return p;
  return undefined;
}

function writeBody(w: MikeyWriter, msg: IMessage, afterLast: number): void {
  const ps: readonly MikeyPayload[] = msg.payloads;
  if (!Array.isArray(msg.payloads)) throw new TypeError('I_MESSAGE payloads must be an array');
  writeCommonHeader(w, msg.header, ps.length === 0 ? afterLast : PAYLOAD_TYPE_OF_KIND[ps[0]!.kind]);
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    const nextP = ps[i + 1];
    writePayload(w, p, nextP === undefined ? afterLast : PAYLOAD_TYPE_OF_KIND[nextP.kind]);
  }
}

/**
 * Encodes a complete message (signed or not). Next-payload fields follow the payload order;
 * a SIGN payload may only be the last one. A decoded message re-encodes to its input.
 */
export function encodeIMessageBytes(msg: IMessage): Uint8Array {
  const ps = msg.payloads;
  for (let i = 0; i < ps.length - 1; i++) {
    if (ps[i]!.kind === 'SIGN') throw new TypeError('the SIGN payload must be the last payload');
  }
  const w = new MikeyWriter();
  writeBody(w, msg, PAYLOAD_TYPE.LAST);
  return w.finish();
}

/** An encoded message waiting for its signature. */
export interface UnsignedIMessage {
  /** The octets the ECCSI signature covers: the message up to and including the SIGN header. */
  readonly toSign: Uint8Array;
  /** Appends the signature (of exactly the announced length) and returns the message. */
  finish(signature: Uint8Array): Uint8Array;
}

export interface SignOptions {
  /** S type (default ECCSI, RFC 6509 §4.3 / TS 33.179 E.2: "type 2"). */
  readonly signType?: number;
  /** Signature length announced in the SIGN header (default 129, ECCSI). */
  readonly signatureLength?: number;
}

/**
 * Encodes `msg` (without SIGN) and the SIGN header, for signing:
 *
 *   const pending = encodeIMessage(msg);
 *   const message = pending.finish(await eccsiSign(pending.toSign, …));
 */
export function encodeIMessage(msg: IMessage, options: SignOptions = {}): UnsignedIMessage {
  for (const p of msg.payloads) {
    if (p.kind === 'SIGN') throw new TypeError('encodeIMessage adds the SIGN payload itself; remove it from payloads');
  }
  const signType = options.signType ?? SIGN_TYPE.ECCSI;
  const signatureLength = options.signatureLength ?? ECCSI_SIGNATURE_LENGTH;
  const w = new MikeyWriter();
  writeBody(w, msg, PAYLOAD_TYPE.SIGN);
  writeSignHeader(w, signType, signatureLength);
  const toSign = w.finish();
  return {
    toSign,
    finish(signature: Uint8Array): Uint8Array {
      if (!(signature instanceof Uint8Array)) throw new TypeError('signature must be a Uint8Array');
      if (signature.length !== signatureLength) {
        throw new RangeError(`signature must be ${signatureLength} octets, got ${signature.length}`);
      }
      const out = new Uint8Array(toSign.length + signature.length);
      out.set(toSign, 0);
      out.set(signature, toSign.length);
      return out;
    },
  };
}
