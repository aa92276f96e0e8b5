/**
 * A raw SIP-over-WebSocket endpoint (RFC 3261 UAC/UAS over RFC 7118) for the dev MCPTT
 * server: it registers the server's addresses (its own URI, the GMS URI, the group PSIs) with
 * the SIP core, answers the requests the core routes to it — above all the third-party
 * REGISTER of TS 33.179 5.6.2.1 step 9, and the group call INVITE / BYE / CANCEL of
 * TS 24.379 10.1.1 (as a UAS: 100 at once for an INVITE, our Contact and the Record-Route
 * set in its 2xx; ACK needs no answer) — and sends out-of-dialog requests (the GMK
 * notification MESSAGEs of 7.3.2) and reports their final status.
 *
 * Why not sip.js's UserAgent: it answers incoming REGISTER (and PUBLISH) with 405. Here the
 * messages are parsed with sip.js's core `Parser` and built by ./sip-message.ts.
 *
 * Reliable transport (TCP under the WebSocket): no retransmissions (RFC 3261 §17.1.2.1,
 * Timer E is not used over reliable transports); a request without a final response after
 * `requestTimeoutMs` counts as 408, one that could not be sent or whose connection was lost
 * as 503. Registrations are refreshed at 80 % of the granted expiry, and after a lost
 * connection the endpoint reconnects with a backoff and registers again.
 *
 * ```
 *  idle ──start()──► connecting ──open──► registering ──all 200──► ready ◄──┐ refresh
 *                        │                     │ refused             │  └───┘
 *                        ▼                     ▼                     │ ws lost
 *                      closed ◄──────────── closed         reconnecting ──open──► registering
 *  any ──close()──► closing (REGISTER expires=0, ≤ 2 s) ──► closed
 * ```
 */
import { Core } from 'sip.js';
import { WebSocket, type RawData } from 'ws';

import { buildRequest, buildResponse, newBranch, parseSipMessage, randomToken, type OutgoingResponse } from './sip-message.js';

export type SipEndpointState = 'idle' | 'connecting' | 'registering' | 'ready' | 'reconnecting' | 'closing' | 'closed';

export interface SipEndpointOptions {
  /** `ws://…` of the SIP core. */
  readonly url: string;
  /** The served SIP domain: the Request-URI of REGISTER. */
  readonly domain: string;
  /** Addresses of record bound to this endpoint's contact. */
  readonly aors: readonly string[];
  /** The user part of the endpoint's Contact URI. */
  readonly contactUser: string;
  /** Requested registration expiry, seconds (default 600). */
  readonly registrationExpires?: number;
  /** Longest wait for a final response (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Answers a request routed to us (never called for ACK). */
  readonly onRequest: (req: Core.IncomingRequestMessage) => Promise<OutgoingResponse> | OutgoingResponse;
  /** One line per event; never message text. */
  readonly log?: (line: string) => void;
}

export interface SipRequestResult {
  readonly status: number;
  readonly reason: string;
}

export interface SipRequestInit {
  readonly method: 'MESSAGE' | 'NOTIFY' | 'OPTIONS';
  readonly target: string;
  /** The From URI (e.g. the GMS URI). */
  readonly from: string;
  readonly body?: { readonly contentType: string; readonly body: string };
  readonly extraHeaders?: readonly string[];
}

export interface SipEndpoint {
  readonly state: SipEndpointState;
  /** Connects and registers every AOR; rejects when the WebSocket fails or a REGISTER is refused. */
  start(): Promise<void>;
  /** Sends one out-of-dialog request; resolves with its final status (408/503 when none came). */
  request(r: SipRequestInit): Promise<SipRequestResult>;
  /** Unregisters (bounded wait) and closes the WebSocket; idempotent. */
  close(): Promise<void>;
}

const DEFAULT_EXPIRES = 600;
const DEFAULT_TIMEOUT_MS = 10_000;
const UNREGISTER_WAIT_MS = 2_000;
const MAX_FRAME = 256 * 1024;
const BACKOFF_MS = Object.freeze({ initial: 250, max: 5_000 });
const RETRY_REFRESH_MS = 5_000;

interface Pending {
  readonly resolve: (r: SipRequestResult) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface Registration {
  readonly aor: string;
  readonly callId: string;
  readonly fromTag: string;
  cseq: number;
}

function text(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

class RawSipEndpoint implements SipEndpoint {
  readonly #o: SipEndpointOptions;
  readonly #host = `${randomToken(6)}.invalid`;
  readonly #expires: number;
  readonly #timeoutMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #registrations: Registration[];
  /** Granted expiry of each REGISTER transaction, noted when its final response arrives. */
  readonly #granted = new Map<string, number | undefined>();
  #state: SipEndpointState = 'idle';
  #ws: WebSocket | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #closing: Promise<void> | undefined;

  constructor(o: SipEndpointOptions) {
    if (!/^wss?:\/\/\S+$/i.test(o.url)) throw new TypeError('url must be a ws:// or wss:// URL');
    if (!/^[A-Za-z0-9._~+-]{1,64}$/.test(o.contactUser)) throw new TypeError('contactUser must be a plain SIP user part');
    this.#o = o;
    this.#expires = o.registrationExpires ?? DEFAULT_EXPIRES;
    if (!Number.isSafeInteger(this.#expires) || this.#expires < 30) throw new RangeError('registrationExpires must be an integer ≥ 30');
    this.#timeoutMs = o.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#registrations = [...new Set(o.aors)].map((aor) => ({ aor, callId: randomToken(12), fromTag: randomToken(6), cseq: 0 }));
  }

  get state(): SipEndpointState {
    return this.#state;
  }

  get #contact(): string {
    return `<sip:${this.#o.contactUser}@${this.#host};transport=ws>`;
  }

  #log(line: string): void {
    try {
      this.#o.log?.(line);
    } catch {
      /* a logger must not break SIP */
    }
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`start() in state ${this.#state}`);
    this.#state = 'connecting';
    try {
      await this.#connect();
    } catch (e) {
      this.#state = 'closed';
      throw e;
    }
    this.#state = 'registering';
    const refused = await this.#registerAll();
    if (refused !== undefined) {
      await this.close();
      throw new Error(`the SIP core refused REGISTER with status ${refused}`);
    }
  }

  #connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.#o.url, 'sip', { maxPayload: MAX_FRAME, handshakeTimeout: 5_000 });
      this.#ws = ws;
      const onError = (e: Error): void => reject(e);
      ws.once('error', onError);
      ws.once('open', () => {
        ws.off('error', onError);
        ws.on('error', () => {
          /* followed by 'close' */
        });
        ws.on('close', () => this.#onClose(ws));
        ws.on('message', (data) => this.#onFrame(text(data)));
        this.#log('sip: connected');
        resolve();
      });
    });
  }

  #onClose(ws: WebSocket): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#failPending(503, 'Connection Lost');
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#log('sip: connection lost, reconnecting');
    this.#state = 'reconnecting';
    this.#clearRefresh();
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const delay = Math.min(BACKOFF_MS.max, BACKOFF_MS.initial * 2 ** this.#attempt++);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state !== 'reconnecting') return;
      this.#connect().then(
        async () => {
          if (this.#state !== 'reconnecting') return;
          this.#attempt = 0;
          this.#state = 'registering';
          const refused = await this.#registerAll();
          if (refused !== undefined) this.#log(`sip: re-REGISTER refused (${refused})`);
        },
        () => {
          if (this.#state === 'reconnecting') this.#scheduleReconnect();
        },
      );
    }, delay);
  }

  #failPending(status: number, reason: string): void {
    for (const [branch, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(branch);
      p.resolve({ status, reason });
    }
  }

  #onFrame(data: string): void {
    const m = parseSipMessage(data);
    if (m === undefined) {
      this.#log('sip: dropped an unparseable message');
      return;
    }
    if (m instanceof Core.IncomingResponseMessage) {
      const status = m.statusCode ?? 0;
      // Provisional responses (100 Trying from the proxy, 180…) only tell us it is on its way.
      if (status < 200) return;
      const p = this.#pending.get(m.viaBranch);
      if (p === undefined) return;
      this.#pending.delete(m.viaBranch);
      clearTimeout(p.timer);
      if (m.method === 'REGISTER') this.#granted.set(m.viaBranch, grantedExpires(m, this.#o.contactUser, this.#host));
      p.resolve({ status, reason: m.reasonPhrase ?? '' });
      return;
    }
    if (!(m instanceof Core.IncomingRequestMessage) || m.method === 'ACK') return;
    // RFC 3261 §17.2.1: an INVITE server transaction answers 100 at once, so the proxy stops
    // its Timer C / fr_timer while the media answer is made.
    if (m.method === 'INVITE') this.#sendRaw(buildResponse(m, { status: 100 }));
    void Promise.resolve()
      .then(() => this.#o.onRequest(m))
      .catch((): OutgoingResponse => ({ status: 500 }))
      .then((res) => {
        // A 2xx to an INVITE establishes a dialog: the caller sends ACK and BYE to our Contact.
        const dialog = m.method === 'INVITE' && res.status >= 200 && res.status < 300;
        this.#sendRaw(buildResponse(m, dialog ? { ...res, contact: this.#contact } : res));
      });
  }

  #sendRaw(message: string): boolean {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(message);
    return true;
  }

  #transact(build: (branch: string) => string): Promise<SipRequestResult & { branch: string }> {
    const branch = newBranch();
    const message = build(branch);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(branch);
        resolve({ status: 408, reason: 'Request Timeout', branch });
      }, this.#timeoutMs);
      this.#pending.set(branch, { resolve: (r) => resolve({ ...r, branch }), timer });
      if (!this.#sendRaw(message)) {
        clearTimeout(timer);
        this.#pending.delete(branch);
        resolve({ status: 503, reason: 'Not Connected', branch });
      }
    });
  }

  async request(r: SipRequestInit): Promise<SipRequestResult> {
    const { status, reason } = await this.#transact((branch) =>
      buildRequest({
        method: r.method,
        requestUri: r.target,
        via: `SIP/2.0/WS ${this.#host};branch=${branch}`,
        from: `<${r.from}>;tag=${randomToken(6)}`,
        to: `<${r.target}>`,
        callId: randomToken(12),
        cseq: 1,
        contact: this.#contact,
        ...(r.extraHeaders !== undefined ? { extraHeaders: r.extraHeaders } : {}),
        ...(r.body !== undefined ? { body: r.body } : {}),
      }),
    );
    return { status, reason };
  }

  /** REGISTERs every AOR; returns the first refusal status, or undefined when all were accepted. */
  async #registerAll(expires = this.#expires): Promise<number | undefined> {
    this.#clearRefresh();
    const results = await Promise.all(this.#registrations.map((reg) => this.#registerOne(reg, expires)));
    const refused = results.find((r) => r.status < 200 || r.status >= 300);
    if (expires === 0) return refused?.status;
    this.#log(`sip: REGISTER ${results.length} AORs: ${refused === undefined ? 200 : refused.status}`);
    if (this.#state !== 'registering' && this.#state !== 'ready') return refused?.status;
    if (refused !== undefined) {
      this.#scheduleRefresh(RETRY_REFRESH_MS);
      return refused.status;
    }
    this.#state = 'ready';
    const granted = Math.min(...results.map((r) => r.granted ?? expires));
    // RFC 3261 §10.2.4 leaves the time to the UA; 80 % leaves room for a slow core.
    this.#scheduleRefresh(Math.max(1_000, Math.floor(granted * 1000 * 0.8)));
    return undefined;
  }

  async #registerOne(reg: Registration, expires: number): Promise<{ status: number; granted: number | undefined }> {
    reg.cseq++;
    const r = await this.#transact((branch) =>
      buildRequest({
        method: 'REGISTER',
        requestUri: `sip:${this.#o.domain}`,
        via: `SIP/2.0/WS ${this.#host};branch=${branch}`,
        from: `<${reg.aor}>;tag=${reg.fromTag}`,
        to: `<${reg.aor}>`,
        callId: reg.callId,
        cseq: reg.cseq,
        contact: `${this.#contact};expires=${expires}`,
      }),
    );
    const granted = this.#granted.get(r.branch);
    this.#granted.delete(r.branch);
    return { status: r.status, granted };
  }

  #scheduleRefresh(ms: number): void {
    this.#clearRefresh();
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      if (this.#state === 'ready' || this.#state === 'registering') void this.#registerAll();
    }, ms);
    this.#refreshTimer.unref?.();
  }

  #clearRefresh(): void {
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const wasUp = this.#state === 'ready' || this.#state === 'registering';
      this.#state = 'closing';
      this.#clearRefresh();
      if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
      if (wasUp) {
        // Unregister so the core stops routing to a contact that is going away.
        await Promise.race([this.#registerAll(0), new Promise((r) => setTimeout(r, UNREGISTER_WAIT_MS))]);
      }
      this.#failPending(503, 'Endpoint Closed');
      const ws = this.#ws;
      this.#ws = undefined;
      if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 1_000);
          ws.once('close', () => {
            clearTimeout(t);
            resolve();
          });
          ws.close();
        });
      }
      this.#state = 'closed';
    })();
    return this.#closing;
  }
}

/** RFC 3261 §10.2.4: the expires parameter of our own Contact in the 2xx, else its Expires header. */
function grantedExpires(m: Core.IncomingResponseMessage, contactUser: string, host: string): number | undefined {
  const n = m.getHeaders('contact').length;
  for (let i = 0; i < n; i++) {
    const c = m.parseHeader('contact', i) as Core.NameAddrHeader | undefined;
    if (c === undefined || c.uri.user !== contactUser || c.uri.host.toLowerCase() !== host) continue;
    const e = Number(c.getParam('expires'));
    if (Number.isSafeInteger(e) && e > 0) return e;
  }
  const h = Number(m.getHeader('expires'));
  return Number.isSafeInteger(h) && h > 0 ? h : undefined;
}

/** Creates the endpoint; call `start()` to connect and register. */
export function createSipEndpoint(o: SipEndpointOptions): SipEndpoint {
  return new RawSipEndpoint(o);
}
