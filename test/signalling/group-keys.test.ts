/**
 * The GMK processor of TS 33.179 7.3.2 step 2 / 5.6.1 C-5 (GroupKeyProcessor over a
 * KeyContext) without any network: all-or-nothing batches, the duplicate rule for
 * notifications versus the idempotent pull, revocations that stick, serialized batches,
 * a failing store answered 500; and the answer table of failure-status.ts.
 */
import { describe, expect, it } from 'vitest';

import { buildGmkNotificationBody } from '../../src/codec/sip-bodies.js';
import { MikeyError, SipError, StoreError } from '../../src/errors.js';
import { createKeyDistribution, newKeyId, type DistributedKeyKind, type ReceivedKey } from '../../src/keys/index.js';
import {
  GroupKeyProcessor,
  KEY_FAILURE_TABLE,
  KeyContext,
  keyFailureOf,
  PRIVATE_CALL_TRANSITIONS,
  SIGNALLING_SESSION_TRANSITIONS,
  assertPrivateCallTransition,
  type GroupKeyFailure,
  type GroupKeyInfo,
  type MediaKeyStore,
} from '../../src/platform/signalling/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const BOB = 'sip:bob@mcptt.example';
const GMS = 'sip:gms@mcptt.example';
const FIRE = 'sip:fire-ops@mcptt.example';
const kms = createTestKms('kms.mcptt.example', 11);
const P = kms.periodAt(Date.now());
const bob = kms.identity(BOB, [P]);
const gms = kms.identity(GMS, [P]);
const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const INFO = { method: 'MESSAGE' as const, event: undefined, calledPartyId: undefined };

/** A key store in memory, with a switch to make writes fail. */
function memoryStore(): MediaKeyStore & { failWrites: boolean; size(): number } {
  const keys = new Map<string, ReceivedKey>();
  const k = (kind: DistributedKeyKind, id: Uint8Array): string => `${kind}:${bytesToHex(id)}`;
  return {
    failWrites: false,
    size: () => keys.size,
    async putMediaKey(r) {
      if (this.failWrites) throw new StoreError('ERR_STORE_UNAVAILABLE', 'quota');
      keys.set(k(r.kind, r.keyId), r);
    },
    async getMediaKey(kind, id) {
      return keys.get(k(kind, id));
    },
    async mediaKeys(f = {}) {
      return [...keys.values()].filter((r) => (f.kind === undefined || r.kind === f.kind) && (f.groupId === undefined || r.groupIds.includes(f.groupId)));
    },
  };
}

function setup() {
  const store = memoryStore();
  const ctx = new KeyContext({ identity: () => bob, store, gmsUris: [GMS] });
  const keys: GroupKeyInfo[] = [];
  const refused: GroupKeyFailure[] = [];
  const processor = new GroupKeyProcessor(ctx, { onKey: (i) => keys.push(i), onRefused: (f) => refused.push(f) });
  return { store, ctx, processor, keys, refused };
}

const gmk = () => ({ key: rnd(16), keyId: newKeyId(0, rnd), rand: rnd(16) });
type Gmk = ReturnType<typeof gmk>;
const message = (g: Gmk, o: { revoked?: boolean; from?: typeof gms } = {}): Promise<Uint8Array> =>
  createKeyDistribution({
    kind: 'GMK',
    ...g,
    from: o.from ?? gms,
    to: { uri: BOB, kms: kms.params },
    time: Date.now(),
    parameters: { groupIds: [FIRE], ...(o.revoked ? { revoked: true } : {}) },
  });

describe('GroupKeyProcessor (TS 33.179 7.3.2, 5.6.1 C-5)', () => {
  it('stores every key of an accepted notification and answers 200; refuses a duplicate with 488', async () => {
    const { processor, store, keys, refused } = setup();
    const a = gmk();
    const b = gmk();
    const body = buildGmkNotificationBody({ groupId: FIRE, iMessages: [await message(a), await message(b)] });
    expect(await processor.handleNotification(body.body, body.contentType, GMS, INFO)).toEqual({ status: 200 });
    expect(keys.map((k) => k.gmkId)).toEqual([bytesToHex(a.keyId), bytesToHex(b.keyId)]);
    expect(store.size()).toBe(2);
    expect(await processor.handleNotification(body.body, body.contentType, GMS, INFO)).toEqual({ status: 488, reason: 'Duplicate Key' });
    expect(refused.at(-1)).toMatchObject({ code: 'ERR_MIKEY_DUPLICATE_KEY', messageIndex: 0, sipStatus: 488, failureClass: 'not-acceptable' });
    expect(store.size()).toBe(2);
  });

  it('stores nothing of a batch with one bad message, nor of a batch that repeats a GMK-ID', async () => {
    const { processor, store, refused } = setup();
    const impostor = kms.identity('sip:mallory@mcptt.example', [P]);
    expect((await processor.processGroup(FIRE, [await message(gmk()), await message(gmk(), { from: impostor })], 'notification')).ok).toBe(false);
    expect(refused.at(-1)).toMatchObject({ code: 'ERR_MIKEY_UNAUTHORIZED_INITIATOR', messageIndex: 1 });
    const g = gmk();
    const r = await processor.processGroup(FIRE, [await message(g), await message(g)], 'notification');
    expect(r.ok ? undefined : r.failure.code).toBe('ERR_MIKEY_DUPLICATE_KEY');
    expect(store.size()).toBe(0);
  });

  it('serializes batches: two copies of one GMK sent together give one 200 and one 488', async () => {
    const { processor, store } = setup();
    const m = await message(gmk());
    const results = await Promise.all([processor.processGroup(FIRE, [m], 'notification'), processor.processGroup(FIRE, [m], 'notification')]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(store.size()).toBe(1);
  });

  it('the pull treats held keys as unchanged, refuses a different key under a held GMK-ID, and never undoes a revocation', async () => {
    const { processor, store, keys } = setup();
    const g = gmk();
    const m = await message(g);
    expect(await processor.processPulled([{ groupId: FIRE, displayName: 'Fire', iMessages: [m] }])).toEqual({ ok: true, groups: [{ groupId: FIRE, displayName: 'Fire', outcome: 'stored' }] });
    expect(keys[0]).toMatchObject({ source: 'pull', status: 'active' });
    expect(await processor.processPulled([{ groupId: FIRE, displayName: 'Fire', iMessages: [m] }])).toEqual({ ok: true, groups: [{ groupId: FIRE, displayName: 'Fire', outcome: 'unchanged' }] });
    const clash = await message({ ...gmk(), keyId: g.keyId });
    // Another key under the GMK-ID already held.
    const r = await processor.processPulled([{ groupId: FIRE, displayName: 'Fire', iMessages: [clash] }]);
    expect(r.groups[0]).toEqual({ groupId: FIRE, displayName: 'Fire', outcome: 'refused', code: 'ERR_MIKEY_DUPLICATE_KEY' });
    expect(await processor.processGroup(FIRE, [await message(g, { revoked: true })], 'notification')).toMatchObject({ ok: true });
    expect((await store.getMediaKey('GMK', g.keyId))?.status).toBe('revoked');
    expect((await processor.processPulled([{ groupId: FIRE, displayName: 'Fire', iMessages: [m] }])).groups[0]!.outcome).toBe('unchanged');
    expect((await store.getMediaKey('GMK', g.keyId))?.status).toBe('revoked');
  });

  it('answers 500 when the store fails, 400/415 for a body that is not a notification, 480 without keys', async () => {
    const { processor, store, refused } = setup();
    store.failWrites = true;
    expect(await processor.processGroup(FIRE, [await message(gmk())], 'notification')).toMatchObject({ ok: false, failure: { status: 500, code: 'ERR_STORE_UNAVAILABLE' } });
    expect(await processor.handleNotification('--b\r\n', 'multipart/mixed;boundary=b', GMS, INFO)).toEqual({ status: 400, reason: 'Malformed Body' });
    expect(refused.at(-1)).toMatchObject({ groupId: undefined, code: 'ERR_SIP_BODY_MALFORMED' });
    expect(await processor.handleNotification('<x/>', 'application/xml', GMS, INFO)).toEqual({ status: 415, reason: 'Unsupported Body' });
    const keyless = new GroupKeyProcessor(new KeyContext({ identity: () => undefined, store, gmsUris: [GMS] }), { onKey: () => {}, onRefused: () => {} });
    expect(await keyless.processGroup(FIRE, [await message(gmk())], 'notification')).toMatchObject({ ok: false, failure: { status: 480, code: 'ERR_SIGNALLING_NO_IDENTITY' } });
  });
});

describe('failure answers and state tables', () => {
  it('maps each failure class to a status and a reason phrase the SIP agent will send', () => {
    const safe = /^[A-Za-z0-9 .,:;()'/-]{1,64}$/; // the SIP user agent's check on reason phrases
    for (const [code, row] of Object.entries(KEY_FAILURE_TABLE)) {
      expect({ code, ok: safe.test(row.reason) }).toEqual({ code, ok: true });
    }
    expect(keyFailureOf(new MikeyError('ERR_MIKEY_BAD_SIGNATURE', 'x'), 'notification')).toEqual({ code: 'ERR_MIKEY_BAD_SIGNATURE', failureClass: 'forbidden', status: 403, reason: 'Bad Signature' });
    expect(keyFailureOf(new MikeyError('ERR_MIKEY_BAD_SIGNATURE', 'x'), 'invite').status).toBe(488);
    expect(keyFailureOf(new SipError('ERR_SIP_BODY_TOO_LARGE', 'x'), 'notification').status).toBe(413);
    expect(keyFailureOf(new Error('boom'), 'notification')).toEqual({ code: 'ERR_UNKNOWN', failureClass: 'internal', status: 500, reason: 'Key Processing Failed' });
    expect(keyFailureOf(new Error('boom'), 'invite').status).toBe(500);
  });

  it('private call and session transitions are closed tables', () => {
    expect(() => assertPrivateCallTransition('ringing', 'established')).toThrow(expect.objectContaining({ code: 'ERR_SIGNALLING_INVALID_STATE' }));
    assertPrivateCallTransition('ringing', 'accepting');
    for (const final of ['ended', 'rejected', 'missed', 'failed'] as const) expect(PRIVATE_CALL_TRANSITIONS[final]).toEqual([]);
    expect(SIGNALLING_SESSION_TRANSITIONS.stopped).toEqual([]);
    expect(SIGNALLING_SESSION_TRANSITIONS.running).toEqual(['stopping']);
  });
});
