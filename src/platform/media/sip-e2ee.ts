/**
 * End-to-end protected media for SIP private calls (TS 33.179 7.4.4, 7.5; docs/media.md
 * "SIP calls"): a sip.js 0.21 session description handler factory that builds sip.js's Web
 * `SessionDescriptionHandler` and protects every RTCRtpSender and RTCRtpReceiver of its
 * peer connection with the E2EE manager.
 *
 * Chromium bypasses the encoded transform of an endpoint that has none at the end of the task
 * that created it, so the transforms are set IN that task: the peer connection's `addTrack` and
 * `addTransceiver` are wrapped on the instance (sip.js calls `pc.addTrack` when it adds the
 * microphone, before the offer or answer is made) and both ends of the new transceiver are
 * attached before the wrapper returns; a receiver the remote offer created is attached in the
 * `track` event, which is dispatched in the task that created it.
 *
 * The send context is `{ kind: 'private', callId: session.id }` — the same ID as
 * `PrivateCall.id` — and the sending direction follows our role (an `Inviter` is the
 * initiator, CS-ID 0; an `Invitation` the receiver, CS-ID 1). The PCK itself is handed to the
 * manager separately (`e2ee.setKey(call.keys(), { callId: call.id, role })`, done by
 * `McpttClient` on 'call-keys'); until then frames are dropped, never sent in clear. An attach
 * that fails stops the endpoint's media (fail closed).
 */
import { Inviter, Web, type Session, type SessionDescriptionHandlerFactory } from 'sip.js';
import type { MediaContext, PrivateCallRole } from '../../media/key-ring.js';
import type { E2eeManager } from './e2ee-manager.js';

export interface E2eeSessionDescriptionHandlerFactoryOptions {
  /** The manager that protects the calls' media. */
  readonly manager: E2eeManager;
  /** Gets the local media; sip.js's default (getUserMedia) when absent. */
  readonly mediaStreamFactory?: Web.MediaStreamFactory;
  /**
   * Microphone constraints used when sip.js asks for plain `audio: true` (e.g. to turn
   * echo cancellation, noise suppression or gain control off).
   */
  readonly audioConstraints?: MediaTrackConstraints;
  /** The send context of a session; default `{ kind: 'private', callId: session.id }`. */
  readonly contextOf?: (session: Session) => MediaContext;
  /** An endpoint could not be protected (its media has been stopped). */
  readonly onError?: (error: unknown, endpoint: RTCRtpSender | RTCRtpReceiver) => void;
}

/** Our side of a private call's keys: the party that sent the INVITE is the initiator. */
export function privateCallRoleOf(session: Session): PrivateCallRole {
  return session instanceof Inviter ? 'initiator' : 'receiver';
}

/** Private-call role from a call's direction (`PrivateCall.direction`). */
export function privateCallRole(direction: 'outgoing' | 'incoming'): PrivateCallRole {
  return direction === 'outgoing' ? 'initiator' : 'receiver';
}

/** Stops an endpoint's media when it could not be protected: nothing leaves or plays in clear. */
function stopUnprotected(endpoint: RTCRtpSender | RTCRtpReceiver): void {
  if ('replaceTrack' in endpoint) {
    void endpoint.replaceTrack(null).catch(() => undefined);
  } else {
    endpoint.track.enabled = false;
  }
}

/**
 * Wraps `pc.addTrack`/`pc.addTransceiver` and listens to `track` so that every sender is
 * attached under `context` and every receiver for decryption, in the task that created it.
 * Returns a function that undoes the wrapping (endpoints stay protected).
 */
export function protectPeerConnection(
  pc: RTCPeerConnection,
  manager: E2eeManager,
  context: MediaContext,
  onError?: (error: unknown, endpoint: RTCRtpSender | RTCRtpReceiver) => void,
): () => void {
  const guard = (endpoint: RTCRtpSender | RTCRtpReceiver, attached: Promise<unknown>): void => {
    attached.catch((e: unknown) => {
      stopUnprotected(endpoint);
      onError?.(e, endpoint);
    });
  };
  const attachTransceiver = (t: RTCRtpTransceiver): void => {
    guard(t.sender, manager.attachSender(t.sender, context));
    guard(t.receiver, manager.attachReceiver(t.receiver));
  };
  const addTrack = pc.addTrack;
  const addTransceiver = pc.addTransceiver;
  pc.addTrack = function (this: RTCPeerConnection, track: MediaStreamTrack, ...streams: MediaStream[]): RTCRtpSender {
    const sender = addTrack.call(this, track, ...streams);
    const t = this.getTransceivers().find((x) => x.sender === sender);
    if (t !== undefined) attachTransceiver(t);
    else guard(sender, manager.attachSender(sender, context));
    return sender;
  };
  pc.addTransceiver = function (this: RTCPeerConnection, trackOrKind: MediaStreamTrack | string, init?: RTCRtpTransceiverInit): RTCRtpTransceiver {
    const t = addTransceiver.call(this, trackOrKind, init);
    attachTransceiver(t);
    return t;
  };
  // Receivers the remote offer created (no local transceiver matched): `track` is dispatched
  // in their creating task. Already attached ones just return their track ID.
  const onTrack = (e: RTCTrackEvent): void => guard(e.receiver, manager.attachReceiver(e.receiver));
  pc.addEventListener('track', onTrack);
  return () => {
    pc.addTrack = addTrack;
    pc.addTransceiver = addTransceiver;
    pc.removeEventListener('track', onTrack);
  };
}

/**
 * sip.js's Web session description handler with E2EE on every sender and receiver. Pass it as
 * `sessionDescriptionHandlerFactory` to the user agent (McpttClient does so by default).
 */
export function e2eeSessionDescriptionHandlerFactory(o: E2eeSessionDescriptionHandlerFactoryOptions): SessionDescriptionHandlerFactory {
  const gum = o.mediaStreamFactory ?? Web.defaultMediaStreamFactory();
  const audio = o.audioConstraints;
  const mediaStreamFactory: Web.MediaStreamFactory =
    audio === undefined ? gum : (constraints, sdh, options) => gum(constraints.audio === true ? { ...constraints, audio } : constraints, sdh, options);
  const base = Web.defaultSessionDescriptionHandlerFactory(mediaStreamFactory);
  const contextOf = o.contextOf ?? ((session: Session): MediaContext => ({ kind: 'private', callId: session.id }));
  return (session, options) => {
    const factoryOptions = (options ?? {}) as Web.SessionDescriptionHandlerFactoryOptions;
    // No STUN server unless the application configures one: sip.js would otherwise use a
    // public Google one (an outside party learning who calls, and a gathering that waits on it
    // — ~120 ms of every late entry). Older Chromium hands out encoded streams only on a
    // connection configured for them.
    const own: RTCConfiguration = { iceServers: [], ...factoryOptions.peerConnectionConfiguration };
    const peerConnectionConfiguration: RTCConfiguration & { encodedInsertableStreams?: boolean } =
      o.manager.mode === 'encoded-streams' ? { ...own, encodedInsertableStreams: true } : own;
    const sdh = base(session, { ...factoryOptions, peerConnectionConfiguration }) as Web.SessionDescriptionHandler;
    const pc = sdh.peerConnection;
    if (pc === undefined) throw new TypeError('the session description handler has no peer connection');
    protectPeerConnection(pc, o.manager, contextOf(session), o.onError);
    return sdh;
  };
}
