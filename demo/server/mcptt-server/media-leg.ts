/**
 * One member's media leg at the group call focus (TS 24.380 4.1.1.3 media distribution
 * function; TS 33.179 7.5: the focus relays SRTP-protected media it cannot decrypt): a werift
 * RTCPeerConnection answering the member's offer of one Opus audio m-line (sendrecv) and one
 * `webrtc-datachannel` m-line, on which the member opens the `mcptt-floor` channel for the
 * floor control packets (TS 24.380 8, carried in a data channel because a page cannot send
 * RTCP APP).
 *
 * The leg knows nothing about floors or groups: it hands up what arrives (RTP packets, floor
 * channel messages) and sends what the focus gives it. DTLS-SRTP protects each hop; the
 * payload inside is the end-to-end encrypted frame (docs/frame-format.md), which nothing here
 * can read.
 *
 * ```
 *  createMediaLeg(offer) ──answer made──► connecting ──ICE+DTLS up──► connected
 *         │ offer unusable                    │ failed / close()            │ failed / closed / close()
 *         ▼                                   ▼                             ▼
 *   MediaLegError (400 / 488)               closed ◄────────────────────── closed
 * ```
 */
import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket, type MediaStreamTrack, type RTCDataChannel, type RTCRtpTransceiver } from 'werift';

/** The data channel label of the floor control channel (wire contract with the SDK). */
export const FLOOR_CHANNEL_LABEL = 'mcptt-floor';

/** Opus RTP clock rate (RFC 7587 4.1: always 48000, whatever the sampling rate). */
export const OPUS_CLOCK_RATE = 48_000;

// Bounds on what the leg accepts from a member; a hostile peer must not make it buffer without end.
const MAX_SDP_BYTES = 64 * 1024;
const MAX_FLOOR_MESSAGE_BYTES = 1500;

export type MediaLegRefusal = 'sdp-malformed' | 'no-audio' | 'no-opus' | 'audio-direction' | 'no-data-channel' | 'extra-media' | 'negotiation';

/** Why an offer could not be answered; `status` is the SIP status to send (RFC 3261 21.4.26, 21.4.1). */
export class MediaLegError extends Error {
  readonly reason: MediaLegRefusal;
  readonly status: 400 | 488;
  constructor(reason: MediaLegRefusal, options?: { cause?: unknown }) {
    super(`media offer refused: ${reason}`, options);
    this.name = 'MediaLegError';
    this.reason = reason;
    this.status = reason === 'sdp-malformed' ? 400 : 488;
  }
}

export type MediaLegState = 'connecting' | 'connected' | 'closed';

/** The RTP fields the focus reads from an incoming packet (the payload is copied, never parsed). */
export interface LegRtp {
  readonly ssrc: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly marker: boolean;
  readonly payload: Uint8Array;
}

export interface MediaLegOptions {
  /** The member's SDP offer. */
  readonly offerSdp: string;
  /** Extra host addresses for ICE (default `['127.0.0.1']`: the dev browsers run on loopback). */
  readonly iceAdditionalHostAddresses?: readonly string[];
}

export interface MediaLeg {
  /** werift's SDP answer, with every candidate in it (no trickle over SIP). */
  readonly answerSdp: string;
  readonly state: MediaLegState;
  /** Payload type the member negotiated for Opus (what its downlink carries). */
  readonly payloadType: number;
  readonly clockRate: number;
  onRtp(listener: (p: LegRtp) => void): () => void;
  /** Binary messages on the member's `mcptt-floor` channel (text messages are dropped). */
  onFloorMessage(listener: (bytes: Uint8Array) => void): () => void;
  /** The floor channel opened (the member can be told about the floor from now on). */
  onFloorChannelOpen(listener: () => void): () => void;
  onClosed(listener: () => void): () => void;
  /** Sends on the floor channel; false when it is not open. */
  sendFloorMessage(bytes: Uint8Array): boolean;
  /** Sends one packet on the member's downlink (SSRC and PT are the downlink's own). */
  sendRtp(p: { readonly sequenceNumber: number; readonly timestamp: number; readonly marker: boolean; readonly payload: Uint8Array }): Promise<void>;
  close(): Promise<void>;
}

interface OfferShape {
  readonly audio: number;
  readonly opus: boolean;
  readonly audioDirection: string;
  readonly dataChannel: number;
  readonly other: number;
}

/** A first look at the offer (RFC 8866 5.14, RFC 8841 for the SCTP m-line) before werift sees it. */
function shapeOf(sdp: string): OfferShape {
  if (typeof sdp !== 'string' || sdp.length === 0 || sdp.length > MAX_SDP_BYTES || !/^v=0\r?\n/.test(sdp)) throw new MediaLegError('sdp-malformed');
  const lines = sdp.split(/\r?\n/);
  let audio = 0;
  let dataChannel = 0;
  let other = 0;
  let opus = false;
  let audioDirection = 'sendrecv';
  let section: 'session' | 'audio' | 'application' | 'other' = 'session';
  for (const l of lines) {
    if (l === '') continue;
    if (!/^[a-z]=/.test(l)) throw new MediaLegError('sdp-malformed');
    if (l.startsWith('m=')) {
      const m = /^m=(\w+) (\d+)(?:\/\d+)? (\S+)(?: (.*))?$/.exec(l);
      if (m === null) throw new MediaLegError('sdp-malformed');
      const disabled = m[2] === '0' && !/a=bundle-only/.test(sdp);
      if (m[1] === 'audio' && !disabled) {
        audio++;
        section = 'audio';
      } else if (m[1] === 'application' && /webrtc-datachannel/.test(m[4] ?? '') && /DTLS\/SCTP/.test(m[3] ?? '')) {
        dataChannel++;
        section = 'application';
      } else {
        if (!disabled) other++;
        section = 'other';
      }
      continue;
    }
    if (section === 'audio') {
      if (/^a=rtpmap:\d+ opus\/48000(?:\/2)?$/i.test(l)) opus = true;
      const d = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(l);
      if (d !== null) audioDirection = d[1]!;
    }
  }
  return { audio, opus, audioDirection, dataChannel, other };
}

function checkOffer(sdp: string): void {
  const s = shapeOf(sdp);
  if (s.audio === 0) throw new MediaLegError('no-audio');
  if (s.audio > 1 || s.other > 0 || s.dataChannel > 1) throw new MediaLegError('extra-media');
  if (!s.opus) throw new MediaLegError('no-opus');
  // The member talks (when granted) and listens: anything else is not a group call leg.
  if (s.audioDirection !== 'sendrecv') throw new MediaLegError('audio-direction');
  if (s.dataChannel === 0) throw new MediaLegError('no-data-channel');
}

class Listeners<A extends unknown[]> {
  readonly #set = new Set<(...a: A) => void>();
  add(f: (...a: A) => void): () => void {
    this.#set.add(f);
    return () => this.#set.delete(f);
  }
  emit(...a: A): void {
    for (const f of [...this.#set]) {
      try {
        f(...a);
      } catch {
        /* one listener's failure must not stop the media of the others */
      }
    }
  }
  clear(): void {
    this.#set.clear();
  }
}

class WeriftMediaLeg implements MediaLeg {
  readonly #pc: RTCPeerConnection;
  /** The audio transceiver, known once the offer is applied. */
  transceiver: RTCRtpTransceiver | undefined;
  readonly #rtp = new Listeners<[LegRtp]>();
  readonly #floor = new Listeners<[Uint8Array]>();
  readonly #floorOpen = new Listeners<[]>();
  readonly #closed = new Listeners<[]>();
  #channel: RTCDataChannel | undefined;
  #state: MediaLegState = 'connecting';
  #closing: Promise<void> | undefined;
  answerSdp = '';
  payloadType = 0;
  readonly clockRate = OPUS_CLOCK_RATE;

  /** Made before the offer is applied: werift announces the member's track while applying it. */
  constructor(pc: RTCPeerConnection) {
    this.#pc = pc;
    pc.onTrack.subscribe((track: MediaStreamTrack) => {
      if (track.kind !== 'audio') return;
      track.onReceiveRtp.subscribe((p: RtpPacket) => {
        if (this.#state === 'closed') return;
        const h = p.header;
        this.#rtp.emit({ ssrc: h.ssrc, sequenceNumber: h.sequenceNumber, timestamp: h.timestamp, marker: h.marker, payload: new Uint8Array(p.payload) });
      });
    });
    pc.onDataChannel.subscribe((ch: RTCDataChannel) => {
      // Only the first channel with the agreed label is the floor channel; others are closed.
      if (ch.label !== FLOOR_CHANNEL_LABEL || this.#channel !== undefined) {
        ch.close();
        return;
      }
      this.#channel = ch;
      ch.onMessage.subscribe((m: string | Buffer) => {
        if (this.#state === 'closed' || typeof m === 'string' || m.length === 0 || m.length > MAX_FLOOR_MESSAGE_BYTES) return;
        this.#floor.emit(new Uint8Array(m));
      });
      if (ch.readyState === 'open') queueMicrotask(() => this.#floorOpen.emit());
      else
        ch.stateChanged.subscribe((s) => {
          if (s === 'open') this.#floorOpen.emit();
        });
    });
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected' && this.#state === 'connecting') this.#state = 'connected';
      if (s === 'failed' || s === 'closed') void this.close();
    });
  }

  get state(): MediaLegState {
    return this.#state;
  }

  onRtp(l: (p: LegRtp) => void): () => void {
    return this.#rtp.add(l);
  }
  onFloorMessage(l: (bytes: Uint8Array) => void): () => void {
    return this.#floor.add(l);
  }
  onFloorChannelOpen(l: () => void): () => void {
    return this.#floorOpen.add(l);
  }
  onClosed(l: () => void): () => void {
    if (this.#state === 'closed') {
      queueMicrotask(l);
      return () => {};
    }
    return this.#closed.add(l);
  }

  sendFloorMessage(bytes: Uint8Array): boolean {
    const ch = this.#channel;
    if (this.#state === 'closed' || ch === undefined || ch.readyState !== 'open') return false;
    try {
      ch.send(Buffer.from(bytes));
      return true;
    } catch {
      return false;
    }
  }

  async sendRtp(p: { readonly sequenceNumber: number; readonly timestamp: number; readonly marker: boolean; readonly payload: Uint8Array }): Promise<void> {
    if (this.#state !== 'connected' || this.transceiver === undefined) return;
    // A fresh header per downlink: werift's sendRtp writes SSRC and PT into the object it is
    // given and keeps it for retransmissions. No header extensions are carried over from the
    // uplink (their IDs are the uplink's); werift adds the downlink's own.
    const header = new RtpHeader({ payloadType: this.payloadType, sequenceNumber: p.sequenceNumber, timestamp: p.timestamp, marker: p.marker, ssrc: 0 });
    await this.transceiver.sender.sendRtp(new RtpPacket(header, Buffer.from(p.payload)));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closed';
      this.#closed.emit();
      for (const l of [this.#rtp, this.#floor, this.#floorOpen, this.#closed]) l.clear();
      await this.#pc.close().catch(() => undefined);
    })();
    return this.#closing;
  }
}

/**
 * The answer with the focus as DTLS server (`a=setup:passive`, RFC 8842 5.3 lets the answerer
 * of an `actpass` offer pick either role). werift as DTLS client waits a fixed 100 ms after ICE
 * before its ClientHello (werift 0.24.4 RTCDtlsTransport.start); as server it answers the
 * member's ClientHello as soon as it comes, which takes that 100 ms off every join (late call
 * entry, TS 22.179 6.15.3). ICE has made both ends reachable by then, so the role costs nothing
 * on reachability. werift reads the role back from the description it is given.
 */
function passiveDtls(answer: { readonly sdp: string }): { type: 'answer'; sdp: string } {
  return { type: 'answer', sdp: answer.sdp.replace(/^a=setup:active(?=\r?$)/gm, 'a=setup:passive') };
}

/**
 * Answers the member's offer. Rejects with MediaLegError (400: not SDP; 488: no usable
 * Opus audio, wrong direction, no data channel, extra media) without leaving anything open.
 */
export async function createMediaLeg(o: MediaLegOptions): Promise<MediaLeg> {
  checkOffer(o.offerSdp);
  const pc = new RTCPeerConnection({
    codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: OPUS_CLOCK_RATE, channels: 2 })], video: [] },
    iceAdditionalHostAddresses: [...(o.iceAdditionalHostAddresses ?? ['127.0.0.1'])],
    iceUseIpv6: false,
  });
  try {
    const leg = new WeriftMediaLeg(pc);
    await pc.setRemoteDescription({ type: 'offer', sdp: o.offerSdp });
    const audio = pc.getTransceivers().filter((t) => t.kind === 'audio');
    if (audio.length !== 1) throw new MediaLegError('no-audio');
    const t = audio[0]!;
    t.setDirection('sendrecv');
    leg.transceiver = t;
    await pc.setLocalDescription(passiveDtls(await pc.createAnswer()));
    const answer = pc.localDescription?.sdp ?? '';
    const pt = /^m=audio [1-9]\d* [^ ]+ (\d+)/m.exec(answer);
    const opusPt = new RegExp(`^a=rtpmap:${pt?.[1] ?? 'x'} opus/48000`, 'im').test(answer);
    if (pt === null || !opusPt) throw new MediaLegError('no-opus');
    if (!/^m=application [1-9]\d* \S*DTLS\/SCTP webrtc-datachannel/m.test(answer)) throw new MediaLegError('no-data-channel');
    leg.answerSdp = answer;
    leg.payloadType = Number(pt[1]);
    return leg;
  } catch (e) {
    await pc.close().catch(() => undefined);
    if (e instanceof MediaLegError) throw e;
    throw new MediaLegError('negotiation', { cause: e });
  }
}
