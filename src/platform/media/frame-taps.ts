/**
 * Browser quirks of WebRTC Encoded Transform behind one interface (the mediasoup-client
 * handler idea), so the E2EE manager is tested in Node with a fake: a "tap" connects the
 * encoded frames of one RTCRtpSender/RTCRtpReceiver to the E2EE worker (TS 33.179 7.5 applied
 * per frame, docs/media.md "Attaching").
 *
 * - script-transform (W3C RTCRtpScriptTransform): `endpoint.transform = new
 *   RTCRtpScriptTransform(worker, options)`; the worker gets an `rtctransform` event. After a
 *   worker restart the endpoint simply gets a new transform bound to the new worker.
 * - encoded-streams (Chromium's createEncodedStreams, the fallback): the native streams can be
 *   created once per endpoint and die with the worker they are transferred to, so they stay
 *   on the page and are piped into a fresh pair of streams per worker generation, which is
 *   what gets transferred. The page only moves frames along; it never reads or changes them.
 *
 * Fail closed: disconnecting never removes protection. A script transform stays bound to the
 * terminated worker and an unread native stream passes nothing, so no frame goes out in clear.
 */
import { MediaError } from '../../codec/frame-errors.js';
import type { EncodedFrameLike, EncodedStreams, EncodedStreamsCapable } from '../../media/encoded-frames.js';
import type { TransformOptions } from '../../media/protocol.js';

export type E2eeMode = 'script-transform' | 'encoded-streams';
export type RtpEndpoint = RTCRtpSender | RTCRtpReceiver;

/** What the manager needs of a Worker (a fake in unit tests). */
export interface WorkerLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  terminate(): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'messageerror', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'error', listener: (event: ErrorEvent) => void): void;
}

export interface FrameTap {
  /**
   * Feeds the endpoint's frames through `worker`. `sendStreams` posts the streams of the
   * fallback in an 'attach' message and resolves on the worker's ack.
   */
  connect(worker: WorkerLike, options: TransformOptions, sendStreams: (readable: ReadableStream, writable: WritableStream) => Promise<void>): Promise<void>;
  /** Stops feeding the current worker (restart, detach, dispose); frames then stop, never leak. */
  disconnect(): void;
}

export interface FrameTapFactory {
  readonly mode: E2eeMode;
  create(endpoint: RtpEndpoint, onError: (message: string) => void): FrameTap;
}

/** The API this browser offers, preferring the standard one; undefined when it has neither. */
export function detectE2eeMode(): E2eeMode | undefined {
  if (typeof RTCRtpScriptTransform === 'function') return 'script-transform';
  if (typeof RTCRtpSender !== 'undefined' && typeof (RTCRtpSender.prototype as Partial<EncodedStreamsCapable>).createEncodedStreams === 'function') {
    return 'encoded-streams';
  }
  return undefined;
}

function scriptTransformTap(endpoint: RtpEndpoint): FrameTap {
  return {
    async connect(worker, options) {
      endpoint.transform = new RTCRtpScriptTransform(worker as Worker, options);
    },
    disconnect() {
      // Left bound to the old worker on purpose: see the header.
    },
  };
}

function encodedStreamsTap(endpoint: RtpEndpoint, onError: (message: string) => void): FrameTap {
  // Created at once, while the manager's attach call runs: Chromium wants the streams before
  // the endpoint starts moving frames, and the keys may still be on their way to the worker.
  const capable = endpoint as unknown as Partial<EncodedStreamsCapable>;
  if (typeof capable.createEncodedStreams !== 'function') throw new MediaError('ERR_MEDIA_WORKER', 'createEncodedStreams is not available');
  let native: EncodedStreams;
  try {
    native = capable.createEncodedStreams();
  } catch (e) {
    // Chromium refuses once the task that created the endpoint has ended, or a second time.
    throw new MediaError('ERR_MEDIA_WORKER', `createEncodedStreams failed: attach in the task that created the sender/receiver, once (${e instanceof Error ? e.message : 'error'})`, {
      cause: e,
    });
  }
  let abort: AbortController | undefined;
  const report = (signal: AbortSignal) => (e: unknown) => {
    if (!signal.aborted) onError(`encoded stream relay failed: ${e instanceof Error ? e.message : 'error'}`);
  };
  return {
    async connect(_worker, _options, sendStreams) {
      abort?.abort();
      const ac = new AbortController();
      abort = ac;
      const up = new TransformStream<EncodedFrameLike, EncodedFrameLike>();
      const down = new TransformStream<EncodedFrameLike, EncodedFrameLike>();
      // preventCancel / preventAbort+preventClose keep the native streams usable for the next worker.
      native.readable.pipeTo(up.writable, { signal: ac.signal, preventCancel: true }).catch(report(ac.signal));
      down.readable.pipeTo(native.writable, { signal: ac.signal, preventAbort: true, preventClose: true }).catch(report(ac.signal));
      await sendStreams(up.readable, down.writable);
    },
    disconnect() {
      abort?.abort();
      abort = undefined;
    },
  };
}

export function frameTapFactory(mode: E2eeMode): FrameTapFactory {
  if (mode === 'script-transform') return { mode, create: (endpoint) => scriptTransformTap(endpoint) };
  if (mode === 'encoded-streams') return { mode, create: (endpoint, onError) => encodedStreamsTap(endpoint, onError) };
  throw new TypeError(`unknown E2EE mode ${String(mode)}`);
}
