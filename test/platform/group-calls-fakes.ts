/**
 * Stand-ins for the browser and SIP parts of a group call in Node: a SIP user agent that
 * builds each call's session description handler through the real factory chain (group call
 * wrapper over the real E2EE attach on a fake peer connection), a data channel, a floor
 * participant the test drives, and an audio path that records what it was given.
 */
import type { Session, SessionDescriptionHandler, SessionDescriptionHandlerFactory } from 'sip.js';

import { SipError } from '../../src/errors.js';
import type { CallAudio, CallAudioFactory, FloorControl, FloorControlEvents, FloorControlInit, FloorStatus, FloorRequestOptions } from '../../src/platform/group-calls/index.js';
import { FLOOR_START_STOP, GroupCallSessions, groupCallSessionDescriptionHandlerFactory } from '../../src/platform/group-calls/index.js';
import { TypedEmitter } from '../../src/platform/signalling/index.js';
import type { E2eeManager } from '../../src/platform/media/index.js';
import { protectPeerConnection } from '../../src/platform/media/index.js';
import type { CallOptions, SipCall, SipUserAgent } from '../../src/platform/sip/index.js';
import { FakeEndpoint } from '../media/helpers.js';

export const OFFER_SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';
export const ANSWER_SDP = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n';

export class FakeTrack {
  enabled = true;
  constructor(readonly kind: 'audio' = 'audio') {}
}

export class FakeChannel extends EventTarget {
  readyState: RTCDataChannelState = 'connecting';
  binaryType = 'blob';
  readonly sent: Uint8Array[] = [];
  constructor(
    readonly label: string,
    readonly init: RTCDataChannelInit | undefined,
  ) {
    super();
  }
  open(): void {
    this.readyState = 'open';
    this.dispatchEvent(new Event('open'));
  }
  send(p: Uint8Array): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError');
    this.sent.push(p.slice());
  }
  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.dispatchEvent(new Event('close'));
  }
  /** A binary message from the server. */
  deliver(bytes: Uint8Array): void {
    this.dispatchEvent(new MessageEvent('message', { data: bytes.slice().buffer }));
  }
}

type Endpoint = FakeEndpoint & { track: FakeTrack };

/** Enough of RTCPeerConnection for sip-e2ee.ts and the group call: addTrack makes a sendrecv transceiver. */
export class FakePeerConnection {
  readonly transceivers: { sender: Endpoint; receiver: Endpoint }[] = [];
  addTrack(track: FakeTrack): Endpoint {
    const sender = Object.assign(new FakeEndpoint(), { track });
    const receiver = Object.assign(new FakeEndpoint(), { track: new FakeTrack() });
    this.transceivers.push({ sender, receiver });
    return sender;
  }
  addTransceiver(): never {
    throw new Error('not used');
  }
  getTransceivers(): { sender: Endpoint; receiver: Endpoint }[] {
    return this.transceivers;
  }
  getSenders(): Endpoint[] {
    return this.transceivers.map((t) => t.sender);
  }
  getReceivers(): Endpoint[] {
    return this.transceivers.map((t) => t.receiver);
  }
  addEventListener(): void {}
  removeEventListener(): void {}
}

/** sip.js's Web handler in miniature: the mic track is added, then the data channel, then the offer. */
export class FakeInnerSdh implements SessionDescriptionHandler {
  readonly peerConnection = new FakePeerConnection();
  channel: FakeChannel | undefined;
  readonly remote: string[] = [];
  readonly optionsSeen: unknown[] = [];
  closed = false;
  constructor(readonly autoOpen: boolean) {}
  close(): void {
    this.closed = true;
  }
  async getDescription(options?: object): Promise<{ body: string; contentType: string }> {
    this.optionsSeen.push(options);
    const o = (options ?? {}) as { dataChannel?: boolean; dataChannelLabel?: string; dataChannelOptions?: RTCDataChannelInit; onDataChannel?: (c: RTCDataChannel) => void };
    if (this.peerConnection.transceivers.length === 0) (this.peerConnection as unknown as RTCPeerConnection).addTrack(new FakeTrack() as unknown as MediaStreamTrack);
    if (o.dataChannel === true && this.channel === undefined) {
      const c = new FakeChannel(o.dataChannelLabel ?? '', o.dataChannelOptions);
      this.channel = c;
      o.onDataChannel?.(c as unknown as RTCDataChannel);
      if (this.autoOpen) queueMicrotask(() => c.open());
    }
    return { body: OFFER_SDP, contentType: 'application/sdp' };
  }
  hasDescription(contentType: string): boolean {
    return contentType === 'application/sdp';
  }
  async setDescription(sdp: string): Promise<void> {
    this.remote.push(sdp);
  }
  sendDtmf(): boolean {
    return false;
  }
}

export interface SentInvite {
  readonly target: string;
  readonly body: string;
  readonly contentType: string;
  readonly session: Session;
  readonly inner: FakeInnerSdh;
  readonly hangups: number;
  end(): void;
}

/** A SIP user agent whose calls run through the real group call + E2EE handler chain. */
export class FakeUa {
  readonly invites: SentInvite[] = [];
  readonly sessions = new GroupCallSessions();
  /** 'ok' answers 200; a number refuses with that status; 'hold' never answers until release(). */
  answer: 'ok' | number | 'hold' = 'ok';
  autoOpen = true;
  cancelled = 0;
  release: (() => void) | undefined;
  readonly factory: SessionDescriptionHandlerFactory;
  #n = 0;

  constructor(readonly media: E2eeManager) {
    const base: SessionDescriptionHandlerFactory = (session) => {
      const inner = new FakeInnerSdh(this.autoOpen);
      protectPeerConnection(inner.peerConnection as unknown as RTCPeerConnection, media, this.sessions.contextOf(session) ?? { kind: 'private', callId: session.id });
      return inner;
    };
    this.factory = groupCallSessionDescriptionHandlerFactory(base, this.sessions);
  }

  asUa(): SipUserAgent {
    return this as unknown as SipUserAgent;
  }

  async call(target: string, options?: CallOptions): Promise<SipCall> {
    const id = `call-${++this.#n}`;
    let cancel!: () => void;
    const cancelled = new Promise<never>((_, reject) => (cancel = () => reject(new SipError('ERR_SIP_REQUEST_FAILED', 'INVITE ended before the call was established'))));
    cancelled.catch(() => undefined);
    const session = { id, cancel: async () => (this.cancelled++, cancel()) } as unknown as Session;
    options?.onSession?.(session);
    const sdh = this.factory(session, {});
    const inner = (sdh as unknown as { inner: FakeInnerSdh }).inner ?? (sdh as unknown as FakeInnerSdh);
    const d = await sdh.getDescription({});
    let endCall!: () => void;
    const ended = new Promise<void>((r) => (endCall = r));
    let hangups = 0;
    const invite: SentInvite = {
      target,
      body: d.body,
      contentType: d.contentType,
      session,
      inner,
      get hangups() {
        return hangups;
      },
      end: () => endCall(),
    };
    this.invites.push(invite);
    if (this.answer === 'hold') await Promise.race([new Promise<void>((r) => (this.release = r)), cancelled]);
    if (typeof this.answer === 'number') throw new SipError('ERR_SIP_REQUEST_FAILED', `INVITE failed with status ${this.answer}`, { statusCode: this.answer });
    await sdh.setDescription(ANSWER_SDP);
    return {
      id,
      direction: 'outgoing',
      remoteUri: target,
      localSdp: d.body,
      remoteSdp: ANSWER_SDP,
      session,
      sessionDescriptionHandler: sdh,
      ended,
      hangup: async () => {
        hangups++;
        endCall();
      },
    };
  }
}

/** A floor participant the test drives. */
export class FakeFloor implements FloorControl {
  status: FloorStatus = FLOOR_START_STOP;
  readonly requests: (FloorRequestOptions | undefined)[] = [];
  readonly received: Uint8Array[] = [];
  releases = 0;
  stopped = false;
  #events = new TypedEmitter<FloorControlEvents>();
  #pending: ((r: 'granted' | 'queued') => void) | undefined;
  constructor(readonly init: FloorControlInit) {}
  on<E extends keyof FloorControlEvents>(event: E, listener: (...args: FloorControlEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }
  set(state: FloorStatus['state'], talker?: string): void {
    this.status = { state, talker: talker === undefined ? undefined : { mcpttId: talker, self: state === 'has-permission', emergency: false }, queuePosition: undefined };
    this.#events.emit('status', this.status);
  }
  start(): void {
    this.set('has-no-permission');
  }
  request(o?: FloorRequestOptions): Promise<'granted' | 'queued'> {
    this.requests.push(o);
    this.set('pending-request');
    return new Promise((r) => (this.#pending = r));
  }
  /** The arbitrator's Floor Granted. */
  grant(self: string): void {
    this.set('has-permission', self);
    this.#pending?.('granted');
  }
  revoke(cause: number): void {
    this.set('has-no-permission');
    this.#events.emit('revoked', { cause, text: undefined });
  }
  async release(): Promise<void> {
    this.releases++;
    this.set('has-no-permission');
  }
  receive(p: Uint8Array): void {
    this.received.push(p);
  }
  /** Talker media reported (T103). */
  media = 0;
  mediaReceived(): void {
    this.media++;
  }
  stop(): void {
    this.stopped = true;
    this.status = FLOOR_START_STOP;
  }
}

export class FakeAudio implements CallAudio {
  volume: number;
  output: readonly MediaStreamTrack[] = [];
  input: MediaStreamTrack | undefined;
  closed = false;
  constructor(volume: number) {
    this.volume = volume;
  }
  setOutput(tracks: readonly MediaStreamTrack[]): void {
    this.output = tracks;
  }
  setInput(track: MediaStreamTrack | undefined): void {
    this.input = track;
  }
  outputLevel(): number {
    return 0.25;
  }
  inputLevel(): number {
    return 0.5;
  }
  close(): void {
    this.closed = true;
  }
}

export function fakeAudio(): { factory: CallAudioFactory; made: FakeAudio[] } {
  const made: FakeAudio[] = [];
  return { made, factory: (o) => (made.push(new FakeAudio(o.volume)), made.at(-1)!) };
}
