/**
 * `McpttClient`: the facade a dispatcher app or PTT page embeds (TS 33.179 5.6.1, user
 * authentication and key provisioning). It wires the adapters together and adds nothing of
 * its own: OIDC login (src/platform/auth), the key store (src/platform/key-store), the KMS
 * client (src/platform/kms) and key provisioning over key periods (src/platform/provisioning).
 *
 *   signed-out ──login()/completeLogin()/restore()──► signed-in ──keys: provisioning → ready | offline | failed
 *        ▲                                                │
 *        └──────────────── logout() ◄────────────────────┘
 *
 * After login, `connect()` starts the MCPTT signalling session (src/platform/signalling:
 * TS 33.179 5.6.2.1 REGISTER with token and CSK, 7.3.2 GMK notifications and the 5.6.1 C-5
 * pull, 7.4 private calls) once the identity keys are ready; `disconnect()` (and `logout()`)
 * ends it. Its events are forwarded unchanged.
 *
 * Events are typed; `on` returns an unsubscribe function; a throwing listener harms no one.
 * Nothing here logs, and no event carries a key or a token; the only MCPTT ID an event
 * carries is an incoming call's verified caller, which the app must show.
 */
import { protectMcpttInfo } from './codec/xml-protect/index.js';
import { AuthError, XmlProtectError } from './errors.js';
import type { LocalIdentity } from './keys/identity.js';
import { createMcpttAuth, type McpttAuth, type McpttAuthOptions, type McpttSession } from './platform/auth/index.js';
import { openKeyStore, type KeyStore, type KeyStoreOptions } from './platform/key-store/index.js';
import { createKmsClient, type KmsTransportKeyStore } from './platform/kms/index.js';
import { createKeyProvisioner, type KeyProvisioner, type ProvisioningStatus } from './platform/provisioning.js';
import {
  createSignallingSession,
  SignallingError,
  type PrivateCall,
  type SignallingEvents,
  type SignallingSession,
} from './platform/signalling/index.js';
import type { SessionDescriptionHandlerFactory } from 'sip.js';
import { createE2eeManager, detectE2eeMode, e2eeSessionDescriptionHandlerFactory, privateCallRole, type E2eeManager } from './platform/media/index.js';
import {
  GroupCallManager,
  GroupCallSessions,
  groupCallSessionDescriptionHandlerFactory,
  srcFloorControl,
  createGmkFeed,
  type CallAudioFactory,
  type FloorControlFactory,
  type GroupCall,
  type JoinGroupOptions,
} from './platform/group-calls/index.js';
import type { IdentityCrypto } from './crypto/heavy.js';
import { createCryptoWorkerClient, cryptoWorkerSupported, type CryptoWorkerClient } from './platform/crypto-worker/index.js';

export interface McpttClientOptions {
  /** The identity management server (OIDC) and this app's registration there. */
  readonly idms: McpttAuthOptions;
  readonly kms: {
    /** Base URL under which `/keymanagement/identity/v1/…` lives. */
    readonly baseUrl: string;
    /** The KMS URI its certificate must carry. */
    readonly kmsUri: string;
    /** Use the KMS security extension (signed messages, wrapped keys); default false. */
    readonly security?: boolean;
    /** The user's bootstrap transport key for the security extension, provisioned out of band. */
    readonly bootstrapTransportKey?: (mcpttId: string) => { readonly id: string; readonly key: Uint8Array } | undefined;
  };
  readonly keyStore?: KeyStoreOptions;
  /**
   * Where the identity-key crypto runs (KMS key-set validation, CSK and PCK encapsulation,
   * received GMK/PCK verification and decapsulation; docs/performance.md): `true` (default
   * where `Worker` exists) starts a dedicated crypto worker (workers/crypto-worker.ts), `false`
   * keeps it on this thread (Node, or an app that forbids workers), or pass your own.
   */
  readonly cryptoWorker?: boolean | IdentityCrypto;
  /** Adapters for tests: clock and fetch. */
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

export type McpttClientState = 'signed-out' | 'signed-in';

export interface McpttClientEvents extends SignallingEvents {
  state: [state: McpttClientState];
  keys: [status: ProvisioningStatus];
}

/** What `connect()` needs to reach the MCPTT system. */
export interface McpttConnectOptions {
  /** `wss://…` of the SIP core (`ws://` on loopback). */
  readonly sipServer: string;
  /** The MCPTT server's URI, also the MDSI the CSK is encrypted to (9.1.3.1). */
  readonly mcpttServerUri: string;
  /** Identities allowed to sign GMKs. */
  readonly gmsUris: readonly string[];
  /** Base URL of the GMS for the group configuration pull at connect (5.6.1 C-5). */
  readonly gmsUrl?: string;
  /** Media adapter for calls; sip.js's WebRTC handler when absent. */
  readonly sessionDescriptionHandlerFactory?: SessionDescriptionHandlerFactory;
  readonly sessionDescriptionHandlerFactoryOptions?: object;
  /**
   * End-to-end protected call media (TS 33.179 7.5, docs/media.md "SIP private calls"): `true` makes an
   * E2EE manager, or pass your own (it is not disposed on disconnect). Default: on when this
   * browser offers an encoded-transform API and no `sessionDescriptionHandlerFactory` is given.
   * Cannot be combined with `sessionDescriptionHandlerFactory`.
   */
  readonly e2ee?: boolean | E2eeManager;
  /** How long an incoming call rings before 480 (default 30 s). */
  readonly ringTimeoutMs?: number;
  /** How long to wait for the identity keys (default 30 s). */
  readonly keysTimeoutMs?: number;
  /** Group calls (docs/group-calls.md). */
  readonly groupCalls?: GroupCallConnectOptions;
  /** Token + CSK in the REGISTER body (5.6.2.1, default) or in a PUBLISH to the MCPTT server (5.6.2.2). */
  readonly serviceAuthorization?: 'register' | 'publish';
  /** TS 33.179 9.3: MCPTT IDs, group IDs and the token hidden from the SIP core under the CSK (default false). */
  readonly xmlProtection?: boolean;
}

/** How group calls are set up (all optional). */
export interface GroupCallConnectOptions {
  /** Floor control participant (src/floor by default). */
  readonly floor?: FloorControlFactory;
  /** The deployment allows floor control without protection when there is no CSK (default false). */
  readonly unprotectedFloor?: boolean;
  /** TS 33.179 9.3 hook: rewrites the INVITE's mcptt-info XML (e.g. encrypts it under the CSK). */
  readonly protectInfo?: (xml: string) => Promise<string>;
  /** Playback (Web Audio by default). */
  readonly audio?: CallAudioFactory;
}

/** 9.3 for the group call INVITE: no CSK (yet) → a typed refusal, never the mcpttinfo in clear. */
function protectUnderCsk(xml: string, csk: { readonly key: Uint8Array; readonly keyId: Uint8Array } | undefined, mcpttId: string | undefined): Promise<string> {
  if (csk === undefined || mcpttId === undefined) return Promise.reject(new XmlProtectError('ERR_XML_PROTECT_UNKNOWN_KEY', 'no CSK to protect the call setup with'));
  return protectMcpttInfo(xml, csk, mcpttId);
}

const SIGNALLING_EVENTS: readonly (keyof SignallingEvents)[] = Object.freeze([
  'registration',
  'registration-failed',
  'disconnected',
  'authorization-degraded',
  'csk',
  'group-key',
  'group-key-refused',
  'group-pull',
  'incoming-call',
  'call-keys',
  'call-failed',
  'call-ended',
] as const);

export interface McpttClient {
  readonly state: McpttClientState;
  /** Starts an OIDC login ('redirect' navigates away; 'popup' resolves when done). */
  login(mode?: 'redirect' | 'popup'): Promise<void>;
  /** On the redirect URI page: finishes the login, then provisions keys. */
  completeLogin(url?: string): Promise<void>;
  /** After a page load: resumes a stored session (and provisions) if there is one. */
  restore(): Promise<boolean>;
  /** The state of the identity keys. */
  keyStatus(): ProvisioningStatus;
  /** The signed-in user's identity with its keys by period (for the MIKEY receive path). */
  identity(): LocalIdentity | undefined;
  /** The key store, once signed in (GMKs, PCKs and CSKs are kept there too). */
  keyStore(): KeyStore | undefined;
  /** Fetches keys again now (e.g. after connectivity returns). */
  refreshKeys(): Promise<ProvisioningStatus>;
  on<E extends keyof McpttClientEvents>(event: E, listener: (...args: McpttClientEvents[E]) => void): () => void;
  /**
   * Waits for the identity keys, then registers with the SIP core (access token + CSK) and,
   * with `gmsUrl`, pulls the group keys. Resolves when registered.
   */
  connect(options: McpttConnectOptions): Promise<void>;
  /**
   * Private call to an MCPTT ID with a fresh PCK; resolves when answered. While connect() is
   * still pulling group keys after the REGISTER, it waits for connect() to finish.
   */
  call(mcpttId: string): Promise<PrivateCall>;
  /**
   * Joins a group's call (one per group; joining again returns the same call). Resolves once
   * joined; media is end-to-end protected under the group's GMK (docs/group-calls.md). Like
   * call(), it waits for a connect() still under way, and fails with
   * ERR_SIGNALLING_INVALID_STATE without one.
   */
  joinGroup(groupId: string, options?: JoinGroupOptions): Promise<GroupCall>;
  /** The group calls joining or joined now. */
  groupCalls(): readonly GroupCall[];
  /** The running signalling session (pull, CSK renewal, call preparation), if connected. */
  signalling(): SignallingSession | undefined;
  /** The E2EE manager protecting call media (counters, events), if connected with E2EE. */
  media(): E2eeManager | undefined;
  /** Hangs up, unregisters and closes the SIP connection; idempotent. */
  disconnect(): Promise<void>;
  /** Signs out (disconnecting first); `clearKeys: true` also wipes the key store of this origin. */
  logout(options?: { readonly clearKeys?: boolean; readonly redirect?: boolean }): Promise<void>;
}

export function createMcpttClient(o: McpttClientOptions): McpttClient {
  const auth: McpttAuth = createMcpttAuth(o.idms);
  const listeners = new Map<keyof McpttClientEvents, Set<unknown>>();
  let session: SignallingSession | undefined;
  let sessionOff: (() => void)[] = [];
  let state: McpttClientState = 'signed-out';
  let store: KeyStore | undefined;
  let provisioner: KeyProvisioner | undefined;
  let unsubscribeKeys: (() => void) | undefined;
  let media: { readonly manager: E2eeManager; readonly owned: boolean } | undefined;
  let groups: GroupCallManager | undefined;
  /** The session's start (REGISTER, then the group pull) while connect() runs. */
  let starting: Promise<void> | undefined;
  /**
   * The session once it runs. A call made between "registered" and the end of the group pull
   * (what a user sees as connected) waits for the start instead of failing.
   */
  async function runningSession(what: string): Promise<SignallingSession> {
    if (session?.state === 'starting' && starting !== undefined) await starting.catch(() => undefined);
    if (session === undefined || session.state !== 'running') throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', `connect() before ${what}()`);
    return session;
  }
  let ownedCrypto: CryptoWorkerClient | undefined;

  /** The identity crypto to hand down, started on first need; undefined: in-thread. */
  function identityCrypto(): IdentityCrypto | undefined {
    const c = o.cryptoWorker ?? cryptoWorkerSupported();
    if (c === false) return undefined;
    if (c !== true) return c;
    ownedCrypto ??= createCryptoWorkerClient();
    return ownedCrypto;
  }

  function emit<E extends keyof McpttClientEvents>(event: E, ...args: McpttClientEvents[E]): void {
    for (const l of [...(listeners.get(event) ?? [])] as ((...a: McpttClientEvents[E]) => void)[]) {
      try {
        l(...args);
      } catch {
        // An app listener's failure must not break the client.
      }
    }
  }

  async function transportKeysFor(s: KeyStore, mcpttId: string): Promise<{ adapter: KmsTransportKeyStore; bootstrapId: string | undefined }> {
    const boot = o.kms.bootstrapTransportKey?.(mcpttId);
    if (boot !== undefined && (await s.getTransportKey(boot.id)) === undefined) {
      await s.putTransportKey({ id: boot.id, kind: 'TrK', key: boot.key, storedAt: (o.now ?? Date.now)() });
    }
    const adapter: KmsTransportKeyStore = {
      get: async (id) => (await s.getTransportKey(id))?.key,
      put: (id, key, kind) => s.putTransportKey({ id, kind, key, storedAt: (o.now ?? Date.now)() }),
    };
    return { adapter, bootstrapId: boot?.id };
  }

  async function signedIn(session: McpttSession): Promise<void> {
    store ??= await openKeyStore(o.keyStore);
    const { adapter, bootstrapId } = await transportKeysFor(store, session.mcpttId);
    const crypto = identityCrypto();
    const kms = createKmsClient({
      baseUrl: o.kms.baseUrl,
      kmsUri: o.kms.kmsUri,
      identity: session.mcpttId,
      accessToken: () => auth.accessToken(),
      security: o.kms.security ? 'required' : 'none',
      transportKeys: adapter,
      ...(bootstrapId !== undefined ? { transportKeyId: bootstrapId } : {}),
      ...(crypto ? { identityCrypto: crypto } : {}),
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.now ? { now: o.now } : {}),
    });
    provisioner?.stop();
    unsubscribeKeys?.();
    provisioner = createKeyProvisioner({ identity: session.mcpttId, kmsUri: o.kms.kmsUri, kms, store, ...(o.now ? { now: o.now } : {}) });
    unsubscribeKeys = provisioner.on('status', (s) => emit('keys', s));
    state = 'signed-in';
    emit('state', state);
    await provisioner.start();
  }

  /** Resolves once the provisioner holds keys; rejects when provisioning failed or stopped. */
  function keysReady(timeoutMs: number): Promise<void> {
    const p = provisioner;
    if (p === undefined) return Promise.reject(new AuthError('ERR_AUTH_NOT_LOGGED_IN', 'sign in before connecting'));
    if (p.identity() !== undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (e?: unknown): void => {
        clearTimeout(timer);
        off();
        if (e === undefined) resolve();
        else reject(e);
      };
      const timer = setTimeout(() => done(new SignallingError('ERR_SIGNALLING_NO_IDENTITY', 'the identity keys did not arrive in time')), timeoutMs);
      const off = p.on('status', (st) => {
        if (p.identity() !== undefined) done();
        else if (st.state === 'failed' || st.state === 'stopped') done(new SignallingError('ERR_SIGNALLING_NO_IDENTITY', `no identity keys (${st.state})`));
      });
    });
  }

  function forward<E extends keyof SignallingEvents>(s: SignallingSession, name: E): () => void {
    // McpttClientEvents extends SignallingEvents, so the arguments are the same tuple; TS
    // cannot see that through the generic index.
    return s.on(name, (...args: SignallingEvents[E]) => {
      // Nobody in the app to ring: refuse at once rather than let the caller wait out the ring time.
      if (name === 'incoming-call' && (listeners.get('incoming-call')?.size ?? 0) === 0) {
        (args as SignallingEvents['incoming-call'])[0].reject('unavailable');
        return;
      }
      emit(name, ...(args as McpttClientEvents[E]));
    });
  }

  async function disconnect(): Promise<void> {
    const s = session;
    session = undefined;
    const g = groups;
    groups = undefined;
    await g?.stop();
    await s?.stop();
    for (const off of sessionOff.splice(0)) off();
    if (media?.owned) media.manager.dispose();
    media = undefined;
  }

  return {
    get state() {
      return state;
    },
    async login(mode = 'redirect') {
      const session = await auth.login(mode);
      if (session !== undefined) await signedIn(session);
    },
    async completeLogin(url) {
      await signedIn(await auth.completeLogin(url));
    },
    async restore() {
      const session = await auth.session();
      if (session === undefined) return false;
      await signedIn(session);
      return true;
    },
    keyStatus: () => provisioner?.status() ?? { state: 'idle' },
    identity: () => provisioner?.identity(),
    keyStore: () => store,
    async refreshKeys() {
      if (provisioner === undefined) throw new AuthError('ERR_AUTH_NOT_LOGGED_IN', 'sign in before fetching keys');
      return provisioner.refresh();
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (set === undefined) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
    async connect(c) {
      if (state !== 'signed-in' || store === undefined) throw new AuthError('ERR_AUTH_NOT_LOGGED_IN', 'sign in before connecting');
      if (session !== undefined) throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', 'already connected');
      await keysReady(c.keysTimeoutMs ?? 30_000);
      if (session !== undefined) throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', 'already connected');
      const e2ee = c.e2ee ?? (c.sessionDescriptionHandlerFactory === undefined && detectE2eeMode() !== undefined);
      if (e2ee !== false && c.sessionDescriptionHandlerFactory !== undefined) throw new TypeError('e2ee and sessionDescriptionHandlerFactory cannot be combined');
      const m = e2ee === false ? undefined : e2ee === true ? { manager: await createE2eeManager(), owned: true } : { manager: e2ee, owned: false };
      if (session !== undefined) {
        if (m?.owned) m.manager.dispose();
        throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', 'already connected');
      }
      media = m;
      const crypto = identityCrypto();
      // Group call sessions are told apart by this registry: their INVITE carries the group
      // in mcptt-info and their sender is protected under the group's GMK.
      const groupSessions = new GroupCallSessions();
      const sdhFactory =
        m === undefined
          ? c.sessionDescriptionHandlerFactory
          : groupCallSessionDescriptionHandlerFactory(
              e2eeSessionDescriptionHandlerFactory({ manager: m.manager, contextOf: (sn) => groupSessions.contextOf(sn) ?? { kind: 'private', callId: sn.id } }),
              groupSessions,
            );
      const s = createSignallingSession({
        sipServer: c.sipServer,
        mcpttServerUri: c.mcpttServerUri,
        gmsUris: c.gmsUris,
        ...(c.gmsUrl !== undefined ? { gmsUrl: c.gmsUrl } : {}),
        identity: () => provisioner?.identity(),
        tokens: { accessToken: () => auth.accessToken(), onRefresh: (l) => auth.on('session', () => l()) },
        store,
        ...(sdhFactory ? { sessionDescriptionHandlerFactory: sdhFactory } : {}),
        ...(c.sessionDescriptionHandlerFactoryOptions ? { sessionDescriptionHandlerFactoryOptions: c.sessionDescriptionHandlerFactoryOptions } : {}),
        ...(c.ringTimeoutMs !== undefined ? { ringTimeoutMs: c.ringTimeoutMs } : {}),
        ...(c.serviceAuthorization !== undefined ? { serviceAuthorization: c.serviceAuthorization } : {}),
        ...(c.xmlProtection === true ? { xmlProtection: true } : {}),
        ...(crypto ? { identityCrypto: crypto } : {}),
        ...(o.now ? { now: o.now } : {}),
        ...(o.fetch ? { fetch: o.fetch } : {}),
      });
      session = s;
      sessionOff = SIGNALLING_EVENTS.map((name) => forward(s, name));
      const g = new GroupCallManager({
        ua: () => s.sipUserAgent(),
        mcpttId: () => provisioner?.identity()?.uri,
        mcpttServerUri: c.mcpttServerUri,
        media: m?.manager,
        sessions: groupSessions,
        csk: () => s.csk(),
        floor: c.groupCalls?.floor ?? srcFloorControl(),
        ...(c.groupCalls?.unprotectedFloor !== undefined ? { unprotectedFloor: c.groupCalls.unprotectedFloor } : {}),
        // TS 33.179 9.3: the call setup's group ID and calling user encrypted and signed under the CSK.
        ...(c.groupCalls?.protectInfo
          ? { protectInfo: c.groupCalls.protectInfo }
          : c.xmlProtection === true
            ? { protectInfo: (xml: string) => protectUnderCsk(xml, s.csk(), provisioner?.identity()?.uri) }
            : {}),
        ...(c.groupCalls?.audio ? { audio: c.groupCalls.audio } : {}),
        ...(o.now ? { now: o.now } : {}),
      });
      groups = g;
      if (m !== undefined) {
        // GMKs to the media layer (TS 33.179 7.3.2): stored ones now, new and revoked ones as
        // they come, each read from the store when its turn comes (gmk-feed.ts).
        const feed = createGmkFeed({ store, media: m.manager, onChanged: (groupId) => g.keysChanged(groupId) });
        void feed.loadStored();
        sessionOff.push(s.on('group-key', (info) => void feed.changed(info.groupId, info.gmkId)));
      }
      if (m !== undefined) {
        // The call's PCK to the media layer; until it is there, frames are dropped (never clear).
        sessionOff.push(
          s.on('call-keys', (call) => void m.manager.setKey(call.keys(), { callId: call.id, role: privateCallRole(call.direction) }).catch(() => undefined)),
          s.on('call-ended', (call) => void m.manager.removeContext({ kind: 'private', callId: call.id }).catch(() => undefined)),
        );
      }
      try {
        starting = s.start();
        await starting;
      } catch (e) {
        if (session === s) await disconnect();
        throw e;
      }
    },
    async call(mcpttId) {
      return (await runningSession('call')).call(mcpttId);
    },
    async joinGroup(groupId, options) {
      await runningSession('joinGroup');
      if (groups === undefined) throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', 'connect() before joinGroup()');
      return groups.join(groupId, options);
    },
    groupCalls: () => groups?.calls() ?? [],
    signalling: () => (session?.state === 'running' ? session : undefined),
    media: () => media?.manager,
    disconnect,
    async logout(options = {}) {
      await disconnect();
      provisioner?.stop();
      unsubscribeKeys?.();
      provisioner = undefined;
      if (options.clearKeys) await store?.clear();
      store?.close();
      store = undefined;
      // The worker holds prepared receivers derived from the RSK: gone with the session.
      ownedCrypto?.dispose();
      ownedCrypto = undefined;
      state = 'signed-out';
      emit('state', state);
      await auth.logout({ redirect: options.redirect ?? false });
    },
  };
}
