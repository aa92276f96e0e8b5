/**
 * MIKEY payloads that occur in a MIKEY-SAKKE I_MESSAGE (RFC 6509 §4.1, TS 33.179 E.2–E.4):
 *
 *   T       RFC 3830 §6.6   next | TS type | TS value (length from TS type)
 *   RAND    RFC 3830 §6.11  next | RAND len (8) | RAND
 *   ID      RFC 3830 §6.7   next | ID type | ID len (16) | ID data
 *   CERT    RFC 3830 §6.7   next | Cert type | Cert len (16) | Cert data
 *   IDR     RFC 6043 §6.6   next | ID role | ID type | ID len (16) | ID data
 *   SP      RFC 3830 §6.10  next | Policy no | Prot type | Policy param length (16) | params
 *   SAKKE   RFC 6509 §4.2   next | SAKKE params | ID scheme | SAKKE data length (16) | data
 *   GE      RFC 3830 §6.15  next | Type | Length (16) | Data
 *   SIGN    RFC 3830 §6.5   S type (4) | Signature len (12) | Signature — always last, no next
 *
 * Skipping: RFC 3830 gives every payload a next-payload field but no common length field,
 * so a payload whose layout we do not know cannot be stepped over (ERR_MIKEY_UNSUPPORTED).
 * Inside the payloads above, two places do carry their own length and are skipped safely:
 * General Extension data of an unknown type (RFC 3830 §6.15 says the receiver may ignore
 * extensions it does not know) and SP parameters of an unknown type (type/length/value,
 * RFC 3830 §6.10). Both are kept as raw octets and re-encoded unchanged.
 */
import { MikeyError } from '../../errors.js';
import { bytesToBigInt, bigIntToBytes } from '../../util/bytes.js';
import { PAYLOAD_TYPE, PAYLOAD_TYPE_NAMES, TS_TYPE, TS_VALUE_LENGTH } from './constants.js';
import type { MikeyReader } from './reader.js';
import { checkUint, type MikeyWriter } from './writer.js';

export interface TimestampPayload {
  readonly kind: 'T';
  readonly tsType: number;
  /** 8 octets for NTP-UTC/NTP (seconds ‖ fraction, RFC 5905), 4 for COUNTER. */
  readonly value: Uint8Array;
}

export interface RandPayload {
  readonly kind: 'RAND';
  readonly rand: Uint8Array;
}

export interface IdPayload {
  readonly kind: 'ID';
  readonly idType: number;
  readonly data: Uint8Array;
}

export interface CertPayload {
  readonly kind: 'CERT';
  readonly certType: number;
  readonly data: Uint8Array;
}

export interface IdrPayload {
  readonly kind: 'IDR';
  readonly role: number;
  readonly idType: number;
  /** URI octets for roles 1/2/6/7; the 32-octet UID for roles 8/9 (TS 33.179 E.7). */
  readonly data: Uint8Array;
}

/** One SP policy parameter (type/length/value); unknown types are kept as they came. */
export interface SpParam {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface SpPayload {
  readonly kind: 'SP';
  readonly policyNo: number;
  readonly protType: number;
  readonly params: readonly SpParam[];
}

export interface SakkePayload {
  readonly kind: 'SAKKE';
  readonly params: number;
  readonly idScheme: number;
  /** SAKKE Encapsulated Data (273 octets for parameter set 1); checked by the crypto layer. */
  readonly data: Uint8Array;
}

export interface GeneralExtensionPayload {
  readonly kind: 'GENERAL_EXTENSION';
  readonly type: number;
  readonly data: Uint8Array;
}

export interface SignPayload {
  readonly kind: 'SIGN';
  readonly signType: number;
  readonly signature: Uint8Array;
}

export type MikeyPayload =
  | TimestampPayload
  | RandPayload
  | IdPayload
  | CertPayload
  | IdrPayload
  | SpPayload
  | SakkePayload
  | GeneralExtensionPayload
  | SignPayload;

export type PayloadKind = MikeyPayload['kind'];

/** Payload type number of each kind (RFC 3830 §6.1 next-payload values). */
export const PAYLOAD_TYPE_OF_KIND: Readonly<Record<PayloadKind, number>> = Object.freeze({
  T: PAYLOAD_TYPE.T,
  RAND: PAYLOAD_TYPE.RAND,
  ID: PAYLOAD_TYPE.ID,
  CERT: PAYLOAD_TYPE.CERT,
  IDR: PAYLOAD_TYPE.IDR,
  SP: PAYLOAD_TYPE.SP,
  SAKKE: PAYLOAD_TYPE.SAKKE,
  GENERAL_EXTENSION: PAYLOAD_TYPE.GENERAL_EXTENSION,
  SIGN: PAYLOAD_TYPE.SIGN,
});

/**
 * Reads one payload of `type` (the previous payload's next-payload value) and returns it
 * with its own next-payload value; SIGN has none and reports `LAST`.
 */
export function readPayload(r: MikeyReader, type: number): { payload: MikeyPayload; next: number } {
  switch (type) {
    case PAYLOAD_TYPE.T: {
      const next = r.u8('T next payload');
      const tsType = r.u8('T TS type');
      const len = TS_VALUE_LENGTH[tsType];
      if (len === undefined) {
        // No length field: the TS value of an unknown TS type has an unknown size.
        throw new MikeyError('ERR_MIKEY_UNSUPPORTED', `MIKEY T: TS type ${tsType} is not supported`);
      }
      return { payload: { kind: 'T', tsType, value: r.bytes(len, 'T TS value') }, next };
    }
    case PAYLOAD_TYPE.RAND: {
      const next = r.u8('RAND next payload');
      const rand = r.bytes(r.u8('RAND len'), 'RAND');
      return { payload: { kind: 'RAND', rand }, next };
    }
    case PAYLOAD_TYPE.ID: {
      const next = r.u8('ID next payload');
      const idType = r.u8('ID type');
      const data = r.bytes(r.u16('ID len'), 'ID data');
      return { payload: { kind: 'ID', idType, data }, next };
    }
    case PAYLOAD_TYPE.CERT: {
      const next = r.u8('CERT next payload');
      const certType = r.u8('CERT type');
      const data = r.bytes(r.u16('CERT len'), 'CERT data');
      return { payload: { kind: 'CERT', certType, data }, next };
    }
    case PAYLOAD_TYPE.IDR: {
      const next = r.u8('IDR next payload');
      const role = r.u8('IDR ID role');
      const idType = r.u8('IDR ID type');
      const data = r.bytes(r.u16('IDR ID len'), 'IDR ID data');
      return { payload: { kind: 'IDR', role, idType, data }, next };
    }
    case PAYLOAD_TYPE.SP: {
      const next = r.u8('SP next payload');
      const policyNo = r.u8('SP policy no');
      const protType = r.u8('SP prot type');
      const pr = r.sub(r.u16('SP policy param length'), 'SP policy params');
      const params: SpParam[] = [];
      while (!pr.atEnd) {
        pr.step();
        const ptype = pr.u8('SP param type');
        params.push({ type: ptype, value: pr.bytes(pr.u8('SP param length'), 'SP param value') });
      }
      return { payload: { kind: 'SP', policyNo, protType, params }, next };
    }
    case PAYLOAD_TYPE.SAKKE: {
      const next = r.u8('SAKKE next payload');
      const params = r.u8('SAKKE params');
      const idScheme = r.u8('SAKKE ID scheme');
      const data = r.bytes(r.u16('SAKKE data length'), 'SAKKE data');
      return { payload: { kind: 'SAKKE', params, idScheme, data }, next };
    }
    case PAYLOAD_TYPE.GENERAL_EXTENSION: {
      const next = r.u8('GE next payload');
      const geType = r.u8('GE type');
      const data = r.bytes(r.u16('GE length'), 'GE data');
      return { payload: { kind: 'GENERAL_EXTENSION', type: geType, data }, next };
    }
    case PAYLOAD_TYPE.SIGN: {
      const tl = r.u16('SIGN type/length');
      const signature = r.bytes(tl & 0x0fff, 'SIGN signature');
      return { payload: { kind: 'SIGN', signType: tl >>> 12, signature }, next: PAYLOAD_TYPE.LAST };
    }
    default: {
      const name = PAYLOAD_TYPE_NAMES[type];
      throw new MikeyError(
        'ERR_MIKEY_UNSUPPORTED',
        `MIKEY payload type ${type}${name === undefined ? '' : ` (${name})`} at offset ${r.offset} cannot be decoded or skipped`,
      );
    }
  }
}

/** Writes `p` with `next` as its next-payload value (ignored for SIGN, which has none). */
export function writePayload(w: MikeyWriter, p: MikeyPayload, next: number): void {
  switch (p.kind) {
    case 'T': {
      const len = TS_VALUE_LENGTH[p.tsType];
      if (len === undefined) throw new RangeError(`T: unsupported TS type ${p.tsType}`);
      if (p.value.length !== len) throw new RangeError(`T: TS type ${p.tsType} needs ${len} octets`);
      w.u8(next, 'T next payload').u8(p.tsType, 'T TS type').bytes(p.value, 'T TS value');
      return;
    }
    case 'RAND':
      w.u8(next, 'RAND next payload').lengthPrefixed(p.rand, 8, 'RAND');
      return;
    case 'ID':
      w.u8(next, 'ID next payload').u8(p.idType, 'ID type').lengthPrefixed(p.data, 16, 'ID data');
      return;
    case 'CERT':
      w.u8(next, 'CERT next payload').u8(p.certType, 'CERT type').lengthPrefixed(p.data, 16, 'CERT data');
      return;
    case 'IDR':
      w.u8(next, 'IDR next payload').u8(p.role, 'IDR ID role').u8(p.idType, 'IDR ID type');
      w.lengthPrefixed(p.data, 16, 'IDR ID data');
      return;
    case 'SP': {
      let len = 0;
      for (const q of p.params) len += 2 + q.value.length;
      w.u8(next, 'SP next payload').u8(p.policyNo, 'SP policy no').u8(p.protType, 'SP prot type');
      w.u16(len, 'SP policy param length');
      for (const q of p.params) w.u8(q.type, 'SP param type').lengthPrefixed(q.value, 8, 'SP param value');
      return;
    }
    case 'SAKKE':
      w.u8(next, 'SAKKE next payload').u8(p.params, 'SAKKE params').u8(p.idScheme, 'SAKKE ID scheme');
      w.lengthPrefixed(p.data, 16, 'SAKKE data');
      return;
    case 'GENERAL_EXTENSION':
      w.u8(next, 'GE next payload').u8(p.type, 'GE type').lengthPrefixed(p.data, 16, 'GE data');
      return;
    case 'SIGN':
      writeSignHeader(w, p.signType, p.signature.length);
      w.bytes(p.signature, 'SIGN signature');
      return;
    default: {
      const k: unknown = (p as { kind: unknown }).kind;
      throw new TypeError(`unknown MIKEY payload kind ${String(k)}`);
    }
  }
}

/** The 2-octet SIGN header: the last octets covered by the signature (RFC 3830 §5.2). */
export function writeSignHeader(w: MikeyWriter, signType: number, signatureLength: number): void {
  checkUint(signType, 0x0f, 'SIGN S type');
  checkUint(signatureLength, 0x0fff, 'SIGN signature len');
  w.u16((signType << 12) | signatureLength, 'SIGN type/length');
}

/** The 64-bit NTP value of a T payload of type NTP-UTC or NTP; undefined for COUNTER. */
export function ntpTimeOf(t: TimestampPayload): bigint | undefined {
  if (t.tsType !== TS_TYPE.NTP_UTC && t.tsType !== TS_TYPE.NTP) return undefined;
  return bytesToBigInt(t.value);
}

/**
 * An NTP-UTC T payload (TS 33.179 E.1.1). `seconds` counts from 1900-01-01 (NTP era 0);
 * `fraction` is the 32-bit binary fraction of a second.
 */
export function ntpUtcTimestamp(seconds: number | bigint, fraction = 0): TimestampPayload {
  const s = BigInt(seconds);
  if (s < 0n || s > 0xffffffffn) throw new RangeError('NTP seconds out of range 0..2^32-1');
  checkUint(fraction, 0xffffffff, 'NTP fraction');
  return { kind: 'T', tsType: TS_TYPE.NTP_UTC, value: bigIntToBytes((s << 32n) | BigInt(fraction), 8) };
}
