/**
 * The protocol between the page (src/platform/media/e2ee-manager.ts) and the E2EE worker
 * (workers/e2ee-worker.ts) that applies TS 33.179 7.5 media protection to encoded frames.
 *
 *   page                                   worker
 *    │── init {id, protocol, config} ───────►│   nothing else is accepted before init
 *    │◄─────────────────────────── ack {id} ─│
 *    │── set-send-keys / revoke / attach ───►│   every page message has an id and gets
 *    │◄──────────── ack {id} | error {id} ───│   exactly one ack, counters or error
 *    │◄──── key-request {requestId, mki} ────│   a received frame names an unknown MKI
 *    │── key-response {id, requestId, …} ───►│   (a non-extractable CryptoKey, or null)
 *    │◄──────────────────── event {event} ───│   throttled conditions, immediate recovery
 *
 * Both sides validate every message at run time (`readToWorker`, `readFromWorker`,
 * `readTransformOptions`): a message that does not fit is answered with an error naming the
 * field, never dropped in silence. Keys cross as CryptoKeys that cannot be exported; the
 * validators refuse an extractable one. Pure types and checks, no I/O.
 */
import { MEDIA_ERROR_CODES, MediaError, type MediaErrorCode } from '../codec/frame-errors.js';

export const E2EE_PROTOCOL_VERSION = 1;
/** The `kind` of the options object handed to RTCRtpScriptTransform. */
export const E2EE_TRANSFORM_KIND = 'mcptt-e2ee';

export type TrackDirection = 'send' | 'receive';

export interface WorkerConfig {
  /** Smallest interval between two events of one ongoing condition on one track, ms. */
  readonly throttleMs: number;
  /** A track that had frames and has none for this long is reported stalled, ms. */
  readonly stallMs: number;
  /** Replay window per sender stream, in frames. */
  readonly replayWindow: number;
  /** How long a received frame with an unknown MKI waits for the page's answer, ms. */
  readonly keyRequestTimeoutMs: number;
  /** How long an MKI the page did not know is not asked about again, ms. */
  readonly unknownKeyRetryMs: number;
}

export const DEFAULT_WORKER_CONFIG: WorkerConfig = Object.freeze({
  throttleMs: 1000,
  stallMs: 2000,
  replayWindow: 128,
  // TS 33.179 A.7 asks for late entry within 350 ms; the page answers in a few ms.
  keyRequestTimeoutMs: 300,
  unknownKeyRetryMs: 1000,
});

// ---- events -------------------------------------------------------------------------------

/** Why a received frame was not handed to the decoder. */
export type DecryptFailureReason = 'auth' | 'replay' | 'malformed' | 'wrong-purpose' | 'expired';

/** Frames flow protected: the first one on a track, and recovery after any failure. */
export interface EncryptingEvent {
  readonly type: 'encrypting';
  readonly trackId: string;
  readonly direction: TrackDirection;
  /** MKI (hex) of the key in use. Key IDs travel in clear in every frame: not a secret. */
  readonly mki: string;
}

/** Send: no active key, the frame is dropped. Receive: the MKI names no key we hold. */
export interface MissingKeyEvent {
  readonly type: 'missing-key';
  readonly trackId: string;
  readonly direction: TrackDirection;
  /** MKI (hex) a received frame named; undefined on the send side. */
  readonly mki: string | undefined;
  /** Frames dropped for this reason since the previous event of this type on the track. */
  readonly count: number;
}

export interface DecryptFailedEvent {
  readonly type: 'decrypt-failed';
  readonly trackId: string;
  readonly direction: 'receive';
  readonly reason: DecryptFailureReason;
  readonly mki: string | undefined;
  readonly count: number;
}

/** A received frame without the format marker: plaintext media, or another E2EE format. */
export interface UnencryptedFrameEvent {
  readonly type: 'unencrypted-frame-received';
  readonly trackId: string;
  readonly direction: 'receive';
  readonly count: number;
}

/**
 * A track has had no frame for `silentMs`. With `neverStarted` it has had none since it was
 * attached: the endpoint carries no media yet, or the browser bypassed the transform because it
 * was attached too late (docs/media.md, "Attaching") — then frames flow in clear around it.
 */
export interface StalledEvent {
  readonly type: 'stalled';
  readonly trackId: string;
  readonly direction: TrackDirection;
  readonly silentMs: number;
  readonly neverStarted: boolean;
}

export type MediaEvent = EncryptingEvent | MissingKeyEvent | DecryptFailedEvent | UnencryptedFrameEvent | StalledEvent;
export type MediaEventType = MediaEvent['type'];
export const MEDIA_EVENT_TYPES: readonly MediaEventType[] = Object.freeze(['encrypting', 'missing-key', 'decrypt-failed', 'unencrypted-frame-received', 'stalled']);

/** Per-track counters of one worker generation. */
export interface TrackCounters {
  readonly trackId: string;
  readonly direction: TrackDirection;
  /** Send context ('group:…' / 'call:…'); null for receivers. */
  readonly context: string | null;
  readonly framesIn: number;
  readonly framesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly droppedNoKey: number;
  readonly droppedUnknownKey: number;
  readonly droppedAuth: number;
  readonly droppedReplay: number;
  readonly droppedMalformed: number;
  readonly droppedUnencrypted: number;
  readonly droppedExpired: number;
  readonly droppedError: number;
  /**
   * Received frames of zero octets (Chromium hands RTP padding, e.g. bandwidth probes, to the
   * transform as empty frames): nothing to decrypt and nothing to play; dropped without an event.
   */
  readonly droppedEmpty: number;
  /** Unix ms of the last frame seen, null before the first. */
  readonly lastFrameAt: number | null;
}

// ---- messages -----------------------------------------------------------------------------

export interface WireSendKey {
  readonly mki: Uint8Array;
  readonly key: CryptoKey;
  readonly salt: Uint8Array;
  readonly activeFrom: number;
  readonly activeUntil: number | null;
}

export interface WireReceiveKey {
  readonly key: CryptoKey;
  readonly salt: Uint8Array;
  readonly receiveUntil: number | null;
}

export type ToWorkerMessage =
  | { readonly kind: 'init'; readonly id: number; readonly protocol: number; readonly config: WorkerConfig }
  | { readonly kind: 'set-send-keys'; readonly id: number; readonly context: string; readonly keys: readonly WireSendKey[] }
  | {
      readonly kind: 'key-response';
      readonly id: number;
      readonly requestId: number;
      readonly mki: Uint8Array;
      readonly key: WireReceiveKey | null;
      /** Why there is no key (null when there is one). */
      readonly reason: MediaErrorCode | null;
    }
  /** New keys arrived: MKIs the page did not know may be asked about again at once. */
  | { readonly kind: 'keys-changed'; readonly id: number }
  | { readonly kind: 'revoke'; readonly id: number; readonly keyId: Uint8Array }
  /** The encoded-streams fallback: the streams of one sender/receiver, transferred. */
  | {
      readonly kind: 'attach';
      readonly id: number;
      readonly trackId: string;
      readonly direction: TrackDirection;
      readonly context: string | null;
      readonly readable: ReadableStream;
      readonly writable: WritableStream;
    }
  | { readonly kind: 'detach'; readonly id: number; readonly trackId: string }
  | { readonly kind: 'get-counters'; readonly id: number };

export type FromWorkerMessage =
  | { readonly kind: 'ack'; readonly id: number }
  | {
      readonly kind: 'error';
      /** The page message this answers; null for failures of a running transform. */
      readonly id: number | null;
      readonly code: MediaErrorCode;
      readonly message: string;
      readonly trackId: string | null;
    }
  | { readonly kind: 'counters'; readonly id: number; readonly counters: readonly TrackCounters[] }
  | { readonly kind: 'event'; readonly event: MediaEvent }
  | { readonly kind: 'key-request'; readonly requestId: number; readonly mki: Uint8Array };

/** The options object of `new RTCRtpScriptTransform(worker, options)`. */
export interface TransformOptions {
  readonly kind: typeof E2EE_TRANSFORM_KIND;
  readonly protocol: number;
  readonly trackId: string;
  readonly direction: TrackDirection;
  readonly context: string | null;
}

// ---- validation ---------------------------------------------------------------------------

type Obj = Record<string, unknown>;

const MAX_ID_LENGTH = 256;
const MAX_CONTEXT_LENGTH = 2048;
const MAX_SEND_KEYS = 16;
const MAX_COUNTERS = 4096;
const DECRYPT_REASONS: readonly DecryptFailureReason[] = ['auth', 'replay', 'malformed', 'wrong-purpose', 'expired'];

const bad = (what: string): MediaError => new MediaError('ERR_MEDIA_WORKER', `protocol: ${what}`);

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be an object`);
  return v as Obj;
}

function int(v: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`${what} must be an integer ${min}..${max}`);
  return v;
}

function time(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${what} must be a finite number`);
  return v;
}

function timeOrNull(v: unknown, what: string): number | null {
  return v === null ? null : time(v, what);
}

function str(v: unknown, what: string, max = MAX_ID_LENGTH): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(`${what} must be a string of 1..${max} characters`);
  return v;
}

function strOrNull(v: unknown, what: string, max?: number): string | null {
  return v === null ? null : str(v, what, max);
}

function bytes(v: unknown, what: string, lengths: readonly number[]): Uint8Array {
  if (!(v instanceof Uint8Array) || !lengths.includes(v.length)) throw bad(`${what} must be a Uint8Array of ${lengths.join(' or ')} bytes`);
  return v;
}

function direction(v: unknown): TrackDirection {
  if (v !== 'send' && v !== 'receive') throw bad("direction must be 'send' or 'receive'");
  return v;
}

/** A non-extractable AES-128-GCM key with `usage`. */
function gcmKey(v: unknown, what: string, usage: 'encrypt' | 'decrypt'): CryptoKey {
  if (typeof CryptoKey === 'undefined' || !(v instanceof CryptoKey)) throw bad(`${what} must be a CryptoKey`);
  const alg = v.algorithm as Partial<AesKeyAlgorithm>;
  if (alg.name !== 'AES-GCM' || alg.length !== 128) throw bad(`${what} must be an AES-128-GCM key`);
  if (v.extractable) throw bad(`${what} must not be extractable`);
  if (!v.usages.includes(usage)) throw bad(`${what} must allow ${usage}`);
  return v;
}

function readErrorCode(v: unknown, what: string): MediaErrorCode {
  if (typeof v !== 'string' || !(MEDIA_ERROR_CODES as readonly string[]).includes(v)) throw bad(`${what} must be a media error code`);
  return v as MediaErrorCode;
}

function readConfig(v: unknown): WorkerConfig {
  const o = obj(v, 'config');
  return {
    throttleMs: int(o.throttleMs, 'config.throttleMs', 0, 3_600_000),
    stallMs: int(o.stallMs, 'config.stallMs', 10, 3_600_000),
    replayWindow: int(o.replayWindow, 'config.replayWindow', 1, 4096),
    keyRequestTimeoutMs: int(o.keyRequestTimeoutMs, 'config.keyRequestTimeoutMs', 1, 60_000),
    unknownKeyRetryMs: int(o.unknownKeyRetryMs, 'config.unknownKeyRetryMs', 0, 3_600_000),
  };
}

function readSendKey(v: unknown, i: number): WireSendKey {
  const o = obj(v, `keys[${i}]`);
  return {
    mki: bytes(o.mki, `keys[${i}].mki`, [4, 8]),
    key: gcmKey(o.key, `keys[${i}].key`, 'encrypt'),
    salt: bytes(o.salt, `keys[${i}].salt`, [12]),
    activeFrom: time(o.activeFrom, `keys[${i}].activeFrom`),
    activeUntil: timeOrNull(o.activeUntil, `keys[${i}].activeUntil`),
  };
}

function readReceiveKey(v: unknown): WireReceiveKey | null {
  if (v === null) return null;
  const o = obj(v, 'key');
  return { key: gcmKey(o.key, 'key.key', 'decrypt'), salt: bytes(o.salt, 'key.salt', [12]), receiveUntil: timeOrNull(o.receiveUntil, 'key.receiveUntil') };
}

/** The request id of a message that failed validation, when it has a usable one. */
export function messageIdOf(data: unknown): number | null {
  if (typeof data !== 'object' || data === null) return null;
  const id = (data as Obj).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

/** Validates a page → worker message; throws `ERR_MEDIA_WORKER` naming the first bad field. */
export function readToWorker(data: unknown): ToWorkerMessage {
  const o = obj(data, 'message');
  const id = int(o.id, 'id');
  switch (o.kind) {
    case 'init':
      return { kind: 'init', id, protocol: int(o.protocol, 'protocol', 0, 0xffff), config: readConfig(o.config) };
    case 'set-send-keys': {
      if (!Array.isArray(o.keys) || o.keys.length > MAX_SEND_KEYS) throw bad(`keys must be an array of at most ${MAX_SEND_KEYS}`);
      return { kind: 'set-send-keys', id, context: str(o.context, 'context', MAX_CONTEXT_LENGTH), keys: o.keys.map(readSendKey) };
    }
    case 'key-response': {
      const key = readReceiveKey(o.key);
      const reason = o.reason === null ? null : readErrorCode(o.reason, 'reason');
      if ((key === null) === (reason === null)) throw bad('key-response carries either a key or a reason');
      return { kind: 'key-response', id, requestId: int(o.requestId, 'requestId'), mki: bytes(o.mki, 'mki', [4, 8]), key, reason };
    }
    case 'keys-changed':
      return { kind: 'keys-changed', id };
    case 'revoke':
      return { kind: 'revoke', id, keyId: bytes(o.keyId, 'keyId', [4]) };
    case 'attach': {
      if (typeof ReadableStream === 'undefined' || !(o.readable instanceof ReadableStream)) throw bad('readable must be a ReadableStream');
      if (typeof WritableStream === 'undefined' || !(o.writable instanceof WritableStream)) throw bad('writable must be a WritableStream');
      const dir = direction(o.direction);
      const context = strOrNull(o.context, 'context', MAX_CONTEXT_LENGTH);
      if ((dir === 'send') !== (context !== null)) throw bad('a sender needs a context, a receiver has none');
      return { kind: 'attach', id, trackId: str(o.trackId, 'trackId'), direction: dir, context, readable: o.readable, writable: o.writable };
    }
    case 'detach':
      return { kind: 'detach', id, trackId: str(o.trackId, 'trackId') };
    case 'get-counters':
      return { kind: 'get-counters', id };
    default:
      throw bad(`unknown message kind ${typeof o.kind === 'string' ? JSON.stringify(o.kind.slice(0, 40)) : typeof o.kind}`);
  }
}

/** Validates the options of an RTCRtpScriptTransform created by the manager. */
export function readTransformOptions(data: unknown): TransformOptions {
  const o = obj(data, 'transform options');
  if (o.kind !== E2EE_TRANSFORM_KIND) throw bad(`transform options kind must be ${E2EE_TRANSFORM_KIND}`);
  const dir = direction(o.direction);
  const context = strOrNull(o.context, 'context', MAX_CONTEXT_LENGTH);
  if ((dir === 'send') !== (context !== null)) throw bad('a sender needs a context, a receiver has none');
  return { kind: E2EE_TRANSFORM_KIND, protocol: int(o.protocol, 'protocol', 0, 0xffff), trackId: str(o.trackId, 'trackId'), direction: dir, context };
}

function readCount(o: Obj, k: string): number {
  return int(o[k], k);
}

function readCounters(v: unknown): TrackCounters {
  const o = obj(v, 'counters entry');
  return {
    trackId: str(o.trackId, 'trackId'),
    direction: direction(o.direction),
    context: strOrNull(o.context, 'context', MAX_CONTEXT_LENGTH),
    framesIn: readCount(o, 'framesIn'),
    framesOut: readCount(o, 'framesOut'),
    bytesIn: readCount(o, 'bytesIn'),
    bytesOut: readCount(o, 'bytesOut'),
    droppedNoKey: readCount(o, 'droppedNoKey'),
    droppedUnknownKey: readCount(o, 'droppedUnknownKey'),
    droppedAuth: readCount(o, 'droppedAuth'),
    droppedReplay: readCount(o, 'droppedReplay'),
    droppedMalformed: readCount(o, 'droppedMalformed'),
    droppedUnencrypted: readCount(o, 'droppedUnencrypted'),
    droppedExpired: readCount(o, 'droppedExpired'),
    droppedError: readCount(o, 'droppedError'),
    droppedEmpty: readCount(o, 'droppedEmpty'),
    lastFrameAt: timeOrNull(o.lastFrameAt, 'lastFrameAt'),
  };
}

function readEvent(v: unknown): MediaEvent {
  const o = obj(v, 'event');
  const trackId = str(o.trackId, 'event.trackId');
  const dir = direction(o.direction);
  const mki = (): string | undefined => {
    if (o.mki === undefined) return undefined;
    if (typeof o.mki !== 'string' || !/^(?:[0-9a-f]{8}|[0-9a-f]{16})$/.test(o.mki)) throw bad('event.mki must be 8 or 16 hex digits');
    return o.mki;
  };
  const count = (): number => int(o.count, 'event.count', 1);
  switch (o.type) {
    case 'encrypting': {
      const m = mki();
      if (m === undefined) throw bad('encrypting event needs an mki');
      return { type: 'encrypting', trackId, direction: dir, mki: m };
    }
    case 'missing-key':
      return { type: 'missing-key', trackId, direction: dir, mki: mki(), count: count() };
    case 'decrypt-failed': {
      if (dir !== 'receive') throw bad('decrypt-failed is a receive event');
      if (!(DECRYPT_REASONS as readonly unknown[]).includes(o.reason)) throw bad('event.reason is not a decrypt failure reason');
      return { type: 'decrypt-failed', trackId, direction: dir, reason: o.reason as DecryptFailureReason, mki: mki(), count: count() };
    }
    case 'unencrypted-frame-received':
      if (dir !== 'receive') throw bad('unencrypted-frame-received is a receive event');
      return { type: 'unencrypted-frame-received', trackId, direction: dir, count: count() };
    case 'stalled':
      if (typeof o.neverStarted !== 'boolean') throw bad('event.neverStarted must be a boolean');
      return { type: 'stalled', trackId, direction: dir, silentMs: int(o.silentMs, 'event.silentMs'), neverStarted: o.neverStarted };
    default:
      throw bad('unknown event type');
  }
}

/** Validates a worker → page message; throws `ERR_MEDIA_WORKER` naming the first bad field. */
export function readFromWorker(data: unknown): FromWorkerMessage {
  const o = obj(data, 'message');
  switch (o.kind) {
    case 'ack':
      return { kind: 'ack', id: int(o.id, 'id') };
    case 'error':
      return {
        kind: 'error',
        id: o.id === null ? null : int(o.id, 'id'),
        code: readErrorCode(o.code, 'code'),
        message: typeof o.message === 'string' ? o.message.slice(0, 1000) : '',
        trackId: strOrNull(o.trackId, 'trackId'),
      };
    case 'counters': {
      if (!Array.isArray(o.counters) || o.counters.length > MAX_COUNTERS) throw bad('counters must be an array');
      return { kind: 'counters', id: int(o.id, 'id'), counters: o.counters.map(readCounters) };
    }
    case 'event':
      return { kind: 'event', event: readEvent(o.event) };
    case 'key-request':
      return { kind: 'key-request', requestId: int(o.requestId, 'requestId'), mki: bytes(o.mki, 'mki', [4, 8]) };
    default:
      throw bad('unknown message kind');
  }
}
