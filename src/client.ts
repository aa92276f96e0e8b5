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
 * Events are typed; `on` returns an unsubscribe function; a throwing listener harms no one.
 * Nothing here logs, and no event carries a key, a token or the MCPTT ID.
 */
import { AuthError } from './errors.js';
import type { LocalIdentity } from './keys/identity.js';
import { createMcpttAuth, type McpttAuth, type McpttAuthOptions, type McpttSession } from './platform/auth/index.js';
import { openKeyStore, type KeyStore, type KeyStoreOptions } from './platform/key-store/index.js';
import { createKmsClient, type KmsTransportKeyStore } from './platform/kms/index.js';
import { createKeyProvisioner, type KeyProvisioner, type ProvisioningStatus } from './platform/provisioning.js';

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
  /** Adapters for tests: clock and fetch. */
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

export type McpttClientState = 'signed-out' | 'signed-in';

export interface McpttClientEvents {
  state: [state: McpttClientState];
  keys: [status: ProvisioningStatus];
}

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
  /** Signs out; `clearKeys: true` also wipes the key store of this origin. */
  logout(options?: { readonly clearKeys?: boolean; readonly redirect?: boolean }): Promise<void>;
}

export function createMcpttClient(o: McpttClientOptions): McpttClient {
  const auth: McpttAuth = createMcpttAuth(o.idms);
  const listeners: { [E in keyof McpttClientEvents]: Set<(...a: McpttClientEvents[E]) => void> } = { state: new Set(), keys: new Set() };
  let state: McpttClientState = 'signed-out';
  let store: KeyStore | undefined;
  let provisioner: KeyProvisioner | undefined;
  let unsubscribeKeys: (() => void) | undefined;

  function emit<E extends keyof McpttClientEvents>(event: E, ...args: McpttClientEvents[E]): void {
    for (const l of [...listeners[event]] as ((...a: McpttClientEvents[E]) => void)[]) {
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
    const kms = createKmsClient({
      baseUrl: o.kms.baseUrl,
      kmsUri: o.kms.kmsUri,
      identity: session.mcpttId,
      accessToken: () => auth.accessToken(),
      security: o.kms.security ? 'required' : 'none',
      transportKeys: adapter,
      ...(bootstrapId !== undefined ? { transportKeyId: bootstrapId } : {}),
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
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => set.delete(listener);
    },
    async logout(options = {}) {
      provisioner?.stop();
      unsubscribeKeys?.();
      provisioner = undefined;
      if (options.clearKeys) await store?.clear();
      store?.close();
      store = undefined;
      state = 'signed-out';
      emit('state', state);
      await auth.logout({ redirect: options.redirect ?? false });
    },
  };
}
