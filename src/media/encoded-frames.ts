/**
 * Minimal platform types of WebRTC Encoded Transform (W3C webrtc-encoded-transform) that the
 * project's DOM lib lacks: the worker side of RTCRtpScriptTransform (`rtctransform` events
 * and their transformer) and Chromium's `createEncodedStreams()`. Declared here rather than
 * silenced with casts at every use; only what the SDK touches is described. A `.ts` module
 * (types only) rather than a `.d.ts`, so that the build emits it beside its users.
 */

/** What the transforms need of RTCEncodedAudioFrame / RTCEncodedVideoFrame. */
export interface EncodedFrameLike {
  data: ArrayBuffer;
}

/** RTCRtpScriptTransformer: the worker end of an RTCRtpScriptTransform. */
export interface ScriptTransformerLike {
  readonly readable: ReadableStream<EncodedFrameLike>;
  readonly writable: WritableStream<EncodedFrameLike>;
  readonly options: unknown;
}

/** RTCTransformEvent, fired on the worker global as `rtctransform`. */
export interface TransformEventLike {
  readonly transformer: ScriptTransformerLike;
}

/** A DedicatedWorkerGlobalScope that receives script transforms. */
export interface TransformWorkerScope {
  onrtctransform: ((event: TransformEventLike) => void) | null;
}

/** Chromium's pre-standard encoded streams of an RTCRtpSender / RTCRtpReceiver. */
export interface EncodedStreams {
  readonly readable: ReadableStream<EncodedFrameLike>;
  readonly writable: WritableStream<EncodedFrameLike>;
}

export interface EncodedStreamsCapable {
  createEncodedStreams(): EncodedStreams;
}
