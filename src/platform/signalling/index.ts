/**
 * MCPTT signalling of the SDK (TS 33.179 5.6.1 C-5, 5.6.2.1, 7.3.2, 7.4, 9.1.3.2): the
 * signalling session (REGISTER with access token and CSK, GMK notifications and pull,
 * private calls with the PCK in the SDP offer) and its parts.
 */
export { createSignallingSession, SIGNALLING_SESSION_TRANSITIONS } from './signalling-session.js';
export type { SignallingSession, SignallingSessionOptions, SignallingSessionState, TokenSource } from './signalling-session.js';
export { ServiceAuthorization } from './service-authorization.js';
export type { ClientServerKey, ServiceAuthorizationOptions } from './service-authorization.js';
export { GroupKeyProcessor } from './group-keys.js';
export type { GroupBatchResult, GroupKeyProcessorHooks } from './group-keys.js';
export { KeyContext } from './key-context.js';
export type { KeyContextOptions, MediaKeyStore } from './key-context.js';
export { PrivateCalls, PRIVATE_CALL_TRANSITIONS, assertPrivateCallTransition } from './private-calls.js';
export type { CallerIdentity, CallPeer, IncomingPrivateCall, PrivateCall, PrivateCallHooks, PrivateCallsOptions, PrivateCallState } from './private-calls.js';
export { fetchGroupConfigurations, parseGroupConfigurations, groupConfigurationUrl, GROUP_CONFIGURATION_PATH } from './gms-client.js';
export type { FetchGroupConfigurationsOptions, GroupConfiguration } from './gms-client.js';
export { KEY_FAILURE_TABLE, failureCodeOf, keyFailureOf } from './failure-status.js';
export type { KeyFailure } from './failure-status.js';
export { TypedEmitter } from './events.js';
export type {
  AuthorizationDegraded,
  CallFailure,
  CskInfo,
  FailureCode,
  GroupKeyFailure,
  GroupKeyInfo,
  GroupKeySource,
  GroupPullSummary,
  KeyFailureClass,
  SignallingEvents,
} from './events.js';
export { SignallingError, isSignallingError } from './errors.js';
export type { SignallingErrorCode } from './errors.js';
