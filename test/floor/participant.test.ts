/**
 * The floor participant state machine (TS 24.380 6.2.4) with a manual clock: what a PTT user
 * sees (granted, queued, denied, revoked, timed out) and what goes on the wire (requests,
 * retransmissions, releases, acks).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLOOR_INDICATOR, type MbcpMessage } from '../../src/codec/mbcp/index.js';
import { FloorError } from '../../src/errors.js';
import { createFloorParticipant, FLOOR_PARTICIPANT_TRANSITIONS } from '../../src/floor/participant.js';
import type { FloorStatus } from '../../src/platform/group-calls/types.js';
import { manualClock } from './helpers.js';

function setup(config = {}) {
  const clock = manualClock();
  const sent: MbcpMessage[] = [];
  const statuses: FloorStatus[] = [];
  const p = createFloorParticipant({ send: (m) => sent.push(m), timers: clock.timers, userId: 'sip:alice@example.org', config });
  p.on('status', (s) => statuses.push(s));
  return { p, clock, sent, statuses };
}

async function rejection(promise: Promise<unknown>): Promise<FloorError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof FloorError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('floor participant', () => {
  it('refuses a request before floor control starts', async () => {
    const { p } = setup();
    expect((await rejection(p.request())).code).toBe('ERR_FLOOR_INVALID_STATE');
  });

  it('request → Floor Request with priority and emergency indicator; Granted → granted, we are the talker', async () => {
    const { p, sent } = setup();
    p.start();
    const r = p.request({ priority: 9, emergency: true });
    expect(p.state).toBe('pending-request');
    expect(sent).toEqual([{ type: 'floor-request', floorPriority: 9, floorIndicator: FLOOR_INDICATOR.NORMAL | FLOOR_INDICATOR.EMERGENCY }]);
    p.receive({ type: 'floor-granted', duration: 30 });
    expect(await r).toBe('granted');
    expect(p.status).toEqual({ state: 'has-permission', talker: { mcpttId: 'sip:alice@example.org', self: true, emergency: true }, queuePosition: undefined });
  });

  it('Floor Deny rejects with ERR_FLOOR_DENIED and the Reject Cause, and emits denied', async () => {
    const { p } = setup();
    p.start();
    const denied: unknown[] = [];
    p.on('denied', (r) => denied.push(r));
    const r = p.request();
    p.receive({ type: 'floor-deny', rejectCause: { cause: 1, text: 'Another MCPTT client has permission' } });
    const e = await rejection(r);
    expect(e.code).toBe('ERR_FLOOR_DENIED');
    expect(e.refusal).toEqual({ cause: 1, text: 'Another MCPTT client has permission' });
    expect(denied).toEqual([{ cause: 1, text: 'Another MCPTT client has permission' }]);
    expect(p.state).toBe('has-no-permission');
  });

  it('unanswered: Floor Request resent on T101 up to C101 sends, then ERR_FLOOR_TIMEOUT', async () => {
    const { p, sent, clock } = setup({ t101: 500, c101: 3 });
    p.start();
    const r = p.request();
    clock.advance(499);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    expect(sent).toHaveLength(2);
    clock.advance(500);
    expect(sent).toHaveLength(3);
    expect(sent.every((m) => m.type === 'floor-request')).toBe(true);
    clock.advance(500);
    expect((await rejection(r)).code).toBe('ERR_FLOOR_TIMEOUT');
    expect(p.state).toBe('has-no-permission');
    expect(clock.pending()).toBe(0);
  });

  it('queued: Queue Position Info resolves queued; the later Floor Granted gives permission', async () => {
    const { p, statuses } = setup();
    p.start();
    const r = p.request();
    p.receive({ type: 'floor-queue-position-info', queueInfo: { position: 2, priority: 0 } });
    expect(await r).toBe('queued');
    expect(p.status.queuePosition).toBe(2);
    p.receive({ type: 'floor-queue-position-info', queueInfo: { position: 1, priority: 0 } });
    expect(p.status).toMatchObject({ state: 'queued', queuePosition: 1 });
    p.receive({ type: 'floor-granted', duration: 30 });
    expect(p.status).toMatchObject({ state: 'has-permission', queuePosition: undefined });
    expect(statuses.map((s) => s.state)).toEqual(['has-no-permission', 'pending-request', 'queued', 'queued', 'has-permission']);
  });

  it('release: Floor Release resent on T100 until Floor Idle', () => {
    const { p, sent, clock } = setup({ t100: 500, c100: 3 });
    p.start();
    void p.request();
    p.receive({ type: 'floor-granted', duration: 30 });
    sent.length = 0;
    p.release();
    expect(p.state).toBe('pending-release');
    clock.advance(500);
    expect(sent).toEqual([{ type: 'floor-release' }, { type: 'floor-release' }]);
    p.receive({ type: 'floor-idle', messageSequenceNumber: 3 });
    expect(p.status).toEqual({ state: 'has-no-permission', talker: undefined, queuePosition: undefined });
    clock.advance(5000);
    expect(sent).toHaveLength(2);
  });

  it('release with no answer stops after C100 sends and gives up the floor locally', () => {
    const { p, sent, clock } = setup({ t100: 500, c100: 3 });
    p.start();
    void p.request();
    p.receive({ type: 'floor-granted', duration: 30 });
    sent.length = 0;
    p.release();
    clock.advance(5000);
    expect(sent.filter((m) => m.type === 'floor-release')).toHaveLength(3);
    expect(p.state).toBe('has-no-permission');
  });

  it('Floor Revoke: revoked event, media stops (Floor Release sent), then idle', async () => {
    const { p, sent } = setup();
    p.start();
    const revoked: unknown[] = [];
    p.on('revoked', (r) => revoked.push(r));
    void p.request();
    p.receive({ type: 'floor-granted', duration: 30 });
    sent.length = 0;
    p.receive({ type: 'floor-revoke', rejectCause: { cause: 2, text: 'Media burst too long' } });
    expect(revoked).toEqual([{ cause: 2, text: 'Media burst too long' }]);
    expect(p.state).toBe('pending-release');
    expect(sent).toEqual([{ type: 'floor-release' }]);
    p.receive({ type: 'floor-idle' });
    expect(p.state).toBe('has-no-permission');
  });

  it('answers Floor Ack when a message asks for one', () => {
    const { p, sent } = setup();
    p.start();
    p.receive({ type: 'floor-taken', ackRequired: true, grantedPartyId: 'sip:bob@example.org' });
    expect(sent).toEqual([{ type: 'floor-ack', source: 0, messageType: 'floor-taken' }]);
  });

  it('Floor Taken shows the talker (emergency flag included); T103 clears it when media stops', () => {
    const { p, clock } = setup({ t103: 4000 });
    p.start();
    p.receive({ type: 'floor-taken', grantedPartyId: 'sip:bob@example.org', floorIndicator: FLOOR_INDICATOR.NORMAL | FLOOR_INDICATOR.EMERGENCY });
    expect(p.status.talker).toEqual({ mcpttId: 'sip:bob@example.org', self: false, emergency: true });
    clock.advance(3000);
    p.mediaReceived();
    clock.advance(3000);
    expect(p.status.talker).toBeDefined();
    clock.advance(1000);
    expect(p.status.talker).toBeUndefined();
  });

  it('withdrawing a pending request rejects it with ERR_FLOOR_CANCELLED and sends Floor Release', async () => {
    const { p, sent } = setup();
    p.start();
    const r = p.request();
    p.release();
    expect((await rejection(r)).code).toBe('ERR_FLOOR_CANCELLED');
    expect(sent.map((m) => m.type)).toEqual(['floor-request', 'floor-release']);
  });

  it('stop() ends everything: pending request cancelled, no timer left', async () => {
    const { p, clock } = setup();
    p.start();
    const r = p.request();
    p.stop();
    expect((await rejection(r)).code).toBe('ERR_FLOOR_CANCELLED');
    expect(p.state).toBe('start-stop');
    expect(clock.pending()).toBe(0);
  });

  it('Floor Idle while we hold the floor: the arbitrator no longer forwards us, so we stop (fail closed)', () => {
    const { p } = setup();
    p.start();
    void p.request();
    p.receive({ type: 'floor-granted', duration: 30 });
    p.receive({ type: 'floor-idle' });
    expect(p.state).toBe('has-no-permission');
  });

  it('ignores messages not meant for this state and never throws from receive', () => {
    const { p, sent } = setup();
    p.start();
    p.receive({ type: 'floor-granted', duration: 30 }); // no request pending
    p.receive({ type: 'floor-revoke', rejectCause: { cause: 2 } });
    p.receive({ type: 'floor-request' });
    p.receive(null as unknown as MbcpMessage);
    p.receive({ type: 'nonsense' } as unknown as MbcpMessage);
    expect(p.state).toBe('has-no-permission');
    expect(sent).toEqual([]);
  });

  it('any sequence of inputs: only legal transitions, receive never throws, stop leaves no timer', () => {
    const inputs: fc.Arbitrary<MbcpMessage | 'request' | 'release' | 'advance' | 'media' | 'qpr'> = fc.oneof(
      fc.constantFrom('request' as const, 'release' as const, 'advance' as const, 'media' as const, 'qpr' as const),
      fc.constantFrom<MbcpMessage>(
        { type: 'floor-granted', duration: 30 },
        { type: 'floor-granted', duration: 30, ackRequired: true },
        { type: 'floor-deny', rejectCause: { cause: 1 } },
        { type: 'floor-taken', grantedPartyId: 'sip:x@y' },
        { type: 'floor-idle' },
        { type: 'floor-revoke', rejectCause: { cause: 4 } },
        { type: 'floor-queue-position-info', queueInfo: { position: 1, priority: 0 } },
        { type: 'floor-ack', source: 2, messageType: 'floor-idle' },
      ),
    );
    fc.assert(
      fc.property(fc.array(inputs, { maxLength: 40 }), (seq) => {
        const { p, clock, statuses } = setup();
        p.start();
        for (const i of seq) {
          if (i === 'request') p.request().catch(() => undefined);
          else if (i === 'release') p.release();
          else if (i === 'advance') clock.advance(700);
          else if (i === 'media') p.mediaReceived();
          else if (i === 'qpr') p.requestQueuePosition();
          else p.receive(i);
        }
        let prev = 'start-stop' as FloorStatus['state'];
        for (const s of statuses) {
          if (s.state !== prev) expect(FLOOR_PARTICIPANT_TRANSITIONS[prev]).toContain(s.state);
          if (s.state !== 'has-permission' && s.talker?.self) throw new Error('self talker without permission');
          prev = s.state;
        }
        p.stop();
        expect(clock.pending()).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('floor participant queue position', () => {
  it('254 (not queued) and 255 (not disclosed) show no position', async () => {
    const { p } = setup();
    p.start();
    const r = p.request();
    p.receive({ type: 'floor-queue-position-info', queueInfo: { position: 255, priority: 0 } });
    expect(await r).toBe('queued');
    expect(p.status).toMatchObject({ state: 'queued', queuePosition: undefined });
    p.receive({ type: 'floor-queue-position-info', queueInfo: { position: 3, priority: 0 } });
    expect(p.status.queuePosition).toBe(3);
  });
});
