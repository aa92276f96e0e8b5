/**
 * The SDK's SIP user agent on sip.js 0.21 (RFC 3261 over RFC 7118 WebSocket): registration
 * with the MCPTT service authorization of TS 33.179 5.6.2 (access token and CSK I_MESSAGE of
 * 9.1.3.2 in the REGISTER body, or in a PUBLISH), GMK notifications of 7.3.2 received as
 * MESSAGE or NOTIFY, private calls of 7.4 with the PCK in the SDP offer.
 *
 * The registration state machine, its diagram and its transition table are in
 * registration-state.ts. Media stays out of this layer: calls get their session description
 * handler from the factory given in the options (sip.js's WebRTC one by default in a
 * browser; a stub in Node tests), wrapped so that the offer can carry `a=key-mgmt`.
 *
 * Nothing here logs by itself; sip.js's own logging is off (it would print SIP messages,
 * tokens included). Reason phrases sent back are checked to be short plain text.
 */
import {
  Core,
  Inviter,
  Messager,
  SessionState,
  UserAgent,
  Web,
  type Invitation,
  type Message,
  type Notification,
  type Session,
  type SessionDescriptionHandler,
  type SessionDescriptionHandlerFactory,
  type UserAgentOptions,
} from 'sip.js';

import { SipError } from './errors.js';
import { OfferTransformingSessionDescriptionHandler, type OfferTransform } from './offer-transform.js';
import { RegisterClient, type RegisterBody } from './register-client.js';
import { assertSipUaTransition, type SipUaState } from './registration-state.js';

/** A SIP body: Content-Type value and text (what src/codec/sip-bodies.ts builds). */
export interface SipBodyInit {
  readonly contentType: string;
  readonly body: string;
}

/** The answer to an incoming request: 200, or an error status with a reason phrase. */
export type SipAnswer = { readonly status: 200 } | { readonly status: number; readonly reason: string };

export interface KeyNotificationInfo {
  /** MESSAGE or out-of-dialog NOTIFY (TS 24.481 group configuration notifications use NOTIFY). */
  readonly method: 'MESSAGE' | 'NOTIFY';
  /** The Event header of a NOTIFY. */
  readonly event: string | undefined;
  /** The P-Called-Party-ID the SIP core added when it retargeted the request, if any. */
  readonly calledPartyId: string | undefined;
}

export interface IncomingCallOffer {
  /** The caller's URI (From). */
  readonly from: string;
  /** The called URI (To). */
  readonly to: string;
  /** The SDP offer exactly as received, before any answer exists. */
  readonly sdp: string;
  readonly contentType: string;
}

/** Accept, or refuse with a status (488 when the offer's key management is not acceptable). */
export type IncomingCallDecision = { readonly accept: true } | { readonly accept: false; readonly status: number; readonly reason?: string };

/** Callbacks whose answer goes back on the wire. */
export interface SipUserAgentDelegate {
  /** GMK notification and other key-carrying MESSAGE/NOTIFY: the answer is the SIP response. */
  onKeyNotification?(body: string, contentType: string, from: string, info: KeyNotificationInfo): Promise<SipAnswer>;
  /** An INVITE with its offer, before any answer: accept, or reject (e.g. 488). */
  onIncomingCall?(offer: IncomingCallOffer): Promise<IncomingCallDecision>;
}

export interface SipCall {
  readonly id: string;
  readonly direction: 'outgoing' | 'incoming';
  /** The peer's URI. */
  readonly remoteUri: string;
  /** The SDP we sent (after the offer transform), once known. */
  readonly localSdp: string | undefined;
  /** The SDP the peer sent. */
  readonly remoteSdp: string | undefined;
  /** The sip.js session, for whoever wires media. */
  readonly session: Session;
  /** The handler built by the configured factory (in a browser: holds the RTCPeerConnection). */
  readonly sessionDescriptionHandler: SessionDescriptionHandler | undefined;
  /** Resolves when the call has ended (either side). */
  readonly ended: Promise<void>;
  /** Sends BYE (or CANCEL while still ringing); resolves at once if already ended. */
  hangup(): Promise<void>;
}

export interface CallOptions {
  /** Rewrites the SDP offer before it is sent, e.g. to add `a=key-mgmt:mikey …` (TS 33.179 7.4). */
  readonly transformOffer?: OfferTransform;
  readonly extraHeaders?: readonly string[];
  /**
   * Called with the sip.js session right after it is made, before the INVITE (and its session
   * description handler) exist: a group call registers the session here so the media layer
   * can tell it apart when the handler is built.
   */
  readonly onSession?: (session: Session) => void;
}

export interface SendRequestOptions {
  /** MESSAGE (default) or an out-of-dialog NOTIFY. */
  readonly method?: 'MESSAGE' | 'NOTIFY';
  /** Extra header lines; a NOTIFY gets `Event: xcap-diff` and `Subscription-State: active` unless given. */
  readonly extraHeaders?: readonly string[];
}

export interface SipResponseInfo {
  readonly status: number;
  readonly reason: string;
}

export interface SipUserAgentEvents {
  stateChange: [state: SipUaState, previous: SipUaState];
  /** A REGISTER or PUBLISH was refused (or timed out); `error.statusCode` says how. */
  registrationFailed: [error: SipError];
  /** The WebSocket dropped while registered (or registering). */
  disconnected: [];
  /** An incoming call was accepted and is established. */
  incomingCall: [call: SipCall];
  /** A delegate or registerBody callback threw; the SIP side was answered with a 500. */
  handlerError: [where: 'keyNotification' | 'incomingCall' | 'registerBody', error: unknown];
}

/** Levels passed to the optional logger; the text never contains a SIP message. */
export type SipLogLevel = 'error' | 'warn';

export interface SipUserAgentOptions {
  /** `wss://…` (or `ws://` on loopback) of the SIP core. */
  readonly server: string;
  /** Address of record, e.g. `sip:alice@mcptt.example`. */
  readonly aor: string;
  readonly displayName?: string;
  /** Where the access token (and CSK) go: the REGISTER body (5.6.2.1) or a PUBLISH (5.6.2.2). */
  readonly serviceAuthorization: 'register' | 'publish';
  /**
   * Called for every REGISTER ('register' mode) or PUBLISH ('publish' mode), so a refreshed
   * token or a new CSK goes out each time. `undefined`: send none (5.6.2.0: registration is
   * never delayed for lack of a token).
   */
  readonly registerBody?: () => Promise<SipBodyInit | undefined>;
  /** 'publish' mode: the MCPTT server's PSI the PUBLISH goes to. */
  readonly publishTarget?: string;
  /**
   * 'publish' mode: the Event package of the PUBLISH (default `poc.settings`, as TS 24.379).
   * RFC 3903: later PUBLISHes carry SIP-If-Match of the last SIP-ETag (a 412 is retried
   * once without); stop() removes the publication (Expires 0) before unregistering.
   */
  readonly publishEvent?: string;
  /** Requested registration expiry in seconds (default 600). */
  readonly registrationExpires?: number;
  /** Backoff of reconnection attempts (default 500 ms doubling up to 30 s). */
  readonly reconnect?: { readonly initialMs: number; readonly maxMs: number };
  /** Media adapter: sip.js's WebRTC handler factory by default (browsers). */
  readonly sessionDescriptionHandlerFactory?: SessionDescriptionHandlerFactory;
  readonly sessionDescriptionHandlerFactoryOptions?: object;
  /** Longest wait for a delegate's answer before 500 is sent (default 10 s). */
  readonly handlerTimeoutMs?: number;
  readonly delegate?: SipUserAgentDelegate;
  /** Builds the sip.js UserAgent (tests inject a spy or fake); default `new UserAgent(o)`. */
  readonly userAgentFactory?: (options: UserAgentOptions) => UserAgent;
  /** Silent by default. Gets sip.js errors and warnings (never SIP message text). */
  readonly logger?: (level: SipLogLevel, message: string) => void;
}

export interface SipUserAgent {
  readonly state: SipUaState;
  /** Set or replace the callbacks that answer incoming requests. */
  delegate: SipUserAgentDelegate;
  /**
   * Connects and registers. Resolves when registered; rejects with `ERR_SIP_TRANSPORT` (the
   * agent is then stopped), `ERR_SIP_REGISTRATION_REJECTED` (it stays connected in
   * 'rejected': refreshRegistration() can try again, stop() gives up) or `ERR_SIP_STOPPED`.
   */
  start(): Promise<void>;
  /** Sends a REGISTER now (with a fresh registerBody), e.g. after a token refresh. */
  refreshRegistration(): Promise<void>;
  /** Sends a MESSAGE (or NOTIFY) out of dialog; rejects with `ERR_SIP_REQUEST_FAILED` on non-2xx. */
  sendMessage(target: string, body: SipBodyInit, options?: SendRequestOptions): Promise<SipResponseInfo>;
  /** Places a call; resolves once established, rejects with `ERR_SIP_REQUEST_FAILED` (statusCode) otherwise. */
  call(target: string, options?: CallOptions): Promise<SipCall>;
  on<E extends keyof SipUserAgentEvents>(event: E, listener: (...args: SipUserAgentEvents[E]) => void): () => void;
  /** Unregisters (bounded wait), closes the WebSocket; idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_EXPIRES = 600;
const DEFAULT_RECONNECT = Object.freeze({ initialMs: 500, maxMs: 30_000 });
const UNREGISTER_WAIT_MS = 3_000;
// Statuses after which trying again later may help (RFC 3261 §21.4.9, 21.5).
const TEMPORARY = new Set([408, 480, 500, 502, 503, 504]);
// Reason phrases we send: short plain text, so nothing secret or structured slips out.
const SAFE_REASON = /^[A-Za-z0-9 .,:;()'/-]{1,64}$/;

type Deferred = { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void; settled: boolean };

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const d: Deferred = {
    promise,
    resolve: () => {
      if (!d.settled) {
        d.settled = true;
        resolve();
      }
    },
    reject: (e) => {
      if (!d.settled) {
        d.settled = true;
        reject(e);
      }
    },
    settled: false,
  };
  promise.catch(() => {}); // the caller of start() may not be listening any more
  return d;
}

function parseUri(uri: string, what: string): Core.URI {
  const u = typeof uri === 'string' ? UserAgent.makeURI(uri) : undefined;
  if (u === undefined) throw new TypeError(`${what} is not a SIP URI`);
  return u;
}

function plainUri(u: Core.URI): string {
  return `${u.scheme}:${u.user !== undefined ? `${u.user}@` : ''}${u.host}${u.port !== undefined ? `:${u.port}` : ''}`;
}

/** A response status and phrase that are safe to send. */
function checkedAnswer(a: unknown): { statusCode: number; reasonPhrase?: string } {
  if (a === null || typeof a !== 'object') return { statusCode: 500 };
  const status = (a as { status?: unknown }).status;
  if (status === 200) return { statusCode: 200 };
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 699) return { statusCode: 500 };
  const reason = (a as { reason?: unknown }).reason;
  return typeof reason === 'string' && SAFE_REASON.test(reason) ? { statusCode: status, reasonPhrase: reason } : { statusCode: status };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

class SipUserAgentImpl implements SipUserAgent {
  delegate: SipUserAgentDelegate;
  readonly #o: SipUserAgentOptions;
  readonly #aor: Core.URI;
  readonly #publishTarget: Core.URI | undefined;
  readonly #expires: number;
  readonly #backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly #handlerTimeoutMs: number;
  readonly #sdhFactory: SessionDescriptionHandlerFactory;
  readonly #listeners: { [E in keyof SipUserAgentEvents]: Set<(...a: SipUserAgentEvents[E]) => void> } = {
    stateChange: new Set(),
    registrationFailed: new Set(),
    disconnected: new Set(),
    incomingCall: new Set(),
    handlerError: new Set(),
  };
  readonly #offerTransforms = new WeakMap<Session, OfferTransform>();
  readonly #handlers = new WeakMap<Session, OfferTransformingSessionDescriptionHandler>();

  #state: SipUaState = 'idle';
  #ua: UserAgent | undefined;
  #register: RegisterClient | undefined;
  /** Connection generation: results of an older WebSocket are ignored. */
  #epoch = 0;
  /** Serializes REGISTER (+PUBLISH) of one epoch (RFC 3261 §10.2: one at a time). */
  #chain: Promise<void> = Promise.resolve();
  #bound = false;
  /** 'publish' mode: entity-tag of our publication at the MCPTT server (RFC 3903), if any. */
  #publishEtag: string | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryAttempt = 0;
  #start: Deferred | undefined;
  #stopping: Promise<void> | undefined;

  constructor(o: SipUserAgentOptions) {
    if (o === null || typeof o !== 'object') throw new TypeError('options must be an object');
    if (typeof o.server !== 'string' || !/^wss?:\/\/[^\s]+$/i.test(o.server)) throw new TypeError('server must be a ws:// or wss:// URL');
    if (o.serviceAuthorization !== 'register' && o.serviceAuthorization !== 'publish') {
      throw new TypeError("serviceAuthorization must be 'register' or 'publish'");
    }
    this.#aor = parseUri(o.aor, 'aor');
    this.#publishTarget = o.publishTarget === undefined ? undefined : parseUri(o.publishTarget, 'publishTarget');
    if (o.serviceAuthorization === 'publish' && this.#publishTarget === undefined) throw new TypeError("'publish' mode needs publishTarget");
    this.#expires = o.registrationExpires ?? DEFAULT_EXPIRES;
    if (!Number.isSafeInteger(this.#expires) || this.#expires < 1) throw new RangeError('registrationExpires must be a positive integer');
    this.#backoff = o.reconnect ?? DEFAULT_RECONNECT;
    if (!(this.#backoff.initialMs > 0) || !(this.#backoff.maxMs >= this.#backoff.initialMs)) {
      throw new RangeError('reconnect needs 0 < initialMs <= maxMs');
    }
    this.#handlerTimeoutMs = o.handlerTimeoutMs ?? 10_000;
    this.#o = o;
    this.delegate = o.delegate ?? {};
    const base = o.sessionDescriptionHandlerFactory ?? Web.defaultSessionDescriptionHandlerFactory();
    this.#sdhFactory = (session, options) => {
      const h = new OfferTransformingSessionDescriptionHandler(base(session, options), this.#offerTransforms.get(session));
      this.#handlers.set(session, h);
      return h;
    };
  }

  get state(): SipUaState {
    return this.#state;
  }

  on<E extends keyof SipUserAgentEvents>(event: E, listener: (...args: SipUserAgentEvents[E]) => void): () => void {
    const set = this.#listeners[event] as Set<(...a: SipUserAgentEvents[E]) => void>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  #emit<E extends keyof SipUserAgentEvents>(event: E, ...args: SipUserAgentEvents[E]): void {
    for (const l of [...this.#listeners[event]] as ((...a: SipUserAgentEvents[E]) => void)[]) {
      try {
        l(...args);
      } catch {
        // A listener's failure must not break the state machine or the other listeners.
      }
    }
  }

  #to(next: SipUaState): void {
    const prev = this.#state;
    assertSipUaTransition(prev, next);
    this.#state = next;
    this.#emit('stateChange', next, prev);
  }

  #log(level: SipLogLevel, message: string): void {
    try {
      this.#o.logger?.(level, message);
    } catch {
      /* a logger must not break SIP */
    }
  }

  // ---------------------------------------------------------------------------------------
  // start, registration, refresh
  // ---------------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new SipError('ERR_SIP_INVALID_STATE', `start() in state ${this.#state}`);
    this.#start = deferred();
    this.#to('connecting');
    const ua = this.#makeUserAgent();
    this.#ua = ua;
    const registrar = this.#aor.clone();
    registrar.user = undefined;
    this.#register = new RegisterClient(ua, this.#aor, registrar);
    this.#epoch = 1;
    try {
      await ua.start();
    } catch (cause) {
      // Re-read the state: stop() may have run while we were connecting.
      if (this.state === 'connecting') {
        this.#to('stopped');
        this.#start.reject(new SipError('ERR_SIP_TRANSPORT', 'could not connect to the SIP core', { cause }));
        await ua.stop().catch(() => {});
      }
      return this.#start.promise;
    }
    if (this.state === 'connecting') this.#registerCycle(this.#epoch).catch(() => {});
    return this.#start.promise;
  }

  #makeUserAgent(): UserAgent {
    const o = this.#o;
    const options: UserAgentOptions = {
      uri: this.#aor,
      transportOptions: { server: o.server, traceSip: false, connectionTimeout: 5 },
      sessionDescriptionHandlerFactory: this.#sdhFactory,
      ...(o.sessionDescriptionHandlerFactoryOptions !== undefined ? { sessionDescriptionHandlerFactoryOptions: o.sessionDescriptionHandlerFactoryOptions } : {}),
      ...(o.displayName !== undefined ? { displayName: o.displayName } : {}),
      // sip.js would print every SIP message (tokens included) to the console.
      logBuiltinEnabled: false,
      logConfiguration: false,
      logLevel: 'warn',
      logConnector: (level, category, _label, content) => {
        if (level === 'error' || level === 'warn') this.#log(level, `${category}: ${content.split('\n', 1)[0]!.slice(0, 200)}`);
      },
      // Reconnection is ours (backoff + re-REGISTER), not sip.js's deprecated one.
      reconnectionAttempts: 0,
      userAgentString: 'mcptt-sdk',
      delegate: {
        onDisconnect: (error?: Error) => this.#onDisconnect(error),
        onMessage: (m: Message) => {
          void this.#onKeyRequest('MESSAGE', m);
        },
        onNotify: (n: Notification) => {
          void this.#onKeyRequest('NOTIFY', n);
        },
        onInvite: (inv: Invitation) => {
          void this.#onInvite(inv);
        },
      },
    };
    return o.userAgentFactory ? o.userAgentFactory(options) : new UserAgent(options);
  }

  /** Queues one REGISTER (+PUBLISH) on the epoch's chain and drives the states from its outcome. */
  #registerCycle(epoch: number): Promise<void> {
    const run = async (): Promise<void> => {
      if (epoch !== this.#epoch || this.#register === undefined) throw stale();
      if (this.#state === 'connecting' || this.#state === 'reconnecting' || this.#state === 'rejected') this.#to('registering');
      else if (this.#state !== 'registering' && this.#state !== 'registered') throw stale();
      this.#clearRefresh();
      try {
        await this.#registerOnce(epoch);
      } catch (e) {
        if (epoch !== this.#epoch || !(e instanceof SipError) || (this.#state !== 'registering' && this.#state !== 'registered')) throw stale(e);
        this.#to('rejected');
        this.#emit('registrationFailed', e);
        this.#start?.reject(e);
        if (e.statusCode !== undefined && TEMPORARY.has(e.statusCode)) this.#scheduleRetry(epoch, e.statusCode === 408);
        throw e;
      }
      if (epoch !== this.#epoch || (this.#state !== 'registering' && this.#state !== 'registered')) throw stale();
      if (this.#state === 'registering') this.#to('registered');
      this.#retryAttempt = 0;
      this.#start?.resolve();
    };
    const p = this.#chain.then(run, run);
    this.#chain = p.catch(() => {});
    return p;
  }

  async #registerOnce(epoch: number): Promise<void> {
    const body = await this.#body();
    if (epoch !== this.#epoch) throw stale();
    const reg = this.#register!;
    const { expires } = await reg.send(this.#expires, this.#o.serviceAuthorization === 'register' ? body : undefined);
    if (epoch !== this.#epoch) throw stale();
    this.#bound = true;
    let refreshIn = expires;
    if (this.#o.serviceAuthorization === 'publish' && (body !== undefined || this.#publishEtag !== undefined)) {
      // Without a body (no token, no CSK this time) an existing publication is only refreshed.
      const granted = await this.#publish(body, expires);
      if (epoch !== this.#epoch) throw stale();
      if (granted > 0) refreshIn = Math.min(refreshIn, granted);
    }
    // Refresh well before expiry (sip.js refreshes at 99 %; a slow token callback needs room).
    const ms = Math.max(1_000, Math.floor(refreshIn * 1000 * 0.8));
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      this.#registerCycle(epoch).catch(() => {});
    }, ms);
  }

  async #body(): Promise<RegisterBody | undefined> {
    const f = this.#o.registerBody;
    if (f === undefined) return undefined;
    try {
      const b = await f();
      if (b === undefined) return undefined;
      if (typeof b.contentType !== 'string' || typeof b.body !== 'string' || /[\r\n]/.test(b.contentType)) throw new TypeError('registerBody returned an invalid body');
      return b;
    } catch (e) {
      // 5.6.2.0: the REGISTER goes out anyway, without the token.
      this.#emit('handlerError', 'registerBody', e);
      return undefined;
    }
  }

  /**
   * One PUBLISH of the service authorization (RFC 3903): initial (body, no SIP-If-Match),
   * modification (body + SIP-If-Match of our publication), refresh (SIP-If-Match, no body)
   * or removal (`expires` 0, SIP-If-Match, no body). Resolves with the expiry the server
   * granted (its `Expires`, else ours) and keeps its `SIP-ETag`. A 412 (the server lost our
   * publication, e.g. it restarted) is retried once as an initial publication.
   */
  async #publish(body: RegisterBody | undefined, expires: number): Promise<number> {
    const etag = this.#publishEtag;
    const r = await this.#publishOnce(body, expires, etag);
    if (r.ok) return r.expires;
    if (r.status === 412 && etag !== undefined) {
      this.#publishEtag = undefined;
      if (body === undefined || expires === 0) return 0; // nothing to publish, nothing left to remove
      const again = await this.#publishOnce(body, expires, undefined);
      if (again.ok) return again.expires;
      throw publishRefused(again.status);
    }
    throw publishRefused(r.status);
  }

  #publishOnce(body: RegisterBody | undefined, expires: number, etag: string | undefined): Promise<{ ok: true; expires: number } | { ok: false; status: number }> {
    const ua = this.#ua!;
    const target = this.#publishTarget!;
    const headers = [`Event: ${this.#o.publishEvent ?? 'poc.settings'}`, `Expires: ${expires}`];
    if (etag !== undefined) headers.push(`SIP-If-Match: ${etag}`);
    const req = ua.userAgentCore.makeOutgoingRequestMessage(
      'PUBLISH',
      target,
      this.#aor,
      target,
      {},
      headers,
      body === undefined ? undefined : { contentDisposition: 'render', contentType: body.contentType, content: body.body },
    );
    return new Promise((resolve) => {
      ua.userAgentCore.publish(req, {
        onAccept: (r) => {
          const tag = r.message.getHeader('sip-etag')?.trim();
          this.#publishEtag = expires === 0 ? undefined : tag !== undefined && /^[!-~]{1,128}$/.test(tag) ? tag : undefined;
          const e = Number(r.message.getHeader('expires'));
          resolve({ ok: true, expires: Number.isSafeInteger(e) && e >= 0 ? e : expires });
        },
        onRedirect: (r) => resolve({ ok: false, status: r.message.statusCode ?? 0 }),
        onReject: (r) => resolve({ ok: false, status: r.message.statusCode ?? 0 }),
      });
    });
  }

  refreshRegistration(): Promise<void> {
    if (this.#state !== 'registered' && this.#state !== 'rejected' && this.#state !== 'registering') {
      return Promise.reject(new SipError('ERR_SIP_INVALID_STATE', `refreshRegistration() in state ${this.#state}`));
    }
    this.#clearRetry();
    return this.#registerCycle(this.#epoch).catch((e: unknown) => {
      throw e instanceof SipError ? e : new SipError('ERR_SIP_INVALID_STATE', 'the registration was overtaken by a state change', { cause: e });
    });
  }

  #clearRefresh(): void {
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #backoffMs(): number {
    const base = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(this.#retryAttempt, 30));
    this.#retryAttempt++;
    // ±20 % jitter so that many clients dropped together do not reconnect in lockstep.
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  }

  #scheduleRetry(epoch: number, timedOut: boolean): void {
    this.#clearRetry();
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (epoch !== this.#epoch || this.#state !== 'rejected') return;
      // The registrar answers REGISTER itself, so a timeout (408) most likely means a
      // connection that died without a close event: open a new one instead of retrying on it.
      if (timedOut && this.#ua?.isConnected()) void this.#ua.transport.disconnect().catch(() => {});
      if (timedOut || this.#ua?.isConnected() === false) this.#connectionLost();
      else this.#registerCycle(epoch).catch(() => {});
    }, this.#backoffMs());
  }

  // ---------------------------------------------------------------------------------------
  // WebSocket loss and reconnection
  // ---------------------------------------------------------------------------------------

  #onDisconnect(error: Error | undefined): void {
    // A close we asked for (stop) comes without an error; so does anything before registering.
    if (error === undefined) return;
    if (this.#state !== 'registering' && this.#state !== 'registered' && this.#state !== 'rejected') return;
    this.#connectionLost();
  }

  #connectionLost(): void {
    this.#epoch++;
    this.#bound = false;
    this.#clearRefresh();
    this.#clearRetry();
    this.#register?.abandon();
    this.#chain = Promise.resolve();
    this.#retryAttempt = 0;
    this.#to('reconnecting');
    this.#emit('disconnected');
    this.#scheduleReconnect(this.#epoch);
  }

  #scheduleReconnect(epoch: number): void {
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#reconnectOnce(epoch);
    }, this.#backoffMs());
  }

  async #reconnectOnce(epoch: number): Promise<void> {
    if (epoch !== this.#epoch || this.#state !== 'reconnecting') return;
    try {
      await this.#ua!.reconnect();
    } catch {
      if (epoch === this.#epoch && this.#state === 'reconnecting') this.#scheduleReconnect(epoch);
      return;
    }
    if (epoch !== this.#epoch || this.#state !== 'reconnecting') return;
    this.#retryAttempt = 0;
    this.#registerCycle(epoch).catch(() => {});
  }

  // ---------------------------------------------------------------------------------------
  // stop
  // ---------------------------------------------------------------------------------------

  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    this.#clearRefresh();
    this.#clearRetry();
    this.#start?.reject(new SipError('ERR_SIP_STOPPED', 'the SIP user agent was stopped'));
    const ua = this.#ua;
    const s = this.#state;
    if (s === 'idle' || s === 'connecting' || s === 'reconnecting') {
      this.#epoch++;
      this.#to('stopped');
      await ua?.stop().catch(() => {});
      return;
    }
    if (s === 'stopped' || s === 'unregistering') return;
    this.#to('unregistering');
    const epoch = this.#epoch;
    // Let a pending REGISTER finish (bounded), then remove our binding.
    await withTimeout(this.#chain, UNREGISTER_WAIT_MS).catch(() => {});
    if (this.#publishEtag !== undefined && epoch === this.#epoch && ua?.isConnected()) {
      // 'publish' mode: remove the publication first (Expires 0), so the server unbinds us.
      await withTimeout(this.#publish(undefined, 0), UNREGISTER_WAIT_MS).catch(() => {});
    }
    this.#publishEtag = undefined;
    if (this.#bound && epoch === this.#epoch && ua?.isConnected()) {
      await withTimeout(this.#register!.send(0), UNREGISTER_WAIT_MS).catch(() => {});
    }
    this.#epoch++;
    this.#register?.abandon();
    await ua?.stop().catch(() => {});
    this.#to('stopped');
  }

  // ---------------------------------------------------------------------------------------
  // incoming MESSAGE / NOTIFY
  // ---------------------------------------------------------------------------------------

  async #onKeyRequest(method: 'MESSAGE' | 'NOTIFY', m: Message | Notification): Promise<void> {
    const req = m.request;
    const handler = this.delegate.onKeyNotification;
    let answer: { statusCode: number; reasonPhrase?: string };
    if (handler === undefined) {
      answer = { statusCode: 480, reasonPhrase: 'Temporarily Unavailable' };
    } else {
      try {
        const a = await withTimeout(
          Promise.resolve().then(() =>
            handler.call(this.delegate, req.body ?? '', req.getHeader('content-type') ?? '', plainUri(req.from.uri), {
              method,
              event: req.getHeader('event'),
              calledPartyId: req.getHeader('p-called-party-id'),
            }),
          ),
          this.#handlerTimeoutMs,
        );
        answer = checkedAnswer(a);
      } catch (e) {
        this.#emit('handlerError', 'keyNotification', e);
        answer = { statusCode: 500 };
      }
    }
    try {
      if (answer.statusCode === 200) await m.accept({ statusCode: 200 });
      else await m.reject(answer);
    } catch (e) {
      this.#log('warn', `could not answer ${method}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ---------------------------------------------------------------------------------------
  // calls
  // ---------------------------------------------------------------------------------------

  #makeCall(session: Session, direction: 'outgoing' | 'incoming', remoteUri: string, remoteSdp: () => string | undefined): SipCall {
    const handlers = this.#handlers;
    const ended = new Promise<void>((resolve) => {
      if (session.state === SessionState.Terminated) return resolve();
      session.stateChange.addListener((s) => {
        if (s === SessionState.Terminated) resolve();
      });
    });
    return {
      id: session.id,
      direction,
      remoteUri,
      get localSdp() {
        return handlers.get(session)?.lastLocalSdp;
      },
      get remoteSdp() {
        return handlers.get(session)?.lastRemoteSdp ?? remoteSdp();
      },
      session,
      get sessionDescriptionHandler() {
        return handlers.get(session)?.inner;
      },
      ended,
      async hangup() {
        switch (session.state) {
          case SessionState.Established:
            await session.bye();
            break;
          case SessionState.Initial:
          case SessionState.Establishing:
            if (session instanceof Inviter) await session.cancel();
            else await (session as Invitation).reject();
            break;
          default:
            break;
        }
        await ended;
      },
    };
  }

  #connectedUa(what: string): UserAgent {
    const s = this.#state;
    if (this.#ua === undefined || (s !== 'registering' && s !== 'registered' && s !== 'rejected')) {
      throw new SipError('ERR_SIP_INVALID_STATE', `${what} in state ${s}`);
    }
    return this.#ua;
  }

  async call(target: string, options?: CallOptions): Promise<SipCall> {
    const ua = this.#connectedUa('call()');
    const uri = parseUri(target, 'target');
    const inviter = new Inviter(ua, uri, { extraHeaders: [...(options?.extraHeaders ?? [])] });
    if (options?.transformOffer) this.#offerTransforms.set(inviter, options.transformOffer);
    options?.onSession?.(inviter);
    let answerSdp: string | undefined;
    const call = this.#makeCall(inviter, 'outgoing', plainUri(uri), () => answerSdp);
    return await new Promise<SipCall>((resolve, reject) => {
      inviter.stateChange.addListener((s) => {
        if (s === SessionState.Established) resolve(call);
        // sip.js moves to Terminated before it calls onReject: let onReject settle first.
        else if (s === SessionState.Terminated) queueMicrotask(() => reject(new SipError('ERR_SIP_REQUEST_FAILED', 'INVITE ended before the call was established')));
      });
      inviter
        .invite({
          requestDelegate: {
            onAccept: (r) => {
              answerSdp = r.message.body || undefined;
            },
            onReject: (r) => reject(requestFailed('INVITE', r.message.statusCode ?? 0)),
          },
        })
        .catch((e: unknown) => reject(new SipError('ERR_SIP_REQUEST_FAILED', 'INVITE could not be sent', { cause: e })));
    });
  }

  async #onInvite(inv: Invitation): Promise<void> {
    const handler = this.delegate.onIncomingCall;
    const req = inv.request;
    const sdp = inv.body ?? '';
    let decision: { accept: true } | { accept: false; statusCode: number; reasonPhrase?: string };
    if (handler === undefined) decision = { accept: false, statusCode: 480 };
    else if (sdp === '') decision = { accept: false, statusCode: 488, reasonPhrase: 'Offer Required' };
    else {
      try {
        const d = await withTimeout(
          Promise.resolve().then(() =>
            handler.call(this.delegate, { from: plainUri(req.from.uri), to: plainUri(req.to.uri), sdp, contentType: req.getHeader('content-type') ?? '' }),
          ),
          this.#handlerTimeoutMs,
        );
        if (d !== null && typeof d === 'object' && d.accept === true) decision = { accept: true };
        else {
          const a = checkedAnswer({ status: (d as { status?: unknown } | null)?.status, reason: (d as { reason?: unknown } | null)?.reason });
          decision = { accept: false, statusCode: a.statusCode === 200 ? 500 : a.statusCode, ...(a.reasonPhrase ? { reasonPhrase: a.reasonPhrase } : {}) };
        }
      } catch (e) {
        this.#emit('handlerError', 'incomingCall', e);
        decision = { accept: false, statusCode: 500 };
      }
    }
    // The caller may have cancelled while we were deciding.
    if (inv.state !== SessionState.Initial && inv.state !== SessionState.Establishing) return;
    try {
      if (!decision.accept) {
        await inv.reject({ statusCode: decision.statusCode, ...(decision.reasonPhrase ? { reasonPhrase: decision.reasonPhrase } : {}) });
        return;
      }
      const call = this.#makeCall(inv, 'incoming', plainUri(req.from.uri), () => sdp);
      const established = new Promise<boolean>((resolve) => {
        inv.stateChange.addListener((s) => {
          if (s === SessionState.Established) resolve(true);
          else if (s === SessionState.Terminated) resolve(false);
        });
      });
      await inv.accept();
      if (await established) this.#emit('incomingCall', call);
    } catch (e) {
      this.#log('warn', `could not answer INVITE: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ---------------------------------------------------------------------------------------
  // outgoing MESSAGE / NOTIFY
  // ---------------------------------------------------------------------------------------

  async sendMessage(target: string, body: SipBodyInit, options?: SendRequestOptions): Promise<SipResponseInfo> {
    const ua = this.#connectedUa('sendMessage()');
    const uri = parseUri(target, 'target');
    if (body === null || typeof body !== 'object' || typeof body.body !== 'string' || typeof body.contentType !== 'string' || /[\r\n]/.test(body.contentType)) {
      throw new TypeError('body must be { contentType, body } strings');
    }
    const method = options?.method ?? 'MESSAGE';
    const extra = [...(options?.extraHeaders ?? [])];
    for (const h of extra) if (/[\r\n]/.test(h)) throw new TypeError('extra headers must be single lines');
    return await new Promise<SipResponseInfo>((resolve, reject) => {
      const delegate: Core.OutgoingRequestDelegate = {
        onAccept: (r) => resolve({ status: r.message.statusCode ?? 200, reason: r.message.reasonPhrase ?? '' }),
        onRedirect: (r) => reject(requestFailed(method, r.message.statusCode ?? 0)),
        onReject: (r) => reject(requestFailed(method, r.message.statusCode ?? 0)),
      };
      if (method === 'MESSAGE') {
        new Messager(ua, uri, body.body, body.contentType, { extraHeaders: extra })
          .message({ requestDelegate: delegate })
          .catch((e: unknown) => reject(new SipError('ERR_SIP_REQUEST_FAILED', 'MESSAGE could not be sent', { cause: e })));
        return;
      }
      // RFC 6665 §8.2.1 headers for an out-of-dialog NOTIFY (TS 24.481 uses xcap-diff).
      const has = (name: string): boolean => extra.some((h) => h.toLowerCase().startsWith(`${name}:`));
      if (!has('event')) extra.push('Event: xcap-diff');
      if (!has('subscription-state')) extra.push('Subscription-State: active');
      const req = ua.userAgentCore.makeOutgoingRequestMessage('NOTIFY', uri, this.#aor, uri, {}, extra, {
        contentDisposition: 'render',
        contentType: body.contentType,
        content: body.body,
      });
      ua.userAgentCore.request(req, delegate);
    });
  }
}

function stale(cause?: unknown): SipError {
  return new SipError('ERR_SIP_INVALID_STATE', 'registration overtaken by a state change', cause === undefined ? undefined : { cause });
}

function publishRefused(status: number): SipError {
  return new SipError('ERR_SIP_REGISTRATION_REJECTED', `PUBLISH refused with status ${status}`, { statusCode: status });
}

function requestFailed(method: string, status: number): SipError {
  return new SipError('ERR_SIP_REQUEST_FAILED', `${method} failed with status ${status}`, { statusCode: status });
}

/** Creates the SIP user agent; call `start()` to connect and register. */
export function createSipUserAgent(options: SipUserAgentOptions): SipUserAgent {
  return new SipUserAgentImpl(options);
}
