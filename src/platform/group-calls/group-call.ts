/**
 * One prearranged group call (TS 24.379 10.1.1 as carried over; TS 33.179 7.3 group keys, 7.5
 * media under the group's GMK, 7.6 floor control protection; TS 24.380 6.2.4 floor
 * participant). States and transitions: state.ts.
 *
 * Joining: an INVITE to the MCPTT server's URI (not the group's: the group ID travels in the
 * mcptt-info part, where 9.3 can hide it) with the SDP offer (Opus sendrecv + the
 * `mcptt-floor` data channel) — group-call-sdh.ts builds the body. The E2EE manager protects
 * the sender under `{ kind: 'group', groupId }` (per-sender key from our GUK-ID) and decrypts
 * every receiver by MKI; nothing leaves in clear: without a GMK the worker drops our frames.
 *
 * The microphone is muted from the moment the track is added (before the offer) and is on
 * only while the floor participant says 'has-permission' AND the group has an active GMK; a
 * revoked GMK mutes it at once and releases the floor (`keysChanged`).
 */
import type { Inviter, Session } from 'sip.js';

import { buildMcpttInfoXml } from '../../codec/sip-bodies.js';
import { SipError, isMcpttError } from '../../errors.js';
import type { MediaContext } from '../../media/key-ring.js';
import type { E2eeManager } from '../media/index.js';
import { SignallingError, TypedEmitter, type ClientServerKey } from '../signalling/index.js';
import type { SipCall, SipUserAgent } from '../sip/index.js';
import { FLOOR_START_STOP, type FloorControl, type FloorControlFactory } from './floor-port.js';
import type { GroupCallSessions } from './group-call-sdh.js';
import { checkVolume, type CallAudio, type CallAudioFactory } from './playback.js';
import { assertGroupCallTransition } from './state.js';
import type { FloorRequestOptions, FloorStatus, GroupCall, GroupCallEvents, GroupCallMediaStats, GroupCallState } from './types.js';

export interface GroupCallDeps {
  readonly groupId: string;
  readonly mcpttId: string;
  readonly serverUri: string;
  readonly ua: SipUserAgent;
  readonly sessions: GroupCallSessions;
  readonly media: E2eeManager;
  /** 9.3 hook: the mcptt-info document on its way into the INVITE (identity by default). */
  readonly protectInfo: (xml: string) => Promise<string>;
  /** Floor control; undefined when this build has none. */
  readonly floor: FloorControlFactory | undefined;
  /** The CSK that protects floor control. */
  readonly floorKey: () => ClientServerKey | undefined;
  /** The deployment allows floor control without protection when there is no CSK. */
  readonly unprotectedFloor: boolean;
  readonly audio: CallAudioFactory;
  readonly volume: number;
  /** How long the floor channel may take to open after the 200 OK (ms). */
  readonly channelTimeoutMs: number;
  readonly now: () => number;
  /** The call is over (ended or failed): the manager forgets it. */
  readonly onGone: (call: GroupCallImpl) => void;
}

const DROPPED = ['droppedNoKey', 'droppedUnknownKey', 'droppedAuth', 'droppedReplay', 'droppedMalformed', 'droppedUnencrypted', 'droppedExpired', 'droppedError'] as const;
/** How long leave() waits for a Floor Release to be sent before hanging up anyway. */
const RELEASE_ON_LEAVE_MS = 1000;
/** How often decrypted frames are checked to tell the participant the talker's media flows (T103). */
const MEDIA_WATCH_MS = 500;

export class GroupCallImpl implements GroupCall {
  readonly groupId: string;
  readonly #d: GroupCallDeps;
  readonly #events = new TypedEmitter<GroupCallEvents>();
  readonly #context: MediaContext;
  readonly #audio: CallAudio;
  #state: GroupCallState = 'joining';
  #id: string | undefined;
  #session: Session | undefined;
  #sip: SipCall | undefined;
  #pc: RTCPeerConnection | undefined;
  #channel: RTCDataChannel | undefined;
  #channelReady: Promise<void>;
  #channelArrived!: (c: RTCDataChannel) => void;
  #floor: FloorControl | undefined;
  #floorOff: (() => void)[] = [];
  #noFloor: SignallingError | undefined;
  /** Last answer to "is there an active GMK for this group?". */
  #keyed = false;
  #sendMki: string | undefined;
  #receiveMki: string | undefined;
  #offMedia: () => void;
  #done: Promise<void>;
  #resolveDone!: () => void;
  #leaving: Promise<void> | undefined;
  #mediaWatch: ReturnType<typeof setInterval> | undefined;
  #lastDecrypted = 0;

  constructor(d: GroupCallDeps) {
    this.#d = d;
    this.groupId = d.groupId;
    this.#context = { kind: 'group', groupId: d.groupId };
    this.#audio = d.audio({ volume: checkVolume(d.volume) });
    this.#done = new Promise((r) => (this.#resolveDone = r));
    const arrived = new Promise<RTCDataChannel>((r) => (this.#channelArrived = r));
    this.#channelReady = arrived.then((c) => openOf(c, d.channelTimeoutMs));
    this.#channelReady.catch(() => undefined);
    this.#offMedia = d.media.on('encrypting', (e) => {
      if (!this.#ownTracks().has(e.trackId)) return;
      if (e.direction === 'send') this.#sendMki = e.mki;
      else this.#receiveMki = e.mki;
    });
  }

  // ---- public surface ------------------------------------------------------------------

  get id(): string {
    return this.#id ?? this.#session?.id ?? '';
  }

  get state(): GroupCallState {
    return this.#state;
  }

  get floor(): FloorStatus {
    return this.#state === 'joined' ? (this.#floor?.status ?? FLOOR_START_STOP) : FLOOR_START_STOP;
  }

  get volume(): number {
    return this.#audio.volume;
  }

  set volume(v: number) {
    this.#audio.volume = checkVolume(v);
  }

  get peerConnection(): RTCPeerConnection | undefined {
    return this.#pc;
  }

  on<E extends keyof GroupCallEvents>(event: E, listener: (...args: GroupCallEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  outputLevel(): number {
    return this.#state === 'joined' ? this.#audio.outputLevel() : 0;
  }

  inputLevel(): number {
    return this.#state === 'joined' && this.floor.state === 'has-permission' ? this.#audio.inputLevel() : 0;
  }

  async requestFloor(options?: FloorRequestOptions): Promise<'granted' | 'queued'> {
    if (this.#state !== 'joined') {
      throw this.#state === 'joining'
        ? new SignallingError('ERR_SIGNALLING_INVALID_STATE', 'requestFloor() before the call is joined')
        : new SignallingError('ERR_GROUP_CALL_ENDED', `requestFloor() on a call that is ${this.#state}`);
    }
    const floor = this.#floor;
    if (floor === undefined) throw this.#noFloor ?? new SignallingError('ERR_GROUP_CALL_SETUP', 'floor control is not available');
    // Never talk without a key: the worker would drop every frame, the others would hear nothing.
    this.#keyed = await this.#hasSendKey();
    if (!this.#keyed) throw new SignallingError('ERR_GROUP_CALL_NO_KEY', 'no active GMK for this group: the floor is not requested');
    if (!this.#is('joined')) throw new SignallingError('ERR_GROUP_CALL_ENDED', 'the call ended');
    return floor.request(options);
  }

  async releaseFloor(): Promise<void> {
    this.#mute(); // at once, not when the arbitrator answers
    if (this.#state !== 'joined' || this.#floor === undefined) return;
    await this.#floor.release();
  }

  async mediaStats(): Promise<GroupCallMediaStats> {
    const own = this.#ownTracks();
    let framesEncrypted = 0;
    let framesDecrypted = 0;
    let framesDropped = 0;
    if (own.size > 0) {
      for (const c of await this.#d.media.counters()) {
        if (!own.has(c.trackId)) continue;
        if (c.direction === 'send') framesEncrypted += c.framesOut;
        else framesDecrypted += c.framesOut;
        for (const k of DROPPED) framesDropped += c[k];
      }
    }
    return {
      framesEncrypted,
      framesDecrypted,
      framesDropped,
      sendMki: this.floor.state === 'has-permission' ? this.#sendMki : undefined,
      receiveMki: this.#receiveMki,
    };
  }

  leave(): Promise<void> {
    if (this.#state === 'ended' || this.#state === 'failed') return Promise.resolve();
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  // ---- joining -------------------------------------------------------------------------

  /** Sends the INVITE; resolves once joined (200 OK, floor channel open). */
  async join(): Promise<void> {
    const d = this.#d;
    let sip: SipCall;
    try {
      sip = await d.ua.call(d.serverUri, {
        onSession: (s) => {
          this.#session = s;
          d.sessions.register(s, {
            groupId: d.groupId,
            infoXml: () => this.#infoXml(),
            onDataChannel: (c, pc) => this.#onChannel(c, pc),
          });
        },
      });
    } catch (e) {
      if (this.#is('leaving')) {
        this.#finish(undefined);
        throw new SignallingError('ERR_GROUP_CALL_ENDED', 'left while joining', { cause: e });
      }
      const err = setupError(e);
      this.#finish(err.code);
      throw err;
    }
    this.#sip = sip;
    this.#id = sip.id;
    void sip.ended.then(() => this.#remoteEnded());
    if (this.#is('leaving')) {
      await sip.hangup().catch(() => undefined);
      this.#finish(undefined);
      throw new SignallingError('ERR_GROUP_CALL_ENDED', 'left while joining');
    }
    try {
      // The server may hang up meanwhile: then stop waiting for the channel at once.
      const gone = this.#done.then(() => Promise.reject(new SignallingError('ERR_GROUP_CALL_ENDED', 'the call ended while joining')));
      gone.catch(() => undefined);
      await Promise.race([withTimeout(this.#channelReady, d.channelTimeoutMs), gone]);
    } catch (e) {
      const err = this.#is('joining') ? setupError(e) : new SignallingError('ERR_GROUP_CALL_ENDED', 'the call ended while joining', { cause: e });
      // Finish first: our own BYE must not read as the server ending the call.
      this.#finish(err.code);
      await sip.hangup().catch(() => undefined);
      throw err;
    }
    if (!this.#is('joining')) {
      // Left, or the server hung up, while the channel was opening.
      await this.#done;
      throw new SignallingError('ERR_GROUP_CALL_ENDED', 'the call ended while joining');
    }
    this.#pc ??= (sip.sessionDescriptionHandler as { peerConnection?: RTCPeerConnection } | undefined)?.peerConnection;
    this.#mute();
    this.#startAudio();
    this.#keyed = await this.#hasSendKey().catch(() => false);
    if (!this.#is('joining')) {
      await this.#done;
      throw new SignallingError('ERR_GROUP_CALL_ENDED', 'the call ended while joining');
    }
    this.#to('joined');
    this.#floor?.start();
    this.#watchMedia();
  }

  /**
   * TS 24.380 T103: the participant forgets a talker whose media stopped. Media from the talker
   * = frames our receiver decrypted (the focus forwards only the holder's), read from the E2EE
   * worker's counters while someone else holds the floor.
   */
  #watchMedia(): void {
    const floor = this.#floor;
    if (floor?.mediaReceived === undefined) return;
    let busy = false;
    this.#mediaWatch = setInterval(() => {
      const t = floor.status.talker;
      if (busy || t === undefined || t.self) return;
      busy = true;
      const own = this.#ownTracks();
      this.#d.media
        .counters()
        .then((all) => {
          const decrypted = all.filter((c) => own.has(c.trackId) && c.direction === 'receive').reduce((n, c) => n + c.framesOut, 0);
          if (decrypted > this.#lastDecrypted && this.#state === 'joined') floor.mediaReceived?.();
          this.#lastDecrypted = decrypted;
        })
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, MEDIA_WATCH_MS);
  }

  async #infoXml(): Promise<string> {
    const xml = buildMcpttInfoXml({ requestUri: this.#d.groupId, callingUserId: this.#d.mcpttId, sessionType: 'prearranged' });
    return this.#d.protectInfo(xml);
  }

  /** The data channel exists and the microphone track has just been added: mute it now. */
  #onChannel(channel: RTCDataChannel, pc: RTCPeerConnection | undefined): void {
    this.#pc = pc;
    this.#mute();
    this.#channel = channel;
    channel.binaryType = 'arraybuffer';
    this.#setUpFloor(channel);
    channel.addEventListener('close', () => {
      // No floor control without its channel: the call cannot go on.
      if (this.#state === 'joined') void this.#hangUpAndFinish('ERR_GROUP_CALL_ENDED');
    });
    this.#channelArrived(channel);
  }

  #setUpFloor(channel: RTCDataChannel): void {
    const d = this.#d;
    if (d.floor === undefined) {
      this.#noFloor = new SignallingError('ERR_GROUP_CALL_SETUP', 'floor control is not available in this build');
      return;
    }
    const protectedFloor = d.floorKey() !== undefined;
    if (!protectedFloor && !d.unprotectedFloor) {
      // Fail closed: floor messages carry who talks; without the CSK they would go in clear.
      this.#noFloor = new SignallingError('ERR_GROUP_CALL_NO_FLOOR_KEY', 'no CSK to protect floor control, and unprotected floor control is not allowed');
      return;
    }
    const floor = d.floor({
      send: (packet) => {
        if (channel.readyState === 'open') channel.send(packet as Uint8Array<ArrayBuffer>);
      },
      csk: protectedFloor ? d.floorKey : undefined,
      mcpttId: d.mcpttId,
    });
    this.#floor = floor;
    channel.addEventListener('message', (e: MessageEvent) => {
      if (e.data instanceof ArrayBuffer) floor.receive(new Uint8Array(e.data));
    });
    this.#floorOff.push(
      floor.on('status', (s) => {
        this.#applyPermission(s);
        if (this.#state === 'joined') this.#events.emit('floor', s);
      }),
      floor.on('denied', (r) => this.#events.emit('floor-denied', r)),
      floor.on('revoked', (r) => {
        this.#mute();
        this.#events.emit('floor-revoked', r);
      }),
    );
  }

  #startAudio(): void {
    const pc = this.#pc;
    if (pc === undefined) return;
    const received = pc
      .getReceivers()
      .map((r) => r.track)
      .filter((t) => t.kind === 'audio');
    this.#audio.setOutput(received);
    this.#audio.setInput(this.#micTrack());
  }

  // ---- keys and microphone -------------------------------------------------------------

  /** The group's keys changed (new GMK, revocation): re-check, and stop talking without one. */
  async keysChanged(): Promise<void> {
    const keyed = await this.#hasSendKey().catch(() => false);
    this.#keyed = keyed;
    if (keyed) {
      this.#applyPermission(this.floor);
      return;
    }
    this.#mute();
    const s = this.floor.state;
    if (this.#state === 'joined' && (s === 'has-permission' || s === 'pending-request' || s === 'queued')) {
      await this.#floor?.release().catch(() => undefined);
    }
  }

  async #hasSendKey(): Promise<boolean> {
    const now = this.#d.now();
    const keys = await this.#d.media.keyRing.sendKeys(this.#context);
    return keys.some((k) => k.activeFrom <= now && (k.activeUntil === undefined || k.activeUntil > now));
  }

  #micTrack(): MediaStreamTrack | undefined {
    return this.#pc
      ?.getSenders()
      .map((s) => s.track)
      .find((t): t is MediaStreamTrack => t !== null && t.kind === 'audio');
  }

  #mute(): void {
    for (const s of this.#pc?.getSenders() ?? []) if (s.track !== null) s.track.enabled = false;
  }

  #applyPermission(s: FloorStatus): void {
    const talk = this.#state === 'joined' && s.state === 'has-permission' && this.#keyed;
    if (!talk) {
      this.#mute();
      return;
    }
    const t = this.#micTrack();
    if (t !== undefined) t.enabled = true;
  }

  #ownTracks(): Set<string> {
    const out = new Set<string>();
    const pc = this.#pc;
    if (pc === undefined) return out;
    for (const e of [...pc.getSenders(), ...pc.getReceivers()]) {
      const id = this.#d.media.trackIdOf(e);
      if (id !== undefined) out.add(id);
    }
    return out;
  }

  // ---- ending --------------------------------------------------------------------------

  async #leave(): Promise<void> {
    const wasJoined = this.#state === 'joined';
    const s = this.floor.state;
    this.#mute();
    this.#to('leaving');
    if (wasJoined && this.#floor !== undefined && (s === 'has-permission' || s === 'pending-request' || s === 'queued')) {
      // Tell the arbitrator before we go, so the others get Floor Idle without waiting for T1.
      await withTimeout(this.#floor.release(), RELEASE_ON_LEAVE_MS).catch(() => undefined);
    }
    if (this.#sip !== undefined) {
      await this.#sip.hangup().catch(() => undefined);
      this.#finish(undefined);
    } else {
      // Still inviting: CANCEL; join() finishes when the INVITE fails.
      await (this.#session as Inviter | undefined)?.cancel().catch(() => undefined);
      if (this.#session === undefined) this.#finish(undefined);
    }
    await this.#done;
  }

  #remoteEnded(): void {
    if (this.#state === 'joined') this.#finish(undefined);
    else if (this.#state === 'joining') this.#finish('ERR_GROUP_CALL_ENDED');
  }

  async #hangUpAndFinish(code: string): Promise<void> {
    this.#finish(code);
    await this.#sip?.hangup().catch(() => undefined);
  }

  /** Final state, resources released, 'ended' emitted; idempotent. */
  #finish(code: string | undefined): void {
    if (this.#state === 'ended' || this.#state === 'failed') return;
    const failed = this.#state === 'joining' && code !== undefined;
    this.#to(failed ? 'failed' : 'ended');
    this.#mute();
    if (this.#mediaWatch !== undefined) clearInterval(this.#mediaWatch);
    for (const off of this.#floorOff.splice(0)) off();
    this.#floor?.stop();
    this.#offMedia();
    this.#audio.close();
    try {
      this.#channel?.close();
    } catch {
      /* already closed */
    }
    this.#resolveDone();
    this.#events.emit('ended', { code });
    this.#d.onGone(this);
  }

  #is(state: GroupCallState): boolean {
    return this.#state === state;
  }

  #to(next: GroupCallState): void {
    const prev = this.#state;
    assertGroupCallTransition(prev, next);
    this.#state = next;
    this.#events.emit('state', next, prev);
  }
}

/** A refused or failed INVITE as the typed error the app sees. */
function setupError(e: unknown): SipError | SignallingError {
  if (e instanceof SipError && e.statusCode !== undefined) {
    return new SipError('ERR_GROUP_CALL_REFUSED', `the MCPTT server refused the group call (${e.statusCode})`, { statusCode: e.statusCode, cause: e });
  }
  if (isMcpttError(e) && (e.code === 'ERR_GROUP_CALL_SETUP' || e.code === 'ERR_GROUP_CALL_ENDED')) return e as SignallingError;
  return new SignallingError('ERR_GROUP_CALL_SETUP', 'the group call could not be set up', { cause: e });
}

/** Resolves when the channel is open; rejects when it closes first or takes too long. */
function openOf(c: RTCDataChannel, timeoutMs: number): Promise<void> {
  if (c.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (e?: unknown): void => {
      clearTimeout(timer);
      c.removeEventListener('open', onOpen);
      c.removeEventListener('close', onClose);
      if (e === undefined) resolve();
      else reject(e);
    };
    const onOpen = (): void => done();
    const onClose = (): void => done(new SignallingError('ERR_GROUP_CALL_SETUP', 'the floor channel closed before it opened'));
    const timer = setTimeout(() => done(new SignallingError('ERR_GROUP_CALL_SETUP', `the floor channel did not open within ${timeoutMs} ms`)), timeoutMs);
    c.addEventListener('open', onOpen);
    c.addEventListener('close', onClose);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new SignallingError('ERR_GROUP_CALL_SETUP', `no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e)),
    );
  });
}
