/**
 * The E2EE worker's view of the keys (TS 33.179 7.5.2: the MKI of a frame locates its key).
 * It holds only session keys as non-extractable CryptoKeys, never a GMK or PCK:
 *
 * - send schedules per context: the current key and the next ones with their activation times,
 *   so that a sender switches at activation by itself, frame by frame, without a gap;
 * - receive keys by MKI, obtained from the page on the first frame that names them (late entry:
 *   that frame waits for the answer instead of being dropped), with a short memory of MKIs the
 *   page did not know so a stream of such frames does not become a stream of requests.
 */
import type { FrameKey } from '../../src/codec/frame.js';
import type { MediaErrorCode } from '../../src/codec/frame-errors.js';
import type { WireReceiveKey, WireSendKey } from '../../src/media/protocol.js';
import { bytesToHex } from '../../src/util/bytes.js';

export interface SendEntry {
  readonly mki: Uint8Array;
  readonly mkiHex: string;
  readonly key: FrameKey;
  readonly activeFrom: number;
  readonly activeUntil: number | null;
}

export type KeyLookup = { readonly ok: true; readonly key: FrameKey } | { readonly ok: false; readonly reason: MediaErrorCode };

export interface WorkerKeysOptions {
  readonly now: () => number;
  /** Sends a key-request to the page. */
  readonly request: (requestId: number, mki: Uint8Array) => void;
  readonly requestTimeoutMs: () => number;
  readonly unknownRetryMs: () => number;
  readonly setTimeout: (f: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
}

export interface WorkerKeys {
  setSendKeys(context: string, keys: readonly WireSendKey[]): void;
  /** The key a sender in `context` uses at this instant, if any. */
  activeSendKey(context: string): SendEntry | undefined;
  /** The key of a received MKI: cached, or asked of the page (at most one request per MKI in flight). */
  receiveKey(mki: Uint8Array, mkiHex: string): KeyLookup | Promise<KeyLookup>;
  /** The page's answer to a key-request (or an unsolicited one). */
  answer(requestId: number, mki: Uint8Array, key: WireReceiveKey | null, reason: MediaErrorCode | null): void;
  /** New keys on the page: forget which MKIs it did not know. */
  keysChanged(): void;
  /** Drops every send and receive key whose MKI starts with `keyId`. */
  revoke(keyId: Uint8Array): void;
  /** Settles waiting lookups (worker shutting down). */
  dispose(): void;
}

interface Pending {
  readonly requestId: number;
  readonly mkiHex: string;
  readonly resolve: (r: KeyLookup) => void;
  readonly promise: Promise<KeyLookup>;
  timer: unknown;
}

/** Requests in flight at once; past this, an unknown MKI is dropped without asking. */
const MAX_PENDING = 64;
const MAX_UNKNOWN = 1024;
const MAX_RECEIVE_KEYS = 1024;

export function createWorkerKeys(o: WorkerKeysOptions): WorkerKeys {
  const send = new Map<string, SendEntry[]>();
  const receive = new Map<string, { readonly key: FrameKey; readonly until: number | null }>();
  const unknown = new Map<string, { readonly until: number; readonly reason: MediaErrorCode }>();
  const pending = new Map<string, Pending>();
  const pendingById = new Map<number, Pending>();
  let nextRequestId = 1;

  function setSendKeys(context: string, keys: readonly WireSendKey[]): void {
    const entries = keys
      .map((k) => ({ mki: k.mki, mkiHex: bytesToHex(k.mki), key: { key: k.key, salt: k.salt }, activeFrom: k.activeFrom, activeUntil: k.activeUntil }))
      .sort((a, b) => a.activeFrom - b.activeFrom);
    if (entries.length === 0) send.delete(context);
    else send.set(context, entries);
  }

  function activeSendKey(context: string): SendEntry | undefined {
    const entries = send.get(context);
    if (entries === undefined) return undefined;
    const t = o.now();
    let current: SendEntry | undefined;
    for (const e of entries) if (e.activeFrom <= t) current = e;
    // The newest key that has started decides; if it has expired, nothing is sent (fail closed).
    if (current === undefined || (current.activeUntil !== null && t >= current.activeUntil)) return undefined;
    return current;
  }

  function settle(p: Pending, r: KeyLookup): void {
    o.clearTimeout(p.timer);
    pending.delete(p.mkiHex);
    pendingById.delete(p.requestId);
    p.resolve(r);
  }

  function rememberUnknown(mkiHex: string, reason: MediaErrorCode): void {
    unknown.delete(mkiHex);
    unknown.set(mkiHex, { until: o.now() + o.unknownRetryMs(), reason });
    if (unknown.size > MAX_UNKNOWN) unknown.delete(unknown.keys().next().value!);
  }

  function receiveKey(mki: Uint8Array, mkiHex: string): KeyLookup | Promise<KeyLookup> {
    const t = o.now();
    const held = receive.get(mkiHex);
    if (held !== undefined) {
      if (held.until === null || t < held.until) return { ok: true, key: held.key };
      receive.delete(mkiHex); // past its grace time here: ask again, the page knows the rules
    }
    const no = unknown.get(mkiHex);
    if (no !== undefined) {
      if (t < no.until) return { ok: false, reason: no.reason };
      unknown.delete(mkiHex);
    }
    const inFlight = pending.get(mkiHex);
    if (inFlight !== undefined) return inFlight.promise;
    if (pending.size >= MAX_PENDING) return { ok: false, reason: 'ERR_MEDIA_UNKNOWN_KEY' };
    let resolve!: (r: KeyLookup) => void;
    const promise = new Promise<KeyLookup>((r) => (resolve = r));
    const p: Pending = { requestId: nextRequestId++, mkiHex, resolve, promise, timer: undefined };
    pending.set(mkiHex, p);
    pendingById.set(p.requestId, p);
    p.timer = o.setTimeout(() => {
      rememberUnknown(mkiHex, 'ERR_MEDIA_UNKNOWN_KEY');
      settle(p, { ok: false, reason: 'ERR_MEDIA_UNKNOWN_KEY' });
    }, o.requestTimeoutMs());
    o.request(p.requestId, mki.slice());
    return promise;
  }

  function answer(requestId: number, mki: Uint8Array, key: WireReceiveKey | null, reason: MediaErrorCode | null): void {
    const mkiHex = bytesToHex(mki);
    let result: KeyLookup;
    if (key !== null) {
      const frameKey = { key: key.key, salt: key.salt };
      receive.delete(mkiHex);
      receive.set(mkiHex, { key: frameKey, until: key.receiveUntil });
      if (receive.size > MAX_RECEIVE_KEYS) receive.delete(receive.keys().next().value!);
      unknown.delete(mkiHex);
      result = { ok: true, key: frameKey };
    } else {
      const why = reason ?? 'ERR_MEDIA_UNKNOWN_KEY';
      rememberUnknown(mkiHex, why);
      result = { ok: false, reason: why };
    }
    // An answer that comes after its timeout still stores the key for the next frame.
    const p = pendingById.get(requestId) ?? pending.get(mkiHex);
    if (p !== undefined && p.mkiHex === mkiHex) settle(p, result);
  }

  function keysChanged(): void {
    unknown.clear();
  }

  function revoke(keyId: Uint8Array): void {
    const prefix = bytesToHex(keyId);
    for (const k of [...receive.keys()]) if (k.startsWith(prefix)) receive.delete(k);
    for (const k of [...unknown.keys()]) if (k.startsWith(prefix)) unknown.delete(k);
    for (const [context, entries] of [...send]) {
      const kept = entries.filter((e) => !e.mkiHex.startsWith(prefix));
      if (kept.length === 0) send.delete(context);
      else send.set(context, kept);
    }
  }

  function dispose(): void {
    for (const p of [...pending.values()]) settle(p, { ok: false, reason: 'ERR_MEDIA_WORKER' });
    send.clear();
    receive.clear();
    unknown.clear();
  }

  return { setSendKeys, activeSendKey, receiveKey, answer, keysChanged, revoke, dispose };
}
