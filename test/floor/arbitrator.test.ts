/**
 * The floor arbitrator (TS 24.380 6.3) with a manual clock: who is told what, who holds the
 * floor (the only one whose media the focus forwards), queueing, denial, pre-emption, the
 * stop-talking and end-of-media timers, and retransmission until acknowledged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLOOR_INDICATOR, type MbcpMessage } from '../../src/codec/mbcp/index.js';
import { createFloorArbitrator, FLOOR_ARBITRATOR_TRANSITIONS, type FloorArbitratorOptions } from '../../src/floor/arbitrator.js';
import { manualClock } from './helpers.js';

const EMERGENCY = FLOOR_INDICATOR.NORMAL | FLOOR_INDICATOR.EMERGENCY;

function setup(opts: Partial<FloorArbitratorOptions> = {}) {
  const clock = manualClock();
  const inbox: Record<string, MbcpMessage[]> = { a: [], b: [], c: [], d: [] };
  const arb = createFloorArbitrator({ send: (id, m) => inbox[id]!.push(m), timers: clock.timers, ...opts });
  const states: string[] = [];
  arb.on('state', (s) => states.push(s));
  arb.join('a', { userId: 'sip:alice@x', priority: 5 });
  arb.join('b', { userId: 'sip:bob@x', priority: 5 });
  arb.join('c', { userId: 'sip:carol@x', priority: 9 });
  arb.join('d', { userId: 'sip:dispatch@x', priority: 9, emergency: true });
  const take = () => {
    const out: Record<string, MbcpMessage[]> = {};
    for (const k of Object.keys(inbox)) out[k] = inbox[k]!.splice(0);
    return out;
  };
  take();
  return { arb, clock, take, states };
}

const types = (ms: MbcpMessage[] | undefined) => (ms ?? []).map((m) => m.type);

describe('floor arbitrator', () => {
  it('a joining member is told the floor is idle', () => {
    const clock = manualClock();
    const got: MbcpMessage[] = [];
    const arb = createFloorArbitrator({ send: (_id, m) => got.push(m), timers: clock.timers });
    arb.join('a', { userId: 'sip:a@x', priority: 1 });
    expect(types(got)).toEqual(['floor-idle']);
  });

  it('request → Granted (with Duration) to the requester, Taken (with its MCPTT ID) to the others', () => {
    const { arb, take } = setup();
    arb.receive('a', { type: 'floor-request', floorPriority: 3 });
    const m = take();
    expect(m.a).toEqual([{ type: 'floor-granted', duration: 30, floorPriority: 3, floorIndicator: FLOOR_INDICATOR.NORMAL | FLOOR_INDICATOR.QUEUEING_SUPPORTED }]);
    for (const k of ['b', 'c', 'd']) expect(m[k]).toEqual([{ type: 'floor-taken', grantedPartyId: 'sip:alice@x', permissionToRequest: true, messageSequenceNumber: 1, floorIndicator: FLOOR_INDICATOR.NORMAL | FLOOR_INDICATOR.QUEUEING_SUPPORTED }]);
    expect(arb.holder()).toBe('a');
    expect(arb.mediaActivity('a')).toBe(true);
    expect(arb.mediaActivity('b')).toBe(false);
  });

  it('requested priority is capped at the member\'s own', () => {
    const { arb, take } = setup();
    arb.receive('a', { type: 'floor-request', floorPriority: 200 });
    expect(take().a![0]!.floorPriority).toBe(5);
  });

  it('release → Floor Idle to everyone, nobody holds the floor', () => {
    const { arb, take } = setup();
    arb.receive('a', { type: 'floor-request' });
    take();
    arb.receive('a', { type: 'floor-release' });
    const m = take();
    for (const k of ['a', 'b', 'c', 'd']) expect(types(m[k])).toEqual(['floor-idle']);
    expect(arb.holder()).toBeUndefined();
    expect(arb.state).toBe('idle');
  });

  it('queue by priority then arrival; each queued request learns its position; release grants the next', () => {
    const { arb, take } = setup();
    arb.receive('a', { type: 'floor-request' });
    arb.receive('b', { type: 'floor-request', floorPriority: 1 });
    arb.receive('c', { type: 'floor-request', floorPriority: 7 });
    const m = take();
    expect(m.b!.at(-1)).toMatchObject({ type: 'floor-queue-position-info', queueInfo: { position: 1, priority: 1 } });
    expect(m.c!.at(-1)).toMatchObject({ type: 'floor-queue-position-info', queueInfo: { position: 1, priority: 7 } });
    expect(arb.queue()).toEqual(['c', 'b']);
    arb.receive('b', { type: 'floor-queue-position-request' });
    expect(take().b).toEqual([expect.objectContaining({ type: 'floor-queue-position-info', queueInfo: { position: 2, priority: 1 } })]);
    arb.receive('a', { type: 'floor-release' });
    const n = take();
    expect(types(n.c)).toEqual(['floor-granted']);
    expect(n.a).toEqual([expect.objectContaining({ type: 'floor-taken', grantedPartyId: 'sip:carol@x' })]);
    expect(arb.holder()).toBe('c');
    arb.receive('c', { type: 'floor-release' });
    expect(arb.holder()).toBe('b');
  });

  it('Floor Deny: queueing off (cause 1), queue full (7), receive-only member (5)', () => {
    const off = setup({ queueing: false });
    off.arb.receive('a', { type: 'floor-request' });
    off.arb.receive('b', { type: 'floor-request' });
    expect(off.take().b!.at(-1)).toEqual({ type: 'floor-deny', rejectCause: { cause: 1, text: 'Another MCPTT client has permission' }, floorIndicator: FLOOR_INDICATOR.NORMAL });

    const full = setup({ maxQueue: 1 });
    full.arb.receive('a', { type: 'floor-request' });
    full.arb.receive('b', { type: 'floor-request' });
    full.arb.receive('c', { type: 'floor-request' });
    expect(full.take().c!.at(-1)).toMatchObject({ type: 'floor-deny', rejectCause: { cause: 7 } });

    const clock = manualClock();
    const got: MbcpMessage[] = [];
    const arb = createFloorArbitrator({ send: (_id, m) => got.push(m), timers: clock.timers });
    arb.join('l', { userId: 'sip:listener@x', priority: 1, receiveOnly: true });
    arb.receive('l', { type: 'floor-request' });
    expect(got.at(-1)).toMatchObject({ type: 'floor-deny', rejectCause: { cause: 5 } });
    expect(arb.holder()).toBeUndefined();
  });

  it('emergency request pre-empts: Revoke (cause 4) to the holder, Granted to the emergency caller', () => {
    const { arb, take } = setup();
    arb.receive('c', { type: 'floor-request' });
    take();
    arb.receive('d', { type: 'floor-request', floorIndicator: EMERGENCY });
    const m = take();
    expect(m.c).toEqual([
      { type: 'floor-revoke', rejectCause: { cause: 4, text: 'Media Burst pre-empted' }, floorIndicator: FLOOR_INDICATOR.NORMAL | FLOOR_INDICATOR.QUEUEING_SUPPORTED },
      expect.objectContaining({ type: 'floor-taken', grantedPartyId: 'sip:dispatch@x', floorIndicator: EMERGENCY | FLOOR_INDICATOR.QUEUEING_SUPPORTED }),
    ]);
    expect(m.d).toEqual([expect.objectContaining({ type: 'floor-granted', floorIndicator: EMERGENCY | FLOOR_INDICATOR.QUEUEING_SUPPORTED })]);
    expect(arb.holder()).toBe('d');
  });

  it('an emergency indicator from a member not allowed one does not pre-empt (it queues)', () => {
    const { arb, take } = setup();
    arb.receive('c', { type: 'floor-request' });
    take();
    arb.receive('a', { type: 'floor-request', floorIndicator: EMERGENCY });
    expect(types(take().a)).toEqual(['floor-queue-position-info']);
    expect(arb.holder()).toBe('c');
  });

  it('a configured pre-emptive priority pre-empts a lower holder, not an equal one', () => {
    const { arb, take } = setup({ preemptivePriority: 8 });
    arb.receive('a', { type: 'floor-request' });
    arb.receive('c', { type: 'floor-request', floorPriority: 9 });
    expect(arb.holder()).toBe('c');
    expect(types(take().a)).toContain('floor-revoke');
    arb.receive('d', { type: 'floor-request', floorPriority: 9 });
    expect(arb.holder()).toBe('c');
  });

  it('T2 (stop talking): Revoke cause 2, media no longer forwarded, T3 grace then idle', () => {
    const { arb, take, clock } = setup({ config: { t2: 10_000, t1: 60_000, t3: 1000 } });
    arb.receive('a', { type: 'floor-request' });
    take();
    clock.advance(10_000);
    expect(take().a).toEqual([expect.objectContaining({ type: 'floor-revoke', rejectCause: { cause: 2, text: 'Media burst too long' } })]);
    expect(arb.state).toBe('revoking');
    expect(arb.holder()).toBeUndefined();
    expect(arb.mediaActivity('a')).toBe(false);
    clock.advance(1000);
    expect(arb.state).toBe('idle');
    expect(types(take().b)).toEqual(['floor-idle']);
  });

  it('an emergency request while a floor is being revoked is granted at once, not after T3', () => {
    const { arb, take, clock } = setup({ config: { t2: 10_000, t1: 60_000, t3: 5000 } });
    arb.receive('a', { type: 'floor-request' });
    clock.advance(10_000);
    expect(arb.state).toBe('revoking');
    take();
    arb.receive('d', { type: 'floor-request', floorIndicator: EMERGENCY });
    expect(arb.holder()).toBe('d');
    const m = take();
    expect(types(m.d)).toEqual(['floor-granted']);
    expect(types(m.a)).toEqual(['floor-taken']); // no second revoke
    clock.advance(5000);
    expect(arb.holder()).toBe('d');
  });

  it('T9 retry-after: the member revoked for talking too long is denied (cause 4) for a while', () => {
    const { arb, take, clock } = setup({ config: { t2: 10_000, t1: 60_000, t3: 1000, t9: 2000 } });
    arb.receive('a', { type: 'floor-request' });
    clock.advance(10_000);
    arb.receive('a', { type: 'floor-release' });
    take();
    arb.receive('a', { type: 'floor-request' });
    expect(take().a).toEqual([expect.objectContaining({ type: 'floor-deny', rejectCause: { cause: 4, text: 'Retry-after timer has not expired' } })]);
    clock.advance(2000);
    arb.receive('a', { type: 'floor-request' });
    expect(arb.holder()).toBe('a');
  });

  it('T2 revoke answered by Floor Release goes to the next queued member at once', () => {
    const { arb, take, clock } = setup({ config: { t2: 10_000, t1: 60_000 } });
    arb.receive('a', { type: 'floor-request' });
    arb.receive('b', { type: 'floor-request' });
    clock.advance(10_000);
    arb.receive('a', { type: 'floor-release' });
    expect(arb.holder()).toBe('b');
    expect(types(take().b)).toContain('floor-granted');
  });

  it('T1 (end of media): media keeps the floor, silence releases it', () => {
    const { arb, clock } = setup({ config: { t1: 4000 } });
    arb.receive('a', { type: 'floor-request' });
    for (let i = 0; i < 5; i++) {
      clock.advance(3000);
      expect(arb.mediaActivity('a')).toBe(true);
    }
    clock.advance(4000);
    expect(arb.state).toBe('idle');
  });

  it('ackRequired: Granted resent on T20 until acknowledged', () => {
    const { arb, take, clock } = setup({ ackRequired: true, config: { t20: 500, c20: 3, t1: 60_000 } });
    arb.receive('a', { type: 'floor-request' });
    expect(take().a).toEqual([expect.objectContaining({ type: 'floor-granted', ackRequired: true })]);
    clock.advance(500);
    expect(types(take().a)).toEqual(['floor-granted']);
    arb.receive('a', { type: 'floor-ack', source: 0, messageType: 'floor-granted' });
    clock.advance(5000);
    expect(take().a).toEqual([]);
    expect(arb.holder()).toBe('a');
  });

  it('ackRequired: a grant never acknowledged after C20 sends gives the floor back', () => {
    const { arb, take, clock } = setup({ ackRequired: true, config: { t20: 500, c20: 3 } });
    arb.receive('a', { type: 'floor-request' });
    clock.advance(1500);
    expect(types(take().a)).toEqual(['floor-granted', 'floor-granted', 'floor-granted', 'floor-idle']);
    expect(arb.state).toBe('idle');
  });

  it('ackRequired: Floor Idle resent on T7 to whoever has not acknowledged it', () => {
    const { arb, take, clock } = setup({ ackRequired: true, config: { t7: 500, c7: 3 } });
    arb.receive('a', { type: 'floor-request' });
    arb.receive('a', { type: 'floor-ack', source: 0, messageType: 'floor-granted' });
    arb.receive('a', { type: 'floor-release' });
    take();
    arb.receive('b', { type: 'floor-ack', source: 0, messageType: 'floor-idle' });
    clock.advance(2000);
    const m = take();
    expect(types(m.b)).toEqual([]);
    expect(types(m.c)).toEqual(['floor-idle', 'floor-idle']);
  });

  it('a repeated Floor Request from the holder gets Floor Granted again; a stray Release gets the floor state', () => {
    const { arb, take } = setup();
    arb.receive('a', { type: 'floor-request' });
    take();
    arb.receive('a', { type: 'floor-request' });
    expect(types(take().a)).toEqual(['floor-granted']);
    arb.receive('b', { type: 'floor-release' });
    expect(take().b).toEqual([expect.objectContaining({ type: 'floor-taken', grantedPartyId: 'sip:alice@x' })]);
  });

  it('the holder leaving passes the floor on; leaving members are dropped from the queue', () => {
    const { arb } = setup();
    arb.receive('a', { type: 'floor-request' });
    arb.receive('b', { type: 'floor-request' });
    arb.receive('c', { type: 'floor-request' });
    arb.leave('c');
    arb.leave('a');
    expect(arb.holder()).toBe('b');
    expect(arb.queue()).toEqual([]);
  });

  it('ignores messages with no procedure and strangers; transitions stay in the table; dispose leaves no timer', () => {
    const { arb, clock, states } = setup({ ackRequired: true });
    const ignored: string[] = [];
    arb.on('ignored', (_id, t) => ignored.push(t));
    arb.receive('a', { type: 'floor-granted', duration: 3 });
    arb.receive('zz', { type: 'floor-request' });
    arb.receive('a', null as unknown as MbcpMessage);
    expect(ignored).toEqual(['floor-granted']);
    expect(arb.holder()).toBeUndefined();
    arb.receive('a', { type: 'floor-request' });
    arb.receive('d', { type: 'floor-request', floorIndicator: EMERGENCY });
    clock.advance(40_000);
    let prev = 'idle';
    for (const s of states) {
      expect(FLOOR_ARBITRATOR_TRANSITIONS[prev as 'idle']).toContain(s);
      prev = s;
    }
    arb.dispose();
    expect(clock.pending()).toBe(0);
  });
});

describe('floor arbitrator invariants', () => {
  it('any sequence of member input and time: one holder at most, a member; queue without holder or duplicates', () => {
    const ids = ['a', 'b', 'c', 'd'] as const;
    const step = fc.oneof(
      fc.record({ kind: fc.constant('msg' as const), id: fc.constantFrom(...ids), m: fc.constantFrom<MbcpMessage>(
        { type: 'floor-request' },
        { type: 'floor-request', floorPriority: 9 },
        { type: 'floor-request', floorIndicator: EMERGENCY },
        { type: 'floor-release' },
        { type: 'floor-queue-position-request' },
        { type: 'floor-ack', source: 0, messageType: 'floor-granted' },
        { type: 'floor-ack', source: 0, messageType: 'floor-idle' },
      ) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(500, 1000, 4000, 30_000) }),
      fc.record({ kind: fc.constant('media' as const), id: fc.constantFrom(...ids) }),
      fc.record({ kind: fc.constant('leave' as const), id: fc.constantFrom(...ids) }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(step, { maxLength: 60 }), (ack, steps) => {
        const { arb, clock, states } = setup({ ackRequired: ack, maxQueue: 2 });
        const present = new Set<string>(ids);
        for (const s of steps) {
          if (s.kind === 'msg') arb.receive(s.id, s.m);
          else if (s.kind === 'advance') clock.advance(s.ms);
          else if (s.kind === 'media') arb.mediaActivity(s.id);
          else {
            arb.leave(s.id);
            present.delete(s.id);
          }
          const h = arb.holder();
          if (h !== undefined) expect(present.has(h)).toBe(true);
          expect(arb.state === 'taken').toBe(h !== undefined);
          const q = arb.queue();
          expect(new Set(q).size).toBe(q.length);
          if (h !== undefined) expect(q).not.toContain(h);
          for (const id of q) expect(present.has(id)).toBe(true);
          expect(q.length).toBeLessThanOrEqual(2);
        }
        let prev = 'idle';
        for (const st of states) {
          expect(FLOOR_ARBITRATOR_TRANSITIONS[prev as 'idle']).toContain(st);
          prev = st;
        }
        arb.dispose();
        expect(clock.pending()).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
