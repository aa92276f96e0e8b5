/**
 * The group call focus's forwarding rules (TS 24.380 4.1.1.3 media distribution, TS 33.179 7.5):
 * unit test with fake legs (the werift legs are exercised in group-call.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { MediaFocus } from '../../demo/server/mcptt-server/media-focus.js';
import type { LegRtp, MediaLeg } from '../../demo/server/mcptt-server/media-leg.js';

interface FakeLeg extends MediaLeg {
  push(p: LegRtp): void;
  readonly sent: { sequenceNumber: number; payload: Uint8Array }[];
}

function fakeLeg(): FakeLeg {
  let listener: ((p: LegRtp) => void) | undefined;
  const sent: { sequenceNumber: number; payload: Uint8Array }[] = [];
  return {
    answerSdp: '',
    state: 'connected',
    payloadType: 111,
    clockRate: 48_000,
    onRtp: (l) => {
      listener = l;
      return () => (listener = undefined);
    },
    onFloorMessage: () => () => undefined,
    onFloorChannelOpen: () => () => undefined,
    onClosed: () => () => undefined,
    sendFloorMessage: () => false,
    sendRtp: async (p) => {
      sent.push({ sequenceNumber: p.sequenceNumber, payload: p.payload });
    },
    close: async () => undefined,
    push: (p) => listener?.(p),
    sent,
  };
}

const packet = (seq: number, byte: number): LegRtp => ({ ssrc: 0x1234, sequenceNumber: seq, timestamp: seq * 960, marker: false, payload: new Uint8Array([0xe8, byte]) });

describe('media focus', () => {
  it('forwards a retransmitted holder packet only once, so listeners never get the same frame twice', () => {
    const focus = new MediaFocus({ holder: () => 'a', now: () => 0, random32: () => 7 });
    const a = fakeLeg();
    const b = fakeLeg();
    focus.add('a', a);
    focus.add('b', b);
    a.push(packet(10, 1));
    a.push(packet(11, 2));
    a.push(packet(10, 1)); // the NACK retransmission arrives after the original
    a.push(packet(12, 3));
    expect(b.sent.map((p) => p.payload[1])).toEqual([1, 2, 3]);
    expect(focus.counters()).toMatchObject({ packetsIn: 4, packetsForwarded: 3, droppedDuplicate: 1 });
    expect(focus.forwardedPayloads()).toHaveLength(3);
  });

  it('treats a new uplink SSRC (a new stream of the talker) as new sequence numbers', () => {
    const focus = new MediaFocus({ holder: () => 'a', now: () => 0, random32: () => 7 });
    const a = fakeLeg();
    const b = fakeLeg();
    focus.add('a', a);
    focus.add('b', b);
    a.push(packet(10, 1));
    a.push({ ...packet(10, 9), ssrc: 0x9999 });
    expect(b.sent.map((p) => p.payload[1])).toEqual([1, 9]);
  });
});
