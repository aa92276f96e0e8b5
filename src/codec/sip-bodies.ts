/**
 * SIP message bodies of MCPTT security, as RFC 2046 §5.1 `multipart/mixed`:
 *
 * - the service authorization body of a REGISTER (or PUBLISH), TS 33.179 5.6.2.1 and
 *   9.1.3.2: an `application/mikey` part with the CSK I_MESSAGE (E.4) and an
 *   `application/vnd.3gpp.mcptt-info+xml` part with the access token;
 * - the GMK notification body, TS 33.179 7.3.2: an `application/vnd.3gpp.mcptt-info+xml`
 *   part naming the MCPTT group and one or more `application/mikey` parts (one per GMK, e.g.
 *   one for media and one for floor control).
 *
 * Layout written (CRLF line ends, RFC 2046 §5.1.1; no preamble, no epilogue):
 *
 * ```
 * --<boundary>
 * Content-Type: application/mikey
 * Content-Transfer-Encoding: base64
 *
 * AQAFAP8vEQ8AAAAAAAAAAQ...            ← base64, lines of at most 76 characters
 * --<boundary>
 * Content-Type: application/vnd.3gpp.mcptt-info+xml
 *
 * <?xml version="1.0" encoding="UTF-8"?><mcpttinfo …>…</mcpttinfo>
 * --<boundary>--
 * ```
 *
 * Why base64 for `application/mikey` (RFC 3830 registers it as binary): sip.js carries
 * bodies as JavaScript strings in WebSocket text frames, which are UTF-8. Octets 0x80–0xFF
 * would be re-encoded as two bytes on the wire and Content-Length (counted in UTF-8 bytes
 * by sip.js, used as a character count by its parser) would no longer match. Base64 with
 * `Content-Transfer-Encoding: base64` (RFC 2045 §6.8) keeps every part 7-bit, so the body
 * survives any SIP transport byte for byte. Readers require it for MIKEY parts.
 *
 * The mcptt-info XML is this SDK's own small document, shaped like TS 24.379's
 * `mcpttinfo` (namespace `urn:3gpp:ns:mcpttInfo:1.0`): `mcptt-Params` holds
 * `mcptt-access-token/mcpttString` (TS 24.379's element) and, for GMK notifications,
 * `mcptt-group-id/mcpttURI` (an SDK element; TS 24.481 would carry the GMK inside the group
 * document instead). Values are written with `type="Normal"`; `type="Encrypted"` (TS 33.179
 * 9.3 XML encryption under the CSK) is recognized and refused as unsupported.
 *
 * Parsing is strict and bounded: size, part count and header count are limited, the close
 * delimiter is required, part headers must be well-formed, each part must say its
 * Content-Type, base64 must be canonical, and every failure is a `SipError`. Pure functions.
 */
import { decodeBase64Strict, encodeBase64 } from './sdp-key-mgmt.js';
import { parseXml } from './xml/parser.js';
import { escapeXmlText } from './xml/serialize.js';
import type { XmlElement } from './xml/tree.js';
import { SipError } from '../errors.js';

export const MULTIPART_MIXED = 'multipart/mixed';
export const MIKEY_CONTENT_TYPE = 'application/mikey';
export const MCPTT_INFO_CONTENT_TYPE = 'application/vnd.3gpp.mcptt-info+xml';
export const MCPTT_INFO_NS = 'urn:3gpp:ns:mcpttInfo:1.0';

/** A SIP body ready for sip.js: the Content-Type header value and the body text. */
export interface SipBody {
  readonly contentType: string;
  readonly body: string;
}

export interface MimePartInit {
  /** Full Content-Type value of the part, e.g. `application/mikey`. */
  readonly contentType: string;
  /** The part's content as it goes on the wire (already transfer-encoded). */
  readonly content: string;
  /** Optional Content-ID (RFC 2045 §7), written as `<id>`; give it without the brackets. */
  readonly contentId?: string;
  /** Optional Content-Transfer-Encoding (RFC 2045 §6), e.g. `base64`. */
  readonly transferEncoding?: string;
}

export interface MimePart {
  /** Content-Type value as written. */
  readonly contentType: string;
  /** Lower-case `type/subtype`. */
  readonly mediaType: string;
  /** Content-Type parameters, names lower-case. */
  readonly params: Readonly<Record<string, string>>;
  /** Content-ID without the angle brackets. */
  readonly contentId: string | undefined;
  /** Lower-case Content-Transfer-Encoding, if given. */
  readonly transferEncoding: string | undefined;
  /** Every part header in order (name as written, value unfolded and trimmed). */
  readonly headers: readonly (readonly [string, string])[];
  /** The content between the header block and the next delimiter, not decoded. */
  readonly content: string;
}

export interface MultipartLimits {
  /** Largest body in UTF-8 bytes (default 64 KiB, the largest SIP message Kamailio takes). */
  readonly maxBytes?: number;
  /** Most body parts (default 16). */
  readonly maxParts?: number;
  /** Most header fields per part (default 16). */
  readonly maxPartHeaders?: number;
}

export const DEFAULT_MULTIPART_LIMITS: Readonly<Required<MultipartLimits>> = Object.freeze({
  maxBytes: 64 * 1024,
  maxParts: 16,
  maxPartHeaders: 16,
});

export interface MultipartBuildOptions {
  /** A fixed boundary (tests); by default a random one is chosen. */
  readonly boundary?: string;
}

// RFC 2045 §5.1 token (no tspecials, no CTLs, no space).
const TOKEN_RE = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
// RFC 2046 §5.1.1 bchars; 1..70 characters, not ending in a space.
const BOUNDARY_RE = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
// RFC 5322 header field name: printable ASCII except colon.
const HEADER_NAME_RE = /^[!-9;-~]+$/;
// RFC 6750 §2.1 b64token: the shape of a bearer access token (a JWT fits).
const B64TOKEN_RE = /^[A-Za-z0-9\-._~+/]+=*$/;
const SIP_URI_RE = /^sips?:[^\s<>"]+$/;
const MAX_TOKEN_LENGTH = 8192;
const MAX_URI_LENGTH = 256;
const BASE64_LINE = 76;

function malformed(what: string, options?: { cause?: unknown }): SipError {
  return new SipError('ERR_SIP_BODY_MALFORMED', what, options);
}

function limitsOf(l: MultipartLimits | undefined): Required<MultipartLimits> {
  const out = { ...DEFAULT_MULTIPART_LIMITS, ...l };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer`);
  }
  return out;
}

/** UTF-8 length of `s`, counting no further than `cap + 1`. */
function utf8LengthUpTo(s: string, cap: number): number {
  let n = 0;
  for (let i = 0; i < s.length && n <= cap; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

// ---------------------------------------------------------------------------------------
// Content-Type (RFC 2045 §5.1)
// ---------------------------------------------------------------------------------------

export interface ParsedContentType {
  /** Lower-case `type/subtype`. */
  readonly mediaType: string;
  /** Parameters, names lower-case, quoted values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

/** Strict RFC 2045 Content-Type: `type/subtype *(; attribute=value)`; value token or quoted-string. */
export function parseContentType(value: string): ParsedContentType {
  if (typeof value !== 'string') throw new TypeError('Content-Type must be a string');
  if (value.length > 1024) throw new SipError('ERR_SIP_BODY_TOO_LARGE', 'Content-Type value is too long');
  let i = 0;
  const s = value;
  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const readToken = (what: string): string => {
    const start = i;
    while (i < s.length && TOKEN_RE.test(s[i]!)) i++;
    if (i === start) throw malformed(`Content-Type: ${what} expected at ${start}`);
    return s.slice(start, i);
  };
  skipWs();
  const type = readToken('type');
  if (s[i] !== '/') throw malformed('Content-Type: "/" expected');
  i++;
  const subtype = readToken('subtype');
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (;;) {
    skipWs();
    if (i === s.length) break;
    if (s[i] !== ';') throw malformed(`Content-Type: ";" expected at ${i}`);
    i++;
    skipWs();
    const name = readToken('parameter name').toLowerCase();
    skipWs();
    if (s[i] !== '=') throw malformed(`Content-Type: "=" expected after ${name}`);
    i++;
    skipWs();
    let v: string;
    if (s[i] === '"') {
      i++;
      let out = '';
      for (;;) {
        if (i >= s.length) throw malformed('Content-Type: unterminated quoted-string');
        const c = s[i]!;
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          if (i + 1 >= s.length) throw malformed('Content-Type: dangling backslash');
          out += s[i + 1]!;
          i += 2;
          continue;
        }
        if (c === '\r' || c === '\n') throw malformed('Content-Type: line break in quoted-string');
        out += c;
        i++;
      }
      v = out;
    } else {
      v = readToken('parameter value');
    }
    if (name in params) throw malformed(`Content-Type: duplicate parameter ${name}`);
    params[name] = v;
  }
  return { mediaType: `${type}/${subtype}`.toLowerCase(), params: Object.freeze(params) };
}

function quoteParam(v: string): string {
  return TOKEN_RE.test(v) ? v : `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

// ---------------------------------------------------------------------------------------
// multipart/mixed (RFC 2046 §5.1)
// ---------------------------------------------------------------------------------------

function randomBoundary(): string {
  const b = new Uint8Array(18);
  globalThis.crypto.getRandomValues(b);
  let hex = '';
  for (const x of b) hex += x.toString(16).padStart(2, '0');
  return `mcptt-${hex}`;
}

function checkPartInit(p: MimePartInit, i: number): void {
  if (p === null || typeof p !== 'object') throw new TypeError(`part ${i} must be an object`);
  if (typeof p.content !== 'string') throw new TypeError(`part ${i}: content must be a string`);
  parseContentType(p.contentType); // our own values: a failure here is a bug of the caller
  if (/[\r\n]/.test(p.contentType)) throw new TypeError(`part ${i}: Content-Type must be one line`);
  if (p.contentId !== undefined && !/^[!-;=?-~]{1,256}$/.test(p.contentId)) {
    throw new TypeError(`part ${i}: Content-ID must be printable ASCII without <, > or spaces`);
  }
  if (p.transferEncoding !== undefined && !TOKEN_RE.test(p.transferEncoding)) {
    throw new TypeError(`part ${i}: Content-Transfer-Encoding must be a token`);
  }
}

/**
 * Builds a `multipart/mixed` body. The boundary is random (or the given one) and is checked
 * not to occur in any part, so the parts need no escaping.
 */
export function buildMultipartMixed(parts: readonly MimePartInit[], options?: MultipartBuildOptions): SipBody {
  if (!Array.isArray(parts) || parts.length === 0) throw new RangeError('a multipart body needs at least one part');
  parts.forEach(checkPartInit);
  const fixed = options?.boundary;
  if (fixed !== undefined && (typeof fixed !== 'string' || !BOUNDARY_RE.test(fixed))) {
    throw new TypeError('boundary must be 1..70 RFC 2046 bchars, not ending in a space');
  }
  for (let attempt = 0; ; attempt++) {
    const boundary = fixed ?? randomBoundary();
    const delimiter = `--${boundary}`;
    if (parts.some((p) => p.content.includes(delimiter))) {
      if (fixed !== undefined) throw new RangeError('the boundary occurs inside a part');
      if (attempt > 8) throw new Error('could not find a free multipart boundary');
      continue;
    }
    let body = '';
    for (const p of parts) {
      body += `${delimiter}\r\nContent-Type: ${p.contentType}\r\n`;
      if (p.contentId !== undefined) body += `Content-ID: <${p.contentId}>\r\n`;
      if (p.transferEncoding !== undefined) body += `Content-Transfer-Encoding: ${p.transferEncoding}\r\n`;
      body += `\r\n${p.content}\r\n`;
    }
    body += `${delimiter}--\r\n`;
    return { contentType: `${MULTIPART_MIXED};boundary=${quoteParam(boundary)}`, body };
  }
}

function parsePartHeaders(block: string, partIndex: number, maxHeaders: number): (readonly [string, string])[] {
  const headers: (readonly [string, string])[] = [];
  if (block === '') return headers;
  const lines = block.split('\r\n');
  let current: [string, string] | undefined;
  for (const line of lines) {
    if (/[\r\n\0]/.test(line)) throw malformed(`part ${partIndex}: bare CR or LF in the header block`);
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current === undefined) throw malformed(`part ${partIndex}: continuation line before any header`);
      current[1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(`part ${partIndex}: header line without a name`);
    const name = line.slice(0, colon);
    if (!HEADER_NAME_RE.test(name)) throw malformed(`part ${partIndex}: invalid header name`);
    current = [name, line.slice(colon + 1).trim()];
    headers.push(current);
    if (headers.length > maxHeaders) throw new SipError('ERR_SIP_BODY_TOO_LARGE', `part ${partIndex}: more than ${maxHeaders} header fields`);
  }
  for (const [, v] of headers) {
    if (/[^\t\x20-\x7e]/.test(v)) throw malformed(`part ${partIndex}: non-ASCII or control character in a header value`);
  }
  return headers;
}

function singleHeader(headers: readonly (readonly [string, string])[], name: string, partIndex: number): string | undefined {
  const found = headers.filter(([n]) => n.toLowerCase() === name);
  if (found.length > 1) throw malformed(`part ${partIndex}: ${name} appears twice`);
  return found[0]?.[1];
}

function toPart(raw: string, partIndex: number, limits: Required<MultipartLimits>): MimePart {
  let headerBlock: string;
  let content: string;
  if (raw.startsWith('\r\n')) {
    headerBlock = '';
    content = raw.slice(2);
  } else {
    const end = raw.indexOf('\r\n\r\n');
    if (end < 0) throw malformed(`part ${partIndex}: no empty line after the part headers`);
    headerBlock = raw.slice(0, end);
    content = raw.slice(end + 4);
  }
  const headers = parsePartHeaders(headerBlock, partIndex, limits.maxPartHeaders);
  const contentType = singleHeader(headers, 'content-type', partIndex);
  // RFC 2046 would default to text/plain; every part of these bodies must say what it is.
  if (contentType === undefined) throw malformed(`part ${partIndex}: no Content-Type`);
  const ct = parseContentType(contentType);
  const cid = singleHeader(headers, 'content-id', partIndex);
  let contentId: string | undefined;
  if (cid !== undefined) {
    const m = /^<([^<>\s]+)>$/.exec(cid);
    if (!m) throw malformed(`part ${partIndex}: Content-ID must be <id>`);
    contentId = m[1];
  }
  const cte = singleHeader(headers, 'content-transfer-encoding', partIndex);
  if (cte !== undefined && !TOKEN_RE.test(cte)) throw malformed(`part ${partIndex}: invalid Content-Transfer-Encoding`);
  return {
    contentType,
    mediaType: ct.mediaType,
    params: ct.params,
    contentId,
    transferEncoding: cte?.toLowerCase(),
    headers,
    content,
  };
}

/**
 * Parses a `multipart/mixed` body given its Content-Type value. A preamble and an epilogue
 * are ignored as RFC 2046 asks; the close delimiter is required; nested multiparts are
 * returned as opaque parts.
 */
export function parseMultipartMixed(contentType: string, body: string, limits?: MultipartLimits): MimePart[] {
  const l = limitsOf(limits);
  if (typeof body !== 'string') throw new TypeError('body must be a string');
  if (body.length > l.maxBytes || utf8LengthUpTo(body, l.maxBytes) > l.maxBytes) {
    throw new SipError('ERR_SIP_BODY_TOO_LARGE', `body exceeds ${l.maxBytes} bytes`);
  }
  const ct = parseContentType(contentType);
  if (ct.mediaType !== MULTIPART_MIXED) throw new SipError('ERR_SIP_BODY_UNSUPPORTED', `expected multipart/mixed, got ${ct.mediaType}`);
  const boundary = ct.params['boundary'];
  if (boundary === undefined) throw malformed('multipart/mixed without a boundary parameter');
  if (!BOUNDARY_RE.test(boundary)) throw malformed('multipart boundary is not 1..70 RFC 2046 bchars');
  const dash = `--${boundary}`;
  const delim = `\r\n${dash}`;

  // First dash-boundary: at the very start, or after a preamble ending in CRLF.
  let pos: number;
  if (body.startsWith(dash)) pos = dash.length;
  else {
    const at = body.indexOf(delim);
    if (at < 0) throw malformed('multipart body has no boundary delimiter');
    pos = at + delim.length;
  }
  const parts: MimePart[] = [];
  for (;;) {
    // After a delimiter: "--" closes, otherwise optional transport padding and CRLF.
    if (body.startsWith('--', pos)) {
      if (parts.length === 0) throw malformed('multipart body closes before its first part');
      return parts;
    }
    while (body[pos] === ' ' || body[pos] === '\t') pos++;
    if (!body.startsWith('\r\n', pos)) throw malformed('boundary delimiter not followed by CRLF');
    pos += 2;
    const next = body.indexOf(delim, pos);
    if (next < 0) throw malformed('multipart body has no close delimiter');
    if (parts.length >= l.maxParts) throw new SipError('ERR_SIP_BODY_TOO_LARGE', `more than ${l.maxParts} body parts`);
    parts.push(toPart(body.slice(pos, next), parts.length, l));
    pos = next + delim.length;
  }
}

// ---------------------------------------------------------------------------------------
// base64 content (RFC 2045 §6.8) for application/mikey
// ---------------------------------------------------------------------------------------

function base64Lines(bytes: Uint8Array): string {
  const b64 = encodeBase64(bytes);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += BASE64_LINE) lines.push(b64.slice(i, i + BASE64_LINE));
  return lines.join('\r\n');
}

function decodeBase64Content(content: string, what: string): Uint8Array {
  // Line breaks are CRLF only (the line length is not enforced on input); nothing else
  // but the base64 alphabet is allowed, and the encoding must be canonical.
  const compact = content.replace(/\r\n/g, '');
  if (compact.length === 0) throw malformed(`${what}: empty base64 content`);
  try {
    return decodeBase64Strict(compact);
  } catch (cause) {
    throw malformed(`${what}: invalid base64`, { cause });
  }
}

/** An `application/mikey` part carrying one I_MESSAGE, base64-encoded. */
export function mikeyPart(iMessage: Uint8Array, contentId?: string): MimePartInit {
  if (!(iMessage instanceof Uint8Array) || iMessage.length === 0) throw new TypeError('I_MESSAGE must be a non-empty Uint8Array');
  return {
    contentType: MIKEY_CONTENT_TYPE,
    transferEncoding: 'base64',
    content: base64Lines(iMessage),
    ...(contentId !== undefined ? { contentId } : {}),
  };
}

/** The I_MESSAGE of an `application/mikey` part; only base64 transfer encoding is accepted. */
export function readMikeyPart(part: MimePart): Uint8Array {
  if (part.mediaType !== MIKEY_CONTENT_TYPE) throw new SipError('ERR_SIP_BODY_UNSUPPORTED', `not an application/mikey part: ${part.mediaType}`);
  if (part.transferEncoding !== 'base64') {
    throw new SipError('ERR_SIP_BODY_UNSUPPORTED', `application/mikey must be base64 (got ${part.transferEncoding ?? 'no'} transfer encoding)`);
  }
  return decodeBase64Content(part.content, 'application/mikey');
}

// ---------------------------------------------------------------------------------------
// application/vnd.3gpp.mcptt-info+xml
// ---------------------------------------------------------------------------------------

/** The fields of the mcptt-info document this SDK writes and reads. */
export interface McpttInfo {
  /** The OIDC access token (TS 33.179 5.6.2), sent in clear over the (TLS-protected) SIP-1. */
  readonly accessToken?: string;
  /** The MCPTT group ID a GMK notification is about (TS 33.179 7.3.2). */
  readonly groupId?: string;
  /**
   * TS 24.379 `mcptt-request-uri`: the group (or user) a call is for. A group call INVITE goes
   * to the MCPTT server's URI and names the group here, where 9.3 can encrypt it.
   */
  readonly requestUri?: string;
  /** TS 24.379 `mcptt-calling-user-id`: the MCPTT ID of the user who calls. */
  readonly callingUserId?: string;
  /** TS 24.379 `session-type` of a call setup. */
  readonly sessionType?: McpttSessionType;
}

/** The TS 24.379 `session-type` values this SDK writes and reads. */
export type McpttSessionType = 'prearranged' | 'chat' | 'private';
export const MCPTT_SESSION_TYPES: readonly McpttSessionType[] = Object.freeze(['prearranged', 'chat', 'private'] as const);

function checkAccessToken(t: string): string {
  if (typeof t !== 'string' || t.length === 0 || t.length > MAX_TOKEN_LENGTH || !B64TOKEN_RE.test(t)) {
    throw new TypeError('access token must be an RFC 6750 b64token of at most 8192 characters');
  }
  return t;
}

function checkGroupId(g: string, what = 'group ID'): string {
  if (typeof g !== 'string' || g.length > MAX_URI_LENGTH || !SIP_URI_RE.test(g)) {
    throw new TypeError(`${what} must be a sip: or sips: URI of at most 256 characters`);
  }
  return g;
}

function checkSessionType(t: unknown): McpttSessionType {
  if (!MCPTT_SESSION_TYPES.includes(t as McpttSessionType)) throw new TypeError(`session type must be one of ${MCPTT_SESSION_TYPES.join(', ')}`);
  return t as McpttSessionType;
}

/**
 * ```xml
 * <?xml version="1.0" encoding="UTF-8"?>
 * <mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0">
 *   <mcptt-Params>
 *     <mcptt-access-token type="Normal"><mcpttString>eyJ…</mcpttString></mcptt-access-token>
 *     <mcptt-group-id type="Normal"><mcpttURI>sip:fire@mcptt.example</mcpttURI></mcptt-group-id>
 *   </mcptt-Params>
 * </mcpttinfo>
 * ```
 * (written on one line; either element may be absent but not both).
 */
export function buildMcpttInfoXml(info: McpttInfo): string {
  const fields: string[] = [];
  if (info.accessToken !== undefined) {
    fields.push(`<mcptt-access-token type="Normal"><mcpttString>${escapeXmlText(checkAccessToken(info.accessToken))}</mcpttString></mcptt-access-token>`);
  }
  if (info.groupId !== undefined) {
    fields.push(`<mcptt-group-id type="Normal"><mcpttURI>${escapeXmlText(checkGroupId(info.groupId))}</mcpttURI></mcptt-group-id>`);
  }
  // TS 24.379 order: session-type, then the request URI, then the calling user.
  if (info.sessionType !== undefined) fields.push(`<session-type>${checkSessionType(info.sessionType)}</session-type>`);
  if (info.requestUri !== undefined) {
    fields.push(`<mcptt-request-uri type="Normal"><mcpttURI>${escapeXmlText(checkGroupId(info.requestUri, 'request URI'))}</mcpttURI></mcptt-request-uri>`);
  }
  if (info.callingUserId !== undefined) {
    fields.push(`<mcptt-calling-user-id type="Normal"><mcpttURI>${escapeXmlText(checkGroupId(info.callingUserId, 'calling user ID'))}</mcpttURI></mcptt-calling-user-id>`);
  }
  if (fields.length === 0) throw new RangeError('mcptt-info needs at least one field');
  return `<?xml version="1.0" encoding="UTF-8"?><mcpttinfo xmlns="${MCPTT_INFO_NS}"><mcptt-Params>${fields.join('')}</mcptt-Params></mcpttinfo>`;
}

function onlyChild(parent: XmlElement, local: string): XmlElement | undefined {
  const found = parent.children.filter((c) => c.ns === MCPTT_INFO_NS && c.local === local);
  if (found.length > 1) throw new SipError('ERR_SIP_BODY_MISSING_PART', `mcptt-info: <${local}> appears twice`);
  return found[0];
}

function readValue(el: XmlElement, valueLocal: string): string {
  const type = el.attrs.find((a) => a.local === 'type' && a.ns === '')?.value;
  if (type !== undefined && type !== 'Normal') {
    throw new SipError('ERR_SIP_BODY_UNSUPPORTED', `mcptt-info: <${el.local}> of type ${type} is not supported`);
  }
  const v = onlyChild(el, valueLocal);
  if (v === undefined) throw malformed(`mcptt-info: <${el.local}> without <${valueLocal}>`);
  if (v.children.length > 0) throw malformed(`mcptt-info: <${valueLocal}> must hold text only`);
  return v.text.trim();
}

/** Reads the mcptt-info document; unknown elements are ignored so newer senders still parse. */
export function parseMcpttInfoXml(xml: string): McpttInfo {
  let root: XmlElement;
  try {
    root = parseXml(xml, { maxBytes: 16 * 1024, maxDepth: 8, maxElements: 64, maxAttributes: 8 }).root;
  } catch (cause) {
    throw malformed('mcptt-info is not well-formed XML', { cause });
  }
  if (root.ns !== MCPTT_INFO_NS || root.local !== 'mcpttinfo') throw malformed('mcptt-info: root element is not {urn:3gpp:ns:mcpttInfo:1.0}mcpttinfo');
  const params = onlyChild(root, 'mcptt-Params');
  if (params === undefined) throw malformed('mcptt-info: no <mcptt-Params>');
  const tokenEl = onlyChild(params, 'mcptt-access-token');
  const groupEl = onlyChild(params, 'mcptt-group-id');
  let accessToken: string | undefined;
  let groupId: string | undefined;
  if (tokenEl !== undefined) {
    accessToken = readValue(tokenEl, 'mcpttString');
    if (accessToken.length === 0 || accessToken.length > MAX_TOKEN_LENGTH || !B64TOKEN_RE.test(accessToken)) {
      throw malformed('mcptt-info: the access token is not an RFC 6750 b64token');
    }
  }
  if (groupEl !== undefined) {
    groupId = readValue(groupEl, 'mcpttURI');
    if (groupId.length > MAX_URI_LENGTH || !SIP_URI_RE.test(groupId)) throw malformed('mcptt-info: the group ID is not a SIP URI');
  }
  const uriOf = (local: string, what: string): string | undefined => {
    const el = onlyChild(params, local);
    if (el === undefined) return undefined;
    const v = readValue(el, 'mcpttURI');
    if (v.length > MAX_URI_LENGTH || !SIP_URI_RE.test(v)) throw malformed(`mcptt-info: the ${what} is not a SIP URI`);
    return v;
  };
  const requestUri = uriOf('mcptt-request-uri', 'request URI');
  const callingUserId = uriOf('mcptt-calling-user-id', 'calling user ID');
  let sessionType: McpttSessionType | undefined;
  const typeEl = onlyChild(params, 'session-type');
  if (typeEl !== undefined) {
    if (typeEl.children.length > 0) throw malformed('mcptt-info: <session-type> must hold text only');
    const t = typeEl.text.trim();
    if (!MCPTT_SESSION_TYPES.includes(t as McpttSessionType)) throw malformed('mcptt-info: unknown session type');
    sessionType = t as McpttSessionType;
  }
  return {
    ...(accessToken !== undefined ? { accessToken } : {}),
    ...(groupId !== undefined ? { groupId } : {}),
    ...(sessionType !== undefined ? { sessionType } : {}),
    ...(requestUri !== undefined ? { requestUri } : {}),
    ...(callingUserId !== undefined ? { callingUserId } : {}),
  };
}

// ---------------------------------------------------------------------------------------
// TS 33.179 5.6.2.1 / 9.1.3.2: REGISTER (or PUBLISH) service authorization body
// ---------------------------------------------------------------------------------------

export interface ServiceAuthorizationBody {
  /** OIDC access token for the MCPTT server (5.6.2). */
  readonly accessToken?: string;
  /** MIKEY-SAKKE I_MESSAGE carrying the CSK to the MCPTT domain (9.1.3, E.4). */
  readonly cskIMessage?: Uint8Array;
}

/**
 * The 9.1.3.2 body: the CSK I_MESSAGE part first (as in the clause's example), then the
 * mcptt-info part with the access token. Either may be absent (5.6.2.0: a REGISTER is not
 * delayed for lack of a token), not both: send no body then.
 */
export function buildServiceAuthorizationBody(b: ServiceAuthorizationBody, options?: MultipartBuildOptions): SipBody {
  const parts: MimePartInit[] = [];
  if (b.cskIMessage !== undefined) parts.push(mikeyPart(b.cskIMessage));
  if (b.accessToken !== undefined) parts.push({ contentType: MCPTT_INFO_CONTENT_TYPE, content: buildMcpttInfoXml({ accessToken: b.accessToken }) });
  if (parts.length === 0) throw new RangeError('a service authorization body needs an access token or a CSK I_MESSAGE');
  return buildMultipartMixed(parts, options);
}

/**
 * Reads a service authorization body: the multipart form, or a lone mcptt-info body (token
 * only). A lone `application/mikey` body is refused: it would have to be binary, which a
 * WebSocket text frame cannot carry (see the file header).
 */
export function parseServiceAuthorizationBody(contentType: string, body: string, limits?: MultipartLimits): ServiceAuthorizationBody {
  const ct = parseContentType(contentType);
  let parts: MimePart[];
  if (ct.mediaType === MULTIPART_MIXED) parts = parseMultipartMixed(contentType, body, limits);
  else if (ct.mediaType === MCPTT_INFO_CONTENT_TYPE) {
    if (typeof body !== 'string') throw new TypeError('body must be a string');
    const l = limitsOf(limits);
    if (utf8LengthUpTo(body, l.maxBytes) > l.maxBytes) throw new SipError('ERR_SIP_BODY_TOO_LARGE', `body exceeds ${l.maxBytes} bytes`);
    parts = [{ contentType, mediaType: ct.mediaType, params: ct.params, contentId: undefined, transferEncoding: undefined, headers: [], content: body }];
  } else throw new SipError('ERR_SIP_BODY_UNSUPPORTED', `unexpected service authorization body ${ct.mediaType}`);

  let accessToken: string | undefined;
  let cskIMessage: Uint8Array | undefined;
  let seenInfo = false;
  for (const p of parts) {
    if (p.mediaType === MIKEY_CONTENT_TYPE) {
      if (cskIMessage !== undefined) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'two application/mikey parts in a service authorization body');
      cskIMessage = readMikeyPart(p);
    } else if (p.mediaType === MCPTT_INFO_CONTENT_TYPE) {
      if (seenInfo) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'two mcptt-info parts in a service authorization body');
      seenInfo = true;
      accessToken = parseMcpttInfoXml(p.content).accessToken;
    }
    // Other parts (e.g. a resource list of a group subscription) are not ours to read.
  }
  if (accessToken === undefined && cskIMessage === undefined) {
    throw new SipError('ERR_SIP_BODY_MISSING_PART', 'service authorization body has neither an access token nor a CSK I_MESSAGE');
  }
  return { ...(accessToken !== undefined ? { accessToken } : {}), ...(cskIMessage !== undefined ? { cskIMessage } : {}) };
}

// ---------------------------------------------------------------------------------------
// TS 33.179 7.3.2: GMK notification body
// ---------------------------------------------------------------------------------------

export interface GmkNotificationBody {
  /** The MCPTT group ID the keys are for. */
  readonly groupId: string;
  /** One or more MIKEY-SAKKE I_MESSAGEs (E.2), each carrying one GMK. */
  readonly iMessages: readonly Uint8Array[];
}

/** The 7.3.2 body: the mcptt-info part with the group ID, then one part per I_MESSAGE. */
export function buildGmkNotificationBody(b: GmkNotificationBody, options?: MultipartBuildOptions): SipBody {
  if (!Array.isArray(b.iMessages) || b.iMessages.length === 0) throw new RangeError('a GMK notification needs at least one I_MESSAGE');
  if (b.iMessages.length + 1 > DEFAULT_MULTIPART_LIMITS.maxParts) throw new RangeError(`at most ${DEFAULT_MULTIPART_LIMITS.maxParts - 1} I_MESSAGEs per notification`);
  const parts: MimePartInit[] = [
    { contentType: MCPTT_INFO_CONTENT_TYPE, content: buildMcpttInfoXml({ groupId: b.groupId }) },
    ...b.iMessages.map((m) => mikeyPart(m)),
  ];
  return buildMultipartMixed(parts, options);
}

/** Reads a GMK notification: exactly one mcptt-info part with a group ID, at least one I_MESSAGE. */
export function parseGmkNotificationBody(contentType: string, body: string, limits?: MultipartLimits): GmkNotificationBody {
  const parts = parseMultipartMixed(contentType, body, limits);
  let groupId: string | undefined;
  let seenInfo = false;
  const iMessages: Uint8Array[] = [];
  for (const p of parts) {
    if (p.mediaType === MCPTT_INFO_CONTENT_TYPE) {
      if (seenInfo) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'two mcptt-info parts in a GMK notification');
      seenInfo = true;
      groupId = parseMcpttInfoXml(p.content).groupId;
    } else if (p.mediaType === MIKEY_CONTENT_TYPE) {
      iMessages.push(readMikeyPart(p));
    } else {
      throw new SipError('ERR_SIP_BODY_UNSUPPORTED', `unexpected ${p.mediaType} part in a GMK notification`);
    }
  }
  if (groupId === undefined) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'GMK notification without a group ID');
  if (iMessages.length === 0) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'GMK notification without an I_MESSAGE');
  return { groupId, iMessages };
}

// ---------------------------------------------------------------------------------------
// TS 24.379 10.1.1.2 / TS 33.179 7.3: group call INVITE body (SDP offer + mcptt-info)
// ---------------------------------------------------------------------------------------

export const SDP_CONTENT_TYPE = 'application/sdp';

/** The two parts of a group call offer; `infoXml` may be 9.3-protected, so it stays text here. */
export interface GroupCallOfferBody {
  readonly sdp: string;
  readonly infoXml: string;
}

/** The INVITE body of a group call: the SDP offer first, then the mcptt-info document. */
export function buildGroupCallOfferBody(b: GroupCallOfferBody, options?: MultipartBuildOptions): SipBody {
  if (typeof b.sdp !== 'string' || !b.sdp.startsWith('v=0')) throw new TypeError('sdp must be an SDP session description');
  if (typeof b.infoXml !== 'string' || b.infoXml.length === 0) throw new TypeError('infoXml must be the mcptt-info document');
  return buildMultipartMixed(
    [
      { contentType: SDP_CONTENT_TYPE, content: b.sdp },
      { contentType: MCPTT_INFO_CONTENT_TYPE, content: b.infoXml },
    ],
    options,
  );
}

/**
 * Reads a group call offer: exactly one SDP part and exactly one mcptt-info part, nothing else.
 * The mcptt-info text is returned unparsed (the server may have to unprotect it first).
 */
export function parseGroupCallOfferBody(contentType: string, body: string, limits?: MultipartLimits): GroupCallOfferBody {
  const parts = parseMultipartMixed(contentType, body, limits);
  let sdp: string | undefined;
  let infoXml: string | undefined;
  for (const p of parts) {
    if (p.mediaType === SDP_CONTENT_TYPE) {
      if (sdp !== undefined) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'two SDP parts in a group call offer');
      if (p.transferEncoding !== undefined && p.transferEncoding !== '7bit' && p.transferEncoding !== '8bit') throw new SipError('ERR_SIP_BODY_UNSUPPORTED', 'encoded SDP part');
      sdp = p.content;
    } else if (p.mediaType === MCPTT_INFO_CONTENT_TYPE) {
      if (infoXml !== undefined) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'two mcptt-info parts in a group call offer');
      infoXml = p.content;
    } else {
      throw new SipError('ERR_SIP_BODY_UNSUPPORTED', `unexpected ${p.mediaType} part in a group call offer`);
    }
  }
  if (sdp === undefined) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'group call offer without SDP');
  if (infoXml === undefined) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'group call offer without mcptt-info');
  return { sdp, infoXml };
}
