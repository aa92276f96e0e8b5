/**
 * The page side of end-to-end media protection (TS 33.179 7.5, carried over to encoded frames;
 * docs/media.md): owns the media key ring (raw GMKs and PCKs never leave the page), starts the
 * E2EE worker, attaches it to RTCRtpSenders and RTCRtpReceivers, hands it session keys as
 * non-extractable CryptoKeys, answers its key requests (late entry, 7.5.2 / A.7), and turns its
 * reports into typed events.
 *
 *   const e2ee = await createE2eeManager();
 *   await e2ee.setKey(receivedPck, { callId, role: 'initiator' });
 *   await e2ee.attachSender(pc.addTrack(track), { kind: 'private', callId });
 *   pc.ontrack = (e) => void e2ee.attachReceiver(e.receiver);
 *   const off = e2ee.on('missing-key', (e) => …);
 *
 * Every sender and receiver is set up once; `restart()` replaces a failed worker and re-attaches
 * all of them (new random stream IDs: no IV repeats); `dispose()` terminates the worker. Neither
 * ever lets a frame out in clear.
 */
import { MediaError, type MediaErrorCode, isMediaError, mediaErrorCode } from '../../codec/frame-errors.js';
import type { ReceivedKey } from '../../keys/receive.js';
import type { KeyProfileName } from '../../keys/purpose.js';
import {
  contextKey,
  createMediaKeyRing,
  type GroupMediaKeyInput,
  type MediaContext,
  type MediaKeyRing,
  type PrivateCallMediaKeyInput,
  type PrivateCallRole,
} from '../../media/key-ring.js';
import {
  DEFAULT_WORKER_CONFIG,
  E2EE_PROTOCOL_VERSION,
  E2EE_TRANSFORM_KIND,
  readFromWorker,
  type DecryptFailedEvent,
  type EncryptingEvent,
  type FromWorkerMessage,
  type MissingKeyEvent,
  type StalledEvent,
  type ToWorkerMessage,
  type TrackCounters,
  type TransformOptions,
  type UnencryptedFrameEvent,
  type WorkerConfig,
} from '../../media/protocol.js';
import { detectE2eeMode, frameTapFactory, type E2eeMode, type FrameTap, type FrameTapFactory, type RtpEndpoint, type WorkerLike } from './frame-taps.js';

/** The worker failed, broke the protocol, or a running transform reported a failure. */
export interface WorkerErrorEvent {
  readonly type: 'worker-error';
  readonly code: MediaErrorCode;
  readonly message: string;
  readonly trackId: string | null;
}

/**
 * The browser bypassed the transform of an endpoint: RTP flows but no frame ever reached the
 * worker, so media leaves (or arrives) unprotected. Chromium does this to a sender/receiver
 * whose transform was not set in the task that created it. With `stopped`, the manager has
 * stopped the media (sender: replaceTrack(null); receiver: track disabled) — fail closed.
 */
export interface TransformBypassedEvent {
  readonly type: 'transform-bypassed';
  readonly trackId: string;
  readonly direction: 'send' | 'receive';
  /** RTP packets the endpoint had sent or received while the worker saw no frame. */
  readonly packets: number;
  readonly stopped: boolean;
}

export interface E2eeManagerEvents {
  readonly encrypting: EncryptingEvent;
  readonly 'missing-key': MissingKeyEvent;
  readonly 'decrypt-failed': DecryptFailedEvent;
  readonly 'unencrypted-frame-received': UnencryptedFrameEvent;
  readonly stalled: StalledEvent;
  readonly 'worker-error': WorkerErrorEvent;
  readonly 'transform-bypassed': TransformBypassedEvent;
}

export type E2eeManagerEventType = keyof E2eeManagerEvents;

export interface E2eeManagerOptions {
  /** Purpose-tag numbering of key IDs (default 'ts33180'). */
  readonly profile?: KeyProfileName;
  /** Which encoded-transform API to use; 'auto' (default) prefers RTCRtpScriptTransform. */
  readonly mode?: E2eeMode | 'auto';
  /** Starts the E2EE worker; the default is the module worker of workers/e2ee-worker.ts. */
  readonly createWorker?: () => WorkerLike;
  /** Worker tuning (throttling, stall time, replay window, key request timeout). */
  readonly config?: Partial<WorkerConfig>;
  /** How long a superseded or expired key still decrypts, ms (default 30 000). */
  readonly graceMs?: number;
  /** How long a worker request may take before it fails with ERR_MEDIA_WORKER, ms (default 5000). */
  readonly requestTimeoutMs?: number;
  /** Clock, unix ms (key activation and expiry). */
  readonly now?: () => number;
  /** Replaces the tap factory chosen by `mode` (tests inject a fake; browsers need not). */
  readonly taps?: FrameTapFactory;
  /**
   * What to do when the browser turns out to bypass a transform (see TransformBypassedEvent,
   * and an encoded-streams attach that comes too late): 'stop' (default) stops the endpoint's
   * media, 'report' only emits the event.
   */
  readonly onBypass?: 'stop' | 'report';
}

export interface E2eeManager {
  readonly mode: E2eeMode;
  /** The key ring behind the manager; change keys through the manager so the worker follows. */
  readonly keyRing: MediaKeyRing;
  /**
   * A key accepted by the MIKEY receiver: a GMK (for `groupId`, default the group its key
   * parameters name) or a PCK of call `callId` where we are `role` (who sends under which
   * CS-ID). A key with status 'revoked' is revoked instead.
   */
  setKey(key: ReceivedKey, use?: { readonly groupId?: string } | { readonly callId: string; readonly role: PrivateCallRole }): Promise<void>;
  addGroupKey(input: GroupMediaKeyInput): Promise<void>;
  addPrivateCallKey(input: PrivateCallMediaKeyInput): Promise<void>;
  /** Removes a GMK or PCK (by its key ID) at once, in the ring and in the worker. */
  revokeKey(keyId: Uint8Array): Promise<void>;
  /** Forgets every key of a group or call. */
  removeContext(context: MediaContext): Promise<void>;
  /**
   * Protects what `sender` sends with the active key of `context`; returns its track ID.
   * Call it in the same task that created the sender (right after addTrack/addTransceiver,
   * before any await): Chromium otherwise bypasses the transform and sends in clear.
   */
  attachSender(sender: RTCRtpSender, context: MediaContext): Promise<string>;
  /**
   * Decrypts what `receiver` gets (any key the ring holds, found by MKI); returns its track ID.
   * Same rule: in the task that created the receiver — `ontrack` for a transceiver the remote
   * offer created, right after addTrack/addTransceiver for one created locally.
   */
  attachReceiver(receiver: RTCRtpReceiver): Promise<string>;
  /** Both ends of a transceiver at once (sendrecv): call right after addTrack/addTransceiver. */
  attachTransceiver(transceiver: RTCRtpTransceiver, context: MediaContext): Promise<{ readonly sender: string; readonly receiver: string }>;
  /** Stops processing a track: its frames are dropped from then on, never passed in clear. */
  detach(trackId: string): Promise<void>;
  /** Counters of every attached track in the current worker generation. */
  counters(): Promise<TrackCounters[]>;
  /** The track ID an attached sender or receiver got (to pick its counters and events). */
  trackIdOf(endpoint: RTCRtpSender | RTCRtpReceiver): string | undefined;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends E2eeManagerEventType>(type: K, listener: (event: E2eeManagerEvents[K]) => void): () => void;
  /** Terminates the worker and starts a new one with the same keys and tracks. */
  restart(): Promise<void>;
  /** Terminates the worker; the manager is unusable afterwards. */
  dispose(): void;
  readonly generation: number;
}

interface Attachment {
  readonly trackId: string;
  readonly endpoint: RtpEndpoint;
  readonly options: TransformOptions;
  readonly context: MediaContext | null;
  readonly tap: FrameTap;
}

interface Pending {
  readonly resolve: (m: FromWorkerMessage) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** A page message before it gets its request id (Omit distributed over the union). */
type PageRequest = ToWorkerMessage extends infer M ? (M extends unknown ? Omit<M, 'id'> : never) : never;

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** RTP packets past which an endpoint whose transform saw no frame counts as bypassed. */
const BYPASS_PACKETS = 10;
const BYPASS_POLL_MS = 250;

interface StatsReportLike {
  forEach(f: (r: { type?: string; packetsSent?: number; packetsReceived?: number }) => void): void;
}

/** Stops an endpoint's media: nothing more is sent, or nothing received is played. */
async function stopEndpoint(endpoint: RtpEndpoint): Promise<boolean> {
  const sender = endpoint as Partial<RTCRtpSender>;
  if (typeof sender.replaceTrack === 'function') {
    await sender.replaceTrack(null);
    return true;
  }
  const track = (endpoint as Partial<RTCRtpReceiver>).track;
  if (track !== undefined && track !== null) {
    track.enabled = false;
    return true;
  }
  return false;
}

function defaultWorker(): WorkerLike {
  // The URL pattern Vite and other bundlers recognize and emit as a separate module worker.
  return new Worker(new URL('../../../workers/e2ee-worker.ts', import.meta.url), { type: 'module', name: 'mcptt-e2ee' });
}

/** Creates the manager and completes the init handshake with its worker. */
export async function createE2eeManager(options: E2eeManagerOptions = {}): Promise<E2eeManager> {
  const chosen = options.taps?.mode ?? (options.mode === undefined || options.mode === 'auto' ? detectE2eeMode() : options.mode);
  if (chosen === undefined) throw new MediaError('ERR_MEDIA_WORKER', 'this browser offers neither RTCRtpScriptTransform nor createEncodedStreams');
  const taps = options.taps ?? frameTapFactory(chosen);
  const ring = createMediaKeyRing({ profile: options.profile, now: options.now, graceMs: options.graceMs });
  const config: WorkerConfig = { ...DEFAULT_WORKER_CONFIG, ...options.config };
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const createWorker = options.createWorker ?? defaultWorker;
  const onBypass = options.onBypass ?? 'stop';

  const listeners = new Map<E2eeManagerEventType, Set<(event: never) => void>>();
  const attachments = new Map<string, Attachment>();
  const byEndpoint = new WeakMap<RtpEndpoint, string>();
  const sendContexts = new Map<string, MediaContext>();
  const bypassWatch = new Map<string, ReturnType<typeof setInterval>>();
  const bypassed = new Set<string>();
  let worker: WorkerLike | undefined;
  let generation = 0;
  let nextId = 1;
  let nextTrack = 1;
  let pending = new Map<number, Pending>();
  let disposed = false;

  function emit<K extends E2eeManagerEventType>(type: K, event: E2eeManagerEvents[K]): void {
    for (const l of [...(listeners.get(type) ?? [])]) {
      try {
        (l as (e: E2eeManagerEvents[K]) => void)(event);
      } catch (e) {
        // A failing listener must not stop the others nor the manager; it still surfaces.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  const workerError = (code: MediaErrorCode, message: string, trackId: string | null = null): void =>
    emit('worker-error', { type: 'worker-error', code, message, trackId });

  function rejectAll(reason: string): void {
    const old = pending;
    pending = new Map();
    for (const p of old.values()) {
      clearTimeout(p.timer);
      p.reject(new MediaError('ERR_MEDIA_WORKER', reason));
    }
  }

  /** Posts a page message and resolves with the worker's answer (ack or counters). */
  function request(message: PageRequest, transfer: Transferable[] = []): Promise<FromWorkerMessage> {
    if (disposed || worker === undefined) return Promise.reject(new MediaError('ERR_MEDIA_WORKER', 'the E2EE manager is disposed'));
    const id = nextId++;
    const w = worker;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (pending.delete(id)) reject(new MediaError('ERR_MEDIA_WORKER', `worker did not answer ${message.kind} in ${requestTimeoutMs} ms`));
      }, requestTimeoutMs);
      pending.set(id, { resolve, reject, timer });
      try {
        w.postMessage({ ...message, id }, transfer);
      } catch (e) {
        pending.delete(id);
        clearTimeout(timer);
        reject(new MediaError('ERR_MEDIA_WORKER', `cannot post ${message.kind} to the worker`, { cause: e }));
      }
    });
  }

  async function answerKeyRequest(requestId: number, mki: Uint8Array): Promise<void> {
    let reply: Extract<PageRequest, { kind: 'key-response' }>;
    try {
      const k = await ring.receiveKey(mki);
      reply = { kind: 'key-response', requestId, mki, key: { key: k.key, salt: k.salt, receiveUntil: k.receiveUntil ?? null }, reason: null };
    } catch (e) {
      if (!isMediaError(e)) throw e;
      reply = { kind: 'key-response', requestId, mki, key: null, reason: mediaErrorCode(e) };
    }
    await request(reply);
  }

  function onWorkerMessage(w: WorkerLike, data: unknown): void {
    if (w !== worker) return; // a message from a worker already replaced
    let m: FromWorkerMessage;
    try {
      m = readFromWorker(data);
    } catch (e) {
      workerError('ERR_MEDIA_WORKER', e instanceof Error ? e.message : 'malformed worker message');
      return;
    }
    switch (m.kind) {
      case 'ack':
      case 'counters':
      case 'error': {
        if (m.kind === 'error' && m.id === null) {
          workerError(m.code, m.message, m.trackId);
          return;
        }
        const id = m.id!;
        const p = pending.get(id);
        if (p === undefined) {
          workerError('ERR_MEDIA_WORKER', `answer to unknown request ${id}`);
          return;
        }
        pending.delete(id);
        clearTimeout(p.timer);
        if (m.kind === 'error') p.reject(new MediaError(m.code, m.message));
        else p.resolve(m);
        return;
      }
      case 'event':
        emit(m.event.type, m.event as never);
        if (m.event.type === 'stalled' && m.event.neverStarted) watchBypass(m.event.trackId);
        return;
      case 'key-request':
        answerKeyRequest(m.requestId, m.mki).catch((e: unknown) => {
          // A restart or dispose in between makes the answer moot, not an error.
          if (w === worker && !disposed) workerError('ERR_MEDIA_WORKER', e instanceof Error ? e.message : 'key request failed');
        });
        return;
    }
  }

  /**
   * A track that never had a frame: if its endpoint moves RTP all the same, the browser has
   * bypassed the transform and media flows unprotected; stop it (fail closed) and say so.
   */
  async function checkBypass(trackId: string): Promise<'idle' | 'flowing' | 'bypassed' | 'gone'> {
    const a = attachments.get(trackId);
    const endpoint = a?.endpoint as { getStats?: () => Promise<StatsReportLike> } | undefined;
    if (a === undefined || typeof endpoint?.getStats !== 'function') return 'gone';
    const stats = await endpoint.getStats();
    const send = a.options.direction === 'send';
    let packets = 0;
    stats.forEach((r) => {
      if (r.type === (send ? 'outbound-rtp' : 'inbound-rtp')) packets += (send ? r.packetsSent : r.packetsReceived) ?? 0;
    });
    const c = (await manager.counters()).find((t) => t.trackId === trackId);
    if (attachments.get(trackId) !== a || c === undefined) return 'gone';
    if (c.framesIn > 0) return 'flowing';
    if (packets < BYPASS_PACKETS) return 'idle';
    if (bypassed.has(trackId)) return 'bypassed';
    bypassed.add(trackId);
    const stopped = onBypass === 'stop' ? await stopEndpoint(a.endpoint) : false;
    emit('transform-bypassed', { type: 'transform-bypassed', trackId, direction: a.options.direction, packets, stopped });
    return 'bypassed';
  }

  /**
   * Polls a track that has never had a frame until frames reach the worker or RTP turns out to
   * flow around it: call setup may take longer than the stall time, and a bypass that starts
   * then must still be caught.
   */
  function watchBypass(trackId: string): void {
    if (bypassWatch.has(trackId) || bypassed.has(trackId)) return;
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      checkBypass(trackId)
        .then((state) => {
          if (state !== 'idle') unwatch(trackId);
        })
        .catch((e: unknown) => {
          unwatch(trackId);
          if (!disposed) workerError('ERR_MEDIA_WORKER', `bypass check failed: ${e instanceof Error ? e.message : 'error'}`, trackId);
        })
        .finally(() => {
          busy = false;
        });
    }, BYPASS_POLL_MS);
    bypassWatch.set(trackId, timer);
  }

  function unwatch(trackId?: string): void {
    for (const [id, timer] of bypassWatch) {
      if (trackId === undefined || id === trackId) {
        clearInterval(timer);
        bypassWatch.delete(id);
      }
    }
  }

  async function pushSendKeys(context: MediaContext): Promise<void> {
    const keys = await ring.sendKeys(context);
    await request({
      kind: 'set-send-keys',
      context: contextKey(context),
      keys: keys.map((k) => ({ mki: k.mki, key: k.key, salt: k.salt, activeFrom: k.activeFrom, activeUntil: k.activeUntil ?? null })),
    });
  }

  /**
   * Pushes send keys to the worker: of `changed` and of every context the ring has just
   * pruned, or of all contexts when no one context changed (revocation). Per context, not all
   * of them on every key: a dispatcher's 100+ groups would make each new GMK cost 100+ pushes.
   */
  async function syncKeys(changed?: readonly MediaContext[]): Promise<void> {
    for (const c of ring.contexts()) sendContexts.set(contextKey(c), c);
    const targets = new Map<string, MediaContext>();
    if (changed === undefined) for (const [k, c] of sendContexts) targets.set(k, c);
    else for (const c of [...changed, ...ring.prune()]) targets.set(contextKey(c), c);
    await Promise.all([...targets.values()].map(pushSendKeys));
    await request({ kind: 'keys-changed' });
  }

  /** Adds a key, then syncs the contexts it left (a key ID given to another context) and landed in. */
  async function addAndSync(keyId: Uint8Array, add: () => void): Promise<void> {
    const left = ring.contextsOf(keyId);
    add();
    await syncKeys([...left, ...ring.contextsOf(keyId)]);
  }

  async function connect(a: Attachment): Promise<void> {
    const w = worker!;
    await a.tap.connect(w, a.options, async (readable, writable) => {
      await request({ kind: 'attach', trackId: a.trackId, direction: a.options.direction, context: a.options.context, readable, writable }, [readable, writable]);
    });
  }

  async function startWorker(): Promise<void> {
    const w = createWorker();
    worker = w;
    generation++;
    w.addEventListener('message', (e) => onWorkerMessage(w, e.data));
    w.addEventListener('messageerror', () => {
      if (w === worker) workerError('ERR_MEDIA_WORKER', 'a worker message could not be deserialized');
    });
    w.addEventListener('error', (e) => {
      if (w !== worker) return;
      e.preventDefault?.();
      workerError('ERR_MEDIA_WORKER', `the E2EE worker failed: ${e.message ?? 'error'}`);
      rejectAll('the E2EE worker failed');
    });
    await request({ kind: 'init', protocol: E2EE_PROTOCOL_VERSION, config });
  }

  function live(): void {
    if (disposed) throw new MediaError('ERR_MEDIA_WORKER', 'the E2EE manager is disposed');
  }

  /**
   * Everything up to setting the transform runs synchronously, in the caller's task: Chromium
   * bypasses ("short-circuits") the encoded transform of a sender or receiver that has none by
   * the end of the task that created it, and from then on sends and plays its frames in clear.
   * So the transform is in place before the first await; keys may follow (frames are dropped,
   * never sent in clear, until they do).
   */
  function attach(endpoint: RtpEndpoint, context: MediaContext | null): Promise<string> {
    try {
      live();
      const known = byEndpoint.get(endpoint);
      if (known !== undefined) {
        const a = attachments.get(known);
        if (a !== undefined && (a.context === null ? null : contextKey(a.context)) !== (context === null ? null : contextKey(context))) {
          throw new TypeError('this endpoint is already attached in another direction or context');
        }
        return Promise.resolve(known);
      }
      const direction = context === null ? 'receive' : 'send';
      const trackId = `${direction === 'send' ? 'tx' : 'rx'}-${nextTrack++}`;
      const options: TransformOptions = { kind: E2EE_TRANSFORM_KIND, protocol: E2EE_PROTOCOL_VERSION, trackId, direction, context: context === null ? null : contextKey(context) };
      let tap: FrameTap;
      try {
        tap = taps.create(endpoint, (message) => workerError('ERR_MEDIA_WORKER', message, trackId));
      } catch (e) {
        // No transform could be set (encoded streams asked for too late): the endpoint's media
        // would flow unprotected, so it is stopped unless the application asked otherwise.
        if (onBypass === 'stop') {
          stopEndpoint(endpoint).catch((err: unknown) => workerError('ERR_MEDIA_WORKER', `could not stop the unprotected endpoint: ${err instanceof Error ? err.message : 'error'}`, trackId));
        }
        throw e;
      }
      const a: Attachment = { trackId, endpoint, options, context, tap };
      byEndpoint.set(endpoint, trackId);
      attachments.set(trackId, a);
      if (context !== null) sendContexts.set(contextKey(context), context);
      const connected = connect(a);
      const keyed = context === null ? Promise.resolve() : pushSendKeys(context);
      // Until its first frame, make sure no RTP flows around the transform.
      watchBypass(trackId);
      return Promise.all([connected, keyed]).then(
        () => trackId,
        (e: unknown) => {
          attachments.delete(trackId);
          byEndpoint.delete(endpoint);
          a.tap.disconnect();
          throw e;
        },
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  await startWorker();

  const manager: E2eeManager = {
    mode: taps.mode,
    keyRing: ring,
    get generation() {
      return generation;
    },
    async setKey(key, use) {
      live();
      if (key.status === 'revoked') return manager.revokeKey(key.keyId);
      await addAndSync(key.keyId, () => ring.addReceivedKey(key, use));
    },
    async addGroupKey(input) {
      live();
      await addAndSync(input.gmkId, () => ring.addGroupKey(input));
    },
    async addPrivateCallKey(input) {
      live();
      await addAndSync(input.pckId, () => ring.addPrivateCallKey(input));
    },
    async revokeKey(keyId) {
      live();
      ring.revoke(keyId);
      // Revoke first: from this ack on, the worker holds nothing derived from the key.
      await request({ kind: 'revoke', keyId: keyId.slice() });
      await syncKeys();
    },
    async removeContext(context) {
      live();
      for (const keyId of ring.removeContext(context)) await request({ kind: 'revoke', keyId });
      await syncKeys();
    },
    attachSender: (sender, context) => attach(sender, context),
    attachReceiver: (receiver) => attach(receiver, null),
    attachTransceiver(transceiver, context) {
      const tx = attach(transceiver.sender, context);
      const rx = attach(transceiver.receiver, null);
      return Promise.all([tx, rx]).then(([sender, receiver]) => ({ sender, receiver }));
    },
    async detach(trackId) {
      live();
      const a = attachments.get(trackId);
      if (a === undefined) throw new RangeError(`no attached track ${trackId}`);
      attachments.delete(trackId);
      unwatch(trackId);
      a.tap.disconnect();
      await request({ kind: 'detach', trackId });
    },
    async counters() {
      live();
      const m = await request({ kind: 'get-counters' });
      return m.kind === 'counters' ? [...m.counters] : [];
    },
    trackIdOf: (endpoint) => {
      const id = byEndpoint.get(endpoint);
      return id !== undefined && attachments.has(id) ? id : undefined;
    },
    on(type, listener) {
      let set = listeners.get(type);
      if (set === undefined) {
        set = new Set();
        listeners.set(type, set);
      }
      const l = listener as (event: never) => void;
      set.add(l);
      return () => {
        set.delete(l);
      };
    },
    async restart() {
      live();
      const old = worker;
      worker = undefined;
      unwatch();
      for (const a of attachments.values()) a.tap.disconnect();
      old?.terminate();
      rejectAll('the E2EE worker was restarted');
      await startWorker();
      await Promise.all([...sendContexts.values()].map(pushSendKeys));
      for (const a of attachments.values()) await connect(a);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      unwatch();
      for (const a of attachments.values()) a.tap.disconnect();
      worker?.terminate();
      worker = undefined;
      rejectAll('the E2EE manager is disposed');
      listeners.clear();
    },
  };
  return manager;
}
