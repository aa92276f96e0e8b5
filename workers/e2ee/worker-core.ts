/**
 * The E2EE worker's logic, apart from its global scope so that Node unit tests drive it with
 * fake frames and a fake page: the worker side of the protocol in src/media/protocol.ts and the
 * per-track transforms of TS 33.179 7.5 media protection (./track.ts).
 *
 * Messages are handled one at a time as they arrive; each page message is validated and gets
 * exactly one answer. Transforms come either as `rtctransform` events (RTCRtpScriptTransform)
 * or as transferred streams in an 'attach' message (createEncodedStreams fallback); a second
 * transform for the same track ID replaces the first, so each sender/receiver has one pipeline.
 */
import { MediaError, isMediaError, mediaErrorCode } from '../../src/codec/frame-errors.js';
import type { EncodedFrameLike, ScriptTransformerLike } from '../../src/media/encoded-frames.js';
import {
  DEFAULT_WORKER_CONFIG,
  E2EE_PROTOCOL_VERSION,
  messageIdOf,
  readToWorker,
  readTransformOptions,
  type FromWorkerMessage,
  type MediaEvent,
  type ToWorkerMessage,
  type TrackDirection,
  type WorkerConfig,
} from '../../src/media/protocol.js';
import { createTrackGate, type TrackGate } from './event-gate.js';
import { createTrack, type Track } from './track.js';
import { createWorkerKeys } from './worker-keys.js';

export interface WorkerHost {
  post(message: FromWorkerMessage): void;
  now(): number;
  randomBytes(n: number): Uint8Array;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(f: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface E2eeWorkerCore {
  /** A message from the page (MessageEvent.data). */
  onMessage(data: unknown): void;
  /** A transformer from an `rtctransform` event. */
  onTransform(transformer: ScriptTransformerLike): void;
  /** Stops every pipeline and timer (tests; a real worker is terminated by the page). */
  dispose(): void;
}

interface Running {
  readonly track: Track;
  readonly gate: TrackGate;
  readonly abort: AbortController;
  readonly attachedAt: number;
}

interface Waiting {
  readonly trackId: string;
  readonly direction: TrackDirection;
  readonly context: string | null;
  readonly readable: ReadableStream<EncodedFrameLike>;
  readonly writable: WritableStream<EncodedFrameLike>;
}

/** Script transforms that arrive before init (their event and the page's messages are not ordered). */
const MAX_WAITING = 64;

export function createE2eeWorkerCore(host: WorkerHost): E2eeWorkerCore {
  let config: WorkerConfig | undefined;
  let ticker: unknown;
  const tracks = new Map<string, Running>();
  const waiting: Waiting[] = [];
  const cfg = (): WorkerConfig => config ?? DEFAULT_WORKER_CONFIG;

  const keys = createWorkerKeys({
    now: () => host.now(),
    request: (requestId, mki) => host.post({ kind: 'key-request', requestId, mki }),
    requestTimeoutMs: () => cfg().keyRequestTimeoutMs,
    unknownRetryMs: () => cfg().unknownKeyRetryMs,
    setTimeout: (f, ms) => host.setTimeout(f, ms),
    clearTimeout: (h) => host.clearTimeout(h),
  });

  const emit = (event: MediaEvent): void => host.post({ kind: 'event', event });

  function fail(id: number | null, e: unknown, trackId: string | null = null): void {
    const code = isMediaError(e) ? mediaErrorCode(e) : 'ERR_MEDIA_WORKER';
    const message = e instanceof Error ? e.message : 'failed';
    host.post({ kind: 'error', id, code, message, trackId });
  }

  /** Stall detection and delayed event counts, once per quarter of the stall time. */
  function tick(): void {
    const t = host.now();
    for (const { track, gate, attachedAt } of tracks.values()) {
      gate.flush();
      const last = track.lastFrameAt();
      const silentSince = last ?? attachedAt;
      if (t - silentSince >= cfg().stallMs) gate.stalled(t - silentSince, last === null);
    }
  }

  function start(trackId: string, direction: TrackDirection, context: string | null, readable: ReadableStream<EncodedFrameLike>, writable: WritableStream<EncodedFrameLike>): void {
    if (config === undefined) {
      // Frames wait in the unread stream (none passes) until init brings the configuration.
      if (waiting.length >= MAX_WAITING) throw new MediaError('ERR_MEDIA_WORKER', 'too many transforms before init');
      waiting.push({ trackId, direction, context, readable, writable });
      return;
    }
    tracks.get(trackId)?.abort.abort();
    const gate = createTrackGate({ trackId, direction, throttleMs: () => cfg().throttleMs, now: () => host.now(), emit });
    const track = createTrack({
      trackId,
      direction,
      context,
      keys,
      gate,
      now: () => host.now(),
      randomBytes: (n) => host.randomBytes(n),
      replayWindow: config.replayWindow,
      reportError: (message) => host.post({ kind: 'error', id: null, code: 'ERR_MEDIA_WORKER', message, trackId }),
    });
    const abort = new AbortController();
    const running: Running = { track, gate, abort, attachedAt: host.now() };
    tracks.set(trackId, running);
    readable
      .pipeThrough(new TransformStream<EncodedFrameLike, EncodedFrameLike>({ transform: track.transform }), { signal: abort.signal })
      .pipeTo(writable, { signal: abort.signal })
      .catch((e: unknown) => {
        // Aborted on purpose (replaced, detached) is the normal end; anything else is told.
        if (!abort.signal.aborted) fail(null, new MediaError('ERR_MEDIA_WORKER', `pipeline of ${trackId} ended: ${e instanceof Error ? e.message : 'error'}`), trackId);
      })
      .finally(() => {
        if (tracks.get(trackId) === running) tracks.delete(trackId);
      });
  }

  function handle(m: ToWorkerMessage): FromWorkerMessage {
    if (m.kind !== 'init' && config === undefined) throw new MediaError('ERR_MEDIA_WORKER', `${m.kind} before init`);
    switch (m.kind) {
      case 'init':
        if (config !== undefined) throw new MediaError('ERR_MEDIA_WORKER', 'already initialized');
        if (m.protocol !== E2EE_PROTOCOL_VERSION) throw new MediaError('ERR_MEDIA_WORKER', `protocol ${m.protocol} is not ${E2EE_PROTOCOL_VERSION}`);
        config = m.config;
        ticker = host.setInterval(tick, Math.max(25, Math.floor(config.stallMs / 4)));
        for (const w of waiting.splice(0)) start(w.trackId, w.direction, w.context, w.readable, w.writable);
        break;
      case 'set-send-keys':
        keys.setSendKeys(m.context, m.keys);
        break;
      case 'key-response':
        keys.answer(m.requestId, m.mki, m.key, m.reason);
        break;
      case 'keys-changed':
        keys.keysChanged();
        break;
      case 'revoke':
        keys.revoke(m.keyId);
        break;
      case 'attach':
        start(m.trackId, m.direction, m.context, m.readable as ReadableStream<EncodedFrameLike>, m.writable as WritableStream<EncodedFrameLike>);
        break;
      case 'detach': {
        const r = tracks.get(m.trackId);
        if (r === undefined) throw new MediaError('ERR_MEDIA_WORKER', `no track ${m.trackId}`);
        r.abort.abort();
        tracks.delete(m.trackId);
        break;
      }
      case 'get-counters':
        return { kind: 'counters', id: m.id, counters: [...tracks.values()].map((r) => r.track.counters()) };
    }
    return { kind: 'ack', id: m.id };
  }

  function onMessage(data: unknown): void {
    let m: ToWorkerMessage;
    try {
      m = readToWorker(data);
    } catch (e) {
      fail(messageIdOf(data), e);
      return;
    }
    try {
      host.post(handle(m));
    } catch (e) {
      fail(m.id, e);
    }
  }

  function onTransform(transformer: ScriptTransformerLike): void {
    // Named in the error even when the rest of the options is bad, so the page knows which track.
    const raw = transformer.options as { trackId?: unknown } | null;
    let trackId = typeof raw?.trackId === 'string' && raw.trackId.length <= 256 ? raw.trackId : null;
    try {
      const o = readTransformOptions(transformer.options);
      trackId = o.trackId;
      if (o.protocol !== E2EE_PROTOCOL_VERSION) throw new MediaError('ERR_MEDIA_WORKER', `protocol ${o.protocol} is not ${E2EE_PROTOCOL_VERSION}`);
      start(o.trackId, o.direction, o.context, transformer.readable, transformer.writable);
    } catch (e) {
      // Not consuming the readable means no frame of this track is sent or played: fail closed.
      fail(null, e, trackId);
    }
  }

  function dispose(): void {
    if (ticker !== undefined) host.clearInterval(ticker);
    for (const r of tracks.values()) r.abort.abort();
    tracks.clear();
    keys.dispose();
  }

  return { onMessage, onTransform, dispose };
}
