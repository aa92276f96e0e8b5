/**
 * Browser side of e2e/media-e2ee.spec.ts: a private call between A (initiator) and B (receiver)
 * as RTCPeerConnections in one page, connected by handing SDP over directly (no SIP here), with
 * the SDK's E2EE worker on both directions under one PCK (TS 33.179 7.4, 7.5). Beside them:
 * C, a listener of A holding a wrong PCK under the right PCK-ID, and D, a listener of A whose
 * receiver runs a test worker that records the frames as they arrive on the wire.
 * Audio: Chromium's fake capture device (its periodic beep), AGC/NS/EC off.
 */
import { createE2eeManager, type E2eeManager, type E2eeManagerEvents } from '../../src/platform/media/e2ee-manager.js';
import { createMediaKeyRing } from '../../src/media/key-ring.js';
import type { E2eeMode } from '../../src/platform/media/frame-taps.js';
import type { EncodedStreamsCapable } from '../../src/media/encoded-frames.js';
import type { TrackCounters } from '../../src/media/protocol.js';
import { bytesToHex } from '../../src/util/bytes.js';

export interface InboundAudio {
  readonly energy: number;
  readonly concealed: number;
  readonly samples: number;
  readonly packets: number;
}

export interface CaptureReport {
  readonly seen: { mki: string; streamId: string; index: number; length: number }[];
  readonly opened: { plaintextHead: string; sealedHead: string; plaintextLength: number }[];
  /** Non-empty frames without the format marker: media that left in clear. */
  readonly unparsed: number;
  readonly unparsedFrames: { head: string; length: number }[];
  /** Empty frames (RTP padding). */
  readonly empty: number;
}

export interface MediaTestApi {
  setup(mode: E2eeMode): Promise<{ pckId: string; mode: E2eeMode }>;
  inbound(): Promise<{ aFromB: InboundAudio; bFromA: InboundAudio; cFromA: InboundAudio }>;
  counters(): Promise<{ a: TrackCounters[]; b: TrackCounters[]; c: TrackCounters[] }>;
  events(): Record<'a' | 'b' | 'c', { type: string; direction?: string; reason?: string; count?: number }[]>;
  capture(): Promise<CaptureReport>;
  restart(who: 'a' | 'b'): Promise<number>;
  disposeA(): void;
  /**
   * Attaches a sender one task too late (after an await following addTrack) and reports what
   * happened: the worker's frame count, its events, and what a plain receiver decoded.
   */
  lateAttach(mode: E2eeMode): Promise<{
    framesIn: number;
    stalled: { neverStarted: boolean }[];
    bypassed: { packets: number; stopped: boolean }[];
    energyBeforeStop: number;
    energyGrowthAfterStop: number;
    senderTrack: 'live' | null;
    attachError: string | null;
  }>;
}

const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

async function connect(offerer: RTCPeerConnection, answerer: RTCPeerConnection): Promise<void> {
  offerer.onicecandidate = (e) => void (e.candidate && answerer.addIceCandidate(e.candidate));
  answerer.onicecandidate = (e) => void (e.candidate && offerer.addIceCandidate(e.candidate));
  await offerer.setLocalDescription(await offerer.createOffer());
  await answerer.setRemoteDescription(offerer.localDescription!);
  await answerer.setLocalDescription(await answerer.createAnswer());
  await offerer.setRemoteDescription(answerer.localDescription!);
}

async function inboundOf(pc: RTCPeerConnection): Promise<InboundAudio> {
  const stats = await pc.getStats();
  let out: InboundAudio = { energy: 0, concealed: 0, samples: 0, packets: 0 };
  stats.forEach((r: { type: string; kind?: string; totalAudioEnergy?: number; concealedSamples?: number; totalSamplesReceived?: number; packetsReceived?: number }) => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      out = { energy: r.totalAudioEnergy ?? 0, concealed: r.concealedSamples ?? 0, samples: r.totalSamplesReceived ?? 0, packets: r.packetsReceived ?? 0 };
    }
  });
  return out;
}

function play(stream: MediaStream): void {
  const audio = new Audio();
  audio.srcObject = stream;
  audio.muted = false;
  void audio.play().catch(() => undefined);
}

const log: Record<'a' | 'b' | 'c', { type: string; direction?: string; reason?: string; count?: number }[]> = { a: [], b: [], c: [] };
const TYPES: (keyof E2eeManagerEvents)[] = ['encrypting', 'missing-key', 'decrypt-failed', 'unencrypted-frame-received', 'stalled', 'worker-error'];

function recordEvents(name: 'a' | 'b' | 'c', m: E2eeManager): void {
  for (const t of TYPES) m.on(t, (e) => log[name].push({ ...(e as object), type: e.type } as { type: string }));
}

let state:
  | {
      a: E2eeManager;
      b: E2eeManager;
      c: E2eeManager;
      ab: [RTCPeerConnection, RTCPeerConnection];
      ac: [RTCPeerConnection, RTCPeerConnection];
      capture: Worker;
    }
  | undefined;

async function setup(mode: E2eeMode): Promise<{ pckId: string; mode: E2eeMode }> {
  const constraints = { audio: { autoGainControl: false, noiseSuppression: false, echoCancellation: false } };
  const micA = await navigator.mediaDevices.getUserMedia(constraints);
  const micB = await navigator.mediaDevices.getUserMedia(constraints);
  const pck = rand(16);
  const pckId = rand(4);
  pckId[0] = 0x10 | (pckId[0]! & 0x0f); // purpose tag 1: PCK (ts33180 profile)
  const r = rand(16);
  const callId = 'call-e2e';
  const call = { kind: 'private', callId } as const;

  const [a, b, c] = await Promise.all([createE2eeManager({ mode }), createE2eeManager({ mode }), createE2eeManager({ mode })]);
  recordEvents('a', a);
  recordEvents('b', b);
  recordEvents('c', c);
  await a.addPrivateCallKey({ callId, pck, pckId, rand: r, role: 'initiator' });
  await b.addPrivateCallKey({ callId, pck, pckId, rand: r, role: 'receiver' });
  await c.addPrivateCallKey({ callId, pck: rand(16), pckId, rand: r, role: 'receiver' }); // wrong PCK, right ID

  // A <-> B, both directions protected. addTrack creates the transceiver, so both of its ends
  // are attached right away, in this task (docs/media.md, "Attaching").
  const ab: [RTCPeerConnection, RTCPeerConnection] = [new RTCPeerConnection(), new RTCPeerConnection()];
  ab[0].ontrack = (e) => play(e.streams[0]!);
  ab[1].ontrack = (e) => play(e.streams[0]!);
  const transceiverOf = (pc: RTCPeerConnection, sender: RTCRtpSender) => pc.getTransceivers().find((t) => t.sender === sender)!;
  const attached: Promise<unknown>[] = [
    a.attachTransceiver(transceiverOf(ab[0], ab[0].addTrack(micA.getAudioTracks()[0]!, micA)), call),
    b.attachTransceiver(transceiverOf(ab[1], ab[1].addTrack(micB.getAudioTracks()[0]!, micB)), call),
  ];

  // A -> C (wrong key) and A -> D (wire capture).
  const ac: [RTCPeerConnection, RTCPeerConnection] = [new RTCPeerConnection(), new RTCPeerConnection()];
  // C has no transceiver of its own: the remote offer creates the receiver, ontrack attaches it.
  ac[1].ontrack = (e) => {
    attached.push(c.attachReceiver(e.receiver));
    play(e.streams[0]!);
  };
  attached.push(a.attachSender(ac[0].addTrack(micA.getAudioTracks()[0]!, micA), call));
  const ad: [RTCPeerConnection, RTCPeerConnection] = [new RTCPeerConnection(), new RTCPeerConnection()];
  const capture = new Worker(new URL('./media-capture.worker.ts', import.meta.url), { type: 'module' });
  ad[1].ontrack = (e) => {
    if (mode === 'script-transform') e.receiver.transform = new RTCRtpScriptTransform(capture, {});
    else {
      const s = (e.receiver as unknown as EncodedStreamsCapable).createEncodedStreams();
      capture.postMessage({ kind: 'streams', readable: s.readable, writable: s.writable }, [s.readable, s.writable]);
    }
  };
  attached.push(a.attachSender(ad[0].addTrack(micA.getAudioTracks()[0]!, micA), call));
  // The observer may decrypt what it captures: the receiver-side key of A's direction.
  const ring = createMediaKeyRing();
  ring.addPrivateCallKey({ callId, pck, pckId, rand: r, role: 'receiver' });
  const k = await ring.receiveKey(pckId);
  capture.postMessage({ kind: 'key', key: k.key, salt: k.salt });

  await Promise.all([connect(ab[0], ab[1]), connect(ac[0], ac[1]), connect(ad[0], ad[1])]);
  await Promise.all(attached);
  state = { a, b, c, ab, ac, capture };
  return { pckId: bytesToHex(pckId), mode: a.mode };
}

const api: MediaTestApi = {
  setup,
  async inbound() {
    const s = state!;
    const [aFromB, bFromA, cFromA] = await Promise.all([inboundOf(s.ab[0]), inboundOf(s.ab[1]), inboundOf(s.ac[1])]);
    return { aFromB, bFromA, cFromA };
  },
  async counters() {
    const s = state!;
    const [a, b, c] = await Promise.all([s.a.counters(), s.b.counters(), s.c.counters()]);
    return { a, b, c };
  },
  events: () => log,
  capture: () =>
    new Promise((resolve) => {
      state!.capture.addEventListener('message', (e: MessageEvent<CaptureReport>) => resolve(e.data), { once: true });
      state!.capture.postMessage({ kind: 'report' });
    }),
  async restart(who) {
    const m = state![who];
    await m.restart();
    return m.generation;
  },
  disposeA() {
    state!.a.dispose();
  },
  async lateAttach(mode) {
    const m = await createE2eeManager({ mode, config: { stallMs: 1000 } });
    const stalled: { neverStarted: boolean }[] = [];
    const bypassed: { packets: number; stopped: boolean }[] = [];
    m.on('stalled', (e) => stalled.push({ neverStarted: e.neverStarted }));
    m.on('transform-bypassed', (e) => bypassed.push({ packets: e.packets, stopped: e.stopped }));
    const callId = 'late';
    const pckId = rand(4);
    pckId[0] = 0x10 | (pckId[0]! & 0x0f);
    await m.addPrivateCallKey({ callId, pck: rand(16), pckId, rand: rand(16), role: 'initiator' });
    const mic = await navigator.mediaDevices.getUserMedia({ audio: { autoGainControl: false, noiseSuppression: false, echoCancellation: false } });
    const p = new RTCPeerConnection();
    const q = new RTCPeerConnection();
    q.ontrack = (e) => play(e.streams[0]!);
    const sender = p.addTrack(mic.getAudioTracks()[0]!, mic);
    await new Promise((r) => setTimeout(r, 0)); // the task that created the sender has ended
    let attachError: string | null = null;
    try {
      await m.attachSender(sender, { kind: 'private', callId });
    } catch (e) {
      attachError = e instanceof Error ? e.message : String(e);
    }
    await connect(p, q);
    const deadline = Date.now() + 6000;
    while (bypassed.length === 0 && attachError === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // Let the receiver's jitter buffer drain, then see whether audio still arrives.
    await new Promise((r) => setTimeout(r, 800));
    const e1 = (await inboundOf(q)).energy;
    await new Promise((r) => setTimeout(r, 1500));
    const e2 = (await inboundOf(q)).energy;
    const counters = attachError === null ? await m.counters() : [];
    m.dispose();
    p.close();
    q.close();
    return { framesIn: counters[0]?.framesIn ?? 0, stalled, bypassed, energyBeforeStop: e1, energyGrowthAfterStop: e2 - e1, senderTrack: sender.track === null ? null : 'live', attachError };
  },
};

(window as unknown as { mediaTest: MediaTestApi }).mediaTest = api;
document.getElementById('status')!.textContent = 'ready';
