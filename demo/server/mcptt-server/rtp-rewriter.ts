/**
 * RTP header rewriting for one downlink of the group call focus (RFC 3550 5.1, 8; RFC 7667
 * 3.7 "selective forwarding middlebox" as TS 24.380 4.1.1.3's media distribution function
 * uses it): the focus forwards only the floor holder's packets, and each receiving member
 * must see ONE continuous RTP stream however often the talker changes.
 *
 * - SSRC: one per downlink, kept by the downlink's werift sender (its `sendRtp` overwrites
 *   the SSRC and payload type and only adds its own offsets, which stay 0 here because no
 *   track is attached: read in werift 0.24.4 lib/webrtc/src/media/rtpSender.js).
 * - Sequence number: continuous across talker changes, never jumping back. Within one
 *   source, out = in + offset (mod 2^16), so reordering and loss show to the receiver as
 *   they happened upstream; at a source change the offset is chosen so that the new
 *   source's first packet follows the last packet sent.
 * - Timestamp: likewise out = in + offset (mod 2^32) within a source; at a change it
 *   advances by the wall-clock gap since the last packet sent (at least one tick), so the
 *   receiver's jitter buffer sees silence of the right length and not a jump.
 * - Marker bit: set on the first packet after a source change (start of a talk spurt,
 *   RFC 3551 4.1).
 *
 * The payload (the end-to-end encrypted frame) is never read or touched here.
 *
 * Pure: the arrival time is an argument, the initial values come from the `random` given.
 */

export interface IncomingRtp {
  /** Who sent it: a participant key that stays the same for one member's leg. */
  readonly source: string;
  readonly ssrc: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly marker: boolean;
}

export interface RewrittenRtp {
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly marker: boolean;
}

export interface DownlinkRewriterOptions {
  /** RTP clock rate of the downlink's codec (Opus: 48000, RFC 7587 4.1). */
  readonly clockRate: number;
  /** Uniform random 32-bit unsigned integers (initial sequence number and timestamp, RFC 3550 5.1). */
  readonly random32: () => number;
}

const SEQ_MOD = 0x1_0000;
const TS_MOD = 0x1_0000_0000;
// A talker change after more than this wall-clock gap still advances the timestamp by the
// true gap; the cap only keeps the arithmetic in safe integers for a stream left idle for days.
const MAX_GAP_MS = 24 * 3600 * 1000;

const mod = (x: number, m: number): number => ((x % m) + m) % m;

export class DownlinkRewriter {
  readonly #clockRate: number;
  #source: { readonly key: string; readonly ssrc: number } | undefined;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq: number;
  #lastTs: number;
  #lastSentAtMs: number | undefined;
  #newSpurt = true;

  constructor(o: DownlinkRewriterOptions) {
    if (!Number.isInteger(o.clockRate) || o.clockRate < 1000 || o.clockRate > 192_000) throw new RangeError('clockRate must be an integer 1000..192000');
    this.#clockRate = o.clockRate;
    // The "previous" packet of a fresh stream, so its first packet gets a random start.
    this.#lastSeq = mod(Math.floor(o.random32()), SEQ_MOD);
    this.#lastTs = mod(Math.floor(o.random32()), TS_MOD);
  }

  /** The header fields to send for `p`, which arrived at `nowMs` (monotonic or wall clock, ms). */
  rewrite(p: IncomingRtp, nowMs: number): RewrittenRtp {
    const s = this.#source;
    if (s === undefined || s.key !== p.source || s.ssrc !== p.ssrc) {
      const gapMs = this.#lastSentAtMs === undefined ? 0 : Math.min(MAX_GAP_MS, Math.max(0, nowMs - this.#lastSentAtMs));
      const ticks = Math.max(1, Math.round((gapMs * this.#clockRate) / 1000));
      this.#seqOffset = mod(this.#lastSeq + 1 - p.sequenceNumber, SEQ_MOD);
      this.#tsOffset = mod(this.#lastTs + ticks - p.timestamp, TS_MOD);
      this.#source = { key: p.source, ssrc: p.ssrc };
      this.#newSpurt = true;
    }
    const sequenceNumber = mod(p.sequenceNumber + this.#seqOffset, SEQ_MOD);
    const timestamp = mod(p.timestamp + this.#tsOffset, TS_MOD);
    // Only a packet newer than the last one sent moves the reference point (serial number
    // arithmetic, RFC 1982): a late reordered packet keeps its place and is still forwarded.
    if (mod(sequenceNumber - this.#lastSeq, SEQ_MOD) < SEQ_MOD / 2) {
      this.#lastSeq = sequenceNumber;
      this.#lastTs = timestamp;
      this.#lastSentAtMs = nowMs;
    }
    const marker = this.#newSpurt || p.marker;
    this.#newSpurt = false;
    return { sequenceNumber, timestamp, marker };
  }
}
