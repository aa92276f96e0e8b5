/**
 * The key store (src/platform/key-store) on fake-indexeddb, a fresh IDBFactory per test:
 * round trips of every record type, sealing at rest (swapped, altered and foreign seals are
 * refused), prune rules, clear, the v1 → v2 migration from a database made by the v1 code,
 * and what happens when tabs contend (versionchange, blocked, concurrent writes, clear).
 * Node's CryptoKey survives fake-indexeddb's structured clone, so the real at-rest key path
 * (non-extractable CryptoKey kept in IndexedDB) runs here as in the browser.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  forceCloseDatabase,
  IDBCursor,
  IDBCursorWithValue,
  IDBDatabase,
  IDBFactory,
  IDBIndex,
  IDBKeyRange,
  IDBObjectStore,
  IDBRequest,
  IDBTransaction,
} from 'fake-indexeddb';
import { wrap, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { isMcpttError, type StoreErrorCode } from '../../src/errors.js';
import { createKeyDistribution, createMikeyKeyReceiver, keyProfile, staticIdentity, type ReceivedKey } from '../../src/keys/index.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import {
  DEFAULT_KEY_STORE_NAME,
  KEY_STORE_SCHEMA_VERSION,
  openKeyStore,
  type KeyStore,
  type KeyStoreChange,
  type StoredKeySet,
  type StoredKmsCertificate,
  type StoredTransportKey,
} from '../../src/platform/key-store/index.js';
import { generateAtRestKeyRecord, sealKeySet, sealMediaKey, sealTransportKey, atRestKeyOf, sealCertificate } from '../../src/platform/key-store/at-rest.js';
import { openKeyStoreWith } from '../../src/platform/key-store/key-store.js';
import { MIGRATIONS, upgradeSchema, type KeyStoreSchemaV1 } from '../../src/platform/key-store/schema.js';
import { createTestKms } from '../helpers/test-kms.js';

// idb recognises IDB objects with `instanceof` against the global classes (as in a browser).
Object.assign(globalThis, { IDBCursor, IDBCursorWithValue, IDBDatabase, IDBIndex, IDBKeyRange, IDBObjectStore, IDBRequest, IDBTransaction });

const NAME = 'ks-test';
const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

let factory: IDBFactory;
const opened: KeyStore[] = [];

beforeEach(() => {
  factory = new IDBFactory();
});

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  vi.restoreAllMocks();
});

async function open(name = NAME, f: IDBFactory = factory): Promise<KeyStore> {
  const s = await openKeyStore({ name, indexedDB: f, now: () => 42 });
  opened.push(s);
  return s;
}

async function storeError(p: Promise<unknown>): Promise<StoreErrorCode | 'resolved' | string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isMcpttError(e) ? (e.code as StoreErrorCode) : `${(e as Error).name}: ${(e as Error).message}`;
  }
}

/** The plain IndexedDB API, as a test reading what is on disk would use it. */
async function rawOpen(name = NAME, version?: number, upgrade?: (db: IDBDatabase, tx: IDBTransaction, oldVersion: number) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = version === undefined ? factory.open(name) : factory.open(name, version);
    req.onupgradeneeded = (e) => upgrade?.(req.result, req.transaction!, e.oldVersion);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function rawRequest<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function rawAll(db: IDBDatabase, store: string): Promise<any[]> {
  return rawRequest(db.transaction(store).objectStore(store).getAll());
}

async function rawPut(db: IDBDatabase, store: string, value: unknown): Promise<void> {
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).put(value);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

// --- sample records --------------------------------------------------------------------

const KMS_URI = 'kms.mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const GROUP_A = 'sip:fire-ops@mcptt.example';
const GROUP_B = 'sip:ems@mcptt.example';

function certificate(kmsUri = KMS_URI): StoredKmsCertificate {
  return {
    kmsUri,
    params: { kmsUri, z: rnd(257), kpak: rnd(65), userKeyPeriod: 2_592_000, userKeyOffset: 0 },
    validFrom: 1_000,
    validTo: 9_000,
    revoked: false,
    fetchedAt: 1_500,
  };
}

function keySet(identity = ALICE, keyPeriodNo = 7, validTo = 20_000): StoredKeySet {
  return {
    identity,
    kmsUri: KMS_URI,
    keys: { keyPeriodNo, uid: rnd(32), rsk: rnd(257), ssk: rnd(32), pvt: rnd(65) },
    validFrom: validTo - 10_000,
    validTo,
    fetchedAt: 11_000,
  };
}

function transportKey(id = 'trk-1', kind: 'TrK' | 'InK' = 'TrK'): StoredTransportKey {
  return { id, kind, key: rnd(32), storedAt: 77 };
}

const profile = keyProfile('ts33180');

function mediaKey(over: Partial<ReceivedKey> = {}): ReceivedKey {
  const kind = over.kind ?? 'GMK';
  const tag = kind === 'GMK' ? 0 : kind === 'PCK' ? 1 : 2;
  const keyId = rnd(4);
  keyId[0] = (tag << 4) | (keyId[0]! & 0x0f);
  return {
    kind,
    key: rnd(16),
    keyId,
    purpose: profile.purposes[tag]!,
    csbId: rnd(4),
    gukId: kind === 'GMK' ? rnd(4) : undefined,
    rand: rnd(16),
    groupIds: kind === 'GMK' ? [GROUP_A] : [],
    activationTime: kind === 'GMK' ? 5_000 : undefined,
    expiryTime: undefined,
    text: kind === 'GMK' ? 'shift B' : '',
    status: 'active',
    initiator: { uid: rnd(32), uri: kind === 'GMK' ? 'sip:gms@mcptt.example' : undefined, kmsUri: KMS_URI, keyPeriodNo: 7 },
    sentAt: 4_000,
    keyPeriodNo: 7,
    keyPeriodEndsAt: 50_000,
    viaSakkeToSelf: false,
    ...over,
  };
}

/** Every byte string of `needle` length or more in any value of the database, in clear. */
function containsBytes(haystack: unknown, needle: Uint8Array): boolean {
  const hex = bytesToHex(needle);
  const visit = (v: unknown): boolean => {
    if (v instanceof Uint8Array) return bytesToHex(v).includes(hex);
    if (v instanceof ArrayBuffer) return bytesToHex(new Uint8Array(v)).includes(hex);
    if (typeof v === 'string') return v.toLowerCase().includes(hex);
    if (Array.isArray(v)) return v.some(visit);
    if (typeof v === 'object' && v !== null && !(v instanceof CryptoKey)) return Object.values(v).some(visit);
    return false;
  };
  return visit(haystack);
}

async function rawDump(name = NAME): Promise<Record<string, any[]>> {
  const db = await rawOpen(name);
  const out: Record<string, any[]> = {};
  for (const s of Array.from(db.objectStoreNames)) out[s] = await rawAll(db, s);
  db.close();
  return out;
}

// --- tests -------------------------------------------------------------------------------

describe('round trips', () => {
  it('keeps every record type with its Uint8Array fields intact', async () => {
    const s = await open();
    const c = certificate();
    const ks = keySet();
    const trk = transportKey('trk-1', 'TrK');
    const ink = transportKey('ink-1', 'InK');
    const gmk = mediaKey({ expiryTime: 90_000, groupIds: [GROUP_A, GROUP_B] });
    const pck = mediaKey({ kind: 'PCK' });
    const csk = mediaKey({ kind: 'CSK', viaSakkeToSelf: true });
    await s.putCertificate(c);
    await s.putKeySet(ks);
    await s.putTransportKey(trk);
    await s.putTransportKey(ink);
    for (const k of [gmk, pck, csk]) await s.putMediaKey(k);

    expect(await s.getCertificate(KMS_URI)).toEqual(c);
    expect(await s.getKeySet(ALICE, 7)).toEqual(ks);
    expect(await s.getTransportKey('trk-1')).toEqual(trk);
    expect(await s.getTransportKey('ink-1')).toEqual(ink);
    expect(await s.getMediaKey('GMK', gmk.keyId)).toEqual(gmk);
    expect(await s.getMediaKey('PCK', pck.keyId)).toEqual(pck);
    const back = await s.getMediaKey('CSK', csk.keyId);
    expect(back).toEqual(csk);
    // Fields that are undefined stay present and undefined; bytes come back as Uint8Array.
    expect(Object.keys(back!).sort()).toEqual(Object.keys(csk).sort());
    expect(back!.gukId).toBeUndefined();
    expect(back!.key).toBeInstanceOf(Uint8Array);
    expect(back!.initiator.uid).toBeInstanceOf(Uint8Array);
  });

  it('answers undefined for what it does not hold, and replaces on put', async () => {
    const s = await open();
    expect(await s.getCertificate('kms.other.example')).toBeUndefined();
    expect(await s.getKeySet(ALICE, 1)).toBeUndefined();
    expect(await s.getTransportKey('none')).toBeUndefined();
    expect(await s.getMediaKey('GMK', rnd(4))).toBeUndefined();
    expect(await s.keySets(ALICE)).toEqual([]);
    expect(await s.mediaKeys()).toEqual([]);

    const gmk = mediaKey();
    await s.putMediaKey(gmk);
    const revoked: ReceivedKey = { ...gmk, key: new Uint8Array(16), status: 'revoked' };
    await s.putMediaKey(revoked);
    expect(await s.getMediaKey('GMK', gmk.keyId)).toEqual(revoked);
    expect(await s.mediaKeys()).toHaveLength(1);
    // The same key ID under another kind is another record.
    expect(await s.getMediaKey('PCK', gmk.keyId)).toBeUndefined();
  });

  it('lists key sets per identity in period order, and media keys by kind and group', async () => {
    const s = await open();
    const sets = [keySet(ALICE, 9), keySet(ALICE, 7), keySet('sip:bob@mcptt.example', 7), keySet(ALICE, 8)];
    for (const k of sets) await s.putKeySet(k);
    expect((await s.keySets(ALICE)).map((k) => k.keys.keyPeriodNo)).toEqual([7, 8, 9]);
    expect(await s.keySets('sip:bob@mcptt.example')).toEqual([sets[2]]);

    const a = mediaKey({ groupIds: [GROUP_A] });
    const ab = mediaKey({ groupIds: [GROUP_A, GROUP_B] });
    const pck = mediaKey({ kind: 'PCK' });
    for (const k of [a, ab, pck]) await s.putMediaKey(k);
    const ids = (list: ReceivedKey[]): string[] => list.map((k) => bytesToHex(k.keyId)).sort();
    expect(ids(await s.mediaKeys())).toEqual(ids([a, ab, pck]));
    expect(ids(await s.mediaKeys({ kind: 'GMK' }))).toEqual(ids([a, ab]));
    expect(ids(await s.mediaKeys({ kind: 'PCK' }))).toEqual(ids([pck]));
    expect(ids(await s.mediaKeys({ groupId: GROUP_A }))).toEqual(ids([a, ab]));
    expect(ids(await s.mediaKeys({ groupId: GROUP_B }))).toEqual(ids([ab]));
    expect(ids(await s.mediaKeys({ groupId: GROUP_B, kind: 'PCK' }))).toEqual([]);
  });

  it('stores KMS-issued key sets and a received GMK that still work after the round trip', async () => {
    const kms = createTestKms(KMS_URI);
    const now = Date.UTC(2026, 10, 23, 12, 0, 0);
    const period = kms.periodAt(now);
    const gmsUri = 'sip:gms@mcptt.example';
    const gms = kms.identity(gmsUri, [period]);
    const s = await open();
    await s.putCertificate({ kmsUri: KMS_URI, params: kms.params, validFrom: 0, validTo: now * 2, revoked: false, fetchedAt: now });
    await s.putKeySet({ identity: ALICE, kmsUri: KMS_URI, keys: kms.issue(ALICE, period), validFrom: 0, validTo: now * 2, fetchedAt: now });

    // Rebuild the identity from nothing but the store, as after a page reload.
    const stored = (await s.getKeySet(ALICE, period))!;
    const cert = (await s.getCertificate(KMS_URI))!;
    const alice = staticIdentity(ALICE, cert.params, [stored.keys]);
    const message = await createKeyDistribution({
      kind: 'GMK',
      key: hexToBytes('00112233445566778899aabbccddeeff'),
      keyId: hexToBytes('0a1b2c3d'),
      rand: rnd(16),
      from: gms,
      to: { uri: ALICE, kms: kms.params },
      time: now,
      parameters: { groupIds: [GROUP_A], activationTime: now, text: '' },
    });
    const received = await createMikeyKeyReceiver({ self: alice, now: () => now, gmsUris: [gmsUri] }).receive(message, 'GMK');
    await s.putMediaKey(received);
    expect(await s.getMediaKey('GMK', received.keyId)).toEqual(received);
  });

  it('refuses malformed input before writing anything', async () => {
    const s = await open();
    const bad = keySet();
    await expect(s.putKeySet({ ...bad, keys: { ...bad.keys, rsk: Array.from(bad.keys.rsk) as unknown as Uint8Array } })).rejects.toBeInstanceOf(TypeError);
    await expect(s.putKeySet({ ...bad, validTo: bad.validFrom - 1 })).rejects.toBeInstanceOf(RangeError);
    await expect(s.putKeySet({ ...bad, keys: { ...bad.keys, ssk: new Uint8Array(0) } })).rejects.toBeInstanceOf(RangeError);
    await expect(s.putMediaKey({ ...mediaKey(), keyId: rnd(5) })).rejects.toBeInstanceOf(RangeError);
    await expect(s.putMediaKey({ ...mediaKey(), kind: 'SPK' as never })).rejects.toBeInstanceOf(TypeError);
    await expect(s.putMediaKey({ ...mediaKey(), sentAt: Number.NaN })).rejects.toBeInstanceOf(TypeError);
    await expect(s.putTransportKey({ ...transportKey(), kind: 'XK' as never })).rejects.toBeInstanceOf(TypeError);
    const c = certificate();
    await expect(s.putCertificate({ ...c, params: { ...c.params, kmsUri: 'kms.elsewhere.example' } })).rejects.toBeInstanceOf(RangeError);
    await expect(s.getKeySet(ALICE, -1)).rejects.toBeInstanceOf(RangeError);
    await expect(s.getMediaKey('GMK', rnd(3))).rejects.toBeInstanceOf(RangeError);
    await expect(s.mediaKeys({ kind: 'MKFC' as never })).rejects.toBeInstanceOf(TypeError);
    const dump = await rawDump();
    expect(dump.keySets).toEqual([]);
    expect(dump.mediaKeys).toEqual([]);
    expect(dump.transportKeys).toEqual([]);
    expect(dump.certificates).toEqual([]);
  });
});

describe('encryption at rest', () => {
  it('keeps no secret byte in clear, and a non-extractable AES-GCM 256 at-rest key', async () => {
    const s = await open();
    const ks = keySet();
    const trk = transportKey();
    const gmk = mediaKey();
    await s.putKeySet(ks);
    await s.putTransportKey(trk);
    await s.putMediaKey(gmk);
    const dump = await rawDump();
    for (const secret of [ks.keys.rsk, ks.keys.ssk, trk.key, gmk.key]) expect(containsBytes(dump, secret)).toBe(false);
    // Public parts are stored as given (they are keys and indexes, or public anyway).
    expect(containsBytes(dump, ks.keys.uid)).toBe(true);

    expect(dump.atRest).toHaveLength(1);
    const row = dump.atRest![0];
    expect(row.key).toBeInstanceOf(CryptoKey);
    expect(row.key.extractable).toBe(false);
    expect(row.key.algorithm).toEqual({ name: 'AES-GCM', length: 256 });
    expect(row.createdAt).toBe(42);
    await expect(crypto.subtle.exportKey('raw', row.key)).rejects.toThrow();
  });

  it('copies byte views, so the rest of their buffer is never stored', async () => {
    const s = await open();
    const buffer = rnd(1024); // stands for a decrypted KMS response
    const ks = keySet();
    const withViews: StoredKeySet = { ...ks, keys: { ...ks.keys, uid: buffer.subarray(100, 132), pvt: buffer.subarray(200, 265), rsk: buffer.subarray(300, 557), ssk: buffer.subarray(600, 632) } };
    await s.putKeySet(withViews);
    const [record] = (await rawDump()).keySets!;
    expect(record.uid.buffer.byteLength).toBe(32);
    expect(record.pvt.buffer.byteLength).toBe(65);
    expect(containsBytes(record, buffer.subarray(300, 557))).toBe(false);
    expect(buffer.subarray(300, 557).some((b) => b !== 0)).toBe(true); // the caller's bytes are left alone
  });

  it('refuses a seal moved to another record or another store', async () => {
    const s = await open();
    const [a, b] = [mediaKey(), mediaKey()];
    await s.putMediaKey(a);
    await s.putMediaKey(b);
    await s.putTransportKey(transportKey('t1'));
    await s.putTransportKey(transportKey('t2'));
    const db = await rawOpen();
    const [ra, rb] = await rawAll(db, 'mediaKeys');
    await rawPut(db, 'mediaKeys', { ...ra, seal: rb.seal });
    await rawPut(db, 'mediaKeys', { ...rb, seal: ra.seal });
    const [t1, t2] = await rawAll(db, 'transportKeys');
    await rawPut(db, 'transportKeys', { ...t1, seal: t2.seal });
    // A media key's seal (one secret of 16 bytes) inside a transport key record.
    await rawPut(db, 'transportKeys', { ...t2, seal: ra.seal });
    db.close();
    expect(await storeError(s.getMediaKey('GMK', a.keyId))).toBe('ERR_STORE_CORRUPT');
    expect(await storeError(s.getMediaKey('GMK', b.keyId))).toBe('ERR_STORE_CORRUPT');
    expect(await storeError(s.getTransportKey('t1'))).toBe('ERR_STORE_CORRUPT');
    expect(await storeError(s.getTransportKey('t2'))).toBe('ERR_STORE_CORRUPT');
    expect(await storeError(s.mediaKeys())).toBe('ERR_STORE_CORRUPT');
  });

  it('refuses records whose clear fields were edited (revocation undone, KPAK replaced, period moved)', async () => {
    const s = await open();
    const gmk = mediaKey({ status: 'revoked' });
    const c = certificate();
    const ks = keySet();
    await s.putMediaKey(gmk);
    await s.putCertificate(c);
    await s.putKeySet(ks);
    const db = await rawOpen();
    const [m] = await rawAll(db, 'mediaKeys');
    await rawPut(db, 'mediaKeys', { ...m, status: 'active' });
    const [cr] = await rawAll(db, 'certificates');
    await rawPut(db, 'certificates', { ...cr, kpak: rnd(65) });
    const [kr] = await rawAll(db, 'keySets');
    await rawPut(db, 'keySets', { ...kr, keyPeriodNo: 8 }); // a second record at another key
    await rawPut(db, 'keySets', { ...kr, validTo: kr.validTo + 1e9 });
    db.close();
    expect(await storeError(s.getMediaKey('GMK', gmk.keyId))).toBe('ERR_STORE_CORRUPT');
    expect(await storeError(s.getCertificate(KMS_URI))).toBe('ERR_STORE_CORRUPT');
    expect(await storeError(s.getKeySet(ALICE, 8))).toBe('ERR_STORE_CORRUPT');
    expect(await storeError(s.getKeySet(ALICE, 7))).toBe('ERR_STORE_CORRUPT');
  });

  it('refuses truncated, flipped and missing seals, and records that are not objects', async () => {
    const s = await open();
    const ids = ['t-trunc', 't-flip', 't-none', 't-null-seal'];
    for (const id of ids) await s.putTransportKey(transportKey(id));
    const db = await rawOpen();
    const rows: any[] = await rawAll(db, 'transportKeys');
    const by = (id: string): any => rows.find((r) => r.id === id);
    await rawPut(db, 'transportKeys', { ...by('t-trunc'), seal: by('t-trunc').seal.slice(0, 30) });
    const flipped = by('t-flip').seal.slice();
    flipped[flipped.length - 1] ^= 1;
    await rawPut(db, 'transportKeys', { ...by('t-flip'), seal: flipped });
    const { seal: _drop, ...noSeal } = by('t-none');
    await rawPut(db, 'transportKeys', noSeal);
    await rawPut(db, 'transportKeys', { ...by('t-null-seal'), seal: null });
    db.close();
    for (const id of ids) expect(await storeError(s.getTransportKey(id))).toBe('ERR_STORE_CORRUPT');
  });

  it('refuses records sealed under another at-rest key, with the same or another key ID', async () => {
    const s = await open();
    const ks = keySet();
    await s.putKeySet(ks);
    await s.putMediaKey(mediaKey());
    s.close();

    const db = await rawOpen();
    const [row] = await rawAll(db, 'atRest');
    const other = await generateAtRestKeyRecord(crypto.subtle, 1);
    await rawPut(db, 'atRest', { ...other, keyId: row.keyId }); // same ID, other key
    db.close();
    const s2 = await open();
    expect(await storeError(s2.getKeySet(ALICE, 7))).toBe('ERR_STORE_CORRUPT');
    expect(await storeError(s2.keySets(ALICE))).toBe('ERR_STORE_CORRUPT');
    s2.close();

    const db2 = await rawOpen();
    await rawPut(db2, 'atRest', other); // other ID too
    db2.close();
    const s3 = await open();
    expect(await storeError(s3.getKeySet(ALICE, 7))).toBe('ERR_STORE_CORRUPT');
    expect(await storeError(s3.mediaKeys())).toBe('ERR_STORE_CORRUPT');
    // A record written now is sealed under the key the store holds, and reads back.
    const fresh = keySet(ALICE, 8);
    await s3.putKeySet(fresh);
    expect(await s3.getKeySet(ALICE, 8)).toEqual(fresh);
  });

  it('refuses to open on an at-rest key row it did not write (extractable, wrong algorithm)', async () => {
    await (await open()).putTransportKey(transportKey());
    opened.pop()!.close();
    for (const key of [
      await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']),
      await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt', 'decrypt']),
      await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
    ]) {
      const db = await rawOpen();
      const [row] = await rawAll(db, 'atRest');
      await rawPut(db, 'atRest', { ...row, key });
      db.close();
      expect(await storeError(openKeyStore({ name: NAME, indexedDB: factory }))).toBe('ERR_STORE_CORRUPT');
    }
    expect(() => atRestKeyOf({ slot: 'current', keyId: rnd(8), key: 'not a key' })).toThrow(/integrity/);
  });

  it('names no identity and no secret in its errors', async () => {
    const s = await open();
    const ks = keySet();
    await s.putKeySet(ks);
    const db = await rawOpen();
    const [kr] = await rawAll(db, 'keySets');
    await rawPut(db, 'keySets', { ...kr, fetchedAt: 1 });
    db.close();
    const error = await s.getKeySet(ALICE, 7).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(isMcpttError(error, 'ERR_STORE_CORRUPT')).toBe(true);
    const text = `${error!.message} ${String((error!.cause as Error | undefined)?.message ?? '')}`;
    expect(text).not.toContain(ALICE);
    expect(text.toLowerCase()).not.toContain(bytesToHex(ks.keys.rsk).slice(0, 16));
  });
});

describe('prune', () => {
  it('deletes key sets past validTo + grace, and media keys expired or past their period + grace (revoked ones only then)', async () => {
    const s = await open();
    const now = 100_000;
    const grace = 5_000;
    await s.putKeySet(keySet(ALICE, 1, now - grace - 1)); // gone
    await s.putKeySet(keySet(ALICE, 2, now - grace)); // validTo + grace == now: kept
    await s.putKeySet(keySet(ALICE, 3, now + 1)); // in force
    const keep = mediaKey({ keyPeriodEndsAt: now - grace, expiryTime: now });
    // Kept: it refuses a replay of the original distribution until its period is over.
    const revokedInPeriod = mediaKey({ status: 'revoked', keyPeriodEndsAt: now * 2 });
    const gone = [
      mediaKey({ status: 'revoked', keyPeriodEndsAt: now - grace - 1 }),
      mediaKey({ kind: 'PCK', expiryTime: now - 1, keyPeriodEndsAt: now * 2 }),
      mediaKey({ kind: 'CSK', keyPeriodEndsAt: now - grace - 1 }),
    ];
    const noExpiry = mediaKey({ expiryTime: undefined, keyPeriodEndsAt: now * 2 });
    for (const k of [keep, noExpiry, revokedInPeriod, ...gone]) await s.putMediaKey(k);
    const changes: KeyStoreChange[] = [];
    s.on('changed', (w) => changes.push(w));

    expect(await s.prune({ now, graceMs: grace })).toEqual({ keySets: 1, mediaKeys: 3 });
    expect((await s.keySets(ALICE)).map((k) => k.keys.keyPeriodNo)).toEqual([2, 3]);
    const left = (await s.mediaKeys()).map((k) => bytesToHex(k.keyId)).sort();
    expect(left).toEqual([keep, noExpiry, revokedInPeriod].map((k) => bytesToHex(k.keyId)).sort());
    expect(changes.sort()).toEqual(['keySet', 'mediaKey']);

    expect(await s.prune({ now, graceMs: grace })).toEqual({ keySets: 0, mediaKeys: 0 });
    expect(await s.prune({ now: now + 10 * grace, graceMs: 0 })).toEqual({ keySets: 2, mediaKeys: 1 });
    expect((await s.mediaKeys()).map((k) => bytesToHex(k.keyId)).sort()).toEqual([noExpiry, revokedInPeriod].map((k) => bytesToHex(k.keyId)).sort());
    await expect(s.prune({ now, graceMs: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(s.prune({ now: Number.NaN, graceMs: 0 })).rejects.toBeInstanceOf(TypeError);
  });

  it('leaves certificates and transport keys alone', async () => {
    const s = await open();
    await s.putCertificate({ ...certificate(), validTo: 1_001, revoked: true });
    await s.putTransportKey(transportKey());
    await s.prune({ now: 1e12, graceMs: 0 });
    expect(await s.getCertificate(KMS_URI)).toBeDefined();
    expect(await s.getTransportKey('trk-1')).toBeDefined();
  });
});

describe('clear', () => {
  it('deletes every record and the at-rest key; a later write makes a new key', async () => {
    const s = await open();
    await s.putCertificate(certificate());
    await s.putKeySet(keySet());
    await s.putTransportKey(transportKey());
    await s.putMediaKey(mediaKey());
    const before = (await rawDump()).atRest![0].keyId as Uint8Array;
    const changes: KeyStoreChange[] = [];
    s.on('changed', (w) => changes.push(w));
    await s.clear();
    expect(changes).toEqual(['cleared']);
    const dump = await rawDump();
    expect(Object.keys(dump).sort()).toEqual(['atRest', 'certificates', 'keySets', 'mediaKeys', 'transportKeys']);
    for (const rows of Object.values(dump)) expect(rows).toEqual([]);
    expect(await s.getKeySet(ALICE, 7)).toBeUndefined();

    const gmk = mediaKey();
    await s.putMediaKey(gmk);
    expect(await s.getMediaKey('GMK', gmk.keyId)).toEqual(gmk);
    const after = (await rawDump()).atRest![0].keyId as Uint8Array;
    expect(bytesToHex(after)).not.toBe(bytesToHex(before));
  });
});

describe('clear, then many writes at once', () => {
  it('makes one new at-rest key for all of them', async () => {
    const s = await open();
    await s.clear();
    const generate = vi.spyOn(crypto.subtle, 'generateKey');
    const keys = Array.from({ length: 20 }, (_, i) => transportKey(`t${i}`));
    await Promise.all(keys.map((k) => s.putTransportKey(k)));
    expect(generate).toHaveBeenCalledTimes(1);
    expect((await rawDump()).atRest).toHaveLength(1);
    for (const k of keys) expect(await s.getTransportKey(k.id)).toEqual(k);
  });
});

describe('schema and migrations', () => {
  it('has one migration per version, 1 to the current one', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: KEY_STORE_SCHEMA_VERSION }, (_, i) => i + 1));
    expect(DEFAULT_KEY_STORE_NAME).toBe('mcptt-sdk');
  });

  it('opens the default database name when none is given', async () => {
    const s = await openKeyStore({ indexedDB: factory });
    opened.push(s);
    const names = (await factory.databases()).map((d) => d.name);
    expect(names).toEqual(['mcptt-sdk']);
  });

  /** Store and index definitions, to compare two databases' shapes. */
  function shapeOf(db: IDBDatabase): unknown {
    const stores = Array.from(db.objectStoreNames).sort();
    const tx = db.transaction(stores);
    return stores.map((name) => {
      const st = tx.objectStore(name);
      return {
        name,
        keyPath: st.keyPath,
        indexes: Array.from(st.indexNames)
          .sort()
          .map((i) => {
            const ix = st.index(i);
            return { i, keyPath: ix.keyPath, multiEntry: ix.multiEntry, unique: ix.unique };
          }),
      };
    });
  }

  /** A database at version 1, made by the v1 row of the migrations table (the v1 schema code). */
  async function createV1Database(name: string): Promise<IDBDatabase> {
    return rawOpen(name, 1, (db, tx, oldVersion) =>
      upgradeSchema(wrap(db), wrap(tx) as unknown as IDBPTransaction<unknown, string[], 'versionchange'>, oldVersion, 1),
    );
  }

  it('upgrades a v1 database made by the v1 code to v2, keeping every record', async () => {
    const name = 'ks-migrate';
    const raw = await createV1Database(name);
    expect(raw.version).toBe(1);
    expect(Array.from(raw.transaction('mediaKeys').objectStore('mediaKeys').indexNames)).toEqual(['byKind']);
    // Records as a v1 client wrote them: the record codec and at-rest key are v1's as well.
    const v1 = wrap(raw) as unknown as IDBPDatabase<KeyStoreSchemaV1>;
    const keyRow = await generateAtRestKeyRecord(crypto.subtle, 1);
    const key = atRestKeyOf(keyRow);
    const c = certificate();
    const sets = [keySet(ALICE, 1, 1_000), keySet(ALICE, 2, 90_000)];
    const trk = transportKey();
    const gmkA = mediaKey({ groupIds: [GROUP_A] });
    const gmkAB = mediaKey({ groupIds: [GROUP_A, GROUP_B], keyPeriodEndsAt: 1_000 });
    const rows = {
      c: await sealCertificate(crypto.subtle, key, c),
      sets: await Promise.all(sets.map((k) => sealKeySet(crypto.subtle, key, k))),
      trk: await sealTransportKey(crypto.subtle, key, trk),
      media: await Promise.all([gmkA, gmkAB].map((k) => sealMediaKey(crypto.subtle, key, k))),
    };
    const tx = v1.transaction(['atRest', 'certificates', 'keySets', 'transportKeys', 'mediaKeys'], 'readwrite');
    await Promise.all([
      tx.objectStore('atRest').put(keyRow),
      tx.objectStore('certificates').put(rows.c),
      ...rows.sets.map((r) => tx.objectStore('keySets').put(r)),
      tx.objectStore('transportKeys').put(rows.trk),
      ...rows.media.map((r) => tx.objectStore('mediaKeys').put(r)),
      tx.done,
    ]);
    raw.close();

    const s = await open(name);
    expect(await s.getCertificate(KMS_URI)).toEqual(c);
    expect(await s.keySets(ALICE)).toEqual(sets);
    expect(await s.getTransportKey(trk.id)).toEqual(trk);
    expect(await s.getMediaKey('GMK', gmkA.keyId)).toEqual(gmkA);
    // The v2 indexes were built over the v1 records.
    expect((await s.mediaKeys({ groupId: GROUP_B })).map((k) => bytesToHex(k.keyId))).toEqual([bytesToHex(gmkAB.keyId)]);
    expect(await s.prune({ now: 50_000, graceMs: 0 })).toEqual({ keySets: 1, mediaKeys: 1 });
    s.close();

    const after = await rawOpen(name);
    expect(after.version).toBe(2);
    // Upgrading 1 → 2 gives the same database as creating version 2 from nothing.
    const fresh = await rawOpen('ks-fresh', KEY_STORE_SCHEMA_VERSION, (db, t, oldVersion) =>
      upgradeSchema(wrap(db), wrap(t) as unknown as IDBPTransaction<unknown, string[], 'versionchange'>, oldVersion, KEY_STORE_SCHEMA_VERSION),
    );
    expect(shapeOf(after)).toEqual(shapeOf(fresh));
    after.close();
    fresh.close();
  });

  it('leaves the database at v1 when the upgrade fails', async () => {
    const name = 'ks-migrate-fail';
    // A v1 database that already has an index named like the one v2 adds: createIndex throws.
    const clash = await rawOpen(name, 1, (db, tx, oldVersion) => {
      upgradeSchema(wrap(db), wrap(tx) as unknown as IDBPTransaction<unknown, string[], 'versionchange'>, oldVersion, 1);
      tx.objectStore('mediaKeys').createIndex('byGroup', 'text');
    });
    await rawPut(clash, 'transportKeys', { id: 'kept', kind: 'TrK', storedAt: 1, seal: new Uint8Array(40) });
    clash.close();
    expect(await storeError(openKeyStore({ name, indexedDB: factory }))).toBe('ERR_STORE_VERSION');
    const still = await rawOpen(name);
    expect(still.version).toBe(1);
    expect((await rawAll(still, 'transportKeys')).map((r) => r.id)).toEqual(['kept']);
    still.close();
  });

  it('refuses a database a newer SDK upgraded past this version', async () => {
    const newer = await rawOpen('ks-newer', KEY_STORE_SCHEMA_VERSION + 1, () => undefined);
    newer.close();
    expect(await storeError(openKeyStore({ name: 'ks-newer', indexedDB: factory }))).toBe('ERR_STORE_VERSION');
  });

  it('rejects impossible migration paths', () => {
    expect(() => upgradeSchema({} as never, {} as never, 2, 1)).toThrow(RangeError);
    expect(() => upgradeSchema({} as never, {} as never, 0, KEY_STORE_SCHEMA_VERSION + 1)).toThrow(RangeError);
  });
});

describe('closed store', () => {
  it('refuses every call with ERR_STORE_UNAVAILABLE, and close() is idempotent', async () => {
    const s = await open();
    const gmk = mediaKey();
    await s.putMediaKey(gmk);
    const heard: KeyStoreChange[] = [];
    s.on('changed', (w) => heard.push(w));
    s.close();
    s.close();
    const calls: Promise<unknown>[] = [
      s.putCertificate(certificate()),
      s.getCertificate(KMS_URI),
      s.putKeySet(keySet()),
      s.getKeySet(ALICE, 7),
      s.keySets(ALICE),
      s.putTransportKey(transportKey()),
      s.getTransportKey('trk-1'),
      s.putMediaKey(mediaKey()),
      s.getMediaKey('GMK', gmk.keyId),
      s.mediaKeys(),
      s.prune({ now: 0, graceMs: 0 }),
      s.clear(),
    ];
    for (const c of calls) expect(await storeError(c)).toBe('ERR_STORE_UNAVAILABLE');
    expect(typeof s.on('changed', () => undefined)).toBe('function');
    expect(heard).toEqual([]);
    // Data is still there for the next open.
    const again = await open();
    expect(await again.getMediaKey('GMK', gmk.keyId)).toEqual(gmk);
  });

  it('reports a connection the browser dropped as unavailable', async () => {
    const connections: IDBDatabase[] = [];
    const spy = {
      open: (name: string, version?: number) => {
        const req = factory.open(name, version);
        req.addEventListener('success', () => connections.push(req.result));
        return req;
      },
    } as unknown as IDBFactory;
    const s = await openKeyStore({ name: NAME, indexedDB: spy });
    opened.push(s);
    // fake-indexeddb declares the parameter as the class; it takes a connection.
    (forceCloseDatabase as unknown as (db: IDBDatabase) => void)(connections[0]!);
    expect(await storeError(s.getTransportKey('x'))).toBe('ERR_STORE_UNAVAILABLE');
  });

  it('fails cleanly without IndexedDB or Web Crypto', async () => {
    expect(await storeError(openKeyStore({}))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await storeError(openKeyStore({ indexedDB: factory, subtle: {} as SubtleCrypto }))).toBe('ERR_STORE_UNAVAILABLE');
    await expect(openKeyStore({ name: '', indexedDB: factory })).rejects.toBeInstanceOf(TypeError);
  });
});

describe('tabs', () => {
  it('closes when another tab upgrades, which is then not blocked', async () => {
    const s = await open();
    await s.putTransportKey(transportKey());
    const upgraded = await rawOpen(NAME, KEY_STORE_SCHEMA_VERSION + 1, () => undefined);
    expect(upgraded.version).toBe(KEY_STORE_SCHEMA_VERSION + 1);
    upgraded.close();
    expect(await storeError(s.getTransportKey('trk-1'))).toBe('ERR_STORE_VERSION');
    s.close();
    expect(await storeError(s.getTransportKey('trk-1'))).toBe('ERR_STORE_UNAVAILABLE');
  });

  it('waits while an older connection is blocking, and opens once it closes', async () => {
    const old = await createV1Connection('ks-blocked');
    old.onversionchange = () => setTimeout(() => old.close(), 30);
    const s = await openKeyStoreWith({ name: 'ks-blocked', indexedDB: factory }, { blockedTimeoutMs: 5_000 });
    opened.push(s);
    await s.putTransportKey(transportKey());
    expect(await s.getTransportKey('trk-1')).toBeDefined();
  });

  it('gives up with ERR_STORE_VERSION when an older connection never closes', async () => {
    const old = await createV1Connection('ks-stuck');
    const started = Date.now();
    expect(await storeError(openKeyStoreWith({ name: 'ks-stuck', indexedDB: factory }, { blockedTimeoutMs: 50 }))).toBe('ERR_STORE_VERSION');
    expect(Date.now() - started).toBeLessThan(5_000);
    old.close();
    // The abandoned open completes in the background and is closed at once: a new open works.
    const s = await openKeyStoreWith({ name: 'ks-stuck', indexedDB: factory }, { blockedTimeoutMs: 1_000 });
    opened.push(s);
    expect(await s.mediaKeys()).toEqual([]);
  });

  async function createV1Connection(name: string): Promise<IDBDatabase> {
    return rawOpen(name, 1, (db, tx, oldVersion) =>
      upgradeSchema(wrap(db), wrap(tx) as unknown as IDBPTransaction<unknown, string[], 'versionchange'>, oldVersion, 1),
    );
  }

  it('two tabs opening a new database at once share one at-rest key', async () => {
    const [a, b] = await Promise.all([open('ks-race'), open('ks-race')]);
    const k = mediaKey();
    await a.putMediaKey(k);
    expect(await b.getMediaKey('GMK', k.keyId)).toEqual(k);
    expect((await rawDump('ks-race')).atRest).toHaveLength(1);
  });

  it('two tabs writing 100 records each at once: all 200 present and readable', async () => {
    const [a, b] = await Promise.all([open('ks-concurrent'), open('ks-concurrent')]);
    const fromA = Array.from({ length: 100 }, () => mediaKey());
    const fromB = Array.from({ length: 100 }, () => mediaKey({ kind: 'PCK' }));
    await Promise.all([...fromA.map((k) => a.putMediaKey(k)), ...fromB.map((k) => b.putMediaKey(k))]);
    for (const s of [a, b]) {
      const all = await s.mediaKeys();
      expect(all).toHaveLength(200);
      const byId = new Map(all.map((k) => [`${k.kind}:${bytesToHex(k.keyId)}`, k]));
      for (const k of [...fromA, ...fromB]) expect(byId.get(`${k.kind}:${bytesToHex(k.keyId)}`)).toEqual(k);
    }
  });

  it('tells other tabs what changed, never which record', async () => {
    const [a, b] = await Promise.all([open('ks-events'), open('ks-events')]);
    const heard: unknown[] = [];
    b.on('changed', (w) => heard.push(w));
    await a.putCertificate(certificate());
    await a.putMediaKey(mediaKey());
    await a.clear();
    await vi.waitFor(() => expect(heard).toEqual(['certificate', 'mediaKey', 'cleared']));
  });

  it('a tab whose at-rest key was replaced by another tab re-reads it, and re-seals its writes', async () => {
    const a = await open('ks-rekey');
    // Without a BroadcastChannel, b gets no 'cleared' hint: only the checks inside its own
    // reads and write transactions can notice the new key.
    vi.stubGlobal('BroadcastChannel', undefined);
    const b = await open('ks-rekey');
    vi.unstubAllGlobals();
    await b.putTransportKey(transportKey('before')); // b holds the first key in memory
    await a.clear();
    const byA = transportKey('made-by-a'); // a makes the second key
    await a.putTransportKey(byA);
    expect(await b.getTransportKey('made-by-a')).toEqual(byA); // b's read re-reads the key
    expect(await b.getTransportKey('before')).toBeUndefined();

    await a.clear();
    await a.putTransportKey(transportKey('again')); // third key; b still holds the second
    const k = transportKey('after-clear');
    await b.putTransportKey(k); // sealed under the stale key, refused in the transaction, re-sealed
    expect(await a.getTransportKey('after-clear')).toEqual(k);
    expect(await b.getTransportKey('after-clear')).toEqual(k);
    expect((await rawDump('ks-rekey')).atRest).toHaveLength(1);
  });

  it('isolates a throwing listener and unsubscribes', async () => {
    const reported: unknown[] = [];
    vi.stubGlobal('reportError', (e: unknown) => reported.push(e));
    try {
      const s = await open();
      const heard: KeyStoreChange[] = [];
      s.on('changed', () => {
        throw new Error('listener bug');
      });
      const off = s.on('changed', (w) => heard.push(w));
      await s.putTransportKey(transportKey());
      off();
      await s.putTransportKey(transportKey('t2'));
      expect(heard).toEqual(['transportKey']);
      expect(reported).toHaveLength(2);
      expect(() => s.on('other' as never, () => undefined)).toThrow(TypeError);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
