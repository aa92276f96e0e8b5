/**
 * Browser side of e2e/key-store.spec.ts: drives the key store on the real IndexedDB of
 * chromium, and reads the database back with the plain IndexedDB API (no SDK code) to see
 * what is actually stored. Bytes cross to the test as hex; nothing is logged.
 */
import { openKeyStore, type KeyStore, type KeyStoreChange } from '../../src/platform/key-store/index.js';
import type { ReceivedKey } from '../../src/keys/receive.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';

/** One record of each type, all bytes as hex, made by the test. */
export interface SampleHex {
  readonly kmsUri: string;
  readonly z: string;
  readonly kpak: string;
  readonly identity: string;
  readonly uid: string;
  readonly rsk: string;
  readonly ssk: string;
  readonly pvt: string;
  readonly trk: string;
  readonly ink: string;
  readonly gmk: string;
  readonly gmkId: string;
  readonly pck: string;
  readonly pckId: string;
  readonly csk: string;
  readonly cskId: string;
  readonly rand: string;
}

export interface RawScan {
  /** Record count per object store, read with the plain IndexedDB API. */
  readonly counts: Record<string, number>;
  /** The needles found anywhere in clear (bytes, buffers or strings of any stored value). */
  readonly found: string[];
  readonly atRest: { isCryptoKey: boolean; extractable: boolean; algorithm: string; usages: string[]; exportRaw: string; exportJwk: string } | undefined;
  readonly version: number;
}

export interface KeyStoreTestApi {
  open(name: string): Promise<void>;
  changes(): KeyStoreChange[];
  putSample(s: SampleHex): Promise<void>;
  readSample(s: SampleHex): Promise<SampleHex>;
  /** Puts `n` media keys at once; returns key ID hex → key hex. */
  writeMany(kind: 'GMK' | 'PCK', idPrefix: number, n: number): Promise<Record<string, string>>;
  readAllMedia(): Promise<Record<string, string>>;
  putCertificateOnly(kmsUri: string): Promise<void>;
  clear(): Promise<void>;
  close(): void;
  rawScan(name: string, needles: string[]): Promise<RawScan>;
}

let store: KeyStore | undefined;
const changes: KeyStoreChange[] = [];

function opened(): KeyStore {
  if (store === undefined) throw new Error('open() first');
  return store;
}

function mediaKey(kind: 'GMK' | 'PCK' | 'CSK', key: Uint8Array, keyId: Uint8Array, rand: Uint8Array): ReceivedKey {
  const tag = kind === 'GMK' ? 0 : kind === 'PCK' ? 1 : 2;
  return {
    kind,
    key,
    keyId,
    purpose: { tag, kind, uses: kind === 'CSK' ? ['signalling', 'floor'] : ['media', 'floor'] },
    csbId: keyId,
    gukId: kind === 'GMK' ? Uint8Array.of(0, 1, 2, 3) : undefined,
    rand,
    groupIds: kind === 'GMK' ? ['sip:fire-ops@mcptt.example'] : [],
    activationTime: kind === 'GMK' ? 1_700_000_000_000 : undefined,
    expiryTime: undefined,
    text: '',
    status: 'active',
    initiator: { uid: new Uint8Array(32).fill(7), uri: 'sip:gms@mcptt.example', kmsUri: 'kms.mcptt.example', keyPeriodNo: 7 },
    sentAt: 1_700_000_000_000,
    keyPeriodNo: 7,
    keyPeriodEndsAt: 1_800_000_000_000,
    viaSakkeToSelf: false,
  };
}

function idOf(prefix: number, i: number): Uint8Array {
  return Uint8Array.of(prefix, 0, i >>> 8, i & 0xff);
}

/** Every needle (hex) found in clear anywhere in `value`. */
function scan(value: unknown, needles: readonly string[], found: Set<string>): void {
  const check = (hex: string): void => {
    for (const n of needles) if (hex.includes(n)) found.add(n);
  };
  if (value instanceof CryptoKey) return;
  if (ArrayBuffer.isView(value)) check(bytesToHex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)));
  else if (value instanceof ArrayBuffer) check(bytesToHex(new Uint8Array(value)));
  else if (typeof value === 'string') check(value.toLowerCase());
  else if (Array.isArray(value)) for (const v of value) scan(v, needles, found);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) scan(v, needles, found);
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'exported';
  } catch (e) {
    return (e as Error).name;
  }
}

const api: KeyStoreTestApi = {
  async open(name) {
    store = await openKeyStore({ name });
    store.on('changed', (w) => changes.push(w));
  },
  changes: () => [...changes],

  async putSample(s) {
    const ks = opened();
    const b = hexToBytes;
    await ks.putCertificate({
      kmsUri: s.kmsUri,
      params: { kmsUri: s.kmsUri, z: b(s.z), kpak: b(s.kpak), userKeyPeriod: 2_592_000, userKeyOffset: 0 },
      validFrom: 1,
      validTo: 2,
      revoked: false,
      fetchedAt: 3,
    });
    await ks.putKeySet({
      identity: s.identity,
      kmsUri: s.kmsUri,
      keys: { keyPeriodNo: 7, uid: b(s.uid), rsk: b(s.rsk), ssk: b(s.ssk), pvt: b(s.pvt) },
      validFrom: 1,
      validTo: 2,
      fetchedAt: 3,
    });
    await ks.putTransportKey({ id: 'trk', kind: 'TrK', key: b(s.trk), storedAt: 4 });
    await ks.putTransportKey({ id: 'ink', kind: 'InK', key: b(s.ink), storedAt: 4 });
    await ks.putMediaKey(mediaKey('GMK', b(s.gmk), b(s.gmkId), b(s.rand)));
    await ks.putMediaKey(mediaKey('PCK', b(s.pck), b(s.pckId), b(s.rand)));
    await ks.putMediaKey(mediaKey('CSK', b(s.csk), b(s.cskId), b(s.rand)));
  },

  async readSample(s) {
    const ks = opened();
    const h = bytesToHex;
    const cert = await ks.getCertificate(s.kmsUri);
    const set = await ks.getKeySet(s.identity, 7);
    const trk = await ks.getTransportKey('trk');
    const ink = await ks.getTransportKey('ink');
    const gmk = await ks.getMediaKey('GMK', hexToBytes(s.gmkId));
    const pck = await ks.getMediaKey('PCK', hexToBytes(s.pckId));
    const csk = await ks.getMediaKey('CSK', hexToBytes(s.cskId));
    if (!cert || !set || !trk || !ink || !gmk || !pck || !csk) throw new Error('a sample record is missing');
    return {
      kmsUri: cert.kmsUri,
      z: h(cert.params.z),
      kpak: h(cert.params.kpak),
      identity: set.identity,
      uid: h(set.keys.uid),
      rsk: h(set.keys.rsk),
      ssk: h(set.keys.ssk),
      pvt: h(set.keys.pvt),
      trk: h(trk.key),
      ink: h(ink.key),
      gmk: h(gmk.key),
      gmkId: h(gmk.keyId),
      pck: h(pck.key),
      pckId: h(pck.keyId),
      csk: h(csk.key),
      cskId: h(csk.keyId),
      rand: h(gmk.rand),
    };
  },

  async writeMany(kind, idPrefix, n) {
    const ks = opened();
    const written: Record<string, string> = {};
    await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const key = crypto.getRandomValues(new Uint8Array(16));
        const id = idOf(idPrefix, i);
        written[bytesToHex(id)] = bytesToHex(key);
        return ks.putMediaKey(mediaKey(kind, key, id, crypto.getRandomValues(new Uint8Array(16))));
      }),
    );
    return written;
  },

  async readAllMedia() {
    const all = await opened().mediaKeys();
    return Object.fromEntries(all.map((k) => [bytesToHex(k.keyId), bytesToHex(k.key)]));
  },

  async putCertificateOnly(kmsUri) {
    await opened().putCertificate({
      kmsUri,
      params: { kmsUri, z: new Uint8Array(257), kpak: new Uint8Array(65), userKeyPeriod: 1, userKeyOffset: 0 },
      validFrom: 0,
      validTo: 1,
      revoked: false,
      fetchedAt: 0,
    });
  },

  clear: () => opened().clear(),
  close: () => opened().close(),

  async rawScan(name, needles) {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      const counts: Record<string, number> = {};
      const found = new Set<string>();
      let atRest: RawScan['atRest'];
      for (const storeName of Array.from(db.objectStoreNames)) {
        const values = await request(db.transaction(storeName).objectStore(storeName).getAll());
        counts[storeName] = values.length;
        scan(values, needles, found);
        if (storeName === 'atRest' && values.length > 0) {
          const key = (values[0] as { key: unknown }).key;
          const isCryptoKey = key instanceof CryptoKey;
          const k = key as CryptoKey;
          atRest = {
            isCryptoKey,
            extractable: k.extractable,
            algorithm: `${k.algorithm.name}-${(k.algorithm as AesKeyAlgorithm).length}`,
            usages: [...k.usages].sort(),
            exportRaw: await outcome(crypto.subtle.exportKey('raw', k)),
            exportJwk: await outcome(crypto.subtle.exportKey('jwk', k)),
          };
        }
      }
      return { counts, found: [...found], atRest, version: db.version };
    } finally {
      db.close();
    }
  },
};

(window as unknown as { keyStoreTest: KeyStoreTestApi }).keyStoreTest = api;
document.getElementById('status')!.textContent = 'ready';
