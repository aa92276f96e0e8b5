/**
 * Group calls of the SDK (TS 24.379 prearranged group calls; TS 33.179 7.3 group keys, 7.5
 * media protection under the GMK, 7.6 floor control protection; TS 24.380 floor control):
 * the public contract (types.ts), the call and its manager, the INVITE body/data channel
 * wrapper and Web Audio playback.
 */
export type {
  FloorParticipantState,
  FloorRefusal,
  FloorRequestOptions,
  FloorStatus,
  GroupCall,
  GroupCallEvents,
  GroupCallMediaStats,
  GroupCallState,
  JoinGroupOptions,
  Talker,
} from './types.js';
export { GROUP_CALL_TRANSITIONS, assertGroupCallTransition } from './state.js';
export { GroupCallManager } from './manager.js';
export type { GroupCallManagerOptions } from './manager.js';
export { GroupCallImpl } from './group-call.js';
export type { GroupCallDeps } from './group-call.js';
export { FLOOR_CHANNEL_LABEL, GroupCallSessionDescriptionHandler, GroupCallSessions, groupCallSessionDescriptionHandlerFactory } from './group-call-sdh.js';
export type { GroupCallSessionInfo } from './group-call-sdh.js';
export { FLOOR_START_STOP } from './floor-port.js';
export { srcFloorControl } from './floor-adapter.js';
export { createGmkFeed } from './gmk-feed.js';
export type { GmkFeed, GmkFeedStore } from './gmk-feed.js';
export type { SrcFloorOptions } from './floor-adapter.js';
export type { FloorControl, FloorControlEvents, FloorControlFactory, FloorControlInit } from './floor-port.js';
export { checkVolume, rms, webAudioPlayback } from './playback.js';
export type { CallAudio, CallAudioFactory } from './playback.js';
