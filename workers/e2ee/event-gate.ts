/**
 * When the E2EE worker tells the page about a track (TS 33.179 7.5 media protection states,
 * docs/media.md "Events"): an ongoing failure condition is reported at most once per
 * `throttleMs` per track and condition, with the number of frames it hit since the last report;
 * recovery ('encrypting') is reported at once. A frame arrives every 20 ms, so without the gate
 * a missing key would post 50 events a second.
 *
 * Per track the gate keeps a state: starting ─► ok ◄─► failing. 'encrypting' is emitted on the
 * first good frame, on a change of key (MKI), and on the first good frame after a failure the
 * page was told about — so a flapping condition costs at most one pair of events per interval.
 */
import type { MediaEvent, TrackDirection } from '../../src/media/protocol.js';

export type FailureEvent = Exclude<MediaEvent, { type: 'encrypting' } | { type: 'stalled' }>;

interface Slot {
  last: number;
  pending: number;
  build: (count: number) => FailureEvent;
}

export interface TrackGate {
  /** A frame failed; `key` names the condition (type and reason), `build` the event. */
  failure(key: string, build: (count: number) => FailureEvent): void;
  /** A frame went through protected under `mki` (hex). */
  success(mki: string): void;
  /** The track has been silent for `silentMs` (since attach: `neverStarted`): reported once per silence. */
  stalled(silentMs: number, neverStarted: boolean): void;
  /** Emits pending counts of conditions whose interval has passed (called by a timer). */
  flush(): void;
}

export interface EventGateOptions {
  readonly trackId: string;
  readonly direction: TrackDirection;
  readonly throttleMs: () => number;
  readonly now: () => number;
  readonly emit: (event: MediaEvent) => void;
}

export function createTrackGate(o: EventGateOptions): TrackGate {
  let state: 'starting' | 'ok' | 'failing' = 'starting';
  let told = false; // the page heard about the current failure
  let mkiInUse = '';
  let stalledTold = false;
  const slots = new Map<string, Slot>();

  function failure(key: string, build: (count: number) => FailureEvent): void {
    state = 'failing';
    stalledTold = false;
    let slot = slots.get(key);
    if (slot === undefined) {
      slot = { last: -Infinity, pending: 0, build };
      slots.set(key, slot);
    }
    slot.build = build;
    slot.pending++;
    const t = o.now();
    if (t - slot.last >= o.throttleMs()) {
      o.emit(build(slot.pending));
      slot.pending = 0;
      slot.last = t;
      told = true;
    }
  }

  function success(mki: string): void {
    const changed = mki !== mkiInUse;
    if (state === 'starting' || changed || (state === 'failing' && told) || stalledTold) {
      o.emit({ type: 'encrypting', trackId: o.trackId, direction: o.direction, mki });
      told = false;
    }
    state = 'ok';
    mkiInUse = mki;
    stalledTold = false;
  }

  function stalled(silentMs: number, neverStarted: boolean): void {
    if (stalledTold) return;
    stalledTold = true;
    o.emit({ type: 'stalled', trackId: o.trackId, direction: o.direction, silentMs: Math.round(silentMs), neverStarted });
  }

  function flush(): void {
    const t = o.now();
    for (const slot of slots.values()) {
      if (slot.pending > 0 && t - slot.last >= o.throttleMs()) {
        o.emit(slot.build(slot.pending));
        slot.pending = 0;
        slot.last = t;
        if (state === 'failing') told = true;
      }
    }
  }

  return { failure, success, stalled, flush };
}
