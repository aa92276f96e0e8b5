/**
 * `mcptt-sdk`: MCPTT end-to-end security (3GPP TS 33.179) in the browser.
 * The root entry has the client facade, its adapters and the typed errors; the layers have
 * their own entries: `mcptt-sdk/crypto` (ECCSI, SAKKE, key derivations) and
 * `mcptt-sdk/mikey` (I_MESSAGEs and the key distribution rules).
 */
export { createMcpttClient } from './client.js';
export type { GroupCallConnectOptions, McpttClient, McpttClientEvents, McpttClientOptions, McpttClientState, McpttConnectOptions } from './client.js';
export type { CallAudioFactory, FloorControlFactory, FloorParticipantState, FloorRefusal, FloorRequestOptions, FloorStatus, GroupCall, GroupCallEvents, GroupCallMediaStats, GroupCallState, JoinGroupOptions, Talker } from './platform/group-calls/index.js';
export { createMcpttAuth, MCPTT_ACR_PASSWORD, MCPTT_DEFAULT_SCOPES } from './platform/auth/index.js';
export type { McpttAuth, McpttAuthOptions, McpttSession } from './platform/auth/index.js';
export { openKeyStore } from './platform/key-store/index.js';
export type { KeyStore, KeyStoreOptions, StoredKeySet, StoredKmsCertificate, StoredTransportKey } from './platform/key-store/index.js';
export { createKmsClient } from './platform/kms/index.js';
export type { KmsClient, KmsClientOptions, KmsTransportKeyStore } from './platform/kms/index.js';
export { createCryptoWorkerClient, cryptoWorkerSupported } from './platform/crypto-worker/index.js';
export type { CryptoWorkerClient, CryptoWorkerClientOptions } from './platform/crypto-worker/index.js';
export { createKeyProvisioner } from './platform/provisioning.js';
export type { KeyProvisioner, KeyProvisionerOptions, ProvisioningStatus } from './platform/provisioning.js';
export {
  createSignallingSession,
  fetchGroupConfigurations,
  isSignallingError,
  keyFailureOf,
  KEY_FAILURE_TABLE,
  PRIVATE_CALL_TRANSITIONS,
  SIGNALLING_SESSION_TRANSITIONS,
  SignallingError,
} from './platform/signalling/index.js';
export type {
  AuthorizationDegraded,
  CallerIdentity,
  CallFailure,
  CallPeer,
  ClientServerKey,
  CskInfo,
  GroupConfiguration,
  GroupKeyFailure,
  GroupKeyInfo,
  GroupKeySource,
  GroupPullSummary,
  IncomingPrivateCall,
  KeyFailure,
  KeyFailureClass,
  MediaKeyStore,
  PrivateCall,
  PrivateCallState,
  SignallingErrorCode,
  SignallingEvents,
  SignallingSession,
  SignallingSessionOptions,
  SignallingSessionState,
  TokenSource,
} from './platform/signalling/index.js';
export { createE2eeManager, detectE2eeMode } from './platform/media/index.js';
export type { E2eeManager, E2eeManagerOptions, E2eeMode } from './platform/media/index.js';
export { McpttError, CryptoError, MikeyError, KmsError, AuthError, StoreError, SipError, MediaError, XmlProtectError, FloorError, isMcpttError } from './errors.js';
export type { McpttErrorCode, CryptoErrorCode, MikeyErrorCode, KmsErrorCode, AuthErrorCode, StoreErrorCode, SipErrorCode, MediaErrorCode, XmlProtectErrorCode, FloorErrorCode, McpttErrorOptions, KmsServerError } from './errors.js';
