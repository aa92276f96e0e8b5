/**
 * The registration state machine of the SDK's SIP user agent: RFC 3261 §10 registration
 * over an RFC 7118 WebSocket, with the MCPTT service authorization of TS 33.179 5.6.2
 * (access token and CSK in the REGISTER, or in a PUBLISH after it).
 *
 * ```
 *  idle ──start()──► connecting ──ws open──► registering ──2xx──► registered ──┐ refresh: timer or
 *   │                    │                    ▲  │    ▲              │   ▲      │ refreshRegistration()
 *   │ stop()             │ failed / stop()    │  │    │ retry,       │   └──────┘ (stays registered)
 *   ▼                    ▼                    │  │    │ refresh…()   │
 *  stopped ◄─────────────┘                    │  │ non-2xx           │ refresh refused
 *   ▲  ▲                                      │  ▼    │              │
 *   │  │                                      │ rejected ◄───────────┘
 *   │  │ stop()                ws back        │    │
 *   │  └────────── reconnecting ──────────────┘    │ ws lost (from registering,
 *   │              backoff initialMs·2ⁿ ≤ maxMs ◄──┘  registered or rejected)
 *   │
 *   └──────────── unregistering ◄── stop() from registering | registered | rejected
 *                 (REGISTER with expires=0, then the WebSocket closes)
 * ```
 *
 * Every transition goes through `assertSipUaTransition`; one that the table does not list
 * throws, so a race shows up as an error instead of a silently wrong state.
 */
import { SipError } from './errors.js';

export type SipUaState = 'idle' | 'connecting' | 'registering' | 'registered' | 'rejected' | 'reconnecting' | 'unregistering' | 'stopped';

/** Allowed next states of each state. */
export const SIP_UA_TRANSITIONS: Readonly<Record<SipUaState, readonly SipUaState[]>> = Object.freeze({
  idle: Object.freeze(['connecting', 'stopped'] as const),
  connecting: Object.freeze(['registering', 'stopped'] as const),
  registering: Object.freeze(['registered', 'rejected', 'reconnecting', 'unregistering'] as const),
  registered: Object.freeze(['rejected', 'reconnecting', 'unregistering'] as const),
  rejected: Object.freeze(['registering', 'reconnecting', 'unregistering'] as const),
  reconnecting: Object.freeze(['registering', 'stopped'] as const),
  unregistering: Object.freeze(['stopped'] as const),
  stopped: Object.freeze([] as const),
});

export function canTransition(from: SipUaState, to: SipUaState): boolean {
  return SIP_UA_TRANSITIONS[from].includes(to);
}

/** Throws `ERR_SIP_INVALID_STATE` unless the table allows `from → to`. */
export function assertSipUaTransition(from: SipUaState, to: SipUaState): void {
  if (!canTransition(from, to)) throw new SipError('ERR_SIP_INVALID_STATE', `illegal SIP user agent transition ${from} → ${to}`);
}
