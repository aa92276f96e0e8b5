/**
 * A manual clock for the floor state machines: timers fire only when a test advances time,
 * in deadline order (ties in the order they were set). No real time passes.
 */
import type { FloorTimers } from '../../src/floor/events.js';

export interface ManualClock {
  readonly timers: FloorTimers;
  /** Runs every timer due within `ms` (timers set meanwhile included), then moves to now + ms. */
  advance(ms: number): void;
  /** Timers still set. */
  pending(): number;
  now(): number;
}

export function manualClock(): ManualClock {
  let now = 0;
  let seq = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  return {
    timers: {
      set(fn, ms) {
        const id = ++seq;
        due.set(id, { at: now + ms, fn });
        return id;
      },
      clear(handle) {
        due.delete(handle as number);
      },
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of due) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
        if (next === undefined) break;
        due.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
    pending: () => due.size,
    now: () => now,
  };
}
