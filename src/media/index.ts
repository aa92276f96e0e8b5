/**
 * End-to-end media protection, TS 33.179 7.3.6, 7.4.4 and 7.5 carried over to WebRTC encoded
 * frames (docs/frame-format.md, docs/media.md): the frame codec, the media key ring, stream
 * key derivation, the replay window and the page ↔ worker protocol. Pure; the browser wiring
 * is in src/platform/media, the worker in workers/e2ee-worker.ts.
 */
export {
  decryptFrame,
  encodeFrameHeader,
  encryptFrame,
  frameIndexLength,
  frameIv,
  frameOverhead,
  openFrame,
  parseFrame,
  FRAME_MARKER,
  FRAME_MAX_INDEX,
  FRAME_MAX_LENGTH,
  FRAME_MAX_PAYLOAD,
  FRAME_MKI_LENGTH,
  FRAME_STREAM_ID_LENGTH,
  FRAME_TAG_LENGTH,
  FRAME_VERSION,
} from '../codec/frame.js';
export type { FrameHeader, FrameKey, FrameKind, ParsedFrame } from '../codec/frame.js';
export { MediaError, MEDIA_ERROR_CODES, isMediaError, mediaErrorCode } from '../codec/frame-errors.js';
export type { MediaErrorCode } from '../codec/frame-errors.js';
export { contextKey, createMediaKeyRing } from './key-ring.js';
export type {
  GroupMediaKeyInput,
  MediaContext,
  MediaKeyRing,
  MediaKeyRingOptions,
  MediaSessionKey,
  PrivateCallMediaKeyInput,
  PrivateCallRole,
  ReceiveKey,
  SendKey,
} from './key-ring.js';
export { deriveStreamKey } from './session-keys.js';
export type { StreamKeyInput } from './session-keys.js';
export { createReplayWindow, DEFAULT_REPLAY_WINDOW, MAX_REPLAY_WINDOW } from './replay-window.js';
export type { ReplayVerdict, ReplayWindow } from './replay-window.js';
export {
  DEFAULT_WORKER_CONFIG,
  E2EE_PROTOCOL_VERSION,
  E2EE_TRANSFORM_KIND,
  MEDIA_EVENT_TYPES,
  messageIdOf,
  readFromWorker,
  readToWorker,
  readTransformOptions,
} from './protocol.js';
export type {
  DecryptFailedEvent,
  DecryptFailureReason,
  EncryptingEvent,
  FromWorkerMessage,
  MediaEvent,
  MediaEventType,
  MissingKeyEvent,
  StalledEvent,
  ToWorkerMessage,
  TrackCounters,
  TrackDirection,
  TransformOptions,
  UnencryptedFrameEvent,
  WireReceiveKey,
  WireSendKey,
  WorkerConfig,
} from './protocol.js';
export type { EncodedFrameLike, EncodedStreams, EncodedStreamsCapable, ScriptTransformerLike, TransformEventLike, TransformWorkerScope } from './encoded-frames.js';
