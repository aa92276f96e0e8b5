/**
 * Schema of the key store's IndexedDB database: the records the SDK keeps after login
 * (KMS certificate and key sets of TS 33.179 7.2 / Annex D, transport keys of the Annex D
 * security extension, GMK/PCK/CSK of 7.3, 7.4, 9.1.3), their stored shapes, the typed
 * `DBSchema` of every schema version, and the table of migrations between versions.
 *
 * Versions (each row of `MIGRATIONS` turns version n−1 into n; the code of every past row
 * stays so that a database left at any older version by an old tab can still be upgraded):
 *
 *   v1  stores atRest, certificates, keySets (index byIdentity), transportKeys,
 *       mediaKeys (index byKind)
 *   v2  keySets.byValidTo (prune walks it in order and stops early),
 *       mediaKeys.byGroup (multiEntry over groupIds: the group filter of `mediaKeys()`)
 *
 * Migrations run inside the `versionchange` transaction, which commits as soon as it has
 * no pending request: they must be synchronous and must not await Web Crypto. They may
 * move records around, but never touch a `seal` (see at-rest.ts: changing a field bound
 * into a seal needs the at-rest key and belongs after the upgrade, not inside it).
 */
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { KmsPublicParameters, PeriodKeys } from '../../keys/identity.js';
import type { DistributedKeyKind } from '../../keys/receive.js';
import type { KeyKind, KeyUse } from '../../keys/purpose.js';

/** Database name used when the caller names none. */
export const DEFAULT_KEY_STORE_NAME = 'mcptt-sdk';

/** The schema version this code opens the database at (the last row of `MIGRATIONS`). */
export const KEY_STORE_SCHEMA_VERSION = 2;

// ---------------------------------------------------------------------------------------
// What callers store and get back.

/** A KMS certificate (Annex D.3.2) as accepted by the provisioning code. */
export interface StoredKmsCertificate {
  readonly kmsUri: string;
  readonly params: KmsPublicParameters;
  /** Unix ms. */
  readonly validFrom: number;
  readonly validTo: number;
  readonly revoked: boolean;
  readonly fetchedAt: number;
}

/** The key material of one identity for one key period (Annex D.3.3 KmsKeySet). */
export interface StoredKeySet {
  /** The MCPTT ID or server URI the keys were issued to. */
  readonly identity: string;
  readonly kmsUri: string;
  readonly keys: PeriodKeys;
  /** Unix ms. */
  readonly validFrom: number;
  readonly validTo: number;
  readonly fetchedAt: number;
}

/** A transport key of the Annex D security extension: TrK (key wrap) or InK (integrity). */
export interface StoredTransportKey {
  readonly id: string;
  readonly kind: 'TrK' | 'InK';
  readonly key: Uint8Array;
  readonly storedAt: number;
}

/** The kinds of media key the store keeps (those `ReceivedKey` carries). */
export type MediaKeyKind = DistributedKeyKind;

// ---------------------------------------------------------------------------------------
// What IndexedDB holds. Public fields sit in clear (they are keys and indexes, or public
// anyway); secret fields exist only inside `seal` (see at-rest.ts for its layout and AAD).

/** The single row of `atRest`: the AES-256-GCM key every seal is made with. */
export interface AtRestKeyRecord {
  readonly slot: 'current';
  /** Random tag carried by each seal: tells which at-rest key made it. */
  readonly keyId: Uint8Array;
  /** Non-extractable AES-GCM 256 key, kept by IndexedDB's structured clone. */
  readonly key: CryptoKey;
  readonly createdAt: number;
}

/** No secret in a certificate: the seal is a bare GCM tag that authenticates the row. */
export interface CertificateRecord {
  readonly kmsUri: string;
  readonly z: Uint8Array;
  readonly kpak: Uint8Array;
  readonly userKeyPeriod: number;
  readonly userKeyOffset: number;
  readonly validFrom: number;
  readonly validTo: number;
  readonly revoked: boolean;
  readonly fetchedAt: number;
  readonly seal: Uint8Array;
}

/** RSK and SSK are sealed; UID and PVT are public and stay in clear. */
export interface KeySetRecord {
  readonly identity: string;
  readonly keyPeriodNo: number;
  readonly kmsUri: string;
  readonly uid: Uint8Array;
  readonly pvt: Uint8Array;
  readonly validFrom: number;
  readonly validTo: number;
  readonly fetchedAt: number;
  readonly seal: Uint8Array;
}

export interface TransportKeyRecord {
  readonly id: string;
  readonly kind: 'TrK' | 'InK';
  readonly storedAt: number;
  readonly seal: Uint8Array;
}

export interface StoredKeyPurpose {
  readonly tag: number;
  readonly kind: KeyKind;
  readonly uses: readonly KeyUse[];
}

export interface StoredKeyInitiator {
  readonly uid: Uint8Array;
  readonly uri: string | undefined;
  readonly kmsUri: string;
  readonly keyPeriodNo: number;
}

/** A GMK, PCK or CSK; only the key itself is sealed (IDs, RAND, times are public). */
export interface MediaKeyRecord {
  readonly kind: MediaKeyKind;
  /** The 4-octet key ID in lower-case hex: part of the primary key. */
  readonly keyIdHex: string;
  readonly purpose: StoredKeyPurpose;
  readonly csbId: Uint8Array;
  readonly gukId: Uint8Array | undefined;
  readonly rand: Uint8Array;
  readonly groupIds: readonly string[];
  readonly activationTime: number | undefined;
  readonly expiryTime: number | undefined;
  readonly text: string;
  readonly status: 'active' | 'revoked';
  readonly initiator: StoredKeyInitiator;
  readonly sentAt: number;
  readonly keyPeriodNo: number;
  readonly keyPeriodEndsAt: number;
  readonly viaSakkeToSelf: boolean;
  readonly seal: Uint8Array;
}

// ---------------------------------------------------------------------------------------
// Typed schemas, one per version.

/** Schema version 1. */
export interface KeyStoreSchemaV1 extends DBSchema {
  atRest: { key: 'current'; value: AtRestKeyRecord };
  certificates: { key: string; value: CertificateRecord };
  keySets: { key: [string, number]; value: KeySetRecord; indexes: { byIdentity: string } };
  transportKeys: { key: string; value: TransportKeyRecord };
  mediaKeys: { key: [MediaKeyKind, string]; value: MediaKeyRecord; indexes: { byKind: MediaKeyKind } };
}

/** Schema version 2 (current). */
export interface KeyStoreSchema extends DBSchema {
  atRest: { key: 'current'; value: AtRestKeyRecord };
  certificates: { key: string; value: CertificateRecord };
  keySets: { key: [string, number]; value: KeySetRecord; indexes: { byIdentity: string; byValidTo: number } };
  transportKeys: { key: string; value: TransportKeyRecord };
  mediaKeys: { key: [MediaKeyKind, string]; value: MediaKeyRecord; indexes: { byKind: MediaKeyKind; byGroup: string } };
}

export type KeyStoreStoreName = StoreNames<KeyStoreSchema>;

/** Every object store of the current schema (clear() empties all of them). */
export const KEY_STORE_STORES: readonly KeyStoreStoreName[] = Object.freeze(['atRest', 'certificates', 'keySets', 'transportKeys', 'mediaKeys']);

// ---------------------------------------------------------------------------------------
// Migrations.

/** One step of the schema: the code that turns version `version − 1` into `version`. */
export interface Migration<S extends DBSchema> {
  readonly version: number;
  readonly summary: string;
  readonly upgrade: (db: IDBPDatabase<S>, tx: IDBPTransaction<S, StoreNames<S>[], 'versionchange'>) => void;
}

const V1: Migration<KeyStoreSchemaV1> = Object.freeze({
  version: 1,
  summary: 'object stores atRest, certificates, keySets(byIdentity), transportKeys, mediaKeys(byKind)',
  upgrade(db: IDBPDatabase<KeyStoreSchemaV1>) {
    db.createObjectStore('atRest', { keyPath: 'slot' });
    db.createObjectStore('certificates', { keyPath: 'kmsUri' });
    const keySets = db.createObjectStore('keySets', { keyPath: ['identity', 'keyPeriodNo'] });
    keySets.createIndex('byIdentity', 'identity');
    db.createObjectStore('transportKeys', { keyPath: 'id' });
    const mediaKeys = db.createObjectStore('mediaKeys', { keyPath: ['kind', 'keyIdHex'] });
    mediaKeys.createIndex('byKind', 'kind');
  },
});

const V2: Migration<KeyStoreSchema> = Object.freeze({
  version: 2,
  summary: 'indexes keySets.byValidTo and mediaKeys.byGroup (multiEntry over groupIds)',
  upgrade(_db: IDBPDatabase<KeyStoreSchema>, tx: IDBPTransaction<KeyStoreSchema, StoreNames<KeyStoreSchema>[], 'versionchange'>) {
    // IndexedDB fills a new index from the records already present, inside this transaction.
    tx.objectStore('keySets').createIndex('byValidTo', 'validTo');
    tx.objectStore('mediaKeys').createIndex('byGroup', 'groupIds', { multiEntry: true });
  },
});

/** Every schema step in order; row i produces version i + 1. */
export const MIGRATIONS: readonly [Migration<KeyStoreSchemaV1>, Migration<KeyStoreSchema>] = Object.freeze([V1, V2] as const);

/**
 * Runs the migrations from `oldVersion` (0 for a new database) up to `newVersion`, in the
 * upgrade transaction of an `upgradeneeded` event. Throws when no path exists; the caller
 * then aborts the transaction so that the database stays at `oldVersion`.
 */
export function upgradeSchema(
  db: IDBPDatabase<unknown>,
  tx: IDBPTransaction<unknown, string[], 'versionchange'>,
  oldVersion: number,
  newVersion: number,
): void {
  if (!Number.isSafeInteger(oldVersion) || !Number.isSafeInteger(newVersion) || oldVersion < 0 || newVersion > MIGRATIONS.length || newVersion <= oldVersion) {
    throw new RangeError(`no migration path from schema version ${oldVersion} to ${newVersion}`);
  }
  for (const step of MIGRATIONS) {
    if (step.version <= oldVersion || step.version > newVersion) continue;
    // Each step is typed with the schema of its own version; the database in hand is that
    // schema's predecessor, which the step's own declarations describe.
    step.upgrade(db as never, tx as never);
  }
}
