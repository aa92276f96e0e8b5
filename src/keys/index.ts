/** Key distribution processing (TS 33.179 7.3, 7.4, 9.1, Annex E): pure, shared by SDK and dev servers. */
export { createMikeyKeyReceiver } from './receive.js';
export type {
  AuthorizationRequest,
  DistributedKeyKind,
  KeyInitiator,
  MikeyKeyReceiver,
  MikeyReceiverOptions,
  ReceivedKey,
  ReceiveOptions,
} from './receive.js';
export { createKeyDistribution } from './create.js';
export type { KeyDistributionInput, KeyDistributionRecipient } from './create.js';
export { checkPurpose, keyProfile, KEY_PROFILES, newKeyId, purposeTag } from './purpose.js';
export type { KeyKind, KeyProfile, KeyProfileName, KeyPurpose, KeyUse } from './purpose.js';
export { createMemoryReplayCache } from './replay-cache.js';
export type { ReplayCache } from './replay-cache.js';
export { NOT_REVOKED_BIT_READING, dpckOf } from './key-parameters.js';
export type { KeyParameterInfo, KeyStatusReading } from './key-parameters.js';
export { ntpSecondsOfUnixMs, periodAt, periodEndUnixMs, staticIdentity, uidOf, unixMsOfNtpSeconds } from './identity.js';
export type { KmsPublicParameters, LocalIdentity, PeriodKeys } from './identity.js';
