/**
 * Typed events of the signalling session: what a dispatcher app shows (registration state,
 * group keys arriving or revoked, incoming private calls with the verified caller, call keys
 * ready, failures with their codes). TS 33.179 5.6.2.1, 7.3.2, 7.4, 9.1.3.2.
 *
 * No payload carries a key, a token or an access-token-derived value. Group IDs, key IDs (in
 * hex) and the verified caller's MCPTT ID are shown to the user, so they may appear here; an
 * app must not forward these events to a log as they are. Call keys are handed to the media
 * layer through `PrivateCall.keys()`, a method, so that serializing an event never includes
 * them.
 */
import type { SipErrorCode, SipUaState } from '../sip/index.js';
import type { IncomingPrivateCall, PrivateCall } from './private-calls.js';

/** A failure code: a `McpttError` code of any family, or `ERR_UNKNOWN` for a foreign error. */
export type FailureCode = string;

/** Where a group key came from (7.3.2 notification or 5.6.1 C-5 pull). */
export type GroupKeySource = 'notification' | 'pull';

/** A GMK accepted and stored. */
export interface GroupKeyInfo {
  readonly source: GroupKeySource;
  readonly groupId: string;
  /** GMK-ID, 8 hex digits. */
  readonly gmkId: string;
  readonly status: 'active' | 'revoked';
  /** Unix ms from which to send with the key; undefined = at once. */
  readonly activationTime: number | undefined;
  /** Unix ms after which the key is not to be used; undefined = no expiry. */
  readonly expiryTime: number | undefined;
  /** Unix ms of the distribution (the T payload). */
  readonly sentAt: number;
}

/** A GMK notification or pulled group refused: nothing of it was stored. */
export interface GroupKeyFailure {
  readonly source: GroupKeySource;
  /** The group the notification named; undefined when the body did not parse. */
  readonly groupId: string | undefined;
  readonly code: FailureCode;
  /** What the failure is, in one word (see failure-status.ts). */
  readonly failureClass: KeyFailureClass;
  /** The SIP status answered to the GMS (notifications only). */
  readonly sipStatus: number | undefined;
  /** 0-based index of the I_MESSAGE that failed, when one did. */
  readonly messageIndex: number | undefined;
}

/** Outcome of one pull of the group configurations (5.6.1 step C-5). */
export type GroupPullSummary =
  | {
      readonly ok: true;
      readonly groups: readonly {
        readonly groupId: string;
        readonly displayName: string;
        readonly outcome: 'stored' | 'unchanged' | 'refused';
        /** Set when refused. */
        readonly code?: FailureCode;
      }[];
    }
  | { readonly ok: false; readonly code: FailureCode; readonly httpStatus: number | undefined };

/** A new CSK went (or will go) to the MCPTT server in the REGISTER body (9.1.2, 9.1.3.2). */
export interface CskInfo {
  /** CSK-ID, 8 hex digits. */
  readonly cskId: string;
  readonly keyPeriodNo: number;
  readonly reason: 'new-session' | 'period-change' | 'renewed';
}

/** A private call that could not be set up. */
export interface CallFailure {
  readonly direction: 'outgoing' | 'incoming';
  /**
   * Outgoing: the MCPTT ID the app dialled. Incoming: undefined — the INVITE was refused
   * because its key did not check out, so nothing proves who sent it.
   */
  readonly peer: string | undefined;
  readonly code: FailureCode;
  readonly failureClass: KeyFailureClass | 'call';
  /** The SIP status: ours for an incoming call (e.g. 488), the callee's for an outgoing one. */
  readonly sipStatus: number | undefined;
}

/** The REGISTER went out without a part of the service authorization (5.6.2.0 allows it). */
export interface AuthorizationDegraded {
  readonly part: 'token' | 'csk';
  readonly code: FailureCode;
}

export type KeyFailureClass = 'malformed' | 'unsupported' | 'forbidden' | 'not-acceptable' | 'unavailable' | 'internal';

/** Event name → listener arguments. */
export interface SignallingEvents {
  registration: [state: SipUaState, previous: SipUaState];
  'registration-failed': [failure: { readonly code: SipErrorCode; readonly statusCode: number | undefined }];
  disconnected: [];
  'authorization-degraded': [info: AuthorizationDegraded];
  csk: [info: CskInfo];
  'group-key': [info: GroupKeyInfo];
  'group-key-refused': [failure: GroupKeyFailure];
  'group-pull': [summary: GroupPullSummary];
  'incoming-call': [call: IncomingPrivateCall];
  /** Both parties hold the PCK, PCK-ID and RAND: `call.keys()` for the media layer. */
  'call-keys': [call: PrivateCall];
  'call-failed': [failure: CallFailure];
  'call-ended': [call: PrivateCall];
}

/** The emitter of the signalling events (shared with group calls and floor control). */
export { TypedEmitter } from '../../util/emitter.js';
