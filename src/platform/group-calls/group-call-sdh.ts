/**
 * The group call INVITE's body and data channel (TS 24.379 10.1.1.2 carried over; TS 33.179
 * 7.3 media keys, 7.6 floor control on a data channel, 9.3 protectable mcptt-info): a session
 * description handler wrapper that, for a session registered as a group call,
 *
 * - asks the wrapped handler (sip.js's Web one, with E2EE on its endpoints) for an offer with
 *   the `mcptt-floor` data channel (ordered, reliable), created before the offer so it is in
 *   the SDP (`m=application … webrtc-datachannel`);
 * - returns, for the initial offer only, a `multipart/mixed` body: the SDP, then the mcptt-info
 *   document naming the group, the caller and `prearranged` — the document goes through the
 *   call's async `infoXml()` (where 9.3 encryption under the CSK plugs in);
 * - takes the plain `application/sdp` answer unchanged;
 * - sends the offer without waiting for ICE gathering to complete when the peer connection has
 *   no STUN/TURN server (see `endGatheringOnHostCandidate`): late call entry (TS 22.179 6.15.3,
 *   TS 33.179 A.7) cannot afford Chromium's ~100 ms gathering pass when only host candidates
 *   can come out of it.
 *
 * Any other session (a private call) passes through untouched. Sessions are registered in a
 * `GroupCallSessions` by the SIP user agent's `onSession` hook, i.e. before the handler is
 * built; the same registry tells the E2EE factory the session's send context
 * `{ kind: 'group', groupId }`.
 */
import type {
  BodyAndContentType,
  Session,
  SessionDescriptionHandler,
  SessionDescriptionHandlerFactory,
  SessionDescriptionHandlerModifier,
  SessionDescriptionHandlerOptions,
} from 'sip.js';

import { buildGroupCallOfferBody } from '../../codec/sip-bodies.js';
import type { MediaContext } from '../../media/key-ring.js';

/** Label of the floor control data channel (the server's side matches it). */
export const FLOOR_CHANNEL_LABEL = 'mcptt-floor';

/**
 * How long the offer waits, after the first host candidate, for the others of the same pass
 * (ms). Chromium binds its host sockets for every network in one go, so their candidates come
 * within a few milliseconds of each other; what comes later still gets through, see below.
 */
export const HOST_CANDIDATE_SETTLE_MS = 10;

/**
 * True when the peer connection can only ever gather host candidates: no STUN or TURN
 * server configured (RFC 8445 5.1.1: server-reflexive and relayed candidates need one) and a
 * policy that allows host candidates at all.
 */
export function gathersHostCandidatesOnly(config: RTCConfiguration): boolean {
  return (config.iceServers ?? []).length === 0 && config.iceTransportPolicy !== 'relay';
}

/** sip.js's Web handler's hook to stop waiting for ICE gathering (public in sip.js 0.21). */
interface GatheringControl {
  iceGatheringComplete(): void;
}

export interface GroupCallSessionInfo {
  readonly groupId: string;
  /** The mcptt-info document for the offer (protected under the CSK when 9.3 is on). */
  readonly infoXml: () => Promise<string>;
  /**
   * The floor data channel right after it is created — after the microphone track was added
   * and before the offer is made — with its peer connection (to mute the sender at once).
   */
  readonly onDataChannel: (channel: RTCDataChannel, pc: RTCPeerConnection | undefined) => void;
}

/** Which sip.js sessions are group calls, and for which group. */
export class GroupCallSessions {
  readonly #bySession = new WeakMap<Session, GroupCallSessionInfo>();

  register(session: Session, info: GroupCallSessionInfo): void {
    this.#bySession.set(session, info);
  }

  get(session: Session): GroupCallSessionInfo | undefined {
    return this.#bySession.get(session);
  }

  /** The E2EE send context of a group call's session; undefined for any other session. */
  contextOf(session: Session): MediaContext | undefined {
    const info = this.#bySession.get(session);
    return info === undefined ? undefined : { kind: 'group', groupId: info.groupId };
  }
}

type WebOptions = SessionDescriptionHandlerOptions & {
  dataChannel?: boolean;
  dataChannelLabel?: string;
  dataChannelOptions?: RTCDataChannelInit;
  onDataChannel?: (channel: RTCDataChannel) => void;
};

export class GroupCallSessionDescriptionHandler implements SessionDescriptionHandler {
  readonly inner: SessionDescriptionHandler;
  readonly #info: GroupCallSessionInfo;
  #offered = false;
  #remoteSeen = false;
  rollbackDescription?: () => Promise<void>;

  constructor(inner: SessionDescriptionHandler, info: GroupCallSessionInfo) {
    this.inner = inner;
    this.#info = info;
    if (inner.rollbackDescription) this.rollbackDescription = () => inner.rollbackDescription!();
  }

  /** sip.js's Web handler exposes its peer connection; so does this wrapper. */
  get peerConnection(): RTCPeerConnection | undefined {
    return (this.inner as { peerConnection?: RTCPeerConnection }).peerConnection;
  }

  get remoteMediaStream(): MediaStream | undefined {
    return (this.inner as { remoteMediaStream?: MediaStream }).remoteMediaStream;
  }

  close(): void {
    this.inner.close();
  }

  async getDescription(options?: SessionDescriptionHandlerOptions, modifiers?: SessionDescriptionHandlerModifier[]): Promise<BodyAndContentType> {
    const initial = !this.#offered && !this.#remoteSeen;
    const withChannel: WebOptions = {
      ...(options as WebOptions | undefined),
      dataChannel: true,
      dataChannelLabel: FLOOR_CHANNEL_LABEL,
      dataChannelOptions: { ordered: true },
      onDataChannel: (c) => this.#info.onDataChannel(c, this.peerConnection),
    };
    const stopEarlyEnd = initial ? this.#endGatheringOnHostCandidate() : () => {};
    let d: BodyAndContentType;
    try {
      d = await this.inner.getDescription(initial ? withChannel : options, modifiers);
    } finally {
      stopEarlyEnd();
    }
    if (!initial) return d;
    this.#offered = true;
    if (d.contentType !== 'application/sdp') throw new TypeError(`the media handler made ${d.contentType}, not an SDP offer`);
    return buildGroupCallOfferBody({ sdp: d.body, infoXml: await this.#info.infoXml() });
  }

  /**
   * Lets the initial offer go out shortly after the first host candidate instead of at the end
   * of ICE gathering (sip.js waits for the end because SIP carries no trickled candidates).
   * Only when the peer connection has no STUN/TURN server: then host candidates are all that
   * gathering can produce, and the ones missed by the offer are not lost either — the focus
   * answers with all of its own candidates, this side checks them from every local address it
   * has by then, and the focus learns those addresses as peer-reflexive candidates from the
   * checks (RFC 8445 7.3.1.3). With a STUN/TURN server (a member behind NAT), the offer keeps
   * waiting for the whole gathering (or sip.js's `iceGatheringTimeout`): its server-reflexive
   * or relayed candidate may be the only one the focus can reach. Returns the clean-up.
   */
  #endGatheringOnHostCandidate(): () => void {
    const pc = this.peerConnection;
    const control = this.inner as Partial<GatheringControl>;
    if (pc === undefined || typeof control.iceGatheringComplete !== 'function' || !gathersHostCandidatesOnly(pc.getConfiguration())) return () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onCandidate = (e: Event): void => {
      const c = (e as RTCPeerConnectionIceEvent).candidate;
      if (timer !== undefined || c === null || c.type !== 'host') return;
      // Candidates fire after setLocalDescription resolved, i.e. once sip.js is already waiting.
      timer = setTimeout(() => control.iceGatheringComplete?.call(this.inner), HOST_CANDIDATE_SETTLE_MS);
    };
    pc.addEventListener('icecandidate', onCandidate);
    return () => {
      pc.removeEventListener('icecandidate', onCandidate);
      if (timer !== undefined) clearTimeout(timer);
    };
  }

  hasDescription(contentType: string): boolean {
    return this.inner.hasDescription(contentType);
  }

  async setDescription(sdp: string, options?: SessionDescriptionHandlerOptions, modifiers?: SessionDescriptionHandlerModifier[]): Promise<void> {
    this.#remoteSeen = true;
    await this.inner.setDescription(sdp, options, modifiers);
  }

  sendDtmf(tones: string, options?: unknown): boolean {
    return this.inner.sendDtmf(tones, options);
  }
}

/** Wraps `base` so that sessions registered in `sessions` become group call offers. */
export function groupCallSessionDescriptionHandlerFactory(base: SessionDescriptionHandlerFactory, sessions: GroupCallSessions): SessionDescriptionHandlerFactory {
  return (session, options) => {
    const inner = base(session, options);
    const info = sessions.get(session);
    return info === undefined ? inner : new GroupCallSessionDescriptionHandler(inner, info);
  };
}
