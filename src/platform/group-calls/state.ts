/**
 * The life of one group call (TS 24.379 10.1.1 prearranged group call, as the SDK sees it):
 *
 *   joining ──200 OK + floor channel open──► joined ──leave()──► leaving ──BYE done──► ended
 *      │                                        │
 *      │ refused / no answer / channel fails    └──server BYE / transport gone──► ended
 *      ▼
 *    failed
 *
 * `leave()` while joining cancels (CANCEL) and ends in 'ended'. Every transition is checked
 * against GROUP_CALL_TRANSITIONS.
 */
import { SignallingError } from '../signalling/index.js';
import type { GroupCallState } from './types.js';

export const GROUP_CALL_TRANSITIONS: Readonly<Record<GroupCallState, readonly GroupCallState[]>> = Object.freeze({
  joining: Object.freeze(['joined', 'leaving', 'failed'] as const),
  joined: Object.freeze(['leaving', 'ended'] as const),
  leaving: Object.freeze(['ended'] as const),
  ended: Object.freeze([] as const),
  failed: Object.freeze([] as const),
});

export function assertGroupCallTransition(from: GroupCallState, to: GroupCallState): void {
  if (!GROUP_CALL_TRANSITIONS[from].includes(to)) throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', `group call: ${from} → ${to} is not allowed`);
}
