/**
 * The per-downlink RTP rewriting of the group call focus (demo/server/mcptt-server/rtp-rewriter.ts;
 * RFC 3550 5.1, RFC 7667 3.7): one continuous stream per receiver across talker changes.
 */
import { describe, expect, it } from 'vitest';

import { DownlinkRewriter } from '../../demo/server/mcptt-server/rtp-rewriter.js';

const seqDelta = (a: number, b: number): number => (b - a + 0x10000) % 0x10000;
const tsDelta = (a: number, b: number): number => (b - a + 0x1_0000_0000) % 0x1_0000_0000;

function fixed(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('DownlinkRewriter', () => {
  it('keeps one source as it came (offsets only), marking the first packet of the spurt', () => {
    const r = new DownlinkRewriter({ clockRate: 48000, random32: fixed(500, 7_000_000) });
    const out = [0, 1, 2].map((i) => r.rewrite({ source: 'a', ssrc: 11, sequenceNumber: 40 + i, timestamp: 1000 + 960 * i, marker: false }, 20 * i));
    expect(out.map((o) => o.sequenceNumber)).toEqual([501, 502, 503]);
    expect(out.map((o) => o.timestamp)).toEqual([7_000_001, 7_000_961, 7_001_921]);
    expect(out.map((o) => o.marker)).toEqual([true, false, false]);
  });

  it('continues sequence numbers and advances timestamps by the wall-clock gap at a talker change', () => {
    const r = new DownlinkRewriter({ clockRate: 48000, random32: fixed(65_530, 0xffff_ff00) });
    let last = { sequenceNumber: 0, timestamp: 0 };
    for (let i = 0; i < 10; i++) last = r.rewrite({ source: 'a', ssrc: 1, sequenceNumber: 30_000 + i, timestamp: 5 + 960 * i, marker: false }, 1000 + 20 * i);
    // Bob starts 500 ms after alice's last packet, with numbers of his own far away.
    const b0 = r.rewrite({ source: 'b', ssrc: 2, sequenceNumber: 3, timestamp: 123_456_789, marker: false }, 1000 + 20 * 9 + 500);
    const b1 = r.rewrite({ source: 'b', ssrc: 2, sequenceNumber: 4, timestamp: 123_456_789 + 960, marker: false }, 1000 + 20 * 10 + 500);
    expect(seqDelta(last.sequenceNumber, b0.sequenceNumber)).toBe(1); // wraps past 65535 without a jump
    expect(seqDelta(b0.sequenceNumber, b1.sequenceNumber)).toBe(1);
    expect(tsDelta(last.timestamp, b0.timestamp)).toBe(500 * 48); // 500 ms at 48 kHz
    expect(tsDelta(b0.timestamp, b1.timestamp)).toBe(960);
    expect(b0.marker).toBe(true);
    expect(b1.marker).toBe(false);
  });

  it('treats a new SSRC of the same participant as a new source (no jump back)', () => {
    const r = new DownlinkRewriter({ clockRate: 48000, random32: fixed(100, 100) });
    const a = r.rewrite({ source: 'a', ssrc: 1, sequenceNumber: 9000, timestamp: 9000, marker: false }, 0);
    const a2 = r.rewrite({ source: 'a', ssrc: 77, sequenceNumber: 10, timestamp: 10, marker: false }, 20);
    expect(seqDelta(a.sequenceNumber, a2.sequenceNumber)).toBe(1);
    expect(tsDelta(a.timestamp, a2.timestamp)).toBe(960);
  });

  it('passes a late reordered packet on at its own place without moving the reference point', () => {
    const r = new DownlinkRewriter({ clockRate: 48000, random32: fixed(0, 0) });
    r.rewrite({ source: 'a', ssrc: 1, sequenceNumber: 10, timestamp: 0, marker: false }, 0);
    const p12 = r.rewrite({ source: 'a', ssrc: 1, sequenceNumber: 12, timestamp: 1920, marker: false }, 40);
    const p11 = r.rewrite({ source: 'a', ssrc: 1, sequenceNumber: 11, timestamp: 960, marker: false }, 41);
    expect(p11.sequenceNumber).toBe(p12.sequenceNumber - 1);
    const b = r.rewrite({ source: 'b', ssrc: 2, sequenceNumber: 500, timestamp: 0, marker: false }, 60);
    expect(b.sequenceNumber).toBe(p12.sequenceNumber + 1); // continues after the newest, not the late one
  });

  it('refuses a nonsensical clock rate', () => {
    expect(() => new DownlinkRewriter({ clockRate: 0, random32: fixed(0) })).toThrow(RangeError);
  });
});
