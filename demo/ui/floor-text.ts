/**
 * What the page says about the floor (TS 24.380 6.2.4 floor participant states, as the
 * GroupCall contract reports them) and about a group's GMKs (TS 33.179 7.3: active, next with
 * its activation time, revoked). Pure: the panels and the unit tests share it.
 */
import type { FloorRefusal, FloorStatus } from '../../src/platform/group-calls/types.js';

export type NameOf = (mcpttId: string | undefined) => string;

/** One line for the floor live region; the talker by display name, never by MCPTT ID. */
export function floorText(s: FloorStatus | undefined, nameOf: NameOf): string {
  if (s === undefined || s.state === 'start-stop') return 'Not in the call: monitor the group to talk.';
  const emergency = s.talker?.emergency ? ' (emergency)' : '';
  switch (s.state) {
    case 'has-permission':
      return `Granted${emergency}: you are talking.`;
    case 'pending-request':
      return 'Pending: asking for the floor…';
    case 'pending-release':
      return 'Releasing the floor…';
    case 'queued':
      return `Queued #${s.queuePosition ?? '?'}: you talk when the floor is free.`;
    case 'has-no-permission':
      if (s.talker === undefined) return 'Idle: nobody is talking.';
      return s.talker.self ? `Granted${emergency}: you are talking.` : `Taken by ${nameOf(s.talker.mcpttId)}${emergency}.`;
  }
}

/** Who talks in a group, for its row and the talker live region. */
export function talkerText(s: FloorStatus | undefined, nameOf: NameOf): string {
  const t = s?.talker;
  if (t === undefined) return 'Nobody is talking.';
  const who = t.self ? 'You are' : `${nameOf(t.mcpttId)} is`;
  return `${t.emergency ? 'Emergency: ' : ''}${who} talking.`;
}

/**
 * A refusal's reason. The text comes from the arbitrator: it is shown as plain text with any
 * SIP/MCPTT URI replaced, because the page never renders an MCPTT ID.
 */
export function refusalText(kind: 'denied' | 'revoked', r: FloorRefusal): string {
  const why = r.text === undefined || r.text.trim() === '' ? `cause ${r.cause}` : `${r.text.replace(/\b(?:sips?|tel):[^\s,;>)]+/gi, 'a member').slice(0, 120)} (cause ${r.cause})`;
  return kind === 'denied' ? `Denied: ${why}.` : `Revoked: the floor was taken away: ${why}.`;
}

export interface GmkSummaryKey {
  readonly keyId: string;
  readonly status: 'active' | 'revoked';
  readonly activationTime: number | undefined;
  readonly expiryTime: number | undefined;
  readonly sentAt: number;
}

export interface GmkSummary {
  /** The GMK media is protected with now. */
  readonly active: GmkSummaryKey | undefined;
  /** The next GMK, held ahead of its activation time. */
  readonly next: GmkSummaryKey | undefined;
  readonly revoked: number;
}

export function summarizeGmks(keys: readonly GmkSummaryKey[], now: number): GmkSummary {
  const usable = keys.filter((k) => k.status === 'active' && (k.expiryTime === undefined || k.expiryTime > now));
  const started = usable.filter((k) => (k.activationTime ?? 0) <= now);
  const pending = usable.filter((k) => (k.activationTime ?? 0) > now);
  // The most recently activated key is in force (ties: the later sent one).
  const active = started.sort((a, b) => (b.activationTime ?? 0) - (a.activationTime ?? 0) || b.sentAt - a.sentAt)[0];
  const next = pending.sort((a, b) => (a.activationTime ?? 0) - (b.activationTime ?? 0))[0];
  return { active, next, revoked: keys.filter((k) => k.status === 'revoked').length };
}

export function gmkText(s: GmkSummary, formatTime: (ms: number) => string): string {
  const parts: string[] = [];
  parts.push(s.active ? `GMK ${s.active.keyId} active` : 'no active GMK: no media');
  if (s.next) parts.push(`next ${s.next.keyId} from ${formatTime(s.next.activationTime ?? 0)}`);
  if (s.revoked > 0) parts.push(`${s.revoked} revoked`);
  return parts.join('; ');
}
