/**
 * The page side of the MCPTT KPI benchmarks (TS 22.179 6.15.3 / 6.15.4: MCPTT access time,
 * mouth-to-ear latency, late call entry time; measured over the SDK's end-to-end protected
 * group calls, TS 33.179 7.5, and floor control, TS 24.380). One page per user, each in its own
 * browser context of one browser (bench/kpi.ts drives them): times are compared across pages
 * as `performance.timeOrigin + performance.now()`.
 *
 * What this page adds to a plain SDK page:
 * - the microphone is a generated 1 kHz tone (OscillatorNode → GainNode → MediaStream
 *   destination) that `tone(true|false)` switches on and off: getUserMedia is replaced before
 *   the client asks for it, so sip.js takes this stream;
 * - "mouth" and "ear" onset detectors: an AudioWorklet that computes the RMS of every
 *   128-sample render quantum (2.67 ms at 48 kHz) and reports the first quantum at or above
 *   a threshold after at least 8 quanta (21 ms) below it. The mouth detector sits on the
 *   generator's output, the ear detector on the call's received tracks (through the SDK's own
 *   playback, which it wraps: the same tracks the user hears);
 * - timing of `requestFloor()`, `joinGroup()` and of the first decrypted frame (the E2EE
 *   worker's first 'encrypting' event on a receive track).
 *
 * The runner calls `benchLogin(config, username)`, fills in the IdMS's login form, and then
 * uses `window.kpi` on the page the IdMS redirects back to.
 */
import { createMcpttClient, type McpttClient } from '../../src/client.js';
import { webAudioPlayback, type CallAudioFactory, type GroupCall } from '../../src/platform/group-calls/index.js';
import { hexToBytes } from '../../src/util/bytes.js';

interface Config {
  readonly idms: string;
  readonly kms: string;
  readonly kmsUri: string;
  readonly clientId: string;
  readonly sip: string;
  readonly mcpttServer: string;
  readonly gms: string;
  readonly serverIdentities: { readonly gms: string };
  readonly users: readonly { readonly username: string; readonly mcpttId: string; readonly transportKey?: { readonly id: string; readonly keyHex: string } }[];
}

/** RMS of a render quantum that counts as "tone present" (−30 dBFS; the tone is −13.5 dBFS RMS). */
export const ONSET_THRESHOLD = 0.03;
/** Quanta below the threshold needed before an onset counts (21 ms of silence). */
export const ONSET_QUIET_QUANTA = 8;
/** Peak amplitude of the generated tone. */
const TONE_AMPLITUDE = 0.3;
const TONE_HZ = 1000;

const KEY = 'mcptt.bench.kpi';
const status = (t: string): void => void (document.getElementById('status')!.textContent = t);
/** Milliseconds on a clock shared by the pages of one browser. */
const wall = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- onset detector (AudioWorklet) ---------------------------------------------------------

const DETECTOR_SOURCE = `
class KpiOnset extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.threshold = options.processorOptions.threshold;
    this.quiet = options.processorOptions.quiet;
    this.armed = false;
    this.low = 0;
    this.port.onmessage = (e) => { this.armed = e.data.arm === true; this.low = e.data.requireQuiet === false ? this.quiet : 0; };
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch === undefined) return true;
    let sum = 0;
    for (let i = 0; i < ch.length; i++) sum += ch[i] * ch[i];
    const rms = Math.sqrt(sum / ch.length);
    if (rms < this.threshold) { this.low++; return true; }
    if (this.armed && this.low >= this.quiet) { this.armed = false; this.port.postMessage({ rms, frame: currentFrame }); }
    this.low = 0;
    return true;
  }
}
registerProcessor('kpi-onset', KpiOnset);
`;

const detectorModules = new WeakMap<BaseAudioContext, Promise<void>>();
function loadDetector(ctx: AudioContext): Promise<void> {
  let p = detectorModules.get(ctx);
  if (p === undefined) {
    const url = URL.createObjectURL(new Blob([DETECTOR_SOURCE], { type: 'text/javascript' }));
    p = ctx.audioWorklet.addModule(url);
    detectorModules.set(ctx, p);
  }
  return p;
}

/** An onset detector: `arm()` waits for the next onset; onsets are recorded as wall times. */
class Onset {
  readonly rises: number[] = [];
  #node: AudioWorkletNode | undefined;
  /** The last arming, replayed to a node attached later (a call's tracks come after joinGroup()). */
  #armed: { readonly arm: boolean; readonly requireQuiet: boolean } | undefined;

  async attach(ctx: AudioContext, source: AudioNode): Promise<void> {
    await loadDetector(ctx);
    const node = new AudioWorkletNode(ctx, 'kpi-onset', { processorOptions: { threshold: ONSET_THRESHOLD, quiet: ONSET_QUIET_QUANTA } });
    node.port.onmessage = () => void this.rises.push(wall());
    // Pulled by the destination through a silent gain, so the worklet runs.
    const sink = ctx.createGain();
    sink.gain.value = 0;
    source.connect(node).connect(sink).connect(ctx.destination);
    this.#node?.disconnect();
    this.#node = node;
    if (this.#armed !== undefined) node.port.postMessage(this.#armed);
  }

  /** Waits for the next onset; `requireQuiet` false: sound already present counts too. */
  arm(requireQuiet = true): number {
    this.#armed = { arm: true, requireQuiet };
    this.#node?.port.postMessage(this.#armed);
    return wall();
  }

  /** The first onset at or after `t`, if any. */
  since(t: number): number | undefined {
    return this.rises.find((r) => r >= t);
  }
}

// ---- the microphone: a tone generator --------------------------------------------------------

const mouth = new Onset();
const ear = new Onset();
let generator: { ctx: AudioContext; gain: GainNode; stream: MediaStream; ready: Promise<void> } | undefined;

function toneGenerator(): NonNullable<typeof generator> {
  if (generator !== undefined) return generator;
  const ctx = new AudioContext({ latencyHint: 'interactive', sampleRate: 48_000 });
  const osc = ctx.createOscillator();
  osc.frequency.value = TONE_HZ;
  const gain = ctx.createGain();
  gain.gain.value = 0;
  const dest = ctx.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  const ready = ctx.resume().then(() => mouth.attach(ctx, gain));
  generator = { ctx, gain, stream: dest.stream, ready };
  return generator;
}

const originalGum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (c?: MediaStreamConstraints): Promise<MediaStream> => {
  if (c?.audio === undefined || c.audio === false) return originalGum(c);
  const g = toneGenerator();
  await g.ready;
  // A clone per call: sip.js stops the tracks it was given when the session ends.
  return new MediaStream(g.stream.getAudioTracks().map((t) => t.clone()));
};

// ---- where a join's time goes: the peer connection's milestones ----------------------------

/** Milestones of the peer connections this page creates (wall times), newest connection last. */
const pcTimelines: { readonly created: number; readonly marks: Record<string, number>; readonly pc: RTCPeerConnection }[] = [];
{
  const Original = window.RTCPeerConnection;
  class TimedPeerConnection extends Original {
    constructor(config?: RTCConfiguration) {
      super(config);
      const marks: Record<string, number> = {};
      pcTimelines.push({ created: wall(), marks, pc: this });
      const mark = (name: string): void => void (marks[name] ??= wall());
      this.addEventListener('icegatheringstatechange', () => mark(`gathering-${this.iceGatheringState}`));
      this.addEventListener('iceconnectionstatechange', () => mark(`ice-${this.iceConnectionState}`));
      this.addEventListener('connectionstatechange', () => mark(`dtls-${this.connectionState}`));
      this.addEventListener('signalingstatechange', () => mark(`signaling-${this.signalingState}`));
      this.addEventListener('datachannel', () => mark('datachannel'));
      this.addEventListener('icecandidate', (e) => mark(e.candidate === null ? 'candidates-done' : 'first-candidate'));
      const sctp = (): void => {
        const t = this.sctp;
        if (t !== null) t.addEventListener('statechange', () => mark(`sctp-${t.state}`));
      };
      this.addEventListener('connectionstatechange', sctp, { once: true });
    }
  }
  window.RTCPeerConnection = TimedPeerConnection;
}

// ---- the call's playback, with the ear detector on its received tracks ----------------------

let earCtx: AudioContext | undefined;
function listeningPlayback(): CallAudioFactory {
  const base = webAudioPlayback();
  return (options) => {
    const inner = base(options);
    return {
      get volume() {
        return inner.volume;
      },
      set volume(v: number) {
        inner.volume = v;
      },
      setOutput(tracks) {
        inner.setOutput(tracks);
        if (tracks.length === 0) return;
        const ctx = (earCtx ??= new AudioContext({ latencyHint: 'interactive', sampleRate: 48_000 }));
        void ctx.resume();
        void ear.attach(ctx, ctx.createMediaStreamSource(new MediaStream([...tracks])));
      },
      setInput: (t) => inner.setInput(t),
      outputLevel: () => inner.outputLevel(),
      inputLevel: () => inner.inputLevel(),
      close: () => inner.close(),
    };
  };
}

// ---- the client -----------------------------------------------------------------------------

function clientFor(config: Config): McpttClient {
  const here = new URL(location.pathname, location.href).toString();
  return createMcpttClient({
    idms: { authority: config.idms, clientId: config.clientId, redirectUri: here, postLogoutRedirectUri: here },
    kms: {
      baseUrl: config.kms,
      kmsUri: config.kmsUri,
      security: true,
      bootstrapTransportKey: (mcpttId) => {
        const t = config.users.find((u) => u.mcpttId === mcpttId)?.transportKey;
        return t === undefined ? undefined : { id: t.id, key: hexToBytes(t.keyHex) };
      },
    },
    keyStore: { name: `mcptt-bench-kpi-${Date.now()}` },
  });
}

/** First receive-side 'encrypting' event (first frame decrypted on a track) after a time. */
const firstDecrypts: { at: number; mki: string }[] = [];

export interface FloorTiming {
  readonly result: 'granted' | 'queued';
  /** requestFloor() called → its promise resolved (ms). */
  readonly resolvedMs: number;
  /** requestFloor() called → the 'floor' event with state has-permission (ms). */
  readonly permissionMs: number | undefined;
}

export interface JoinTiming {
  /** Wall time joinGroup() was called. */
  readonly startedAt: number;
  /** joinGroup() called → resolved (SIP INVITE/200, ICE, DTLS, floor channel open) (ms). */
  readonly joinedMs: number;
  /** joinGroup() called → the first frame decrypted by the E2EE worker (ms). */
  readonly firstDecryptMs: number | undefined;
  /** joinGroup() called → the tone detected in the played audio (ms). */
  readonly firstSoundMs: number | undefined;
  readonly mki: string | undefined;
  /** Peer connection milestones, ms after joinGroup() was called. */
  readonly timeline: Record<string, number>;
}

/** `window.kpi`, what the runner drives. */
export interface KpiApi {
  hasGmk(groupId: string): boolean;
  wall(): number;
  /** Joins and waits (up to `waitMs`) for the first decrypted frame and the first sound. */
  join(groupId: string, waitMs?: number): Promise<JoinTiming>;
  leave(groupId: string): Promise<void>;
  requestFloor(groupId: string): Promise<FloorTiming>;
  releaseFloor(groupId: string): Promise<void>;
  floor(groupId: string): { state: string; talking: boolean; self: boolean };
  tone(on: boolean): number;
  armMouth(): number;
  armEar(requireQuiet?: boolean): number;
  mouthSince(t: number): number | undefined;
  earSince(t: number): number | undefined;
  outputLevel(groupId: string): number;
  stats(groupId: string): ReturnType<GroupCall['mediaStats']>;
  audioLatency(): { generator: number | undefined; ear: number | undefined };
  /** inbound-rtp of the call: mean jitter buffer delay (ms), interarrival jitter (ms), packets. */
  receiveStats(groupId: string): Promise<{ jitterBufferMs: number; jitterBufferDelayS: number; jitterBufferEmitted: number; jitterMs: number; packets: number; concealed: number; samples: number }>;
  disconnect(): Promise<void>;
}

/** Page options the runner may set (the SDK's defaults otherwise). */
export interface KpiPageOptions {
  /** sip.js: longest wait for ICE gathering before the offer goes out (default: until complete, 5 s at most). */
  readonly iceGatheringTimeoutMs?: number;
}

async function start(config: Config, options: KpiPageOptions): Promise<void> {
  const client = clientFor(config);
  const gmk = new Set<string>();
  client.on('group-key', (k) => void gmk.add(k.groupId));
  await client.completeLogin(location.href);
  status('signed in, connecting');
  toneGenerator();
  await client.connect({
    sipServer: config.sip,
    mcpttServerUri: config.mcpttServer,
    gmsUris: [config.serverIdentities.gms],
    gmsUrl: config.gms,
    groupCalls: { audio: listeningPlayback() },
    ...(options.iceGatheringTimeoutMs !== undefined ? { sessionDescriptionHandlerFactoryOptions: { iceGatheringTimeout: options.iceGatheringTimeoutMs } } : {}),
  });
  client.media()?.on('encrypting', (e) => {
    if (e.direction === 'receive') firstDecrypts.push({ at: wall(), mki: e.mki });
  });
  await generator?.ready;
  const calls = new Map<string, GroupCall>();
  const callOf = (groupId: string): GroupCall => {
    const c = calls.get(groupId);
    if (c === undefined) throw new Error('not in that group call');
    return c;
  };

  const api: KpiApi = {
    hasGmk: (groupId: string) => gmk.has(groupId),
    wall,
    async join(groupId: string, waitMs = 5000): Promise<JoinTiming> {
      const startedAt = wall();
      ear.arm(false);
      // The first RTP packet at the joiner (inbound-rtp stats, polled every 10 ms meanwhile; the stats object may appear a little late).
      let firstRtp: number | undefined;
      let polling = true;
      const pollRtp = async (): Promise<void> => {
        while (polling && firstRtp === undefined) {
          const pc = pcTimelines.find((t) => t.created >= startedAt)?.pc;
          (await pc?.getStats())?.forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
            if (r.type === 'inbound-rtp' && r.kind === 'audio' && (r.packetsReceived ?? 0) > 0) firstRtp ??= wall();
          });
          await sleep(10);
        }
      };
      const rtpPolled = pollRtp();
      const call = await client.joinGroup(groupId);
      const joinedMs = wall() - startedAt;
      calls.set(groupId, call);
      let decrypt: { at: number; mki: string } | undefined;
      let sound: number | undefined;
      for (const until = wall() + waitMs; wall() < until && (decrypt === undefined || sound === undefined); await sleep(2)) {
        decrypt ??= firstDecrypts.find((d) => d.at >= startedAt);
        sound ??= ear.since(startedAt);
      }
      polling = false;
      await rtpPolled;
      const pc = pcTimelines.filter((t) => t.created >= startedAt).at(-1);
      const timeline: Record<string, number> = {};
      if (firstRtp !== undefined) timeline['first-rtp'] = firstRtp - startedAt;
      if (decrypt !== undefined) timeline['first-decrypt'] = decrypt.at - startedAt;
      if (sound !== undefined) timeline['audible'] = sound - startedAt;
      if (pc !== undefined) {
        timeline['pc-created'] = pc.created - startedAt;
        for (const [k, v] of Object.entries(pc.marks)) timeline[k] = v - startedAt;
      }
      return { startedAt, joinedMs, firstDecryptMs: decrypt && decrypt.at - startedAt, firstSoundMs: sound && sound - startedAt, mki: decrypt?.mki, timeline };
    },
    async leave(groupId: string): Promise<void> {
      await calls.get(groupId)?.leave();
      calls.delete(groupId);
    },
    async requestFloor(groupId: string): Promise<FloorTiming> {
      const call = callOf(groupId);
      let permissionAt: number | undefined;
      const off = call.on('floor', (s) => {
        if (s.state === 'has-permission') permissionAt ??= performance.now();
      });
      const t0 = performance.now();
      try {
        const result = await call.requestFloor();
        const t1 = performance.now();
        return { result, resolvedMs: t1 - t0, permissionMs: permissionAt === undefined ? undefined : permissionAt - t0 };
      } finally {
        off();
      }
    },
    releaseFloor: (groupId: string) => callOf(groupId).releaseFloor(),
    /** The floor as this member sees it (no identities). */
    floor(groupId: string): { state: string; talking: boolean; self: boolean } {
      const f = callOf(groupId).floor;
      return { state: f.state, talking: f.talker !== undefined, self: f.talker?.self === true };
    },
    /** Switches the tone; returns the wall time of the switch. */
    tone(on: boolean): number {
      const g = toneGenerator();
      const t = wall();
      g.gain.gain.setValueAtTime(on ? TONE_AMPLITUDE : 0, g.ctx.currentTime);
      return t;
    },
    armMouth: () => mouth.arm(true),
    armEar: (requireQuiet = true) => ear.arm(requireQuiet),
    mouthSince: (t: number) => mouth.since(t),
    earSince: (t: number) => ear.since(t),
    outputLevel: (groupId: string) => calls.get(groupId)?.outputLevel() ?? 0,
    async stats(groupId: string) {
      return callOf(groupId).mediaStats();
    },
    /** The generator's and the ear's audio output latency as Web Audio reports them (s). */
    audioLatency: () => ({ generator: generator?.ctx.baseLatency, ear: earCtx?.baseLatency }),
    async receiveStats(groupId: string) {
      const out = { jitterBufferMs: 0, jitterBufferDelayS: 0, jitterBufferEmitted: 0, jitterMs: 0, packets: 0, concealed: 0, samples: 0 };
      (await callOf(groupId).peerConnection?.getStats())?.forEach(
        (r: { type: string; kind?: string; jitterBufferDelay?: number; jitterBufferEmittedCount?: number; jitter?: number; packetsReceived?: number; concealedSamples?: number; totalSamplesReceived?: number }) => {
          if (r.type !== 'inbound-rtp' || r.kind !== 'audio') return;
          out.jitterBufferMs = r.jitterBufferEmittedCount ? ((r.jitterBufferDelay ?? 0) / r.jitterBufferEmittedCount) * 1000 : 0;
          out.jitterBufferDelayS = r.jitterBufferDelay ?? 0;
          out.jitterBufferEmitted = r.jitterBufferEmittedCount ?? 0;
          out.jitterMs = (r.jitter ?? 0) * 1000;
          out.packets = r.packetsReceived ?? 0;
          out.concealed = r.concealedSamples ?? 0;
          out.samples = r.totalSamplesReceived ?? 0;
        },
      );
      return out;
    },
    async disconnect(): Promise<void> {
      await client.disconnect();
    },
  };
  (window as unknown as { kpi: KpiApi }).kpi = api;
  status('ready');
}

const w = window as unknown as { benchLogin(config: Config, username: string, options?: KpiPageOptions): Promise<void>; kpiReady?: Promise<void> };
w.benchLogin = async (config, username, options = {}) => {
  sessionStorage.setItem(KEY, JSON.stringify({ config, username, options }));
  await clientFor(config).login('redirect');
};
const url = new URL(location.href);
const saved = sessionStorage.getItem(KEY);
if (saved !== null && url.searchParams.has('code')) {
  const { config, options } = JSON.parse(saved) as { config: Config; options?: KpiPageOptions };
  status('signing in');
  w.kpiReady = start(config, options ?? {});
  w.kpiReady.catch((e: unknown) => status(`failed: ${e instanceof Error ? e.message : String(e)}`));
}
