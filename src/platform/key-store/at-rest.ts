/**
 * Encryption at rest of the key store: the at-rest key, the seal every record carries,
 * and, per object store, which fields are sealed (secret) and which are bound as AAD.
 *
 * The at-rest key is an AES-256-GCM `CryptoKey` made with `extractable: false` on first
 * open and kept in its own object store (IndexedDB structured-clones CryptoKeys). Script
 * can use it but never read its bytes; see docs/key-store.md for what that does and does
 * not protect against.
 *
 * Seal layout (one per record, in the record's `seal` field):
 *
 *    0      1                    9                       21                         end
 *   +------+--------------------+-----------------------+---------------------------+
 *   | 0x01 | at-rest key ID (8) | IV (12, random)       | AES-256-GCM ct ‖ tag (16) |
 *   +------+--------------------+-----------------------+---------------------------+
 *
 *   plaintext = for each secret field: u32 length ‖ bytes (RSK, SSK / transport key /
 *               GMK, PCK, CSK; nothing for a certificate, whose seal is a bare tag)
 *   AAD       = canonical encoding of [domain, object store name, seal header (bytes 0–20),
 *               primary key, every clear field of the record]
 *
 * Binding the store name and primary key means a seal moved to another record (or another
 * store) fails to open; binding the clear fields means a revoked GMK cannot be made active
 * again, nor a certificate's KPAK replaced, by editing the database. The canonical encoding
 * is injective (type tag and length before every value), so two different records never
 * give the same AAD. Any failure to open a seal is `StoreError('ERR_STORE_CORRUPT')`, and
 * nothing of the record is returned.
 */
import { StoreError } from '../../errors.js';
import type { ReceivedKey } from '../../keys/receive.js';
import { bytesToHex, concatBytes, equalBytes, hexToBytes, readU32be, u32be } from '../../util/bytes.js';
import { bufferSource, randomBytes } from '../../util/webcrypto.js';
import type {
  AtRestKeyRecord,
  CertificateRecord,
  KeySetRecord,
  MediaKeyKind,
  MediaKeyRecord,
  StoredKmsCertificate,
  StoredKeySet,
  StoredTransportKey,
  TransportKeyRecord,
} from './schema.js';

/** The at-rest key as the store uses it. */
export interface AtRestKey {
  readonly id: Uint8Array;
  readonly key: CryptoKey;
}

/** Object stores whose records carry a seal. */
export type SealedStoreName = 'certificates' | 'keySets' | 'transportKeys' | 'mediaKeys';

const SEAL_VERSION = 0x01;
const KEY_ID_LENGTH = 8;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + KEY_ID_LENGTH + IV_LENGTH;
const AAD_DOMAIN = 'mcptt-sdk/key-store/seal/v1';
const MEDIA_KEY_KINDS: readonly MediaKeyKind[] = ['GMK', 'PCK', 'CSK'];

const corrupt = (what: string, cause?: unknown): StoreError =>
  new StoreError('ERR_STORE_CORRUPT', `${what} in the key store failed its integrity check`, cause === undefined ? undefined : { cause });

// ---------------------------------------------------------------------------------------
// The at-rest key.

/** Makes a fresh at-rest key record (the caller stores it). */
export async function generateAtRestKeyRecord(subtle: SubtleCrypto, createdAt: number): Promise<AtRestKeyRecord> {
  const key = (await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])) as CryptoKey;
  return { slot: 'current', keyId: randomBytes(KEY_ID_LENGTH), key, createdAt };
}

/**
 * The at-rest key of a stored row, checked: anything but a non-extractable AES-GCM 256
 * secret key for encrypt and decrypt was not written by this code and is refused.
 */
export function atRestKeyOf(record: unknown): AtRestKey {
  const r = record as Partial<AtRestKeyRecord> | undefined;
  const key = r?.key as CryptoKey | undefined;
  const algorithm = key?.algorithm as Partial<AesKeyAlgorithm> | undefined;
  const ok =
    typeof r === 'object' &&
    r.slot === 'current' &&
    r.keyId instanceof Uint8Array &&
    r.keyId.length === KEY_ID_LENGTH &&
    typeof key === 'object' &&
    key !== null &&
    key.type === 'secret' &&
    key.extractable === false &&
    algorithm?.name === 'AES-GCM' &&
    algorithm.length === 256 &&
    Array.isArray(key.usages) &&
    key.usages.includes('encrypt') &&
    key.usages.includes('decrypt');
  if (!ok) throw corrupt('the at-rest key');
  return { id: new Uint8Array(r.keyId!), key: key! };
}

/** The ID of the at-rest key a seal was made with (undefined: not a seal of this format). */
export function sealKeyId(seal: unknown): Uint8Array | undefined {
  if (!(seal instanceof Uint8Array) || seal.length < HEADER_LENGTH + TAG_LENGTH || seal[0] !== SEAL_VERSION) return undefined;
  return seal.slice(1, 1 + KEY_ID_LENGTH);
}

// ---------------------------------------------------------------------------------------
// Canonical AAD encoding.

/** What may be bound into a seal's AAD. */
export type AadValue = undefined | boolean | number | string | Uint8Array | readonly AadValue[];

const AAD_TAG = Object.freeze({ undefined: 0, false: 1, true: 2, number: 3, string: 4, bytes: 5, list: 6 });

function encodeAadValue(v: AadValue, out: Uint8Array[]): void {
  if (v === undefined) out.push(Uint8Array.of(AAD_TAG.undefined));
  else if (v === false) out.push(Uint8Array.of(AAD_TAG.false));
  else if (v === true) out.push(Uint8Array.of(AAD_TAG.true));
  else if (typeof v === 'number') {
    const b = new Uint8Array(9);
    b[0] = AAD_TAG.number;
    new DataView(b.buffer).setFloat64(1, v, false);
    out.push(b);
  } else if (typeof v === 'string') {
    // UTF-16 code units rather than UTF-8: UTF-8 maps every lone surrogate to U+FFFD, which
    // would make two different strings encode alike.
    const b = new Uint8Array(5 + 2 * v.length);
    b[0] = AAD_TAG.string;
    b.set(u32be(v.length), 1);
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      b[5 + 2 * i] = c >>> 8;
      b[6 + 2 * i] = c & 0xff;
    }
    out.push(b);
  } else if (v instanceof Uint8Array) {
    out.push(Uint8Array.of(AAD_TAG.bytes), u32be(v.length), v);
  } else if (Array.isArray(v)) {
    out.push(Uint8Array.of(AAD_TAG.list), u32be(v.length));
    for (const item of v as readonly AadValue[]) encodeAadValue(item, out);
  } else {
    throw new TypeError(`a ${typeof v} cannot be bound into a seal`);
  }
}

/** Injective encoding of a list of values: a type tag, and a length where one is needed. */
export function encodeAad(values: readonly AadValue[]): Uint8Array {
  const out: Uint8Array[] = [];
  encodeAadValue(values, out);
  return concatBytes(...out);
}

// ---------------------------------------------------------------------------------------
// Seal and open.

function packSecrets(secrets: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...secrets.flatMap((s) => [u32be(s.length), s]));
}

function unpackSecrets(plain: Uint8Array, count: number, what: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (o + 4 > plain.length) throw corrupt(what);
    const n = readU32be(plain, o);
    o += 4;
    if (o + n > plain.length) throw corrupt(what);
    out.push(plain.slice(o, o + n));
    o += n;
  }
  if (o !== plain.length) throw corrupt(what);
  return out;
}

/** The clear fields of a stored record; a record too mangled to list them is corrupt. */
function boundFields(build: () => AadValue[], what: string): AadValue[] {
  try {
    return build();
  } catch (e) {
    throw corrupt(what, e);
  }
}

function aadOf(store: SealedStoreName, header: Uint8Array, clear: readonly AadValue[]): Uint8Array {
  return encodeAad([AAD_DOMAIN, store, header, ...clear]);
}

/** Seals `secrets` under the at-rest key, bound to `store` and the record's `clear` fields. */
export async function seal(subtle: SubtleCrypto, key: AtRestKey, store: SealedStoreName, clear: readonly AadValue[], secrets: readonly Uint8Array[]): Promise<Uint8Array> {
  const header = concatBytes(Uint8Array.of(SEAL_VERSION), key.id, randomBytes(IV_LENGTH));
  const plaintext = packSecrets(secrets);
  try {
    const ct = await subtle.encrypt(
      { name: 'AES-GCM', iv: bufferSource(header.subarray(1 + KEY_ID_LENGTH)), additionalData: bufferSource(aadOf(store, header, clear)), tagLength: TAG_LENGTH * 8 },
      key.key,
      bufferSource(plaintext),
    );
    return concatBytes(header, new Uint8Array(ct));
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Opens a seal: the `count` secret fields, or `ERR_STORE_CORRUPT` when the seal was made
 * with another key, for another record, or any bound field or octet changed.
 */
export async function openSeal(
  subtle: SubtleCrypto,
  key: AtRestKey,
  store: SealedStoreName,
  clear: readonly AadValue[],
  sealBytes: unknown,
  count: number,
  what: string,
): Promise<Uint8Array[]> {
  const id = sealKeyId(sealBytes);
  if (id === undefined || !equalBytes(id, key.id)) throw corrupt(what);
  const s = sealBytes as Uint8Array;
  const header = s.slice(0, HEADER_LENGTH);
  let aad: Uint8Array;
  try {
    aad = aadOf(store, header, clear);
  } catch (e) {
    throw corrupt(what, e);
  }
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(
      await subtle.decrypt(
        { name: 'AES-GCM', iv: bufferSource(header.subarray(1 + KEY_ID_LENGTH)), additionalData: bufferSource(aad), tagLength: TAG_LENGTH * 8 },
        key.key,
        bufferSource(s.subarray(HEADER_LENGTH)),
      ),
    );
  } catch (e) {
    throw corrupt(what, e);
  }
  try {
    return unpackSecrets(plain, count, what);
  } finally {
    plain.fill(0);
  }
}

// ---------------------------------------------------------------------------------------
// Input checks (misuse of the API → TypeError/RangeError, before anything is written).

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string`);
  return v;
}

function nonEmptyStr(v: unknown, what: string): string {
  if (str(v, what).length === 0) throw new RangeError(`${what} must not be empty`);
  return v as string;
}

function optStr(v: unknown, what: string): string | undefined {
  return v === undefined ? undefined : str(v, what);
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${what} must be a finite number`);
  return v;
}

function optNum(v: unknown, what: string): number | undefined {
  return v === undefined ? undefined : num(v, what);
}

function uint(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new RangeError(`${what} must be a non-negative integer`);
  return v as number;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${what} must be a boolean`);
  return v;
}

/**
 * A copy of the bytes: a view over a larger buffer would otherwise be structured-cloned
 * with its whole buffer, and that buffer may hold secrets (a decrypted KMS response).
 */
function bytes(v: unknown, what: string, length?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (length !== undefined && v.length !== length) throw new RangeError(`${what} must be ${length} bytes`);
  return new Uint8Array(v);
}

function secretBytes(v: unknown, what: string): Uint8Array {
  const b = bytes(v, what);
  if (b.length === 0) throw new RangeError(`${what} must not be empty`);
  return b;
}

function optBytes(v: unknown, what: string): Uint8Array | undefined {
  return v === undefined ? undefined : bytes(v, what);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new TypeError(`${what} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function strList(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) throw new TypeError(`${what} must be an array of strings`);
  return v.map((s, i) => str(s, `${what}[${i}]`));
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null) throw new TypeError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function checkPeriod(validFrom: unknown, validTo: unknown, what: string): [number, number] {
  const from = num(validFrom, `${what}.validFrom`);
  const to = num(validTo, `${what}.validTo`);
  if (to < from) throw new RangeError(`${what}.validTo must not be before validFrom`);
  return [from, to];
}

/** Checks the arguments of getMediaKey/putMediaKey: a kind and a 4-octet key ID. */
export function mediaKeyPrimaryKey(kind: unknown, keyId: unknown): [MediaKeyKind, string] {
  return [oneOf(kind, MEDIA_KEY_KINDS, 'kind'), bytesToHex(bytes(keyId, 'keyId', 4))];
}

export function checkMediaKeyKind(kind: unknown): MediaKeyKind {
  return oneOf(kind, MEDIA_KEY_KINDS, 'kind');
}

// ---------------------------------------------------------------------------------------
// Records. Each pair builds the AAD list from the same fields in the same order; reading
// returns only fields that went through the AAD (so they are as `put` checked them), as
// fresh copies. Records come from structured clone: plain data, no getters.

function certificateClear(r: Omit<CertificateRecord, 'seal'>): AadValue[] {
  return [r.kmsUri, r.z, r.kpak, r.userKeyPeriod, r.userKeyOffset, r.validFrom, r.validTo, r.revoked, r.fetchedAt];
}

export async function sealCertificate(subtle: SubtleCrypto, key: AtRestKey, c: StoredKmsCertificate): Promise<CertificateRecord> {
  const o = obj(c, 'certificate');
  const params = obj(o.params, 'certificate.params');
  const kmsUri = nonEmptyStr(o.kmsUri, 'certificate.kmsUri');
  if (params.kmsUri !== kmsUri) throw new RangeError('certificate.params.kmsUri must equal certificate.kmsUri');
  const [validFrom, validTo] = checkPeriod(o.validFrom, o.validTo, 'certificate');
  const clear = {
    kmsUri,
    z: bytes(params.z, 'certificate.params.z'),
    kpak: bytes(params.kpak, 'certificate.params.kpak'),
    userKeyPeriod: uint(params.userKeyPeriod, 'certificate.params.userKeyPeriod'),
    userKeyOffset: uint(params.userKeyOffset, 'certificate.params.userKeyOffset'),
    validFrom,
    validTo,
    revoked: bool(o.revoked, 'certificate.revoked'),
    fetchedAt: num(o.fetchedAt, 'certificate.fetchedAt'),
  };
  return { ...clear, seal: await seal(subtle, key, 'certificates', certificateClear(clear), []) };
}

export async function openCertificate(subtle: SubtleCrypto, key: AtRestKey, r: CertificateRecord): Promise<StoredKmsCertificate> {
  await openSeal(subtle, key, 'certificates', boundFields(() => certificateClear(r), 'a KMS certificate'), r.seal, 0, 'a KMS certificate');
  return {
    kmsUri: r.kmsUri,
    params: { kmsUri: r.kmsUri, z: new Uint8Array(r.z), kpak: new Uint8Array(r.kpak), userKeyPeriod: r.userKeyPeriod, userKeyOffset: r.userKeyOffset },
    validFrom: r.validFrom,
    validTo: r.validTo,
    revoked: r.revoked,
    fetchedAt: r.fetchedAt,
  };
}

function keySetClear(r: Omit<KeySetRecord, 'seal'>): AadValue[] {
  return [r.identity, r.keyPeriodNo, r.kmsUri, r.uid, r.pvt, r.validFrom, r.validTo, r.fetchedAt];
}

export async function sealKeySet(subtle: SubtleCrypto, key: AtRestKey, s: StoredKeySet): Promise<KeySetRecord> {
  const o = obj(s, 'key set');
  const keys = obj(o.keys, 'key set.keys');
  const [validFrom, validTo] = checkPeriod(o.validFrom, o.validTo, 'key set');
  const clear = {
    identity: nonEmptyStr(o.identity, 'key set.identity'),
    keyPeriodNo: uint(keys.keyPeriodNo, 'key set.keys.keyPeriodNo'),
    kmsUri: nonEmptyStr(o.kmsUri, 'key set.kmsUri'),
    uid: bytes(keys.uid, 'key set.keys.uid'),
    pvt: bytes(keys.pvt, 'key set.keys.pvt'),
    validFrom,
    validTo,
    fetchedAt: num(o.fetchedAt, 'key set.fetchedAt'),
  };
  const secrets = [secretBytes(keys.rsk, 'key set.keys.rsk'), secretBytes(keys.ssk, 'key set.keys.ssk')];
  try {
    return { ...clear, seal: await seal(subtle, key, 'keySets', keySetClear(clear), secrets) };
  } finally {
    for (const b of secrets) b.fill(0);
  }
}

export async function openKeySet(subtle: SubtleCrypto, key: AtRestKey, r: KeySetRecord): Promise<StoredKeySet> {
  const [rsk, ssk] = await openSeal(subtle, key, 'keySets', boundFields(() => keySetClear(r), 'a key set'), r.seal, 2, 'a key set');
  return {
    identity: r.identity,
    kmsUri: r.kmsUri,
    keys: { keyPeriodNo: r.keyPeriodNo, uid: new Uint8Array(r.uid), rsk: rsk!, ssk: ssk!, pvt: new Uint8Array(r.pvt) },
    validFrom: r.validFrom,
    validTo: r.validTo,
    fetchedAt: r.fetchedAt,
  };
}

function transportKeyClear(r: Omit<TransportKeyRecord, 'seal'>): AadValue[] {
  return [r.id, r.kind, r.storedAt];
}

export async function sealTransportKey(subtle: SubtleCrypto, key: AtRestKey, k: StoredTransportKey): Promise<TransportKeyRecord> {
  const o = obj(k, 'transport key');
  const clear = {
    id: nonEmptyStr(o.id, 'transport key.id'),
    kind: oneOf(o.kind, ['TrK', 'InK'] as const, 'transport key.kind'),
    storedAt: num(o.storedAt, 'transport key.storedAt'),
  };
  const secret = secretBytes(o.key, 'transport key.key');
  try {
    return { ...clear, seal: await seal(subtle, key, 'transportKeys', transportKeyClear(clear), [secret]) };
  } finally {
    secret.fill(0);
  }
}

export async function openTransportKey(subtle: SubtleCrypto, key: AtRestKey, r: TransportKeyRecord): Promise<StoredTransportKey> {
  const [secret] = await openSeal(subtle, key, 'transportKeys', boundFields(() => transportKeyClear(r), 'a transport key'), r.seal, 1, 'a transport key');
  return { id: r.id, kind: r.kind, key: secret!, storedAt: r.storedAt };
}

function mediaKeyClear(r: Omit<MediaKeyRecord, 'seal'>): AadValue[] {
  const p = r.purpose;
  const i = r.initiator;
  return [
    r.kind,
    r.keyIdHex,
    [p.tag, p.kind, [...p.uses]],
    r.csbId,
    r.gukId,
    r.rand,
    [...r.groupIds],
    r.activationTime,
    r.expiryTime,
    r.text,
    r.status,
    [i.uid, i.uri, i.kmsUri, i.keyPeriodNo],
    r.sentAt,
    r.keyPeriodNo,
    r.keyPeriodEndsAt,
    r.viaSakkeToSelf,
  ];
}

export async function sealMediaKey(subtle: SubtleCrypto, key: AtRestKey, k: ReceivedKey): Promise<MediaKeyRecord> {
  const o = obj(k, 'media key');
  const [kind, keyIdHex] = mediaKeyPrimaryKey(o.kind, o.keyId);
  const purpose = obj(o.purpose, 'media key.purpose');
  const initiator = obj(o.initiator, 'media key.initiator');
  const tag = uint(purpose.tag, 'media key.purpose.tag');
  if (tag > 15) throw new RangeError('media key.purpose.tag must fit in 4 bits');
  const clear: Omit<MediaKeyRecord, 'seal'> = {
    kind,
    keyIdHex,
    purpose: {
      tag,
      kind: oneOf(purpose.kind, ['GMK', 'PCK', 'CSK', 'SPK', 'MKFC', 'MSCCK', 'MuSiK'] as const, 'media key.purpose.kind'),
      uses: strList(purpose.uses, 'media key.purpose.uses').map((u) => oneOf(u, ['media', 'floor', 'signalling'] as const, 'media key.purpose.uses')),
    },
    csbId: bytes(o.csbId, 'media key.csbId'),
    gukId: optBytes(o.gukId, 'media key.gukId'),
    rand: bytes(o.rand, 'media key.rand'),
    groupIds: strList(o.groupIds, 'media key.groupIds'),
    activationTime: optNum(o.activationTime, 'media key.activationTime'),
    expiryTime: optNum(o.expiryTime, 'media key.expiryTime'),
    text: str(o.text, 'media key.text'),
    status: oneOf(o.status, ['active', 'revoked'] as const, 'media key.status'),
    initiator: {
      uid: bytes(initiator.uid, 'media key.initiator.uid'),
      uri: optStr(initiator.uri, 'media key.initiator.uri'),
      kmsUri: str(initiator.kmsUri, 'media key.initiator.kmsUri'),
      keyPeriodNo: uint(initiator.keyPeriodNo, 'media key.initiator.keyPeriodNo'),
    },
    sentAt: num(o.sentAt, 'media key.sentAt'),
    keyPeriodNo: uint(o.keyPeriodNo, 'media key.keyPeriodNo'),
    keyPeriodEndsAt: num(o.keyPeriodEndsAt, 'media key.keyPeriodEndsAt'),
    viaSakkeToSelf: bool(o.viaSakkeToSelf, 'media key.viaSakkeToSelf'),
  };
  // A revoked GMK may arrive as zero octets (TS 33.179 V13 7.3.2), so the key may be all zeros but not absent.
  const secret = secretBytes(o.key, 'media key.key');
  try {
    return { ...clear, seal: await seal(subtle, key, 'mediaKeys', mediaKeyClear(clear), [secret]) };
  } finally {
    secret.fill(0);
  }
}

export async function openMediaKey(subtle: SubtleCrypto, key: AtRestKey, r: MediaKeyRecord): Promise<ReceivedKey> {
  const [secret] = await openSeal(subtle, key, 'mediaKeys', boundFields(() => mediaKeyClear(r), 'a media key'), r.seal, 1, 'a media key');
  const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);
  return {
    kind: r.kind,
    key: secret!,
    keyId: hexToBytes(r.keyIdHex),
    purpose: { tag: r.purpose.tag, kind: r.purpose.kind, uses: [...r.purpose.uses] },
    csbId: copy(r.csbId),
    gukId: r.gukId === undefined ? undefined : copy(r.gukId),
    rand: copy(r.rand),
    groupIds: [...r.groupIds],
    activationTime: r.activationTime,
    expiryTime: r.expiryTime,
    text: r.text,
    status: r.status,
    initiator: { uid: copy(r.initiator.uid), uri: r.initiator.uri, kmsUri: r.initiator.kmsUri, keyPeriodNo: r.initiator.keyPeriodNo },
    sentAt: r.sentAt,
    keyPeriodNo: r.keyPeriodNo,
    keyPeriodEndsAt: r.keyPeriodEndsAt,
    viaSakkeToSelf: r.viaSakkeToSelf,
  };
}
