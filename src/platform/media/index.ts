/**
 * Browser wiring of end-to-end media protection (TS 33.179 7.5 on encoded frames,
 * docs/media.md): the E2EE manager and the encoded-transform adapters it uses.
 */
export { createE2eeManager } from './e2ee-manager.js';
export type {
  E2eeManager,
  E2eeManagerEvents,
  E2eeManagerEventType,
  E2eeManagerOptions,
  TransformBypassedEvent,
  WorkerErrorEvent,
} from './e2ee-manager.js';
export { detectE2eeMode, frameTapFactory } from './frame-taps.js';
export type { E2eeMode, FrameTap, FrameTapFactory, RtpEndpoint, WorkerLike } from './frame-taps.js';
export { e2eeSessionDescriptionHandlerFactory, privateCallRole, privateCallRoleOf, protectPeerConnection } from './sip-e2ee.js';
export type { E2eeSessionDescriptionHandlerFactoryOptions } from './sip-e2ee.js';
