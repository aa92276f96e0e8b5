/**
 * One protected track in the E2EE worker: the per-frame work of TS 33.179 7.5 carried over to
 * encoded frames (docs/frame-format.md), with the fail-closed rules of docs/media.md:
 *
 * send     frame ─► active key of the context? ─no─► dropped, 'missing-key'   (never sent in clear)
 *                     │yes: index = next index of this stream (taken before encrypting)
 *                     └─► header ‖ AES-GCM ─► out
 * receive  frame ─► empty (RTP padding)? ─► dropped, counted, no event
 *                ─► marker? ─no─► dropped, 'unencrypted-frame-received'
 *                     ├─ malformed ─► dropped, 'decrypt-failed' (malformed)
 *                     ├─ key by MKI (cached, else asked of the page; the frame waits) ─none─► dropped, 'missing-key'
 *                     ├─ replay window of (MKI, stream ID) ─seen/too old─► dropped, 'decrypt-failed' (replay)
 *                     ├─ AES-GCM open ─fails─► dropped, 'decrypt-failed' (auth): never reaches the decoder
 *                     └─► plaintext ─► out; the window records the index only now
 *
 * Frames of one track are handled one at a time in arrival order (a TransformStream awaits
 * each), so the stream index and the replay window need no locking.
 */
import { decryptFrame, encryptFrame, FRAME_MAX_INDEX, FRAME_STREAM_ID_LENGTH, parseFrame } from '../../src/codec/frame.js';
import { isMediaError, mediaErrorCode, type MediaErrorCode } from '../../src/codec/frame-errors.js';
import type { EncodedFrameLike } from '../../src/media/encoded-frames.js';
import type { DecryptFailureReason, TrackCounters, TrackDirection } from '../../src/media/protocol.js';
import { createReplayWindow, type ReplayWindow } from '../../src/media/replay-window.js';
import { bytesToHex } from '../../src/util/bytes.js';
import type { TrackGate } from './event-gate.js';
import type { WorkerKeys } from './worker-keys.js';

export interface TrackOptions {
  readonly trackId: string;
  readonly direction: TrackDirection;
  readonly context: string | null;
  readonly keys: WorkerKeys;
  readonly gate: TrackGate;
  readonly now: () => number;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly replayWindow: number;
  /** A failure that is not the frame's fault (Web Crypto refused, a bug): told to the page. */
  readonly reportError: (message: string) => void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface Track {
  readonly trackId: string;
  readonly direction: TrackDirection;
  readonly counters: () => TrackCounters;
  readonly lastFrameAt: () => number | null;
  readonly transform: (frame: EncodedFrameLike, controller: TransformStreamDefaultController<EncodedFrameLike>) => Promise<void>;
}

/** Sender streams whose replay state one receiver keeps (a group receiver sees every talker). */
const MAX_STREAMS_PER_TRACK = 64;

export function createTrack(o: TrackOptions): Track {
  const c: Mutable<TrackCounters> = {
    trackId: o.trackId,
    direction: o.direction,
    context: o.context,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    droppedNoKey: 0,
    droppedUnknownKey: 0,
    droppedAuth: 0,
    droppedReplay: 0,
    droppedMalformed: 0,
    droppedUnencrypted: 0,
    droppedExpired: 0,
    droppedError: 0,
    droppedEmpty: 0,
    lastFrameAt: null,
  };
  // Drawn here, held only in memory: a reload, a restarted worker or a second device starts
  // another stream with another random ID (docs/frame-format.md, "IV uniqueness").
  let streamId = o.randomBytes(FRAME_STREAM_ID_LENGTH);
  let nextIndex = 0;
  const windows = new Map<string, ReplayWindow>();

  const decryptFailed = (reason: DecryptFailureReason, mki: string | undefined): void =>
    o.gate.failure(`decrypt-failed:${reason}`, (count) => ({ type: 'decrypt-failed', trackId: o.trackId, direction: 'receive', reason, mki, count }));

  function unexpected(e: unknown): void {
    c.droppedError++;
    o.reportError(e instanceof Error ? `${e.name}: ${e.message}` : 'frame processing failed');
  }

  async function sendFrame(frame: EncodedFrameLike, controller: TransformStreamDefaultController<EncodedFrameLike>): Promise<void> {
    const entry = o.keys.activeSendKey(o.context!);
    if (entry === undefined) {
      c.droppedNoKey++;
      o.gate.failure('missing-key', (count) => ({ type: 'missing-key', trackId: o.trackId, direction: 'send', mki: undefined, count }));
      return;
    }
    if (nextIndex > FRAME_MAX_INDEX) {
      streamId = o.randomBytes(FRAME_STREAM_ID_LENGTH);
      nextIndex = 0;
    }
    // Taken before the await: an index is spent even if encryption fails, never used twice.
    const index = nextIndex++;
    let out: Uint8Array;
    try {
      out = await encryptFrame(entry.key, { mki: entry.mki, streamId, index }, new Uint8Array(frame.data));
    } catch (e) {
      unexpected(e);
      return;
    }
    frame.data = out.buffer as ArrayBuffer;
    controller.enqueue(frame);
    c.framesOut++;
    c.bytesOut += out.length;
    o.gate.success(entry.mkiHex);
  }

  function windowOf(id: string): ReplayWindow {
    let w = windows.get(id);
    if (w === undefined) {
      w = createReplayWindow(o.replayWindow);
      if (windows.size >= MAX_STREAMS_PER_TRACK) windows.delete(windows.keys().next().value!);
    } else {
      windows.delete(id);
    }
    windows.set(id, w);
    return w;
  }

  function keyMissing(reason: MediaErrorCode, mki: string): void {
    if (reason === 'ERR_MEDIA_KEY_EXPIRED') {
      c.droppedExpired++;
      decryptFailed('expired', mki);
    } else if (reason === 'ERR_MEDIA_WRONG_PURPOSE') {
      c.droppedAuth++;
      decryptFailed('wrong-purpose', mki);
    } else if (reason === 'ERR_MEDIA_MALFORMED') {
      c.droppedMalformed++;
      decryptFailed('malformed', mki);
    } else {
      c.droppedUnknownKey++;
      o.gate.failure('missing-key', (count) => ({ type: 'missing-key', trackId: o.trackId, direction: 'receive', mki, count }));
    }
  }

  async function receiveFrame(frame: EncodedFrameLike, controller: TransformStreamDefaultController<EncodedFrameLike>): Promise<void> {
    if (frame.data.byteLength === 0) {
      c.droppedEmpty++;
      return;
    }
    let parsed;
    try {
      parsed = parseFrame(new Uint8Array(frame.data));
    } catch (e) {
      if (isMediaError(e, 'ERR_MEDIA_UNENCRYPTED')) {
        c.droppedUnencrypted++;
        o.gate.failure('unencrypted', (count) => ({ type: 'unencrypted-frame-received', trackId: o.trackId, direction: 'receive', count }));
      } else if (isMediaError(e)) {
        c.droppedMalformed++;
        decryptFailed('malformed', undefined);
      } else {
        unexpected(e);
      }
      return;
    }
    const mkiHex = bytesToHex(parsed.mki);
    const lookup = await o.keys.receiveKey(parsed.mki, mkiHex);
    if (!lookup.ok) {
      keyMissing(lookup.reason, mkiHex);
      return;
    }
    const window = windowOf(mkiHex + bytesToHex(parsed.streamId));
    if (window.check(parsed.index) !== 'new') {
      c.droppedReplay++;
      decryptFailed('replay', mkiHex);
      return;
    }
    let plaintext: Uint8Array;
    try {
      plaintext = await decryptFrame(lookup.key, parsed);
    } catch (e) {
      if (isMediaError(e) && mediaErrorCode(e) === 'ERR_MEDIA_AUTH_FAILED') {
        c.droppedAuth++;
        decryptFailed('auth', mkiHex);
      } else {
        unexpected(e);
      }
      return;
    }
    window.commit(parsed.index);
    frame.data = plaintext.buffer as ArrayBuffer;
    controller.enqueue(frame);
    c.framesOut++;
    c.bytesOut += plaintext.length;
    o.gate.success(mkiHex);
  }

  const handle = o.direction === 'send' ? sendFrame : receiveFrame;

  return {
    trackId: o.trackId,
    direction: o.direction,
    counters: () => ({ ...c }),
    lastFrameAt: () => c.lastFrameAt,
    transform: (frame, controller) => {
      c.framesIn++;
      c.bytesIn += frame.data.byteLength;
      c.lastFrameAt = o.now();
      return handle(frame, controller);
    },
  };
}
