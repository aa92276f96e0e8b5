/**
 * `mcptt-sdk/floor`: floor control for MCPTT group calls, pure (no I/O; clock, timers and
 * randomness injected), shared by the browser SDK and the dev MCPTT server:
 * - MBCP messages of TS 24.380 8.2 (re-exported from the codec);
 * - their SRTCP protection per TS 33.179 7.6 (RFC 7714 AEAD_AES_128_GCM with MKI);
 * - the floor participant of TS 24.380 6.2.4 and the floor arbitrator of 6.3;
 * - a channel that turns messages into (protected) data-channel bytes and back.
 * See docs/floor-control.md.
 */
export {
  decodeMbcp,
  encodeMbcp,
  FLOOR_DENY_CAUSE,
  FLOOR_INDICATOR,
  FLOOR_REVOKE_CAUSE,
  FLOOR_SOURCE,
  MBCP_ACKABLE,
  MBCP_SUBTYPE,
} from '../codec/mbcp/index.js';
export type { MbcpFields, MbcpMessage, MbcpMessageType, MbcpPacket, MbcpQueueInfo, MbcpRejectCause } from '../codec/mbcp/index.js';
export {
  checkFloorKeyPurpose,
  floorKeyKindOf,
  createFloorProtection,
  deriveFloorKey,
  FLOOR_MKI_LENGTH,
  FLOOR_PROTECTION_OVERHEAD,
  FLOOR_SERVER_SSRC_BIT,
  importFloorKey,
  isFloorSsrcOf,
  newFloorSsrc,
  SRTCP_MAX_INDEX,
  srtcpAeadOpen,
  srtcpAeadSeal,
} from './protection.js';
export type { FloorKey, FloorKeyKind, FloorProtection, FloorProtectionOptions, FloorRole, FloorUnprotected } from './protection.js';
export { createFloorParticipant, FLOOR_PARTICIPANT_DEFAULTS, FLOOR_PARTICIPANT_TRANSITIONS } from './participant.js';
export type { FloorParticipant, FloorParticipantConfig, FloorParticipantEvents, FloorParticipantOptions } from './participant.js';
export { createFloorArbitrator, FLOOR_ARBITRATOR_DEFAULTS, FLOOR_ARBITRATOR_TRANSITIONS } from './arbitrator.js';
export type {
  FloorArbitrator,
  FloorArbitratorConfig,
  FloorArbitratorEvents,
  FloorArbitratorOptions,
  FloorArbitratorState,
  FloorMemberInfo,
} from './arbitrator.js';
export { createFloorChannel } from './channel.js';
export type { FloorChannel, FloorChannelOptions, FloorChannelStats } from './channel.js';
export { systemFloorTimers } from './events.js';
export type { FloorTimers } from './events.js';
export { FloorError } from '../errors.js';
export type { FloorErrorCode } from '../errors.js';
export type { FloorParticipantState, FloorRefusal, FloorRequestOptions, FloorStatus, Talker } from '../platform/group-calls/types.js';
