/**
 * The key store: IndexedDB (through `idb`) for the key material an MCPTT client keeps
 * between page loads — the KMS certificate and key sets of TS 33.179 7.2 / Annex D, the
 * transport keys of the Annex D security extension, and the GMKs, PCKs and CSKs received
 * per 7.3, 7.4 and 9.1.3. Every secret is sealed under the at-rest key (at-rest.ts) before
 * it reaches IndexedDB; the schema and its migrations are in schema.ts.
 *
 * Connection states (every transition is one-way; any state but `open` refuses all calls):
 *
 *             close()
 *   open ───────────────────────────────► closed        ERR_STORE_UNAVAILABLE
 *     │  versionchange (another tab upgrades or deletes the database: we close at once
 *     │  so that it is not blocked)
 *     ├─────────────────────────────────► superseded    ERR_STORE_VERSION (open again)
 *     │  'close' event (the browser dropped the connection, e.g. site data cleared)
 *     └─────────────────────────────────► lost          ERR_STORE_UNAVAILABLE
 *
 * Tabs: IndexedDB serializes read-write transactions over the same stores, so each write
 * (one record and the at-rest key row, in one transaction) is whole or absent. A write
 * checks, inside its transaction, that the at-rest key it sealed with is still the stored
 * one — another tab may have run clear() meanwhile — and seals again when it is not, so no
 * record is ever written under a key the store no longer holds. Change notices reach other
 * tabs through a BroadcastChannel where one exists; they name a kind of record only.
 */
import { unwrap, wrap, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { McpttError, StoreError } from '../../errors.js';
import type { ReceivedKey } from '../../keys/receive.js';
import { equalBytes } from '../../util/bytes.js';
import {
  atRestKeyOf,
  checkMediaKeyKind,
  generateAtRestKeyRecord,
  mediaKeyPrimaryKey,
  openCertificate,
  openKeySet,
  openMediaKey,
  openTransportKey,
  sealCertificate,
  sealKeyId,
  sealKeySet,
  sealMediaKey,
  sealTransportKey,
  type AtRestKey,
} from './at-rest.js';
import {
  DEFAULT_KEY_STORE_NAME,
  KEY_STORE_SCHEMA_VERSION,
  KEY_STORE_STORES,
  upgradeSchema,
  type KeyStoreSchema,
  type KeyStoreStoreName,
  type MediaKeyKind,
  type StoredKeySet,
  type StoredKmsCertificate,
  type StoredTransportKey,
} from './schema.js';

/** What changed, as told to `on('changed')` listeners (never which record: no identities). */
export type KeyStoreChange = 'certificate' | 'keySet' | 'transportKey' | 'mediaKey' | 'cleared';

/** Who made a change: this store object ('local', told before its write resolves) or another tab. */
export type KeyStoreChangeOrigin = 'local' | 'remote';

export interface MediaKeyFilter {
  readonly kind?: MediaKeyKind;
  readonly groupId?: string;
}

export interface PruneOptions {
  /** Unix ms. */
  readonly now: number;
  /** How long key sets and media keys are kept after their period ends, ms. */
  readonly graceMs: number;
}

export interface PruneResult {
  readonly keySets: number;
  readonly mediaKeys: number;
}

/**
 * Failures: `ERR_STORE_UNAVAILABLE` (closed, no IndexedDB, quota, I/O), `ERR_STORE_VERSION`
 * (another tab upgraded the database, or it is newer than this code), `ERR_STORE_CORRUPT`
 * (a record or the at-rest key failed its integrity check; nothing of it is returned).
 * Argument misuse is a TypeError/RangeError before anything is written.
 */
export interface KeyStore {
  putCertificate(c: StoredKmsCertificate): Promise<void>;
  getCertificate(kmsUri: string): Promise<StoredKmsCertificate | undefined>;
  putKeySet(s: StoredKeySet): Promise<void>;
  getKeySet(identity: string, keyPeriodNo: number): Promise<StoredKeySet | undefined>;
  /** All key sets of `identity`, in key period order. */
  keySets(identity: string): Promise<StoredKeySet[]>;
  putTransportKey(k: StoredTransportKey): Promise<void>;
  getTransportKey(id: string): Promise<StoredTransportKey | undefined>;
  /** Stores or replaces (a revocation replaces the active record) the key of `r.kind` and `r.keyId`. */
  putMediaKey(r: ReceivedKey): Promise<void>;
  getMediaKey(kind: MediaKeyKind, keyId: Uint8Array): Promise<ReceivedKey | undefined>;
  mediaKeys(filter?: MediaKeyFilter): Promise<ReceivedKey[]>;
  /**
   * Deletes key sets whose `validTo + graceMs` is before `now`, and media keys that are
   * revoked, past their `expiryTime`, or whose `keyPeriodEndsAt + graceMs` is before `now`.
   */
  prune(o: PruneOptions): Promise<PruneResult>;
  /** Logout: deletes every record and the at-rest key (a later write makes a new one). */
  clear(): Promise<void>;
  close(): void;
  /** Local changes and, where BroadcastChannel exists, changes made by other tabs. */
  on(event: 'changed', listener: (what: KeyStoreChange, origin: KeyStoreChangeOrigin) => void): () => void;
}

export interface KeyStoreOptions {
  /** IndexedDB database name; default 'mcptt-sdk'. */
  readonly name?: string;
  /** Default: `globalThis.indexedDB`. Its objects must be the global IDB classes (idb checks `instanceof`). */
  readonly indexedDB?: IDBFactory;
  /** Default: `globalThis.crypto.subtle`. */
  readonly subtle?: SubtleCrypto;
  /** Clock, unix ms; default `Date.now`. */
  readonly now?: () => number;
}

/** How the open behaves under contention; only tests change it. */
export interface KeyStoreOpenTuning {
  /** How long to wait for tabs holding an older version open to close it. */
  readonly blockedTimeoutMs: number;
}

export const DEFAULT_KEY_STORE_OPEN_TUNING: KeyStoreOpenTuning = Object.freeze({ blockedTimeoutMs: 10_000 });

/** Opens (creating or upgrading as needed) the key store, and its at-rest key. */
export function openKeyStore(o: KeyStoreOptions = {}): Promise<KeyStore> {
  return openKeyStoreWith(o, DEFAULT_KEY_STORE_OPEN_TUNING);
}

/** `openKeyStore` with its timing exposed (not re-exported by the package). */
export async function openKeyStoreWith(o: KeyStoreOptions, tuning: KeyStoreOpenTuning): Promise<KeyStore> {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  const name = o.name ?? DEFAULT_KEY_STORE_NAME;
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty string');
  const now = o.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('now must be a function');
  if (!Number.isFinite(tuning.blockedTimeoutMs) || tuning.blockedTimeoutMs < 0) throw new RangeError('blockedTimeoutMs must be a non-negative number');
  const factory = o.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined || typeof factory.open !== 'function') throw new StoreError('ERR_STORE_UNAVAILABLE', 'IndexedDB is not available in this context');
  const subtle = o.subtle ?? globalThis.crypto?.subtle;
  if (subtle === undefined || typeof subtle.encrypt !== 'function') throw new StoreError('ERR_STORE_UNAVAILABLE', 'Web Crypto is not available in this context');

  const raw = await openDatabase(factory, name, tuning.blockedTimeoutMs);
  const store = new IdbKeyStore(raw, name, subtle, now);
  try {
    await store.init();
  } catch (e) {
    store.close();
    throw e;
  }
  return store;
}

// ---------------------------------------------------------------------------------------

const noop = (): void => undefined;
const CHANGES: readonly KeyStoreChange[] = ['certificate', 'keySet', 'transportKey', 'mediaKey', 'cleared'];
/** A write re-seals when another tab replaced the at-rest key; this many times at most. */
const WRITE_ATTEMPTS = 3;
const WRITE_OPTIONS = Object.freeze({ durability: 'strict' as const });

type State = 'open' | 'closed' | 'superseded' | 'lost';
type Db = IDBPDatabase<KeyStoreSchema>;
type WriteTx = IDBPTransaction<KeyStoreSchema, KeyStoreStoreName[], 'readwrite'>;

/** idb creates every transaction's `done` promise eagerly; an aborted one must not go unhandled. */
function quiet<T extends { readonly done: Promise<void> }>(tx: T): T {
  tx.done.catch(noop);
  return tx;
}

function openDatabase(factory: IDBFactory, name: string, blockedTimeoutMs: number): Promise<IDBDatabase> {
  return new Promise<IDBDatabase>((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, KEY_STORE_SCHEMA_VERSION);
    } catch (e) {
      // Opaque origins and some private modes throw here.
      reject(new StoreError('ERR_STORE_UNAVAILABLE', 'IndexedDB refused to open the key store', { cause: e }));
      return;
    }
    let gaveUp = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let upgradeFailure: unknown;
    request.onupgradeneeded = (event) => {
      const rawTx = request.transaction!;
      try {
        const tx = quiet(wrap(rawTx)) as unknown as IDBPTransaction<unknown, string[], 'versionchange'>;
        upgradeSchema(wrap(request.result), tx, event.oldVersion, event.newVersion ?? KEY_STORE_SCHEMA_VERSION);
      } catch (e) {
        // Aborting leaves the database at its old version, untouched.
        upgradeFailure = e ?? new Error('migration failed');
        rawTx.abort();
      }
    };
    request.onblocked = () => {
      // Tabs running this code close on versionchange; one that does not (old code, a
      // debugger pause) would keep the open pending for ever.
      timer ??= setTimeout(() => {
        gaveUp = true;
        reject(new StoreError('ERR_STORE_VERSION', 'another tab keeps an older version of the key store open'));
      }, blockedTimeoutMs);
    };
    request.onsuccess = () => {
      clearTimeout(timer);
      if (gaveUp) {
        request.result.close();
        return;
      }
      resolve(request.result);
    };
    request.onerror = () => {
      clearTimeout(timer);
      if (gaveUp) return;
      const error = request.error;
      if (upgradeFailure !== undefined) {
        reject(new StoreError('ERR_STORE_VERSION', 'the schema upgrade of the key store failed', { cause: upgradeFailure }));
      } else if (error?.name === 'VersionError') {
        reject(new StoreError('ERR_STORE_VERSION', `the key store is at a schema version newer than ${KEY_STORE_SCHEMA_VERSION} (a newer SDK upgraded it)`));
      } else {
        reject(new StoreError('ERR_STORE_UNAVAILABLE', 'IndexedDB could not open the key store', { cause: error }));
      }
    };
  });
}

function reportListenerError(e: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (typeof report === 'function') report(e);
  else
    setTimeout(() => {
      throw e;
    }, 0);
}

class IdbKeyStore implements KeyStore {
  #state: State = 'open';
  readonly #db: Db;
  readonly #subtle: SubtleCrypto;
  readonly #now: () => number;
  readonly #listeners = new Set<(what: KeyStoreChange, origin: KeyStoreChangeOrigin) => void>();
  #channel: BroadcastChannel | undefined;
  /** The at-rest key as last read; dropped whenever it may be stale. */
  #key: AtRestKey | undefined;
  /** A load-or-create in progress, shared so that concurrent writes make one key, not many. */
  #keyForWrite: Promise<AtRestKey> | undefined;

  constructor(raw: IDBDatabase, name: string, subtle: SubtleCrypto, now: () => number) {
    this.#db = wrap(raw) as unknown as Db;
    this.#subtle = subtle;
    this.#now = now;
    raw.addEventListener('versionchange', () => this.#shutdown('superseded'));
    raw.addEventListener('close', () => this.#shutdown('lost'));
    if (typeof BroadcastChannel === 'function') {
      const channel = new BroadcastChannel(`mcptt-sdk/key-store/${name}`);
      channel.onmessage = (e: MessageEvent) => this.#remoteChange(e.data);
      // Node keeps a process alive for an open channel; a cross-tab hint is no reason to.
      (channel as { unref?: () => void }).unref?.();
      this.#channel = channel;
    }
  }

  /** First open: the at-rest key is read, or made when the database has none. */
  async init(): Promise<void> {
    await this.#run((db) => this.#loadKey(db, true));
  }

  // --- records ------------------------------------------------------------------------

  async putCertificate(c: StoredKmsCertificate): Promise<void> {
    await this.#write('certificate', 'certificates', (k) => sealCertificate(this.#subtle, k, c), (tx, r) => tx.objectStore('certificates').put(r));
  }

  async getCertificate(kmsUri: string): Promise<StoredKmsCertificate | undefined> {
    const uri = nonEmpty(kmsUri, 'kmsUri');
    return this.#run(async (db) => {
      const r = await quiet(db.transaction('certificates')).store.get(uri);
      return r === undefined ? undefined : openCertificate(this.#subtle, await this.#readKey(db, r.seal), r);
    });
  }

  async putKeySet(s: StoredKeySet): Promise<void> {
    await this.#write('keySet', 'keySets', (k) => sealKeySet(this.#subtle, k, s), (tx, r) => tx.objectStore('keySets').put(r));
  }

  async getKeySet(identity: string, keyPeriodNo: number): Promise<StoredKeySet | undefined> {
    const id = nonEmpty(identity, 'identity');
    if (!Number.isSafeInteger(keyPeriodNo) || keyPeriodNo < 0) throw new RangeError('keyPeriodNo must be a non-negative integer');
    return this.#run(async (db) => {
      const r = await quiet(db.transaction('keySets')).store.get([id, keyPeriodNo]);
      return r === undefined ? undefined : openKeySet(this.#subtle, await this.#readKey(db, r.seal), r);
    });
  }

  async keySets(identity: string): Promise<StoredKeySet[]> {
    const id = nonEmpty(identity, 'identity');
    return this.#run(async (db) => {
      const records = await quiet(db.transaction('keySets')).store.index('byIdentity').getAll(id);
      return Promise.all(records.map(async (r) => openKeySet(this.#subtle, await this.#readKey(db, r.seal), r)));
    });
  }

  async putTransportKey(k: StoredTransportKey): Promise<void> {
    await this.#write('transportKey', 'transportKeys', (key) => sealTransportKey(this.#subtle, key, k), (tx, r) => tx.objectStore('transportKeys').put(r));
  }

  async getTransportKey(id: string): Promise<StoredTransportKey | undefined> {
    const key = nonEmpty(id, 'id');
    return this.#run(async (db) => {
      const r = await quiet(db.transaction('transportKeys')).store.get(key);
      return r === undefined ? undefined : openTransportKey(this.#subtle, await this.#readKey(db, r.seal), r);
    });
  }

  async putMediaKey(r: ReceivedKey): Promise<void> {
    await this.#write('mediaKey', 'mediaKeys', (k) => sealMediaKey(this.#subtle, k, r), (tx, rec) => tx.objectStore('mediaKeys').put(rec));
  }

  async getMediaKey(kind: MediaKeyKind, keyId: Uint8Array): Promise<ReceivedKey | undefined> {
    const pk = mediaKeyPrimaryKey(kind, keyId);
    return this.#run(async (db) => {
      const r = await quiet(db.transaction('mediaKeys')).store.get(pk);
      return r === undefined ? undefined : openMediaKey(this.#subtle, await this.#readKey(db, r.seal), r);
    });
  }

  async mediaKeys(filter: MediaKeyFilter = {}): Promise<ReceivedKey[]> {
    if (typeof filter !== 'object' || filter === null) throw new TypeError('filter must be an object');
    const kind = filter.kind === undefined ? undefined : checkMediaKeyKind(filter.kind);
    const groupId = filter.groupId === undefined ? undefined : nonEmpty(filter.groupId, 'groupId');
    return this.#run(async (db) => {
      const store = quiet(db.transaction('mediaKeys')).store;
      let records =
        groupId !== undefined
          ? await store.index('byGroup').getAll(groupId)
          : kind !== undefined
            ? await store.index('byKind').getAll(kind)
            : await store.getAll();
      if (kind !== undefined) records = records.filter((r) => r.kind === kind);
      return Promise.all(records.map(async (r) => openMediaKey(this.#subtle, await this.#readKey(db, r.seal), r)));
    });
  }

  // --- housekeeping -------------------------------------------------------------------

  async prune(o: PruneOptions): Promise<PruneResult> {
    if (typeof o !== 'object' || o === null) throw new TypeError('prune options must be an object');
    const { now, graceMs } = o;
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError('now must be a finite number');
    if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) throw new RangeError('graceMs must be a non-negative number');
    const result = await this.#run(async (db) => {
      // Only clear fields decide, so no key is needed and nothing is decrypted. A record
      // whose clear fields were altered is deleted or kept on altered dates; kept, it
      // still fails its seal when read.
      const tx = quiet(db.transaction(['keySets', 'mediaKeys'], 'readwrite', WRITE_OPTIONS));
      const work = async (): Promise<PruneResult> => {
        let keySets = 0;
        let mediaKeys = 0;
        // byValidTo is in ascending order: stop at the first key set still in force.
        let ks = await tx.objectStore('keySets').index('byValidTo').openCursor();
        while (ks !== null && ks.value.validTo + graceMs < now) {
          await ks.delete();
          keySets++;
          ks = await ks.continue();
        }
        let mk = await tx.objectStore('mediaKeys').openCursor();
        while (mk !== null) {
          const v = mk.value;
          // A revoked key is kept until its key period is over: the record is what refuses a
          // replay of the original (validly signed, unexpired) distribution as a duplicate.
          const expired = (typeof v.expiryTime === 'number' && v.expiryTime < now) || v.keyPeriodEndsAt + graceMs < now;
          if (expired) {
            await mk.delete();
            mediaKeys++;
          }
          mk = await mk.continue();
        }
        return { keySets, mediaKeys };
      };
      const [counts] = await Promise.all([work(), tx.done]);
      return counts;
    });
    if (result.keySets > 0) this.#changed('keySet');
    if (result.mediaKeys > 0) this.#changed('mediaKey');
    return result;
  }

  async clear(): Promise<void> {
    await this.#run(async (db) => {
      const tx = quiet(db.transaction([...KEY_STORE_STORES], 'readwrite', WRITE_OPTIONS));
      await Promise.all([...KEY_STORE_STORES.map((s) => tx.objectStore(s).clear()), tx.done]);
    });
    this.#key = undefined;
    this.#changed('cleared');
  }

  close(): void {
    this.#shutdown('closed');
  }

  on(event: 'changed', listener: (what: KeyStoreChange, origin: KeyStoreChangeOrigin) => void): () => void {
    if (event !== 'changed') throw new TypeError(`unknown event ${String(event)}`);
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    if (this.#state !== 'open') return noop;
    // A wrapper per subscription, so that the same function subscribed twice is two subscriptions.
    const subscription = (what: KeyStoreChange, origin: KeyStoreChangeOrigin): void => listener(what, origin);
    this.#listeners.add(subscription);
    return () => {
      this.#listeners.delete(subscription);
    };
  }

  // --- internals ----------------------------------------------------------------------

  #stateError(): StoreError {
    switch (this.#state) {
      case 'superseded':
        return new StoreError('ERR_STORE_VERSION', 'the key store was closed so that another tab could upgrade or delete it; open it again');
      case 'lost':
        return new StoreError('ERR_STORE_UNAVAILABLE', 'the browser closed the key store database');
      default:
        return new StoreError('ERR_STORE_UNAVAILABLE', 'the key store is closed');
    }
  }

  /** Runs `op` on the open database; platform failures come out as `StoreError`s. */
  async #run<T>(op: (db: Db) => Promise<T>): Promise<T> {
    if (this.#state !== 'open') throw this.#stateError();
    try {
      return await op(this.#db);
    } catch (e) {
      throw this.#failure(e);
    }
  }

  #failure(e: unknown): Error {
    // Our own typed errors, and argument checks made while sealing, pass unchanged.
    if (e instanceof McpttError || e instanceof TypeError || e instanceof RangeError) return e;
    if (this.#state !== 'open') return this.#stateError();
    const name = (e as { name?: unknown } | null)?.name;
    switch (name) {
      case 'QuotaExceededError':
        return new StoreError('ERR_STORE_UNAVAILABLE', 'no storage quota left for the key store', { cause: e });
      case 'DataCloneError':
        return new StoreError('ERR_STORE_UNAVAILABLE', 'this browser cannot keep a CryptoKey in IndexedDB', { cause: e });
      case 'VersionError':
        return new StoreError('ERR_STORE_VERSION', 'the key store schema changed under this connection', { cause: e });
      default:
        return new StoreError('ERR_STORE_UNAVAILABLE', 'an IndexedDB operation of the key store failed', { cause: e });
    }
  }

  /** The stored at-rest key, made (once, whichever tab wins) when `create` and none exists. */
  async #loadKey(db: Db, create: boolean): Promise<AtRestKey | undefined> {
    const stored = await quiet(db.transaction('atRest')).store.get('current');
    if (stored !== undefined) return (this.#key = atRestKeyOf(stored));
    if (!create) return (this.#key = undefined);
    // Web Crypto cannot run inside a transaction (it would commit on the await), so the key
    // is made first and added only if no other tab added one in between.
    const fresh = await generateAtRestKeyRecord(this.#subtle, this.#now());
    const tx = quiet(db.transaction('atRest', 'readwrite', WRITE_OPTIONS));
    const decide = async (): Promise<unknown> => {
      const other = await tx.store.get('current');
      if (other !== undefined) return other;
      await tx.store.add(fresh);
      return fresh;
    };
    const [winner] = await Promise.all([decide(), tx.done]);
    return (this.#key = atRestKeyOf(winner));
  }

  #writeKey(db: Db): Promise<AtRestKey> {
    if (this.#key !== undefined) return Promise.resolve(this.#key);
    this.#keyForWrite ??= this.#loadKey(db, true)
      .then((k) => k!)
      .finally(() => {
        this.#keyForWrite = undefined;
      });
    return this.#keyForWrite;
  }

  /** The at-rest key a seal names; re-read once, since another tab may have replaced it. */
  async #readKey(db: Db, seal: unknown): Promise<AtRestKey> {
    const id = sealKeyId(seal);
    if (id === undefined) throw new StoreError('ERR_STORE_CORRUPT', 'a record in the key store has no valid seal');
    const cached = this.#key;
    if (cached !== undefined && equalBytes(cached.id, id)) return cached;
    const current = await this.#loadKey(db, false);
    if (current === undefined || !equalBytes(current.id, id)) {
      throw new StoreError('ERR_STORE_CORRUPT', 'a record in the key store was sealed with an at-rest key the store does not hold');
    }
    return current;
  }

  /**
   * Seals with the current at-rest key, then writes the record in a transaction that also
   * reads the at-rest key row: if another tab cleared or re-keyed the store in between, the
   * transaction is abandoned and the record sealed again under the key now stored.
   */
  async #write<R>(what: KeyStoreChange, storeName: Exclude<KeyStoreStoreName, 'atRest'>, build: (key: AtRestKey) => Promise<R>, put: (tx: WriteTx, record: R) => Promise<unknown>): Promise<void> {
    await this.#run(async (db) => {
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const key = await this.#writeKey(db);
        const record = await build(key);
        const tx = quiet(db.transaction(['atRest', storeName] as KeyStoreStoreName[], 'readwrite', WRITE_OPTIONS));
        const step = async (): Promise<boolean> => {
          const stored = await tx.objectStore('atRest').get('current');
          if (stored === undefined || !equalBytes(atRestKeyOf(stored).id, key.id)) {
            tx.abort();
            return false;
          }
          await put(tx, record);
          return true;
        };
        let written: boolean;
        try {
          [written] = await Promise.all([step(), tx.done]);
        } catch (e) {
          if ((e as { name?: unknown } | null)?.name !== 'AbortError') throw e;
          written = false;
        }
        if (written) {
          this.#changed(what);
          return;
        }
        this.#key = undefined;
      }
      throw new StoreError('ERR_STORE_UNAVAILABLE', 'the at-rest key was replaced during every write attempt (another tab keeps clearing the store)');
    });
  }

  #changed(what: KeyStoreChange): void {
    this.#emit(what, 'local');
    try {
      this.#channel?.postMessage({ v: 1, what });
    } catch {
      // A closed channel only loses the cross-tab hint; the data is written.
    }
  }

  #remoteChange(data: unknown): void {
    const d = data as { v?: unknown; what?: unknown } | null;
    if (this.#state !== 'open' || typeof d !== 'object' || d === null || d.v !== 1 || !CHANGES.includes(d.what as KeyStoreChange)) return;
    if (d.what === 'cleared') this.#key = undefined;
    this.#emit(d.what as KeyStoreChange, 'remote');
  }

  #emit(what: KeyStoreChange, origin: KeyStoreChangeOrigin): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(what, origin);
      } catch (e) {
        // One listener's bug must not stop the others nor fail the write that succeeded.
        reportListenerError(e);
      }
    }
  }

  #shutdown(state: Exclude<State, 'open'>): void {
    const wasOpen = this.#state === 'open';
    // An explicit close() after a forced one still reads as closed to later calls.
    if (wasOpen || state === 'closed') this.#state = state;
    if (!wasOpen) return;
    this.#key = undefined;
    this.#listeners.clear();
    this.#channel?.close();
    this.#channel = undefined;
    unwrap(this.#db).close();
  }
}

function nonEmpty(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string`);
  if (v.length === 0) throw new RangeError(`${what} must not be empty`);
  return v;
}
