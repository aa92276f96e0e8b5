/**
 * The media distribution of one group call at the MCPTT server (TS 24.380 4.1.1.3 "media
 * distribution function", TS 24.379 10.6.2.4: the controlling function forwards the floor
 * holder's media to the other participants; TS 33.179 7.5: media is protected end to end, so
 * the server relays ciphertext it holds no key for).
 *
 * Rules:
 * - Only the floor holder's packets are forwarded (`holder()` is asked for every packet,
 *   so a floor change takes effect on the very next packet); everything else is counted as
 *   dropped and goes nowhere.
 * - The holder's packet goes to every other participant of the call, never back to itself.
 * - Each downlink gets its own continuous RTP stream (./rtp-rewriter.ts); the payload is
 *   copied byte for byte.
 * - A bounded record of what was forwarded (the payloads, once per incoming packet) lets
 *   tests show that the server only ever saw ciphertext.
 */
import { DownlinkRewriter } from './rtp-rewriter.js';
import type { LegRtp, MediaLeg } from './media-leg.js';

/** Per-call counters (what a test or an operator looks at; no identities in them). */
export interface MediaFocusCounters {
  /** RTP packets received from any participant. */
  readonly packetsIn: number;
  /** Holder packets forwarded (counted once, however many downlinks they went to). */
  readonly packetsForwarded: number;
  /** Copies sent on downlinks (packetsForwarded × connected receivers at the time). */
  readonly copiesSent: number;
  /** Packets from a participant who did not hold the floor: dropped. */
  readonly droppedNotHolder: number;
  /** Holder packets already forwarded (a retransmission that raced its original): dropped. */
  readonly droppedDuplicate: number;
}

export interface MediaFocusOptions {
  /** The participant whose media is forwarded now (the floor arbitrator's holder). */
  readonly holder: () => string | undefined;
  /** Called for every forwarded holder packet (the arbitrator's end-of-media timer). */
  readonly onHolderMedia?: (participantId: string) => void;
  /** Monotonic milliseconds (timestamp continuity across talker changes). */
  readonly now: () => number;
  readonly random32: () => number;
  /** How many forwarded payloads to keep (default 2000). */
  readonly recordLimit?: number;
}

interface Participant {
  readonly id: string;
  readonly leg: MediaLeg;
  readonly rewriter: DownlinkRewriter;
  readonly unsubscribe: () => void;
}

/**
 * Sequence numbers of one uplink already forwarded. A packet the talker's browser sent again
 * (NACK retransmission, RFC 4585) may reach us after the original did; forwarding it would
 * hand the listeners' frame transforms the same encrypted frame twice (they sit before the
 * jitter buffer that would drop it), which they rightly refuse as a replay.
 */
class SeenSequence {
  static readonly SIZE = 1024;
  // Slot seq % SIZE holds the last sequence number seen there: a slot is overwritten every
  // SIZE packets, so an equal number in it is a duplicate from the last SIZE packets.
  readonly #seq = new Int32Array(SeenSequence.SIZE).fill(-1);
  #key = '';

  /** True when (ssrc, seq) was seen before; records it otherwise. */
  seen(ssrc: number, seq: number): boolean {
    const key = String(ssrc);
    if (key !== this.#key) {
      this.#key = key;
      this.#seq.fill(-1);
    }
    const slot = seq % SeenSequence.SIZE;
    if (this.#seq[slot] === seq) return true;
    this.#seq[slot] = seq;
    return false;
  }
}

export const DEFAULT_RECORD_LIMIT = 2000;

export class MediaFocus {
  readonly #o: MediaFocusOptions;
  readonly #limit: number;
  readonly #participants = new Map<string, Participant>();
  readonly #record: Uint8Array[] = [];
  #packetsIn = 0;
  #packetsForwarded = 0;
  #copiesSent = 0;
  #droppedNotHolder = 0;
  #droppedDuplicate = 0;
  readonly #seen = new Map<string, SeenSequence>();

  constructor(o: MediaFocusOptions) {
    this.#o = o;
    this.#limit = o.recordLimit ?? DEFAULT_RECORD_LIMIT;
    if (!Number.isSafeInteger(this.#limit) || this.#limit < 0) throw new RangeError('recordLimit must be a non-negative integer');
  }

  /** Adds a participant's leg: its uplink is listened to, its downlink receives the holder's media. */
  add(id: string, leg: MediaLeg): void {
    if (this.#participants.has(id)) throw new Error('participant already in the call');
    const unsubscribe = leg.onRtp((p) => this.#onRtp(id, p));
    this.#participants.set(id, { id, leg, rewriter: new DownlinkRewriter({ clockRate: leg.clockRate, random32: this.#o.random32 }), unsubscribe });
  }

  /** Removes the participant; its leg is not closed here (the call does that). */
  remove(id: string): boolean {
    const p = this.#participants.get(id);
    if (p === undefined) return false;
    p.unsubscribe();
    this.#participants.delete(id);
    this.#seen.delete(id);
    return true;
  }

  get size(): number {
    return this.#participants.size;
  }

  counters(): MediaFocusCounters {
    return {
      packetsIn: this.#packetsIn,
      packetsForwarded: this.#packetsForwarded,
      copiesSent: this.#copiesSent,
      droppedNotHolder: this.#droppedNotHolder,
      droppedDuplicate: this.#droppedDuplicate,
    };
  }

  /** Copies of the last forwarded payloads, oldest first. */
  forwardedPayloads(): Uint8Array[] {
    return this.#record.map((p) => p.slice());
  }

  #onRtp(from: string, p: LegRtp): void {
    this.#packetsIn++;
    if (this.#o.holder() !== from) {
      this.#droppedNotHolder++;
      return;
    }
    let seen = this.#seen.get(from);
    if (seen === undefined) this.#seen.set(from, (seen = new SeenSequence()));
    if (seen.seen(p.ssrc, p.sequenceNumber)) {
      this.#droppedDuplicate++;
      return;
    }
    this.#packetsForwarded++;
    if (this.#limit > 0) {
      this.#record.push(p.payload.slice());
      if (this.#record.length > this.#limit) this.#record.splice(0, this.#record.length - this.#limit);
    }
    try {
      this.#o.onHolderMedia?.(from);
    } catch {
      /* the arbitrator's bookkeeping must not stop the media */
    }
    const now = this.#o.now();
    for (const d of this.#participants.values()) {
      // Not back to the talker; not to a leg whose media is not up (nothing could be sent).
      if (d.id === from || d.leg.state !== 'connected') continue;
      const h = d.rewriter.rewrite({ source: from, ssrc: p.ssrc, sequenceNumber: p.sequenceNumber, timestamp: p.timestamp, marker: p.marker }, now);
      this.#copiesSent++;
      // Each downlink on its own: one slow or closed leg must not hold up the others.
      d.leg.sendRtp({ ...h, payload: p.payload }).catch(() => undefined);
    }
  }
}
