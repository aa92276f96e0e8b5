/**
 * SDP key management attribute, RFC 4567 §3: `a=key-mgmt:<prtcl-id> <keymgmt-data>` with
 * prtcl-id "mikey" and the MIKEY message in base64 (RFC 4567 §3.1 / RFC 4648 §4). TS 33.179
 * 7.4 carries the PCK I_MESSAGE this way in the private call SDP offer.
 *
 * Reading accepts the attribute at session level (before the first m= line) and at media
 * level, several lines per level, CRLF or LF line ends, and extra blanks around the two
 * fields. The base64 itself is strict — alphabet, padding and zero spare bits — because a
 * lenient decoder would accept several spellings of one message and hide tampering.
 * RFC 4567 §3.1: a media-level attribute overrides the session-level one for that medium.
 *
 * Writing adds or replaces the mikey lines of one level and leaves every other line as it
 * was. Pure string functions: no SDP object model, no I/O.
 */
import { MikeyError } from '../errors.js';

export type SdpKeyMgmtTarget = { readonly level: 'session' } | { readonly level: 'media'; readonly mediaIndex: number };

export interface SdpMikeyAttribute {
  readonly level: 'session' | 'media';
  /** 0-based index of the m= section; undefined at session level. */
  readonly mediaIndex: number | undefined;
  /** 0-based line number in the SDP. */
  readonly line: number;
  /** The decoded MIKEY message. */
  readonly message: Uint8Array;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries([...B64].map((c, i) => [c, i] as const)),
);
// The data group takes the rest of the line, so "mikey A Q I D" reaches the strict base64
// check and fails instead of silently not matching.
const KEY_MGMT = /^a=key-mgmt:[ \t]*([^ \t]+)(?:[ \t]+(.*?))?[ \t]*$/i;

/** RFC 4648 §4 base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + '=';
  }
  return s;
}

function badB64(why: string): MikeyError {
  return new MikeyError('ERR_MIKEY_MALFORMED', `a=key-mgmt: invalid base64 (${why})`);
}

/**
 * Strict RFC 4648 §4 decoding: whole 4-character groups, padding only at the end, no other
 * characters, and the spare bits before padding must be zero (one spelling per message).
 */
export function decodeBase64Strict(s: string): Uint8Array {
  if (typeof s !== 'string') throw new TypeError('base64 input must be a string');
  if (s.length === 0 || s.length % 4 !== 0) throw badB64('length is not a positive multiple of 4');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    const v: number[] = [];
    for (let j = 0; j < 4; j++) {
      const c = s[i + j]!;
      if (c === '=' && last && j >= 4 - pad) {
        v.push(0);
        continue;
      }
      const x = B64_INDEX[c];
      if (x === undefined) throw badB64(`unexpected character at ${i + j}`);
      v.push(x);
    }
    const n = (v[0]! << 18) | (v[1]! << 12) | (v[2]! << 6) | v[3]!;
    if (last && pad === 2 && (n & 0xffff) !== 0) throw badB64('non-zero spare bits');
    if (last && pad === 1 && (n & 0xff) !== 0) throw badB64('non-zero spare bits');
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}

interface SdpLines {
  readonly lines: string[];
  readonly eol: string;
  /** Index of each m= line. */
  readonly media: number[];
}

function splitSdp(sdp: string): SdpLines {
  if (typeof sdp !== 'string') throw new TypeError('SDP must be a string');
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const media: number[] = [];
  lines.forEach((l, i) => {
    if (l.startsWith('m=')) media.push(i);
  });
  return { lines, eol, media };
}

/** [first, end) line range of the target level's own lines. */
function sectionRange(s: SdpLines, target: SdpKeyMgmtTarget): [number, number] {
  if (target.level === 'session') return [0, s.media[0] ?? s.lines.length];
  const k = target.mediaIndex;
  if (!Number.isInteger(k) || k < 0 || k >= s.media.length) {
    throw new RangeError(`SDP has no m= section ${String(k)} (it has ${s.media.length})`);
  }
  return [s.media[k]!, s.media[k + 1] ?? s.lines.length];
}

function mikeyData(line: string): string | undefined {
  const m = KEY_MGMT.exec(line);
  if (m === null || m[1]!.toLowerCase() !== 'mikey') return undefined;
  return m[2] ?? '';
}

/** Every `a=key-mgmt:mikey` attribute of the SDP, session level first, in line order. */
export function readSdpMikey(sdp: string): SdpMikeyAttribute[] {
  const s = splitSdp(sdp);
  const out: SdpMikeyAttribute[] = [];
  let mediaIndex = -1;
  s.lines.forEach((line, i) => {
    if (line.startsWith('m=')) mediaIndex++;
    const data = mikeyData(line);
    if (data === undefined) return;
    if (data.length === 0) throw new MikeyError('ERR_MIKEY_MALFORMED', `a=key-mgmt:mikey without data on line ${i + 1}`);
    out.push({
      level: mediaIndex < 0 ? 'session' : 'media',
      mediaIndex: mediaIndex < 0 ? undefined : mediaIndex,
      line: i,
      message: decodeBase64Strict(data),
    });
  });
  return out;
}

/** The MIKEY messages that apply to m= section `mediaIndex` (media level overrides session). */
export function sdpMikeyForMedia(sdp: string, mediaIndex: number): Uint8Array[] {
  const s = splitSdp(sdp);
  sectionRange(s, { level: 'media', mediaIndex });
  const all = readSdpMikey(sdp);
  const media = all.filter((a) => a.level === 'media' && a.mediaIndex === mediaIndex);
  return (media.length > 0 ? media : all.filter((a) => a.level === 'session')).map((a) => a.message);
}

/** Removes the mikey key-mgmt lines of `target`. */
export function removeSdpMikey(sdp: string, target: SdpKeyMgmtTarget): string {
  return writeSdpMikey(sdp, [], target);
}

/**
 * Sets the mikey key-mgmt lines of `target` to `messages` (one line each): they replace the
 * existing lines of that level at the position of the first one, or are added at the end of
 * the section (where a= lines belong, RFC 4566 §5).
 */
export function writeSdpMikey(
  sdp: string,
  messages: Uint8Array | readonly Uint8Array[],
  target: SdpKeyMgmtTarget,
): string {
  const list: readonly Uint8Array[] = messages instanceof Uint8Array ? [messages] : messages;
  for (const m of list) {
    if (!(m instanceof Uint8Array) || m.length === 0) throw new TypeError('MIKEY messages must be non-empty Uint8Arrays');
  }
  const s = splitSdp(sdp);
  const [first, end] = sectionRange(s, target);
  const fresh = list.map((m) => `a=key-mgmt:mikey ${encodeBase64(m)}`);
  const before = s.lines.slice(0, first);
  const section = s.lines.slice(first, end);
  const after = s.lines.slice(end);
  const kept: string[] = [];
  let insertAt = -1;
  for (const line of section) {
    if (mikeyData(line) !== undefined) {
      if (insertAt < 0) insertAt = kept.length;
      continue;
    }
    kept.push(line);
  }
  if (insertAt < 0) {
    // After the last non-empty line of the section: a trailing '' is the final line end.
    insertAt = kept.length;
    while (insertAt > 0 && kept[insertAt - 1] === '') insertAt--;
  }
  kept.splice(insertAt, 0, ...fresh);
  return [...before, ...kept, ...after].join(s.eol);
}
