/**
 * A session description handler wrapper that rewrites the first SDP offer of an outgoing
 * call on its way to the wire: TS 33.179 7.4 puts the PCK I_MESSAGE in the private call
 * offer as `a=key-mgmt:mikey …` (RFC 4567), which the caller adds here.
 *
 * Why a wrapper instead of sip.js modifiers: sip.js's WebRTC handler applies modifiers
 * before `setLocalDescription`, so the key-mgmt line would also be fed to the browser's
 * RTCPeerConnection. Rewriting the handler's output keeps the media layer unaware of key
 * management (a browser ignores the attribute in a remote offer anyway), and works the same
 * with any handler: the WebRTC one in browsers, a stub in Node tests.
 */
import type {
  BodyAndContentType,
  SessionDescriptionHandler,
  SessionDescriptionHandlerModifier,
  SessionDescriptionHandlerOptions,
} from 'sip.js';

/** Rewrites an SDP offer (e.g. adds `a=key-mgmt:mikey <base64>`). */
export type OfferTransform = (sdp: string) => string | Promise<string>;

export class OfferTransformingSessionDescriptionHandler implements SessionDescriptionHandler {
  /** The wrapped handler (the one holding the RTCPeerConnection in a browser). */
  readonly inner: SessionDescriptionHandler;
  readonly #transform: OfferTransform | undefined;
  #offerDone = false;
  #remoteSeen = false;
  /** The SDP this handler last produced, after the transform. */
  lastLocalSdp: string | undefined;
  /** The SDP this handler was last given by the peer. */
  lastRemoteSdp: string | undefined;
  rollbackDescription?: () => Promise<void>;

  /** Without a transform the wrapper only records the SDP that passes through. */
  constructor(inner: SessionDescriptionHandler, transform?: OfferTransform) {
    this.inner = inner;
    this.#transform = transform;
    if (inner.rollbackDescription) this.rollbackDescription = () => inner.rollbackDescription!();
  }

  close(): void {
    this.inner.close();
  }

  async getDescription(options?: SessionDescriptionHandlerOptions, modifiers?: Array<SessionDescriptionHandlerModifier>): Promise<BodyAndContentType> {
    const d = await this.inner.getDescription(options, modifiers);
    // Only the initial offer (nothing from the peer yet) carries the key; answers and
    // re-offers pass through untouched.
    if (this.#transform === undefined || this.#offerDone || this.#remoteSeen) {
      this.lastLocalSdp = d.body;
      return d;
    }
    this.#offerDone = true;
    const body = await this.#transform(d.body);
    if (typeof body !== 'string' || body.length === 0) throw new TypeError('offer transform must return the SDP text');
    this.lastLocalSdp = body;
    return { body, contentType: d.contentType };
  }

  hasDescription(contentType: string): boolean {
    return this.inner.hasDescription(contentType);
  }

  async setDescription(sdp: string, options?: SessionDescriptionHandlerOptions, modifiers?: Array<SessionDescriptionHandlerModifier>): Promise<void> {
    this.#remoteSeen = true;
    this.lastRemoteSdp = sdp;
    await this.inner.setDescription(sdp, options, modifiers);
  }

  sendDtmf(tones: string, options?: unknown): boolean {
    return this.inner.sendDtmf(tones, options);
  }
}
