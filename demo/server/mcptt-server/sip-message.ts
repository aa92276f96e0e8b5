/**
 * SIP message text for the dev MCPTT server's own endpoint (RFC 3261 §7, §8.1.1, §8.2.6
 * over RFC 7118 WebSocket): strict builders for the few requests and responses the server
 * sends, and a parser wrapper around sip.js's core `Parser` for what it receives.
 *
 * Why by hand: sip.js's UserAgent answers incoming REGISTER with 405, and the MCPTT server
 * must receive the third-party REGISTER of TS 33.179 5.6.2.1 (step 9). Every value pasted
 * into a header is checked for CR/LF first, so a group ID or an MCPTT ID taken from a
 * request cannot inject a header or a second message.
 */
import { Core } from 'sip.js';

/** RFC 3261 §21 phrases for the statuses this server sends. */
const REASONS: Readonly<Record<number, string>> = Object.freeze({
  100: 'Trying',
  200: 'OK',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  481: 'Call/Transaction Does Not Exist',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
});

// A reason phrase we send: short plain text (never a token, key or identity).
const SAFE_REASON = /^[A-Za-z0-9 .,:;()'/-]{1,64}$/;
const METHOD = /^[A-Z]{2,16}$/;

/** Throws on a value that would break out of its header line. */
function line(value: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048 || /[\r\n\0]/.test(value)) {
    throw new TypeError(`${what} must be a single non-empty header value`);
  }
  return value;
}

/** The branch magic cookie of RFC 3261 §8.1.1.7 followed by random hex. */
export function newBranch(): string {
  return `z9hG4bK${randomToken(12)}`;
}

/** Random lowercase hex, for tags, Call-IDs and host names. */
export function randomToken(bytes = 8): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export interface OutgoingRequest {
  readonly method: string;
  readonly requestUri: string;
  /** The whole Via value, e.g. `SIP/2.0/WS abc.invalid;branch=z9hG4bK…`. */
  readonly via: string;
  /** From and To as name-addr values (the From with its tag). */
  readonly from: string;
  readonly to: string;
  readonly callId: string;
  readonly cseq: number;
  readonly contact?: string;
  readonly extraHeaders?: readonly string[];
  readonly body?: { readonly contentType: string; readonly body: string };
}

/** Builds a request; Content-Length is the body's UTF-8 byte length (RFC 3261 §20.14). */
export function buildRequest(r: OutgoingRequest): string {
  if (!METHOD.test(r.method)) throw new TypeError('method must be an upper-case SIP token');
  if (!Number.isSafeInteger(r.cseq) || r.cseq < 1 || r.cseq > 0x7fffffff) throw new RangeError('CSeq must be 1..2^31-1');
  const lines = [
    `${r.method} ${line(r.requestUri, 'Request-URI').replace(/\s/g, '')} SIP/2.0`,
    `Via: ${line(r.via, 'Via')}`,
    'Max-Forwards: 70',
    `From: ${line(r.from, 'From')}`,
    `To: ${line(r.to, 'To')}`,
    `Call-ID: ${line(r.callId, 'Call-ID')}`,
    `CSeq: ${r.cseq} ${r.method}`,
  ];
  if (r.contact !== undefined) lines.push(`Contact: ${line(r.contact, 'Contact')}`);
  for (const h of r.extraHeaders ?? []) lines.push(line(h, 'extra header'));
  lines.push('User-Agent: mcptt-sdk-dev-server');
  return finish(lines, r.body);
}

export interface OutgoingResponse {
  readonly status: number;
  readonly reason?: string;
  /** Extra header lines, e.g. `Expires: 600`. */
  readonly headers?: readonly string[];
  /** The To tag to add (a dialog's tag must be the same in every response); default random. */
  readonly toTag?: string;
  /** Our Contact, for a response that establishes a dialog (RFC 3261 12.1.1). */
  readonly contact?: string;
  readonly body?: { readonly contentType: string; readonly body: string };
}

/**
 * A response to `req` (RFC 3261 §8.2.6.2): its Vias in order, From, To (with a tag added
 * when it had none), Call-ID and CSeq copied. A response that establishes a dialog (1xx
 * other than 100, or 2xx, to an INVITE) also copies the Record-Route set in order (§12.1.1),
 * so the caller's in-dialog requests (ACK, BYE) come back through the proxy.
 */
export function buildResponse(req: Core.IncomingRequestMessage, res: OutgoingResponse): string {
  if (!Number.isInteger(res.status) || res.status < 100 || res.status > 699) throw new RangeError('status must be 100..699');
  const reason = res.reason !== undefined && SAFE_REASON.test(res.reason) ? res.reason : (REASONS[res.status] ?? 'Unknown');
  const lines = [`SIP/2.0 ${res.status} ${reason}`];
  for (const v of req.getHeaders('via')) lines.push(`Via: ${line(v, 'Via')}`);
  const to = line(req.getHeader('to') ?? '', 'To');
  lines.push(`From: ${line(req.getHeader('from') ?? '', 'From')}`);
  const tag = res.toTag ?? randomToken(6);
  if (!/^[A-Za-z0-9]{1,64}$/.test(tag)) throw new TypeError('toTag must be 1-64 letters or digits');
  lines.push(`To: ${res.status === 100 || /;\s*tag=/i.test(to) ? to : `${to};tag=${tag}`}`);
  lines.push(`Call-ID: ${line(req.callId, 'Call-ID')}`);
  lines.push(`CSeq: ${req.cseq} ${req.method}`);
  if (req.method === 'INVITE' && res.status > 100 && res.status < 300) {
    for (const rr of req.getHeaders('record-route')) lines.push(`Record-Route: ${line(rr, 'Record-Route')}`);
  }
  if (res.contact !== undefined) lines.push(`Contact: ${line(res.contact, 'Contact')}`);
  for (const h of res.headers ?? []) lines.push(line(h, 'header'));
  lines.push('Server: mcptt-sdk-dev-server');
  return finish(lines, res.body);
}

function finish(lines: string[], body: { readonly contentType: string; readonly body: string } | undefined): string {
  if (body === undefined) {
    lines.push('Content-Length: 0', '', '');
    return lines.join('\r\n');
  }
  lines.push(`Content-Type: ${line(body.contentType, 'Content-Type')}`);
  lines.push(`Content-Length: ${new TextEncoder().encode(body.body).length}`, '', '');
  return lines.join('\r\n') + body.body;
}

const silentLogger = (() => {
  const f = new Core.LoggerFactory();
  f.builtinEnabled = false;
  f.level = Core.Levels.error;
  return f.getLogger('mcptt-server');
})();

/** Parses one SIP message; undefined when sip.js's parser refuses it. */
export function parseSipMessage(text: string): Core.IncomingRequestMessage | Core.IncomingResponseMessage | undefined {
  try {
    return Core.Parser.parseMessage(text, silentLogger);
  } catch {
    return undefined;
  }
}

/** `sip:user@host[:port]` of a SIP URI: what bindings and comparisons use (host lower-cased). */
export function plainSipUri(u: Core.URI): string | undefined {
  if (u.scheme !== 'sip' && u.scheme !== 'sips') return undefined;
  if (u.user === undefined || u.user === '') return undefined;
  return `${u.scheme}:${u.user}@${u.host.toLowerCase()}${u.port !== undefined ? `:${u.port}` : ''}`;
}

/** The plain form of a URI string, or undefined if it is not a `sip:user@host` URI. */
export function normalizeSipUri(uri: string): string | undefined {
  if (typeof uri !== 'string' || uri.length > 256) return undefined;
  const u = Core.Grammar.URIParse(uri);
  return u === undefined ? undefined : plainSipUri(u);
}
