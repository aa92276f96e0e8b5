/**
 * Replay protection of one sender stream, after RFC 3711 3.3.2 (the SRTP replay list), for
 * the frame index of the encrypted frame (TS 33.179 7.5; docs/frame-format.md). An index is
 * accepted once; indices more than `size` behind the highest one seen are refused, since the
 * window can no longer tell whether they were seen.
 *
 * Each slot remembers the index it last held (index mod size), so checking and committing are
 * O(1) and a jump forward needs no clearing: a stale slot holds another index. Indices are at
 * most 2^32 − 1 and fit a float64 exactly.
 */

export type ReplayVerdict = 'new' | 'replay' | 'too-old';

export interface ReplayWindow {
  /** Whether `index` may be accepted; does not change the window. */
  check(index: number): ReplayVerdict;
  /** Records `index` as seen: call only after the frame authenticated. */
  commit(index: number): void;
  /** Highest index committed, −1 before the first. */
  readonly highest: number;
  readonly size: number;
}

export const DEFAULT_REPLAY_WINDOW = 128;
export const MAX_REPLAY_WINDOW = 4096;

export function createReplayWindow(size: number = DEFAULT_REPLAY_WINDOW): ReplayWindow {
  if (!Number.isInteger(size) || size < 1 || size > MAX_REPLAY_WINDOW) {
    throw new RangeError(`replay window size must be an integer 1..${MAX_REPLAY_WINDOW}`);
  }
  const slots = new Float64Array(size).fill(-1);
  let highest = -1;
  return {
    size,
    get highest() {
      return highest;
    },
    check(index) {
      if (index > highest) return 'new';
      if (highest - index >= size) return 'too-old';
      return slots[index % size] === index ? 'replay' : 'new';
    },
    commit(index) {
      slots[index % size] = index;
      if (index > highest) highest = index;
    },
  };
}
