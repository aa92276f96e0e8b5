/**
 * Lexical forms of the KMS XML (TS 33.179 D.3.4 schemas, XML Schema Part 2 datatypes):
 * xsd:hexBinary for keys in clear (PubEncKey, PubAuthKey, KeyContentType), xsd:base64Binary
 * for XML-DSig DigestValue/SignatureValue and XML Encryption CipherValue, xsd:dateTime,
 * xsd:boolean and xsd:integer. Decoders are strict (a value that two decoders could read
 * differently is refused) and throw ERR_KMS_MALFORMED naming the field, never its value.
 */
import { bytesToHex, hexToBytes } from '../../util/bytes.js';
import { KmsError } from './errors.js';

function malformed(what: string, why: string): never {
  throw new KmsError('ERR_KMS_MALFORMED', `${what}: ${why}`);
}

/** xsd:hexBinary (whiteSpace collapse: surrounding XML white space is ignored). */
export function decodeHexBinary(text: string, what: string): Uint8Array {
  const t = stripOuterWs(text);
  if (t.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(t)) malformed(what, 'not hexBinary');
  return hexToBytes(t);
}

/** Upper case, as the Annex D examples write keys (`029A2F`). */
export function encodeHexBinary(bytes: Uint8Array): string {
  return bytesToHex(bytes).toUpperCase();
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/**
 * xsd:base64Binary / ds:CryptoBinary. XML white space anywhere is skipped (signatures are
 * often line-wrapped); then the text must be canonical base64 with padding: length a multiple
 * of 4, '=' only as the last one or two characters, and zero bits in the unused positions.
 */
export function decodeBase64(text: string, what: string): Uint8Array {
  const t = text.replace(/[ \t\r\n]+/g, '');
  if (t.length % 4 !== 0) malformed(what, 'not base64 (length)');
  const pad = t.endsWith('==') ? 2 : t.endsWith('=') ? 1 : 0;
  const n = (t.length / 4) * 3 - pad;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < t.length; i += 4) {
    const last = i + 4 === t.length;
    const v = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const c = t.charCodeAt(i + j);
      if (last && c === 0x3d /* = */ && j >= 4 - pad) continue;
      const x = c < 128 ? B64_INDEX[c]! : -1;
      if (x < 0) malformed(what, 'not base64 (character)');
      v[j] = x;
    }
    const word = (v[0]! << 18) | (v[1]! << 12) | (v[2]! << 6) | v[3]!;
    if (last && pad === 2 && (word & 0xffff) !== 0) malformed(what, 'not canonical base64');
    if (last && pad === 1 && (word & 0xff) !== 0) malformed(what, 'not canonical base64');
    out[o++] = word >>> 16;
    if (o < n) out[o++] = (word >>> 8) & 0xff;
    if (o < n) out[o++] = word & 0xff;
  }
  return out;
}

export function encodeBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    const w = (a << 16) | (b << 8) | c;
    s += B64[w >>> 18]! + B64[(w >>> 12) & 63]!;
    s += i + 1 < bytes.length ? B64[(w >>> 6) & 63]! : '=';
    s += i + 2 < bytes.length ? B64[w & 63]! : '=';
  }
  return s;
}

/**
 * An xsd:dateTime as written, with its instant. Annex D examples carry no zone designator
 * (`2014-01-26T10:05:52`); MCPTT times are UTC (key periods count NTP-UTC seconds), so a
 * value without a zone is read as UTC.
 */
export interface KmsDateTime {
  readonly text: string;
  readonly epochMs: number;
}

const DATE_TIME_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})?$/;

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/** Parse xsd:dateTime with a four-digit year; refuses out-of-range fields and hour 24. */
export function parseKmsDateTime(text: string, what = 'dateTime'): KmsDateTime {
  const t = stripOuterWs(text);
  const m = DATE_TIME_RE.exec(t);
  if (!m) malformed(what, 'not an xsd:dateTime');
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    malformed(what, 'xsd:dateTime field out of range');
  }
  const ms = m[7] ? Math.floor(Number('0' + m[7]) * 1000) : 0;
  let offsetMin = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(4, 6));
    if (zh > 14 || zm > 59 || (zh === 14 && zm !== 0)) malformed(what, 'time zone out of range');
    offsetMin = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm);
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // setUTCFullYear keeps years below 100 literal
  date.setUTCHours(h, mi, s, ms);
  return { text: t, epochMs: date.getTime() - offsetMin * 60_000 };
}

/** Format an instant as `YYYY-MM-DDThh:mm:ssZ` (whole seconds, UTC). */
export function kmsDateTime(when: Date | number): KmsDateTime {
  const ms = typeof when === 'number' ? when : when.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  const whole = Math.floor(ms / 1000) * 1000;
  const d = new Date(whole);
  const y = d.getUTCFullYear();
  if (y < 1 || y > 9999) throw new RangeError('year out of range for xsd:dateTime');
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const text = `${p(y, 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`;
  return { text, epochMs: whole };
}

/** xsd:boolean: true, false, 1, 0. */
export function parseXsdBoolean(text: string, what: string): boolean {
  const t = stripOuterWs(text);
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return malformed(what, 'not an xsd:boolean');
}

/** xsd:integer limited to safe JavaScript integers (all Annex D integers fit easily). */
export function parseXsdInteger(text: string, what: string): number {
  const t = stripOuterWs(text);
  if (!/^[+-]?[0-9]{1,20}$/.test(t)) malformed(what, 'not an xsd:integer');
  const n = Number(t);
  if (!Number.isSafeInteger(n)) malformed(what, 'integer out of range');
  return n === 0 ? 0 : n; // no -0
}

function stripOuterWs(s: string): string {
  let a = 0;
  let b = s.length;
  const ws = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  while (a < b && ws(s.charCodeAt(a))) a++;
  while (b > a && ws(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}
