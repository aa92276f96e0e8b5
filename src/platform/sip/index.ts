/**
 * SIP platform adapter (RFC 3261 over RFC 7118 WebSocket, sip.js 0.21): registration with
 * TS 33.179 5.6.2 service authorization, GMK notifications (7.3.2), private calls with the
 * PCK in the SDP offer (7.4). The bodies themselves are built and read by
 * src/codec/sip-bodies.ts.
 */
export { createSipUserAgent } from './sip-user-agent.js';
export type {
  CallOptions,
  IncomingCallDecision,
  IncomingCallOffer,
  KeyNotificationInfo,
  SendRequestOptions,
  SipAnswer,
  SipBodyInit,
  SipCall,
  SipLogLevel,
  SipResponseInfo,
  SipUserAgent,
  SipUserAgentDelegate,
  SipUserAgentEvents,
  SipUserAgentOptions,
} from './sip-user-agent.js';
export { SIP_UA_TRANSITIONS, assertSipUaTransition, canTransition } from './registration-state.js';
export type { SipUaState } from './registration-state.js';
export { OfferTransformingSessionDescriptionHandler } from './offer-transform.js';
export type { OfferTransform } from './offer-transform.js';
export { SipError, isSipError } from './errors.js';
export type { SipErrorCode, SipErrorOptions } from './errors.js';
