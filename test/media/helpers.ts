/**
 * Test doubles for the E2EE worker and manager (TS 33.179 7.5 on encoded frames) in Node: a
 * worker host with a hand-driven clock and timers, encoded-frame streams the test feeds and
 * drains, an in-process "Worker" that runs the real worker core, and a frame-tap factory standing
 * in for the browser APIs.
 */
import type { EncodedFrameLike } from '../../src/media/encoded-frames.js';
import type { FromWorkerMessage, TransformOptions } from '../../src/media/protocol.js';
import type { FrameTap, FrameTapFactory, RtpEndpoint, WorkerLike } from '../../src/platform/media/frame-taps.js';
import { createE2eeWorkerCore, type E2eeWorkerCore, type WorkerHost } from '../../workers/e2ee/worker-core.js';

export interface ManualTimers {
  now(): number;
  advance(ms: number): void;
  set(t: number): void;
}

export interface FakeHost extends WorkerHost, ManualTimers {
  readonly posted: FromWorkerMessage[];
  /** Runs intervals and timeouts that are due (advance() does too). */
  runDue(): void;
}

export function fakeHost(start = 1_000_000): FakeHost {
  let t = start;
  let nextHandle = 1;
  const timeouts = new Map<number, { at: number; f: () => void }>();
  const intervals = new Map<number, { every: number; next: number; f: () => void }>();
  const posted: FromWorkerMessage[] = [];
  const runDue = (): void => {
    for (const [h, x] of [...timeouts]) if (x.at <= t) (timeouts.delete(h), x.f());
    for (const x of intervals.values()) while (x.next <= t) (x.next += x.every, x.f());
  };
  return {
    posted,
    post: (m) => posted.push(m),
    now: () => t,
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    setTimeout: (f, ms) => (timeouts.set(nextHandle, { at: t + ms, f }), nextHandle++),
    clearTimeout: (h) => void timeouts.delete(h as number),
    setInterval: (f, ms) => (intervals.set(nextHandle, { every: ms, next: t + ms, f }), nextHandle++),
    clearInterval: (h) => void intervals.delete(h as number),
    advance(ms) {
      t += ms;
      runDue();
    },
    set(v) {
      t = v;
      runDue();
    },
    runDue,
  };
}

/** A frame like RTCEncodedAudioFrame: `data` can be replaced; metadata is what an SFU may rewrite. */
export class FakeFrame implements EncodedFrameLike {
  constructor(
    public data: ArrayBuffer,
    readonly meta: { ssrc: number; sequenceNumber?: number } = { ssrc: 1 },
  ) {}
  getMetadata(): { ssrc: number; sequenceNumber?: number } {
    return this.meta;
  }
}

export const frameOf = (bytes: Uint8Array | number[], meta?: { ssrc: number; sequenceNumber?: number }): FakeFrame =>
  new FakeFrame(Uint8Array.from(bytes).buffer as ArrayBuffer, meta);

/** A pair of streams standing for one sender/receiver: push frames in, read what came out. */
export class FramePipe {
  readonly out: EncodedFrameLike[] = [];
  readonly readable: ReadableStream<EncodedFrameLike>;
  readonly writable: WritableStream<EncodedFrameLike>;
  private controller!: ReadableStreamDefaultController<EncodedFrameLike>;

  constructor() {
    this.readable = new ReadableStream<EncodedFrameLike>({ start: (c) => void (this.controller = c) });
    this.writable = new WritableStream<EncodedFrameLike>({ write: (f) => void this.out.push(f) });
  }

  push(...frames: EncodedFrameLike[]): void {
    for (const f of frames) this.controller.enqueue(f);
  }

  bytes(i: number): Uint8Array {
    return new Uint8Array(this.out[i]!.data);
  }
}

/** Lets pending promise jobs and stream pumps run (real Web Crypto calls take a few ms). */
export async function until(cond: () => boolean, what = 'condition', ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

export const settle = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A Worker whose other end is the real worker core, in this thread; messages are delivered async. */
export class InProcessWorker implements WorkerLike {
  readonly core: E2eeWorkerCore;
  readonly received: unknown[] = [];
  terminated = false;
  private readonly listeners = { message: [] as ((e: MessageEvent) => void)[], messageerror: [] as ((e: MessageEvent) => void)[], error: [] as ((e: ErrorEvent) => void)[] };

  constructor(readonly host: FakeHost) {
    const post = host.post;
    this.core = createE2eeWorkerCore({
      ...host,
      post: (m) => {
        post(m);
        if (!this.terminated) queueMicrotask(() => this.dispatch('message', m));
      },
    });
  }

  private dispatch(type: 'message', data: unknown): void {
    for (const l of this.listeners[type]) l({ data } as MessageEvent);
  }

  /** Delivers raw data to the page as if the worker had posted it (protocol violations). */
  fakeMessage(data: unknown): void {
    this.dispatch('message', data);
  }

  fail(message: string): void {
    for (const l of this.listeners.error) l({ message, preventDefault() {} } as ErrorEvent);
  }

  postMessage(message: unknown): void {
    if (this.terminated) return;
    this.received.push(message);
    queueMicrotask(() => {
      if (!this.terminated) this.core.onMessage(message);
    });
  }

  terminate(): void {
    this.terminated = true;
    this.core.dispose();
  }

  addEventListener(type: 'message' | 'messageerror' | 'error', listener: (e: never) => void): void {
    (this.listeners[type] as unknown[]).push(listener);
  }
}

/** An RTCRtpSender/Receiver stand-in: frames the test pushes, frames that came out. */
export class FakeEndpoint {
  readonly out: EncodedFrameLike[] = [];
  private feed: ((f: EncodedFrameLike) => void) | undefined;
  connections = 0;

  push(...frames: EncodedFrameLike[]): void {
    if (this.feed === undefined) throw new Error('endpoint not connected');
    for (const f of frames) this.feed(f);
  }

  bytes(i: number): Uint8Array {
    return new Uint8Array(this.out[i]!.data);
  }

  /** Connects to a worker generation: like the encoded-streams tap, one stream pair per generation. */
  connect(options: TransformOptions, sendStreams: (r: ReadableStream, w: WritableStream) => Promise<void>): Promise<void> {
    this.connections++;
    let controller!: ReadableStreamDefaultController<EncodedFrameLike>;
    const readable = new ReadableStream<EncodedFrameLike>({ start: (c) => void (controller = c) });
    const writable = new WritableStream<EncodedFrameLike>({ write: (f) => void this.out.push(f) });
    this.feed = (f) => controller.enqueue(f);
    this.lastOptions = options;
    return sendStreams(readable, writable);
  }

  lastOptions: TransformOptions | undefined;
  disconnect(): void {
    this.feed = undefined;
  }
}

export function fakeTaps(): FrameTapFactory {
  return {
    mode: 'encoded-streams',
    create(endpoint: RtpEndpoint): FrameTap {
      const e = endpoint as unknown as FakeEndpoint;
      return { connect: (_w, options, send) => e.connect(options, send), disconnect: () => e.disconnect() };
    },
  };
}
