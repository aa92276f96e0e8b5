/**
 * What the demo page says about the floor and the GMKs (demo/ui/floor-text.ts): TS 24.380
 * 6.2.4 participant states as a user reads them, talkers by display name only, refusal texts
 * without MCPTT IDs, and the GMK summary (active, next with activation time, revoked).
 */
import { describe, expect, it } from 'vitest';
import { floorText, gmkText, refusalText, summarizeGmks, talkerText } from '../../demo/ui/floor-text.js';
import type { FloorStatus } from '../../src/platform/group-calls/types.js';

const names: Record<string, string> = { 'sip:bob@mcptt.example': 'Bob (field)' };
const nameOf = (id: string | undefined): string => (id !== undefined ? names[id] : undefined) ?? 'an unknown member';
const status = (s: Partial<FloorStatus> & Pick<FloorStatus, 'state'>): FloorStatus => ({ talker: undefined, queuePosition: undefined, ...s });

describe('floor text', () => {
  it('names every participant state a user meets', () => {
    expect(floorText(undefined, nameOf)).toMatch(/^Not in the call/);
    expect(floorText(status({ state: 'has-no-permission' }), nameOf)).toBe('Idle: nobody is talking.');
    expect(floorText(status({ state: 'has-no-permission', talker: { mcpttId: 'sip:bob@mcptt.example', self: false, emergency: false } }), nameOf)).toBe('Taken by Bob (field).');
    expect(floorText(status({ state: 'pending-request' }), nameOf)).toMatch(/^Pending/);
    expect(floorText(status({ state: 'has-permission', talker: { mcpttId: undefined, self: true, emergency: true } }), nameOf)).toBe('Granted (emergency): you are talking.');
    expect(floorText(status({ state: 'queued', queuePosition: 2 }), nameOf)).toMatch(/^Queued #2/);
    expect(floorText(status({ state: 'pending-release' }), nameOf)).toMatch(/^Releasing/);
  });

  it('never shows a talker by MCPTT ID, even one not in the directory', () => {
    const s = status({ state: 'has-no-permission', talker: { mcpttId: 'sip:stranger@elsewhere.example', self: false, emergency: true } });
    expect(floorText(s, nameOf)).toBe('Taken by an unknown member (emergency).');
    expect(talkerText(s, nameOf)).toBe('Emergency: an unknown member is talking.');
    expect(talkerText(s, nameOf)).not.toContain('sip:');
  });

  it('shows a refusal reason with URIs in the arbitrator text replaced', () => {
    expect(refusalText('denied', { cause: 4, text: undefined })).toBe('Denied: cause 4.');
    const t = refusalText('revoked', { cause: 2, text: 'pre-empted by sip:chief@mcptt.example, priority' });
    expect(t).toBe('Revoked: the floor was taken away: pre-empted by a member, priority (cause 2).');
  });
});

describe('GMK summary', () => {
  const now = 1_000_000;
  const key = (keyId: string, o: { status?: 'active' | 'revoked'; activationTime?: number; expiryTime?: number; sentAt?: number } = {}) => ({
    keyId,
    status: o.status ?? 'active',
    activationTime: o.activationTime,
    expiryTime: o.expiryTime,
    sentAt: o.sentAt ?? 0,
  });

  it('tells the key in force from the next one and counts revoked ones', () => {
    const s = summarizeGmks(
      [key('0a000001', { activationTime: now - 5000 }), key('0a000002', { activationTime: now - 1000 }), key('0a000003', { activationTime: now + 60_000 }), key('0a000004', { status: 'revoked' })],
      now,
    );
    expect(s.active?.keyId).toBe('0a000002');
    expect(s.next?.keyId).toBe('0a000003');
    expect(s.revoked).toBe(1);
    expect(gmkText(s, () => '12:01:00')).toBe('GMK 0a000002 active; next 0a000003 from 12:01:00; 1 revoked');
  });

  it('says there is no media when every key is revoked, expired or not yet active', () => {
    const s = summarizeGmks([key('0a000001', { status: 'revoked' }), key('0a000002', { expiryTime: now - 1 }), key('0a000003', { activationTime: now + 10 })], now);
    expect(s.active).toBeUndefined();
    expect(gmkText(s, () => 't')).toBe('no active GMK: no media; next 0a000003 from t; 1 revoked');
  });
});
