/**
 * The MCPTT signalling session of a signed-in user: SIP registration with service
 * authorization and CSK (TS 33.179 5.6.2.1, 9.1.3.2), GMK notifications (7.3.2) and the
 * group configuration pull (5.6.1 step C-5), private calls with the PCK in the SDP offer
 * (7.4). It wires the parts of this folder to the SIP user agent and adds the lifecycle:
 *
 *   idle ──start()──► starting ──registered (+ pull)──► running ──stop()──► stopping ──► stopped
 *                        │ REGISTER refused / transport failed / stop()                    ▲
 *                        └─────────────────────────────────────────────────────────────────┘
 *
 * | from     | allowed next          |
 * |----------|-----------------------|
 * | idle     | starting, stopped     |
 * | starting | running, stopping     |
 * | running  | stopping              |
 * | stopping | stopped               |
 * | stopped  | —                     |
 *
 * While running: a token refresh (`tokens.onRefresh`) re-REGISTERs so the MCPTT server gets
 * the new token; the end of the CSK's key period re-REGISTERs with a new CSK. With
 * `serviceAuthorization: 'publish'` (5.6.2.2) the token and CSK go in a PUBLISH to the MCPTT
 * server that follows each REGISTER instead of in the REGISTER body.
 *
 * With `xmlProtection` (TS 33.179 9.1, 9.3; A.3-009/010): the token goes encrypted and signed
 * under the CSK, the CSK I_MESSAGE names us by UID only (E.7), GMK notifications are read
 * with the group ID decrypted under our CSK, and the SIP identity is an opaque AOR
 * (`sip:ue-<random>@<domain>`, new per session) that the MCPTT server binds to our MCPTT ID
 * from the decrypted token: the MCPTT ID never appears in a SIP header either.
 */
import type { SessionDescriptionHandlerFactory, UserAgent, UserAgentOptions } from 'sip.js';

import type { IdentityCrypto } from '../../crypto/heavy.js';
import type { KeyProfileName, KmsPublicParameters, LocalIdentity, ReplayCache } from '../../keys/index.js';
import { singleCskLookup } from '../../codec/xml-protect/index.js';
import { randomBytes as webRandomBytes } from '../../util/webcrypto.js';
import { createSipUserAgent, type SipUaState, type SipUserAgent } from '../sip/index.js';
import { SignallingError } from './errors.js';
import { TypedEmitter, type GroupPullSummary, type SignallingEvents } from './events.js';
import { failureCodeOf } from './failure-status.js';
import { fetchGroupConfigurations, groupConfigurationUrl } from './gms-client.js';
import { GroupKeyProcessor } from './group-keys.js';
import { KeyContext, type MediaKeyStore } from './key-context.js';
import { PrivateCalls, type PrivateCall } from './private-calls.js';
import { createDirectoryClient } from './directory-client.js';
import { ServiceAuthorization, type ClientServerKey } from './service-authorization.js';

export type SignallingSessionState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export const SIGNALLING_SESSION_TRANSITIONS: Readonly<Record<SignallingSessionState, readonly SignallingSessionState[]>> = Object.freeze({
  idle: Object.freeze(['starting', 'stopped'] as const),
  starting: Object.freeze(['running', 'stopping'] as const),
  running: Object.freeze(['stopping'] as const),
  stopping: Object.freeze(['stopped'] as const),
  stopped: Object.freeze([] as const),
});

/** Where the access token comes from (src/platform/auth fits: accessToken() and on('session')). */
export interface TokenSource {
  accessToken(): Promise<string>;
  /** Called after each token refresh; returns an unsubscribe function. */
  onRefresh?(listener: () => void): () => void;
}

export interface SignallingSessionOptions {
  /** `wss://…` of the SIP core (`ws://` on loopback). */
  readonly sipServer: string;
  /** The MCPTT server: its MDSI receives the CSK (9.1.3.1). */
  readonly mcpttServerUri: string;
  /** GMS identities allowed to sign GMKs. */
  readonly gmsUris: readonly string[];
  /** Base URL of the GMS for the group configuration pull; no pull without it. */
  readonly gmsUrl?: string;
  readonly identity: () => LocalIdentity | undefined;
  readonly tokens: TokenSource;
  readonly store: MediaKeyStore;
  /** SIP address of record (IMPU); default the MCPTT ID, or an opaque one under `xmlProtection`. */
  readonly aor?: string;
  /**
   * TS 33.179 9.3 protection of sensitive signalling under the CSK (default false): encrypted
   * and signed token, hidden CSK initiator, encrypted group IDs read, opaque SIP identity.
   * The MCPTT server must support it (the dev server's `xmlProtection`).
   */
  readonly xmlProtection?: boolean;
  /**
   * Under `xmlProtection`: the MCPTT server's HTTP API with the directory (callee AORs, hidden
   * caller UIDs) for private calls; default `gmsUrl` (the dev server serves both).
   */
  readonly directoryUrl?: string;
  readonly displayName?: string;
  /** Public parameters of other KMSs (a caller or GMS of another domain). */
  readonly kmsFor?: (kmsUri: string) => KmsPublicParameters | undefined;
  /** KMS of the MDSI; default ours. */
  readonly mdsiKms?: () => KmsPublicParameters | undefined;
  /** KMS of a callee; default ours. */
  readonly calleeKms?: (mcpttId: string) => KmsPublicParameters | undefined;
  readonly profile?: KeyProfileName;
  /** Media adapter for calls (sip.js's WebRTC handler in a browser when absent). */
  readonly sessionDescriptionHandlerFactory?: SessionDescriptionHandlerFactory;
  readonly sessionDescriptionHandlerFactoryOptions?: object;
  readonly reconnect?: { readonly initialMs: number; readonly maxMs: number };
  readonly registrationExpires?: number;
  /**
   * How the token and CSK reach the MCPTT server (TS 33.179 5.6.2): in the REGISTER body,
   * repeated by the SIP core as a third-party REGISTER (5.6.2.1, default), or in a PUBLISH
   * to `mcpttServerUri` (`Event: poc.settings`) after a REGISTER without body (5.6.2.2).
   */
  readonly serviceAuthorization?: 'register' | 'publish';
  /** How long an incoming call rings before 480 (default 30 s). */
  readonly ringTimeoutMs?: number;
  /** Re-encapsulate the CSK when its I_MESSAGE is older (default 300 s). */
  readonly cskMaxMessageAgeMs?: number;
  readonly replayCache?: ReplayCache;
  /**
   * Where the identity-key operations run (SAKKE encapsulation of the CSK and PCKs, ECCSI
   * verification and SAKKE decapsulation of received keys): a crypto worker in browsers
   * (src/platform/crypto-worker). Default: in this thread.
   */
  readonly identityCrypto?: IdentityCrypto;
  readonly now?: () => number;
  readonly randomBytes?: (n: number) => Uint8Array;
  readonly fetch?: typeof fetch;
  /** Tests: builds the sip.js UserAgent. */
  readonly userAgentFactory?: (options: UserAgentOptions) => UserAgent;
}

export interface SignallingSession {
  readonly state: SignallingSessionState;
  /** The SIP registration state (idle before start). */
  readonly registrationState: SipUaState;
  /**
   * Registers (token + CSK in the body) and, with `gmsUrl`, pulls the group keys. Resolves
   * when registered and the pull has run (a failed pull is an event, not a failure here).
   * Rejects with ERR_SIGNALLING_NO_IDENTITY, ERR_SIP_TRANSPORT or ERR_SIP_REGISTRATION_REJECTED
   * (the session is then stopped).
   */
  start(): Promise<void>;
  /** Private call to an MCPTT ID (7.4); resolves when answered, the PCK on the call. */
  call(mcpttId: string): Promise<PrivateCall>;
  /** Pre-generates the PCK I_MESSAGE for the next call to `mcpttId` (7.4.2 note 1). */
  prepareCall(mcpttId: string): Promise<void>;
  /** Pulls the group configurations now (5.6.1 C-5); never throws, the summary says how it went. */
  pullGroupKeys(): Promise<GroupPullSummary>;
  /** A new CSK now, sent in a REGISTER at once. */
  renewCsk(): Promise<void>;
  /** The CSK of this session (key material, for the 9.3 signalling protection; never log it). */
  csk(): ClientServerKey | undefined;
  /** The SIP address of record this session registers (opaque under `xmlProtection`). */
  readonly aor: string | undefined;
  /** The SIP user agent while starting or running, for calls built on top (group calls). */
  sipUserAgent(): SipUserAgent | undefined;
  on<E extends keyof SignallingEvents>(event: E, listener: (...args: SignallingEvents[E]) => void): () => void;
  /** Hangs up, unregisters, closes; idempotent. */
  stop(): Promise<void>;
}

const MAX_TIMER_MS = 2_147_483_647;

class SignallingSessionImpl implements SignallingSession {
  readonly #o: SignallingSessionOptions;
  readonly #events = new TypedEmitter<SignallingEvents>();
  readonly #ctx: KeyContext;
  readonly #auth: ServiceAuthorization;
  readonly #groups: GroupKeyProcessor;
  readonly #calls: PrivateCalls;
  #state: SignallingSessionState = 'idle';
  #ua: SipUserAgent | undefined;
  #unsubscribe: (() => void)[] = [];
  #periodTimer: ReturnType<typeof setTimeout> | undefined;
  #stopping: Promise<void> | undefined;
  #aor: string | undefined;

  constructor(o: SignallingSessionOptions) {
    if (o === null || typeof o !== 'object') throw new TypeError('options must be an object');
    if (typeof o.sipServer !== 'string' || !/^wss?:\/\/\S+$/i.test(o.sipServer)) throw new TypeError('sipServer must be a ws:// or wss:// URL');
    if (o.gmsUrl !== undefined) groupConfigurationUrl(o.gmsUrl); // fail at once on a bad URL
    if (o.tokens === null || typeof o.tokens !== 'object' || typeof o.tokens.accessToken !== 'function') throw new TypeError('tokens.accessToken must be a function');
    if (o.serviceAuthorization !== undefined && o.serviceAuthorization !== 'register' && o.serviceAuthorization !== 'publish') {
      throw new TypeError("serviceAuthorization must be 'register' or 'publish'");
    }
    this.#o = o;
    this.#ctx = new KeyContext({
      identity: o.identity,
      store: o.store,
      gmsUris: o.gmsUris,
      ...(o.kmsFor ? { kmsFor: o.kmsFor } : {}),
      ...(o.profile ? { profile: o.profile } : {}),
      ...(o.now ? { now: o.now } : {}),
      ...(o.replayCache ? { replayCache: o.replayCache } : {}),
      ...(o.identityCrypto ? { identityCrypto: o.identityCrypto } : {}),
    });
    this.#auth = new ServiceAuthorization({
      identity: o.identity,
      accessToken: () => o.tokens.accessToken(),
      mdsi: o.mcpttServerUri,
      ...(o.mdsiKms ? { mdsiKms: o.mdsiKms } : {}),
      ...(o.profile ? { profile: o.profile } : {}),
      ...(o.now ? { now: o.now } : {}),
      ...(o.randomBytes ? { randomBytes: o.randomBytes } : {}),
      ...(o.cskMaxMessageAgeMs !== undefined ? { maxMessageAgeMs: o.cskMaxMessageAgeMs } : {}),
      ...(o.xmlProtection === true ? { xmlProtection: true } : {}),
      ...(o.identityCrypto ? { identityCrypto: o.identityCrypto } : {}),
      onCsk: (info) => this.#events.emit('csk', info),
      onDegraded: (info) => this.#events.emit('authorization-degraded', info),
    });
    this.#groups = new GroupKeyProcessor(this.#ctx, {
      onKey: (info) => this.#events.emit('group-key', info),
      onRefused: (f) => this.#events.emit('group-key-refused', f),
      // 9.3: a protected group ID is ours to decrypt with our CSK (P0 = our MCPTT ID).
      ...(o.xmlProtection === true ? { xpkLookup: () => this.#cskLookup() } : {}),
    });
    this.#calls = new PrivateCalls({
      ctx: this.#ctx,
      ua: () => (this.#state === 'running' || this.#state === 'starting' ? this.#ua : undefined),
      hooks: {
        incoming: (c) => this.#events.emit('incoming-call', c),
        hasIncomingListener: () => this.#events.listenerCount('incoming-call') > 0,
        keys: (c) => this.#events.emit('call-keys', c),
        failed: (f) => this.#events.emit('call-failed', f),
        ended: (c) => this.#events.emit('call-ended', c),
      },
      ...(o.ringTimeoutMs !== undefined ? { ringTimeoutMs: o.ringTimeoutMs } : {}),
      ...(o.calleeKms ? { calleeKms: o.calleeKms } : {}),
      ...(o.randomBytes ? { randomBytes: o.randomBytes } : {}),
      // 9.3: callees by opaque AOR and callers by UID, both through the server's directory.
      ...(o.xmlProtection === true && (o.directoryUrl ?? o.gmsUrl) !== undefined
        ? {
            protection: {
              directory: createDirectoryClient({
                url: (o.directoryUrl ?? o.gmsUrl)!,
                accessToken: () => o.tokens.accessToken(),
                ...(o.fetch ? { fetch: o.fetch } : {}),
              }),
            },
          }
        : {}),
    });
  }

  get state(): SignallingSessionState {
    return this.#state;
  }

  get aor(): string | undefined {
    return this.#aor;
  }

  #cskLookup(): ReturnType<typeof singleCskLookup> {
    const csk = this.#auth.current();
    const me = this.#o.identity();
    return csk === undefined || me === undefined ? () => undefined : singleCskLookup(csk, me.uri);
  }

  get registrationState(): SipUaState {
    return this.#ua?.state ?? 'idle';
  }

  on<E extends keyof SignallingEvents>(event: E, listener: (...args: SignallingEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Reads the state without the narrowing a comparison would keep across awaits. */
  #is(state: SignallingSessionState): boolean {
    return this.#state === state;
  }

  #to(next: SignallingSessionState): void {
    if (!SIGNALLING_SESSION_TRANSITIONS[this.#state].includes(next)) {
      throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', `signalling session: ${this.#state} → ${next} is not allowed`);
    }
    this.#state = next;
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', `start() in state ${this.#state}`);
    this.#to('starting');
    const o = this.#o;
    try {
      const me = this.#ctx.identity();
      await this.#ctx.open();
      this.#aor = o.aor ?? (o.xmlProtection === true ? opaqueAor(o.mcpttServerUri, o.randomBytes ?? webRandomBytes) : me.uri);
      const ua = createSipUserAgent({
        server: o.sipServer,
        aor: this.#aor,
        ...(o.displayName !== undefined ? { displayName: o.displayName } : {}),
        // 'publish': the REGISTER goes without body and the same body goes in a PUBLISH to
        // the MCPTT server, refreshed with the registration and removed (Expires 0) on stop.
        ...(o.serviceAuthorization === 'publish'
          ? { serviceAuthorization: 'publish' as const, publishTarget: o.mcpttServerUri }
          : { serviceAuthorization: 'register' as const }),
        registerBody: () => this.#auth.body(),
        ...(o.reconnect ? { reconnect: o.reconnect } : {}),
        ...(o.registrationExpires !== undefined ? { registrationExpires: o.registrationExpires } : {}),
        ...(o.sessionDescriptionHandlerFactory ? { sessionDescriptionHandlerFactory: o.sessionDescriptionHandlerFactory } : {}),
        ...(o.sessionDescriptionHandlerFactoryOptions ? { sessionDescriptionHandlerFactoryOptions: o.sessionDescriptionHandlerFactoryOptions } : {}),
        ...(o.userAgentFactory ? { userAgentFactory: o.userAgentFactory } : {}),
        // An incoming call waits for the user's decision; the agent must not answer 500 first.
        handlerTimeoutMs: this.#calls.ringTimeoutMs + 10_000,
        delegate: {
          onKeyNotification: (body, contentType, from, info) => this.#groups.handleNotification(body, contentType, from, info),
          onIncomingCall: (offer) => this.#calls.onIncomingCall(offer),
        },
      });
      this.#ua = ua;
      this.#unsubscribe.push(
        ua.on('stateChange', (s, prev) => this.#events.emit('registration', s, prev)),
        ua.on('registrationFailed', (e) => this.#events.emit('registration-failed', { code: e.code, statusCode: e.statusCode })),
        ua.on('disconnected', () => this.#events.emit('disconnected')),
        ua.on('incomingCall', (c) => this.#calls.onEstablished(c)),
      );
      await ua.start();
      if (!this.#is('starting')) throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', 'the session was stopped while starting');
      const off = o.tokens.onRefresh?.(() => this.#reRegister());
      if (off) this.#unsubscribe.push(off);
      this.#armPeriodTimer();
      if (o.gmsUrl !== undefined) await this.pullGroupKeys();
      if (!this.#is('starting')) throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', 'the session was stopped while starting');
      this.#to('running');
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  #reRegister(): void {
    if (this.#state !== 'running' && this.#state !== 'starting') return;
    // A refused REGISTER is reported by the 'registration-failed' event.
    this.#ua?.refreshRegistration().catch(() => {});
  }

  #armPeriodTimer(): void {
    if (this.#periodTimer !== undefined) clearTimeout(this.#periodTimer);
    this.#periodTimer = undefined;
    const end = this.#auth.periodEndsAt();
    if (end === undefined || (this.#state !== 'running' && this.#state !== 'starting')) return;
    const now = (this.#o.now ?? Date.now)();
    // Past the end (the REGISTER with the new CSK failed): try again in a minute, not in a loop.
    const wait = end > now ? Math.min(MAX_TIMER_MS, end - now + 1_000) : 60_000;
    this.#periodTimer = setTimeout(() => {
      this.#periodTimer = undefined;
      void (async () => {
        // A long period is waited for in several steps; only its end sends the new CSK.
        if ((this.#o.now ?? Date.now)() >= end && this.#state === 'running') await this.#ua?.refreshRegistration().catch(() => {});
        this.#armPeriodTimer();
      })();
    }, wait);
  }

  async call(mcpttId: string): Promise<PrivateCall> {
    if (this.#state !== 'running') throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', `call() in state ${this.#state}`);
    return this.#calls.call(mcpttId);
  }

  async prepareCall(mcpttId: string): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', `prepareCall() in state ${this.#state}`);
    await this.#calls.prepare(mcpttId);
  }

  async pullGroupKeys(): Promise<GroupPullSummary> {
    const gmsUrl = this.#o.gmsUrl;
    let summary: GroupPullSummary;
    if (gmsUrl === undefined) summary = { ok: false, code: 'ERR_GMS_UNREACHABLE', httpStatus: undefined };
    else {
      try {
        const accessToken = await this.#o.tokens.accessToken();
        const groups = await fetchGroupConfigurations({ gmsUrl, accessToken, ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}) });
        summary = await this.#groups.processPulled(groups);
      } catch (e) {
        summary = { ok: false, code: failureCodeOf(e), httpStatus: e instanceof SignallingError ? e.httpStatus : undefined };
      }
    }
    this.#events.emit('group-pull', summary);
    return summary;
  }

  async renewCsk(): Promise<void> {
    if (this.#state !== 'running') throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', `renewCsk() in state ${this.#state}`);
    this.#auth.renew('renewed');
    await this.#ua!.refreshRegistration();
    this.#armPeriodTimer();
  }

  csk(): ClientServerKey | undefined {
    return this.#auth.current();
  }

  sipUserAgent(): SipUserAgent | undefined {
    return this.#state === 'running' || this.#state === 'starting' ? this.#ua : undefined;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    if (this.#state === 'idle') {
      this.#to('stopped');
      return;
    }
    this.#to('stopping');
    if (this.#periodTimer !== undefined) clearTimeout(this.#periodTimer);
    this.#periodTimer = undefined;
    this.#calls.stop();
    await this.#ua?.stop().catch(() => {});
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#ctx.close();
    // 9.1.2: the CSK ends with the SIP session.
    this.#auth.renew('new-session');
    this.#to('stopped');
  }
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * An address of record that says nothing about the user: 80 random bits in base32 at the
 * SIP domain of the MCPTT server. New per session, so sessions cannot be linked by it.
 */
export function opaqueAor(mcpttServerUri: string, random: (n: number) => Uint8Array): string {
  const m = /^sips?:(?:[^@\s]+@)?([A-Za-z0-9.-]+)(?::\d+)?(?:[;?].*)?$/.exec(mcpttServerUri);
  if (m === null) throw new TypeError('mcpttServerUri must be a SIP URI with a host');
  const bytes = random(10).slice(0, 10);
  if (bytes.length !== 10) throw new RangeError('randomBytes returned too few bytes');
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `sip:ue-${out}@${m[1]!}`;
}

/** Creates the session; `start()` registers. */
export function createSignallingSession(options: SignallingSessionOptions): SignallingSession {
  return new SignallingSessionImpl(options);
}
