/**
 * The media key ring: which key protects which frame, TS 33.179 7.3.3 (purpose tags), 7.3.6
 * and 7.4.4 (MKI and master key derivation), 7.5.2 (the MKI alone locates the key: stateless
 * receiving, A.7 late entry) and the GMK activation/expiry times of the key parameters.
 *
 * Rules (docs/media.md, "Key ring"):
 * - Keys are found by MKI: GMK-ID ‖ GUK-ID (8 octets) for groups, PCK-ID (4 octets) for calls.
 * - A group may hold several GMKs. The sender uses the one with the latest activation time that
 *   has passed; the next one is handed out ahead with its activation time, so the switch needs
 *   no round trip and leaves no gap. A superseded or expired key still decrypts for `graceMs`.
 * - A key whose purpose tag does not allow media (a floor-only GMK, a CSK) is refused when added
 *   and again when used. A revoked key is removed at once, with every session key derived from it.
 * - Session keys are derived lazily per sender stream (the sender's GUK-ID is the CSB-ID, so
 *   each talker has its own key) and cached as non-extractable CryptoKeys, receive keys in a
 *   bounded LRU (a forged MKI costs one derivation, never unbounded memory).
 *
 * Pure: no I/O, the clock is injected. Raw keys live only here (the worker gets CryptoKeys).
 */
import { checkPurpose, keyProfile, type KeyKind, type KeyProfile, type KeyProfileName } from '../keys/purpose.js';
import type { ReceivedKey } from '../keys/receive.js';
import { MikeyError } from '../errors.js';
import { bytesToHex, equalBytes } from '../util/bytes.js';
import { MediaError } from '../codec/frame-errors.js';
import type { FrameKey, FrameKind } from '../codec/frame.js';
import { deriveStreamKey } from './session-keys.js';

export type PrivateCallRole = 'initiator' | 'receiver';

/** What a sender protects: a group call or one private call. */
export type MediaContext = { readonly kind: 'group'; readonly groupId: string } | { readonly kind: 'private'; readonly callId: string };

export interface GroupMediaKeyInput {
  readonly groupId: string;
  readonly gmk: Uint8Array;
  readonly gmkId: Uint8Array;
  /** This user's GUK-ID under the GMK: the second half of the MKI of our own frames. */
  readonly gukId: Uint8Array;
  readonly rand: Uint8Array;
  /** Unix ms from which to send with it (undefined: at once). */
  readonly activationTime?: number | undefined;
  /** Unix ms after which it protects nothing new (undefined: no expiry). */
  readonly expiryTime?: number | undefined;
}

export interface PrivateCallMediaKeyInput {
  readonly callId: string;
  readonly pck: Uint8Array;
  readonly pckId: Uint8Array;
  readonly rand: Uint8Array;
  /** Our side of the call: the initiator sends under CS-ID "private initiator", the receiver under "private receiver". */
  readonly role: PrivateCallRole;
  readonly expiryTime?: number | undefined;
}

/** A session key with the MKI that names it. */
export interface MediaSessionKey extends FrameKey {
  readonly mki: Uint8Array;
}

/** A key a sender may use from `activeFrom` until `activeUntil` (unix ms). */
export interface SendKey extends MediaSessionKey {
  readonly activeFrom: number;
  readonly activeUntil: number | undefined;
}

/** A key for received frames, valid until `receiveUntil` (unix ms; undefined: no limit known now). */
export interface ReceiveKey extends MediaSessionKey {
  readonly receiveUntil: number | undefined;
}

export interface MediaKeyRingOptions {
  readonly profile?: KeyProfileName;
  /** Clock, unix ms. */
  readonly now?: () => number;
  /** How long a superseded or expired key still decrypts, ms (default 30 000). */
  readonly graceMs?: number;
  /** Receive session keys kept, least recently used dropped first (default 256). */
  readonly maxReceiveKeys?: number;
}

export interface MediaKeyRing {
  readonly profile: KeyProfile;
  addGroupKey(input: GroupMediaKeyInput): void;
  addPrivateCallKey(input: PrivateCallMediaKeyInput): void;
  /**
   * A key accepted by the MIKEY receiver: a GMK for `groupId` (default: the first group the
   * key parameters name), or a PCK of call `callId` where we are `role`. A revoked key
   * (status 'revoked') is removed from the ring instead.
   */
  addReceivedKey(key: ReceivedKey, use?: { readonly groupId?: string } | { readonly callId: string; readonly role: PrivateCallRole }): void;
  /** Removes every key with this GMK-ID or PCK-ID and its session keys; true if one was held. */
  revoke(keyId: Uint8Array): boolean;
  /** Removes all keys of a group or call (the call ended, we left the group); returns their key IDs. */
  removeContext(context: MediaContext): Uint8Array[];
  /** Contexts holding at least one key. */
  contexts(): MediaContext[];
  /** The contexts holding a key with this GMK-ID or PCK-ID (none, or one per frame kind). */
  contextsOf(keyId: Uint8Array): MediaContext[];
  /** The keys a sender in `context` may use now or later, by activation time; [] if none. */
  sendKeys(context: MediaContext): Promise<SendKey[]>;
  /** The key of a received frame's MKI, or a MediaError saying why there is none. */
  receiveKey(mki: Uint8Array): Promise<ReceiveKey>;
  /** Drops keys past their grace time and returns the contexts that lost one. Called by sendKeys; exposed for timers. */
  prune(): MediaContext[];
}

interface KeyRecord {
  readonly frameKind: FrameKind;
  readonly keyKind: KeyKind;
  readonly context: MediaContext;
  readonly contextKey: string;
  readonly keyId: Uint8Array;
  readonly keyIdHex: string;
  readonly tgk: Uint8Array;
  readonly rand: Uint8Array;
  /** CSB-ID of our own stream: our GUK-ID, or the PCK-ID. */
  readonly ownCsbId: Uint8Array;
  readonly sendCsId: number;
  /** CS-ID of the streams we receive under this key. */
  readonly receiveCsId: number;
  readonly activation: number;
  readonly expiry: number;
  /** Insertion order: of two keys with one activation time, the later one takes over. */
  readonly seq: number;
}

const DEFAULT_GRACE_MS = 30_000;
const DEFAULT_MAX_RECEIVE_KEYS = 256;

export function contextKey(context: MediaContext): string {
  if (context.kind === 'group') return `group:${context.groupId}`;
  if (context.kind === 'private') return `call:${context.callId}`;
  throw new TypeError('media context must be a group or a private call');
}

function keyBytes(value: unknown, lengths: readonly number[], what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (!lengths.includes(value.length)) throw new RangeError(`${what} must be ${lengths.join(' or ')} bytes`);
  return value.slice();
}

/** RFC 3830 6.11: RAND is at least 128 bits; its length field is one octet. */
function randBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError('RAND must be a Uint8Array');
  if (value.length < 16 || value.length > 255) throw new RangeError('RAND must be 16..255 bytes');
  return value.slice();
}

/** Whether `o` takes over from `r` (same context): a later activation, or the same one added later. */
function after(o: KeyRecord, r: KeyRecord): boolean {
  return o.activation > r.activation || (o.activation === r.activation && o.seq > r.seq);
}

function time(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${what} must be a number (unix ms)`);
  return value;
}

function nonEmpty(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${what} must be a non-empty string`);
  return value;
}

/** checkPurpose with the media family's error: the key may not protect media. */
function mediaPurpose(profile: KeyProfile, keyId: Uint8Array, kind: KeyKind): void {
  try {
    checkPurpose(profile, keyId, kind, 'media');
  } catch (e) {
    if (e instanceof MikeyError) throw new MediaError('ERR_MEDIA_WRONG_PURPOSE', e.message, { cause: e });
    throw e;
  }
}

const finite = (t: number): number | undefined => (Number.isFinite(t) ? t : undefined);

export function createMediaKeyRing(options: MediaKeyRingOptions = {}): MediaKeyRing {
  const profile = keyProfile(options.profile ?? 'ts33180');
  const now = options.now ?? Date.now;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new RangeError('graceMs must be a finite number ≥ 0');
  const maxReceiveKeys = options.maxReceiveKeys ?? DEFAULT_MAX_RECEIVE_KEYS;
  if (!Number.isInteger(maxReceiveKeys) || maxReceiveKeys < 1) throw new RangeError('maxReceiveKeys must be an integer ≥ 1');

  // Group and private key IDs live apart: the MKI length tells which one a frame names.
  const byId: Record<FrameKind, Map<string, KeyRecord>> = { group: new Map(), private: new Map() };
  // The records of each context: a dispatcher holds keys of 100+ groups, and every question
  // the ring answers is about one context, so none of them scans the whole ring.
  const byContext = new Map<string, Set<KeyRecord>>();
  const sendCache = new Map<string, Promise<FrameKey>>();
  const receiveCache = new Map<string, Promise<FrameKey>>();

  function wipe(r: KeyRecord): void {
    r.tgk.fill(0);
  }

  /** Removes cached session keys whose MKI starts with `prefixHex`. */
  function purge(prefixHex: string): void {
    for (const cache of [sendCache, receiveCache]) {
      for (const k of [...cache.keys()]) if (k.startsWith(prefixHex)) cache.delete(k);
    }
  }

  let nextSeq = 0;

  function index(r: KeyRecord): void {
    let set = byContext.get(r.contextKey);
    if (set === undefined) byContext.set(r.contextKey, (set = new Set()));
    set.add(r);
  }

  /** Forgets a record everywhere: maps, context index, cached session keys; wipes it. */
  function drop(r: KeyRecord): void {
    if (byId[r.frameKind].get(r.keyIdHex) === r) byId[r.frameKind].delete(r.keyIdHex);
    const set = byContext.get(r.contextKey);
    set?.delete(r);
    if (set?.size === 0) byContext.delete(r.contextKey);
    purge(r.keyIdHex);
    wipe(r);
  }

  /** Stores a record; the same key again updates its times and context (keeping its order). */
  function put(fields: Omit<KeyRecord, 'seq'>): void {
    const map = byId[fields.frameKind];
    const old = map.get(fields.keyIdHex);
    if (old !== undefined) {
      if (!equalBytes(old.tgk, fields.tgk) || !equalBytes(old.rand, fields.rand) || !equalBytes(old.ownCsbId, fields.ownCsbId)) {
        fields.tgk.fill(0);
        throw new MediaError('ERR_MEDIA_KEY_CONFLICT', `another key is already held under key ID ${fields.keyIdHex}`);
      }
      drop(old);
    }
    const r: KeyRecord = { ...fields, seq: old?.seq ?? nextSeq++ };
    map.set(fields.keyIdHex, r);
    index(r);
  }

  /** The records of a context (one frame kind per context: groups hold GMKs, calls PCKs). */
  function inContext(ck: string): Iterable<KeyRecord> {
    return byContext.get(ck) ?? [];
  }

  function siblings(r: KeyRecord): Iterable<KeyRecord> {
    return inContext(r.contextKey);
  }

  /** When a later key of the same context takes over from `r` (Infinity: none yet). */
  function supersededAt(r: KeyRecord): number {
    let at = Infinity;
    for (const o of siblings(r)) if (after(o, r) && o.activation < at) at = o.activation;
    return at;
  }

  function receiveUntil(r: KeyRecord): number {
    return Math.min(r.expiry, supersededAt(r)) + graceMs;
  }

  function prune(): MediaContext[] {
    const t = now();
    const changed = new Map<string, MediaContext>();
    for (const set of [...byContext.values()]) {
      // Judge the whole context before dropping: a dropped key must not change a sibling's verdict.
      const expired = [...set].filter((r) => receiveUntil(r) <= t);
      for (const r of expired) {
        changed.set(r.contextKey, r.context);
        drop(r);
      }
    }
    return [...changed.values()];
  }

  function addGroupKey(input: GroupMediaKeyInput): void {
    const groupId = nonEmpty(input.groupId, 'groupId');
    const gmkId = keyBytes(input.gmkId, [4], 'GMK-ID');
    const gukId = keyBytes(input.gukId, [4], 'GUK-ID');
    mediaPurpose(profile, gmkId, 'GMK');
    // The User Salt has 28 bits, so a GUK-ID keeps the purpose tag of its GMK-ID (F.1.3).
    if (gukId[0]! >>> 4 !== gmkId[0]! >>> 4) throw new RangeError('GUK-ID does not carry the purpose tag of its GMK-ID');
    const context: MediaContext = { kind: 'group', groupId };
    put({
      frameKind: 'group',
      keyKind: 'GMK',
      context,
      contextKey: contextKey(context),
      keyId: gmkId,
      keyIdHex: bytesToHex(gmkId),
      tgk: keyBytes(input.gmk, [16, 32], 'GMK'),
      rand: randBytes(input.rand),
      ownCsbId: gukId,
      sendCsId: profile.csId.group,
      receiveCsId: profile.csId.group,
      activation: time(input.activationTime, -Infinity, 'activationTime'),
      expiry: time(input.expiryTime, Infinity, 'expiryTime'),
    });
  }

  function addPrivateCallKey(input: PrivateCallMediaKeyInput): void {
    const callId = nonEmpty(input.callId, 'callId');
    const pckId = keyBytes(input.pckId, [4], 'PCK-ID');
    if (input.role !== 'initiator' && input.role !== 'receiver') throw new TypeError("role must be 'initiator' or 'receiver'");
    mediaPurpose(profile, pckId, 'PCK');
    const context: MediaContext = { kind: 'private', callId };
    const initiator = input.role === 'initiator';
    const existing = byId.private.get(bytesToHex(pckId));
    const ck = contextKey(context);
    const latest = Math.max(-Infinity, ...[...inContext(ck)].filter((o) => o !== existing).map((o) => o.activation));
    put({
      frameKind: 'private',
      keyKind: 'PCK',
      context,
      contextKey: contextKey(context),
      keyId: pckId,
      keyIdHex: bytesToHex(pckId),
      tgk: keyBytes(input.pck, [16, 32], 'PCK'),
      rand: randBytes(input.rand),
      ownCsbId: pckId,
      // 7.4.4 with the CS-IDs of the profile: each direction of the call has its own key.
      sendCsId: initiator ? profile.csId.privateInitiator : profile.csId.privateReceiver,
      receiveCsId: initiator ? profile.csId.privateReceiver : profile.csId.privateInitiator,
      // The first PCK of a call is active at once; a new one (re-keying) takes over from the
      // time it arrives.
      activation: existing?.activation ?? (latest === -Infinity ? -Infinity : Math.max(now(), latest)),
      expiry: time(input.expiryTime, Infinity, 'expiryTime'),
    });
  }

  function revoke(keyId: Uint8Array): boolean {
    if (!(keyId instanceof Uint8Array) || keyId.length !== 4) throw new RangeError('key ID must be 4 bytes');
    const hex = bytesToHex(keyId);
    let found = false;
    for (const map of Object.values(byId)) {
      const r = map.get(hex);
      if (r !== undefined) {
        drop(r);
        found = true;
      }
    }
    purge(hex);
    return found;
  }

  function addReceivedKey(
    key: ReceivedKey,
    use: { readonly groupId?: string } | { readonly callId: string; readonly role: PrivateCallRole } = {},
  ): void {
    if (key.status === 'revoked') {
      revoke(key.keyId);
      return;
    }
    if (key.kind === 'GMK') {
      const groupId = 'groupId' in use && use.groupId !== undefined ? use.groupId : key.groupIds[0];
      if (groupId === undefined) throw new TypeError('the GMK names no group: pass use.groupId');
      if (key.groupIds.length > 0 && !key.groupIds.includes(groupId)) throw new RangeError('the GMK was not distributed for this group');
      if (key.gukId === undefined) throw new TypeError('a GMK record must carry its GUK-ID');
      addGroupKey({ groupId, gmk: key.key, gmkId: key.keyId, gukId: key.gukId, rand: key.rand, activationTime: key.activationTime, expiryTime: key.expiryTime });
      return;
    }
    if (key.kind === 'PCK') {
      if (!('callId' in use)) throw new TypeError('a PCK needs use.callId and use.role');
      addPrivateCallKey({ callId: use.callId, role: use.role, pck: key.key, pckId: key.keyId, rand: key.rand, expiryTime: key.expiryTime });
      return;
    }
    throw new MediaError('ERR_MEDIA_WRONG_PURPOSE', `a ${String(key.kind)} does not protect media`);
  }

  function removeContext(context: MediaContext): Uint8Array[] {
    const ck = contextKey(context);
    const removed: Uint8Array[] = [];
    for (const r of [...inContext(ck)]) {
      removed.push(r.keyId.slice());
      drop(r);
    }
    return removed;
  }

  function contexts(): MediaContext[] {
    const out: MediaContext[] = [];
    for (const set of byContext.values()) {
      const first = set.values().next();
      if (!first.done) out.push(first.value.context);
    }
    return out;
  }

  function contextsOf(keyId: Uint8Array): MediaContext[] {
    if (!(keyId instanceof Uint8Array)) throw new TypeError('key ID must be a Uint8Array');
    const hex = bytesToHex(keyId);
    const out: MediaContext[] = [];
    for (const map of Object.values(byId)) {
      const r = map.get(hex);
      if (r !== undefined) out.push(r.context);
    }
    return out;
  }

  function cached(cache: Map<string, Promise<FrameKey>>, id: string, derive: () => Promise<FrameKey>): Promise<FrameKey> {
    let p = cache.get(id);
    if (p !== undefined) {
      cache.delete(id); // LRU: move to the back
      cache.set(id, p);
      return p;
    }
    p = derive();
    cache.set(id, p);
    // A failed derivation is not cached; the next frame tries again.
    p.catch(() => {
      if (cache.get(id) === p) cache.delete(id);
    });
    if (cache === receiveCache && cache.size > maxReceiveKeys) cache.delete(cache.keys().next().value!);
    return p;
  }

  async function sendKeys(context: MediaContext): Promise<SendKey[]> {
    prune();
    const ck = contextKey(context);
    const t = now();
    const kind: FrameKind = context.kind === 'group' ? 'group' : 'private';
    const records = [...inContext(ck)].filter((r) => r.frameKind === kind).sort((a, b) => (after(a, b) ? 1 : -1));
    // Keep the current key and every later one; drop superseded and expired ones.
    const usable = records.filter((r, i) => r.expiry > t && !(records[i + 1] !== undefined && records[i + 1]!.activation <= t));
    const keys = await Promise.all(
      usable.map(async (r): Promise<SendKey | undefined> => {
        mediaPurpose(profile, r.keyId, r.keyKind);
        const mki = r.frameKind === 'group' ? concat(r.keyId, r.ownCsbId) : r.keyId.slice();
        const id = bytesToHex(mki);
        const fk = await cached(sendCache, id, () => deriveStreamKey({ tgk: r.tgk, csId: r.sendCsId, csbId: r.ownCsbId, rand: r.rand, usage: 'encrypt' }));
        // Revoked or replaced while it was being derived: not handed out.
        if (byId[kind].get(r.keyIdHex) !== r) return undefined;
        return { mki, key: fk.key, salt: fk.salt, activeFrom: Number.isFinite(r.activation) ? r.activation : 0, activeUntil: finite(r.expiry) };
      }),
    );
    return keys.filter((k): k is SendKey => k !== undefined);
  }

  async function receiveKey(mki: Uint8Array): Promise<ReceiveKey> {
    if (!(mki instanceof Uint8Array)) throw new TypeError('MKI must be a Uint8Array');
    if (mki.length !== 8 && mki.length !== 4) throw new MediaError('ERR_MEDIA_MALFORMED', `an MKI is 8 or 4 bytes, not ${mki.length}`);
    // No prune here: a key past its grace time is reported as expired, not as unknown.
    const kind: FrameKind = mki.length === 8 ? 'group' : 'private';
    const keyId = mki.subarray(0, 4);
    const hex = bytesToHex(keyId);
    const r = byId[kind].get(hex);
    if (r === undefined) throw new MediaError('ERR_MEDIA_UNKNOWN_KEY', `no ${kind === 'group' ? 'GMK' : 'PCK'} with key ID ${hex}`);
    mediaPurpose(profile, r.keyId, r.keyKind);
    const csbId = kind === 'group' ? mki.slice(4, 8) : r.keyId;
    if (kind === 'group' && csbId[0]! >>> 4 !== keyId[0]! >>> 4) {
      throw new MediaError('ERR_MEDIA_MALFORMED', 'the GUK-ID of the MKI does not carry the purpose tag of its GMK-ID');
    }
    const until = receiveUntil(r);
    if (until <= now()) throw new MediaError('ERR_MEDIA_KEY_EXPIRED', `key ${hex} is past its grace time`);
    const id = bytesToHex(mki);
    const fk = await cached(receiveCache, id, () => deriveStreamKey({ tgk: r.tgk, csId: r.receiveCsId, csbId, rand: r.rand, usage: 'decrypt' }));
    // The key may have been revoked while it was being derived.
    if (byId[kind].get(hex) !== r) throw new MediaError('ERR_MEDIA_UNKNOWN_KEY', `key ${hex} was removed`);
    return { mki: mki.slice(), key: fk.key, salt: fk.salt, receiveUntil: finite(until) };
  }

  return { profile, addGroupKey, addPrivateCallKey, addReceivedKey, revoke, removeContext, contexts, contextsOf, sendKeys, receiveKey, prune };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
