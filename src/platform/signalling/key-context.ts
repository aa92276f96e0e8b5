/**
 * The receive side shared by GMK notifications (TS 33.179 7.3.2 step 2), the group
 * configuration pull (5.6.1 step C-5) and private call offers (7.4.1): one identity, the
 * MIKEY receivers bound to it, and the index of keys already held that the duplicate check
 * of 7.3.2 ("check that the GMK-ID is not a duplicate for an existing GMK") reads.
 *
 * The receiver asks `existingKey` synchronously, while the key store (IndexedDB) answers
 * asynchronously: the index is a synchronous mirror, loaded from the store when the session
 * starts, updated on every store write made here (`putMediaKey`) and reloaded when another
 * tab changes the store. The store's own 'changed' events for writes made here are not
 * reloads: reading and decrypting every held key after each of 100+ GMK writes at login made
 * the login quadratic. Reloads never overlap; changes heard during one cause one more.
 * Whoever stores still asks the store itself before writing (see group-keys.ts), so a stale
 * mirror can never let a duplicate through.
 */
import {
  createMemoryReplayCache,
  createMikeyKeyReceiver,
  type DistributedKeyKind,
  type KeyProfileName,
  type KmsPublicParameters,
  type LocalIdentity,
  type MikeyKeyReceiver,
  type ReceivedKey,
  type ReplayCache,
} from '../../keys/index.js';
import type { IdentityCrypto } from '../../crypto/heavy.js';
import { bytesToHex, equalBytes } from '../../util/bytes.js';
import { SignallingError } from './errors.js';

/** What the signalling layer needs of the key store (src/platform/key-store `KeyStore` fits). */
export interface MediaKeyStore {
  putMediaKey(r: ReceivedKey): Promise<void>;
  getMediaKey(kind: DistributedKeyKind, keyId: Uint8Array): Promise<ReceivedKey | undefined>;
  mediaKeys(filter?: { readonly kind?: DistributedKeyKind; readonly groupId?: string }): Promise<ReceivedKey[]>;
  /** `origin` 'local': a write through this store object (told before it resolves); absent: unknown. */
  on?(event: 'changed', listener: (what: string, origin?: 'local' | 'remote') => void): () => void;
}

export interface KeyContextOptions {
  /** The signed-in user's identity with keys by period; read at each use (keys roll over). */
  readonly identity: () => LocalIdentity | undefined;
  readonly store: MediaKeyStore;
  /** URIs allowed to sign GMKs (7.3.2 "verify that the GMS is authorized"). */
  readonly gmsUris: readonly string[];
  /** Public parameters of other KMSs (callers or a GMS from another domain). */
  readonly kmsFor?: (kmsUri: string) => KmsPublicParameters | undefined;
  readonly profile?: KeyProfileName;
  readonly now?: () => number;
  readonly replayCache?: ReplayCache;
  /** Where ECCSI verification and SAKKE decapsulation run (a crypto worker in browsers); default in-thread. */
  readonly identityCrypto?: IdentityCrypto;
}

const INDEXED_KINDS: readonly DistributedKeyKind[] = ['GMK', 'PCK'];

function sameKms(a: KmsPublicParameters, b: KmsPublicParameters): boolean {
  return (
    a.kmsUri === b.kmsUri && a.userKeyPeriod === b.userKeyPeriod && a.userKeyOffset === b.userKeyOffset && equalBytes(a.z, b.z) && equalBytes(a.kpak, b.kpak)
  );
}

/** Receivers for one identity: `strict` (duplicates refused, replays tracked) and `pull`. */
interface Receivers {
  readonly uri: string;
  readonly kms: KmsPublicParameters;
  readonly strict: MikeyKeyReceiver;
  readonly pull: MikeyKeyReceiver;
}

export class KeyContext {
  readonly store: MediaKeyStore;
  readonly #o: KeyContextOptions;
  readonly #held = new Map<string, Uint8Array>();
  readonly #replayCache: ReplayCache;
  #receivers: Receivers | undefined;
  #unsubscribe: (() => void) | undefined;
  #loading: Promise<void> | undefined;
  #reloadAgain = false;
  #ownWrites = 0;

  constructor(o: KeyContextOptions) {
    if (typeof o.identity !== 'function') throw new TypeError('identity must be a function');
    if (!Array.isArray(o.gmsUris) || o.gmsUris.some((u) => typeof u !== 'string' || u.length === 0)) throw new TypeError('gmsUris must be a list of URIs');
    this.#o = o;
    this.store = o.store;
    this.#replayCache = o.replayCache ?? createMemoryReplayCache();
  }

  get profile(): KeyProfileName {
    return this.#o.profile ?? 'ts33180';
  }

  /** The crypto worker (or other `IdentityCrypto`) the session runs identity-key operations in, if any. */
  get identityCrypto(): IdentityCrypto | undefined {
    return this.#o.identityCrypto;
  }

  now(): number {
    return (this.#o.now ?? Date.now)();
  }

  kmsFor(kmsUri: string): KmsPublicParameters | undefined {
    const own = this.#o.identity()?.kms;
    if (own !== undefined && own.kmsUri === kmsUri) return own;
    return this.#o.kmsFor?.(kmsUri);
  }

  /** The identity now; throws when there are no keys. */
  identity(): LocalIdentity {
    const id = this.#o.identity();
    if (id === undefined) throw new SignallingError('ERR_SIGNALLING_NO_IDENTITY', 'no identity keys: sign in and provision keys first');
    return id;
  }

  /** Loads the held-key mirror and follows the store's changes (other tabs). */
  async open(): Promise<void> {
    this.#unsubscribe ??= this.store.on?.('changed', (what, origin) => {
      if (what !== 'mediaKey' && what !== 'cleared') return;
      // Our own write, already in the mirror (putMediaKey records it).
      if (what === 'mediaKey' && origin === 'local' && this.#ownWrites > 0) return;
      if (this.#loading !== undefined) this.#reloadAgain = true;
      else void this.reload().catch(() => {});
    });
    await this.reload();
  }

  /** Stores a key through this context: the mirror learns it without re-reading the store. */
  async putMediaKey(r: ReceivedKey): Promise<void> {
    this.#ownWrites++;
    try {
      await this.store.putMediaKey(r);
      this.held(r);
    } finally {
      this.#ownWrites--;
    }
  }

  reload(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const next = new Map<string, Uint8Array>();
        for (const kind of INDEXED_KINDS) for (const r of await this.store.mediaKeys({ kind })) next.set(indexKey(kind, r.keyId), r.key);
        // Keep what was added here meanwhile: a write that raced the reload is real.
        for (const [k, v] of this.#held) if (!next.has(k)) next.set(k, v);
        this.#held.clear();
        for (const [k, v] of next) this.#held.set(k, v);
      } finally {
        this.#loading = undefined;
        // A change heard while reading may not be in what was read: one more pass.
        if (this.#reloadAgain) {
          this.#reloadAgain = false;
          void this.reload().catch(() => {});
        }
      }
    })();
    return this.#loading;
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#held.clear();
    this.#receivers = undefined;
  }

  /** Records a key just stored. */
  held(r: ReceivedKey): void {
    if (INDEXED_KINDS.includes(r.kind)) this.#held.set(indexKey(r.kind, r.keyId), r.key);
  }

  /**
   * `strict`: notifications and INVITEs (7.3.2 duplicate check, PCK replay cache).
   * `pull`: the group configuration pull, which legitimately hands back keys we hold; the
   * caller compares with the store instead (group-keys.ts).
   */
  receiver(mode: 'strict' | 'pull'): MikeyKeyReceiver {
    const id = this.identity();
    let r = this.#receivers;
    if (r === undefined || r.uri !== id.uri || !sameKms(r.kms, id.kms)) {
      // A proxy self: keys are looked up at each use, so a key period rollover needs no rebuild.
      const get = this.#o.identity;
      const self: LocalIdentity = { uri: id.uri, kms: id.kms, keysForPeriod: (n) => get()?.keysForPeriod(n) };
      const common = {
        self,
        gmsUris: [...this.#o.gmsUris],
        kmsFor: (uri: string) => this.kmsFor(uri),
        profile: this.profile,
        ...(this.#o.now ? { now: this.#o.now } : {}),
        ...(this.#o.identityCrypto ? { identityCrypto: this.#o.identityCrypto } : {}),
      };
      r = {
        uri: id.uri,
        kms: id.kms,
        strict: createMikeyKeyReceiver({ ...common, replayCache: this.#replayCache, existingKey: (kind, keyId) => this.#existing(kind, keyId) }),
        pull: createMikeyKeyReceiver(common),
      };
      this.#receivers = r;
    }
    return mode === 'strict' ? r.strict : r.pull;
  }

  #existing(kind: DistributedKeyKind, keyId: Uint8Array): { readonly key: Uint8Array } | undefined {
    const key = this.#held.get(indexKey(kind, keyId));
    return key === undefined ? undefined : { key };
  }
}

function indexKey(kind: DistributedKeyKind, keyId: Uint8Array): string {
  return `${kind}:${bytesToHex(keyId)}`;
}
