/**
 * The media key ring (src/media/key-ring.ts; TS 33.179 7.3.3 purpose tags, 7.3.6 / 7.4.4 MKI
 * and derivation): keys found by MKI, per-sender derivation, purpose refusal, activation-time
 * switching with a receive-only grace time, immediate revocation.
 */
import { describe, expect, it } from 'vitest';
import { decryptFrame, encryptFrame, parseFrame } from '../../src/codec/frame.js';
import { isMediaError } from '../../src/codec/frame-errors.js';
import { gukId, srtpMasterKeys, srtpSessionKeys } from '../../src/crypto/index.js';
import type { ReceivedKey } from '../../src/keys/receive.js';
import { createMediaKeyRing, type MediaKeyRing, type SendKey } from '../../src/media/key-ring.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';

const GROUP = 'sip:group-1@mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const BOB = 'sip:bob@mcptt.example';
const GMK = hexToBytes('5b6e3f0c8a1d4e7f92a3b4c5d6e7f801');
const GMK_ID = hexToBytes('0c3a5e71');
const GMK2 = hexToBytes('77777777777777777777777777777777');
const GMK2_ID = hexToBytes('0d000002');
const RAND = hexToBytes('a1b2c3d4e5f60718293a4b5c6d7e8f90');
const PCK = hexToBytes('c0ffee112233445566778899aabbccdd');
const PCK_ID = hexToBytes('1e2d3c4b');
const SID = hexToBytes('0102030405060708');

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v), advance: (d: number) => (t += d) };
}

function groupKey(ring: MediaKeyRing, mcpttId: string, gmk = GMK, gmkId = GMK_ID, activationTime?: number, expiryTime?: number): void {
  ring.addGroupKey({ groupId: GROUP, gmk, gmkId, gukId: gukId({ gmk, gmkId, mcpttId }), rand: RAND, activationTime, expiryTime });
}

async function roundTrip(send: SendKey, receiver: MediaKeyRing, index = 0): Promise<Uint8Array> {
  const frame = await encryptFrame(send, { mki: send.mki, streamId: SID, index }, Uint8Array.of(1, 2, 3));
  const parsed = parseFrame(frame);
  return decryptFrame(await receiver.receiveKey(parsed.mki), parsed);
}

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isMediaError(e) ? (e.code as string) : e).toBe(code);
}

describe('group keys', () => {
  it('a sender uses MKI = GMK-ID ‖ its GUK-ID and the key of 7.3.6; another member decrypts by MKI alone', async () => {
    const alice = createMediaKeyRing();
    const bob = createMediaKeyRing();
    groupKey(alice, ALICE);
    groupKey(bob, BOB);
    const [send] = await alice.sendKeys({ kind: 'group', groupId: GROUP });
    const aliceGuk = gukId({ gmk: GMK, gmkId: GMK_ID, mcpttId: ALICE });
    expect(bytesToHex(send!.mki)).toBe(bytesToHex(GMK_ID) + bytesToHex(aliceGuk));
    expect(send!.key.extractable).toBe(false);
    expect(send!.key.usages).toEqual(['encrypt']);
    // Same session salt as the spec derivation: CSB-ID = the sender's GUK-ID, CS-ID 4.
    const session = await srtpSessionKeys(srtpMasterKeys({ tgk: GMK, csId: 4, csbId: aliceGuk, rand: RAND }));
    expect(bytesToHex(send!.salt)).toBe(bytesToHex(session.srtp.salt));
    expect([...(await roundTrip(send!, bob))]).toEqual([1, 2, 3]);
    const rk = await bob.receiveKey(send!.mki);
    expect(rk.key.extractable).toBe(false);
    expect(rk.key.usages).toEqual(['decrypt']);
  });

  it('each sender has its own key: bob cannot pass for alice', async () => {
    const alice = createMediaKeyRing();
    const bob = createMediaKeyRing();
    groupKey(alice, ALICE);
    groupKey(bob, BOB);
    const [a] = await alice.sendKeys({ kind: 'group', groupId: GROUP });
    const [b] = await bob.sendKeys({ kind: 'group', groupId: GROUP });
    expect(bytesToHex(a!.salt)).not.toBe(bytesToHex(b!.salt));
    // Bob's frame relabelled with alice's MKI does not authenticate.
    const frame = await encryptFrame(b!, { mki: a!.mki, streamId: SID, index: 0 }, Uint8Array.of(9));
    await rejects(decryptFrame(await alice.receiveKey(a!.mki), parseFrame(frame)), 'ERR_MEDIA_AUTH_FAILED');
  });

  it('an unknown GMK-ID, a malformed MKI and a GUK-ID with another purpose tag are refused', async () => {
    const ring = createMediaKeyRing();
    groupKey(ring, BOB);
    await rejects(ring.receiveKey(hexToBytes('0fffffff01234567')), 'ERR_MEDIA_UNKNOWN_KEY');
    await rejects(ring.receiveKey(new Uint8Array(6)), 'ERR_MEDIA_MALFORMED');
    await rejects(ring.receiveKey(Uint8Array.of(...GMK_ID, 0x11, 0, 0, 0)), 'ERR_MEDIA_MALFORMED');
  });

  it('the next GMK is handed out ahead with its activation time; sending switches at it; the old one decrypts for the grace time', async () => {
    const t = clock(1_000_000);
    const alice = createMediaKeyRing({ now: t.now, graceMs: 30_000 });
    const bob = createMediaKeyRing({ now: t.now, graceMs: 30_000 });
    for (const [ring, id] of [[alice, ALICE], [bob, BOB]] as const) {
      groupKey(ring, id, GMK, GMK_ID);
      groupKey(ring, id, GMK2, GMK2_ID, 1_010_000);
    }
    const before = await alice.sendKeys({ kind: 'group', groupId: GROUP });
    expect(before.map((k) => [bytesToHex(k.mki.subarray(0, 4)), k.activeFrom])).toEqual([
      ['0c3a5e71', 0],
      ['0d000002', 1_010_000],
    ]);
    t.set(1_010_000);
    const after = await alice.sendKeys({ kind: 'group', groupId: GROUP });
    expect(after.map((k) => bytesToHex(k.mki.subarray(0, 4)))).toEqual(['0d000002']);
    // The superseded key still decrypts late frames, until activation + grace.
    const old = before[0]!;
    expect([...(await roundTrip(old, bob))]).toEqual([1, 2, 3]);
    expect((await bob.receiveKey(old.mki)).receiveUntil).toBe(1_040_000);
    t.set(1_040_000);
    await rejects(bob.receiveKey(old.mki), 'ERR_MEDIA_KEY_EXPIRED');
    bob.prune();
    await rejects(bob.receiveKey(old.mki), 'ERR_MEDIA_UNKNOWN_KEY');
    expect([...(await roundTrip(after[0]!, bob))]).toEqual([1, 2, 3]);
  });

  it('an expired GMK is not used for sending (fail closed) and decrypts only for the grace time', async () => {
    const t = clock(1_000_000);
    const ring = createMediaKeyRing({ now: t.now, graceMs: 1000 });
    groupKey(ring, ALICE, GMK, GMK_ID, undefined, 1_000_500);
    const [k] = await ring.sendKeys({ kind: 'group', groupId: GROUP });
    expect(k!.activeUntil).toBe(1_000_500);
    t.set(1_000_500);
    expect(await ring.sendKeys({ kind: 'group', groupId: GROUP })).toEqual([]);
  });

  it('of two GMKs with the same activation time, the one added later takes over', async () => {
    const ring = createMediaKeyRing();
    groupKey(ring, ALICE, GMK, GMK_ID);
    groupKey(ring, ALICE, GMK2, GMK2_ID);
    const keys = await ring.sendKeys({ kind: 'group', groupId: GROUP });
    expect(keys.map((k) => bytesToHex(k.mki.subarray(0, 4)))).toEqual(['0d000002']);
  });
});

describe('purpose tags', () => {
  it('a floor-only GMK (ts33179-v13 tag 2) never protects media', async () => {
    const ring = createMediaKeyRing({ profile: 'ts33179-v13' });
    const floorOnly = hexToBytes('2a000001');
    expect(() => groupKey(ring, ALICE, GMK, floorOnly)).toThrow(expect.objectContaining({ code: 'ERR_MEDIA_WRONG_PURPOSE' }));
    // Tag 1 (media only) is fine in that profile; so is tag 0 (all).
    groupKey(ring, ALICE, GMK, hexToBytes('1a000001'));
    expect(await ring.sendKeys({ kind: 'group', groupId: GROUP })).toHaveLength(1);
  });

  it('a PCK-tagged ID given as a GMK, a GMK-tagged ID as a PCK, a CSK, are refused (ts33180)', () => {
    const ring = createMediaKeyRing();
    expect(() => groupKey(ring, ALICE, GMK, hexToBytes('1a000001'))).toThrow(expect.objectContaining({ code: 'ERR_MEDIA_WRONG_PURPOSE' }));
    expect(() => ring.addPrivateCallKey({ callId: 'c', pck: PCK, pckId: GMK_ID, rand: RAND, role: 'initiator' })).toThrow(
      expect.objectContaining({ code: 'ERR_MEDIA_WRONG_PURPOSE' }),
    );
    const csk = { kind: 'CSK', key: PCK, keyId: hexToBytes('2a000001'), status: 'active' } as unknown as ReceivedKey;
    expect(() => ring.addReceivedKey(csk)).toThrow(expect.objectContaining({ code: 'ERR_MEDIA_WRONG_PURPOSE' }));
    expect(ring.contexts()).toEqual([]);
  });
});

describe('private call keys', () => {
  it('each direction has its own key (CS-ID 0 / 1); the MKI is the PCK-ID', async () => {
    const caller = createMediaKeyRing();
    const callee = createMediaKeyRing();
    caller.addPrivateCallKey({ callId: 'call-1', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'initiator' });
    callee.addPrivateCallKey({ callId: 'call-1', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'receiver' });
    const [up] = await caller.sendKeys({ kind: 'private', callId: 'call-1' });
    const [down] = await callee.sendKeys({ kind: 'private', callId: 'call-1' });
    expect(bytesToHex(up!.mki)).toBe(bytesToHex(PCK_ID));
    const s0 = await srtpSessionKeys(srtpMasterKeys({ tgk: PCK, csId: 0, csbId: PCK_ID, rand: RAND }));
    expect(bytesToHex(up!.salt)).toBe(bytesToHex(s0.srtp.salt));
    expect([...(await roundTrip(up!, callee))]).toEqual([1, 2, 3]);
    expect([...(await roundTrip(down!, caller))]).toEqual([1, 2, 3]);
    // A frame reflected back to its sender does not decrypt: the directions do not share a key.
    const frame = parseFrame(await encryptFrame(up!, { mki: up!.mki, streamId: SID, index: 0 }, Uint8Array.of(1)));
    await rejects(decryptFrame(await caller.receiveKey(up!.mki), frame), 'ERR_MEDIA_AUTH_FAILED');
  });

  it('from a ReceivedKey record with the role of this side', async () => {
    const ring = createMediaKeyRing();
    const rec = { kind: 'PCK', key: PCK, keyId: PCK_ID, rand: RAND, status: 'active', expiryTime: undefined, groupIds: [] } as unknown as ReceivedKey;
    expect(() => ring.addReceivedKey(rec)).toThrow(TypeError);
    ring.addReceivedKey(rec, { callId: 'call-9', role: 'receiver' });
    expect(await ring.sendKeys({ kind: 'private', callId: 'call-9' })).toHaveLength(1);
  });
});

describe('revocation and conflicts', () => {
  it('a revoked key is removed at once, with its derived session keys', async () => {
    const ring = createMediaKeyRing();
    groupKey(ring, ALICE);
    const [k] = await ring.sendKeys({ kind: 'group', groupId: GROUP });
    await ring.receiveKey(k!.mki); // cached
    expect(ring.revoke(GMK_ID)).toBe(true);
    await rejects(ring.receiveKey(k!.mki), 'ERR_MEDIA_UNKNOWN_KEY');
    expect(await ring.sendKeys({ kind: 'group', groupId: GROUP })).toEqual([]);
    expect(ring.revoke(GMK_ID)).toBe(false);
  });

  it('a ReceivedKey with status revoked removes the key', async () => {
    const ring = createMediaKeyRing();
    groupKey(ring, ALICE);
    ring.addReceivedKey({ kind: 'GMK', keyId: GMK_ID, status: 'revoked' } as unknown as ReceivedKey);
    expect(ring.contexts()).toEqual([]);
  });

  it('another key under a held key ID is a conflict; the same key again is an update', async () => {
    const t = clock();
    const ring = createMediaKeyRing({ now: t.now });
    groupKey(ring, ALICE);
    expect(() => groupKey(ring, ALICE, GMK2, GMK_ID)).toThrow(expect.objectContaining({ code: 'ERR_MEDIA_KEY_CONFLICT' }));
    groupKey(ring, ALICE, GMK, GMK_ID, undefined, t.now() + 5000);
    const [k] = await ring.sendKeys({ kind: 'group', groupId: GROUP });
    expect(k!.activeUntil).toBe(t.now() + 5000);
  });

  it('removing a context returns the key IDs it held', () => {
    const ring = createMediaKeyRing();
    groupKey(ring, ALICE);
    ring.addPrivateCallKey({ callId: 'c', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'initiator' });
    expect(ring.removeContext({ kind: 'group', groupId: GROUP }).map(bytesToHex)).toEqual(['0c3a5e71']);
    expect(ring.contexts()).toEqual([{ kind: 'private', callId: 'c' }]);
  });

  it('input misuse is a TypeError/RangeError', () => {
    const ring = createMediaKeyRing();
    expect(() => ring.addGroupKey({ groupId: '', gmk: GMK, gmkId: GMK_ID, gukId: GMK_ID, rand: RAND })).toThrow(TypeError);
    expect(() => ring.addGroupKey({ groupId: GROUP, gmk: GMK, gmkId: GMK_ID, gukId: GMK_ID, rand: new Uint8Array(8) })).toThrow(RangeError);
    expect(() => ring.addGroupKey({ groupId: GROUP, gmk: new Uint8Array(15), gmkId: GMK_ID, gukId: GMK_ID, rand: RAND })).toThrow(RangeError);
    expect(() => ring.revoke(new Uint8Array(8))).toThrow(RangeError);
  });
});

describe('many groups (a dispatcher in 100+ groups)', () => {
  const gmkIdOf = (i: number): Uint8Array => Uint8Array.of(0x0a, 0, (i >> 8) & 0xff, i & 0xff);
  const gmkOf = (i: number): Uint8Array => new Uint8Array(16).fill(i & 0xff);
  const addFor = (ring: MediaKeyRing, i: number, expiryTime?: number): void => {
    const gmk = gmkOf(i);
    const gmkId = gmkIdOf(i);
    ring.addGroupKey({ groupId: `sip:g${i}@mcptt.example`, gmk, gmkId, gukId: gukId({ gmk, gmkId, mcpttId: ALICE }), rand: RAND, expiryTime });
  };

  it("each group's sender gets its own key only, and a key moved to another group leaves the first one", async () => {
    const ring = createMediaKeyRing();
    for (let i = 0; i < 120; i++) addFor(ring, i);
    expect(ring.contexts()).toHaveLength(120);
    for (const i of [0, 57, 119]) {
      const keys = await ring.sendKeys({ kind: 'group', groupId: `sip:g${i}@mcptt.example` });
      expect(keys.map((k) => bytesToHex(k.mki.subarray(0, 4)))).toEqual([bytesToHex(gmkIdOf(i))]);
    }
    // The same key again under another group: it moves (the old group holds nothing now).
    const gmk = gmkOf(3);
    ring.addGroupKey({ groupId: 'sip:moved@mcptt.example', gmk, gmkId: gmkIdOf(3), gukId: gukId({ gmk, gmkId: gmkIdOf(3), mcpttId: ALICE }), rand: RAND });
    expect(await ring.sendKeys({ kind: 'group', groupId: 'sip:g3@mcptt.example' })).toEqual([]);
    expect(ring.contexts()).toHaveLength(120);
    expect(ring.removeContext({ kind: 'group', groupId: 'sip:moved@mcptt.example' }).map(bytesToHex)).toEqual([bytesToHex(gmkIdOf(3))]);
  });

  it('prune drops only keys past their grace time and names the groups that lost one', async () => {
    const c = clock();
    const ring = createMediaKeyRing({ now: c.now, graceMs: 1000 });
    for (let i = 0; i < 50; i++) addFor(ring, i, i % 10 === 0 ? c.now() + 500 : undefined);
    expect(ring.prune()).toEqual([]);
    c.advance(1600);
    const pruned = ring.prune().map((x) => (x as { groupId: string }).groupId);
    expect(pruned.sort()).toEqual([0, 10, 20, 30, 40].map((i) => `sip:g${i}@mcptt.example`).sort());
    expect(ring.contexts()).toHaveLength(45);
    await rejects(ring.receiveKey(Uint8Array.of(...gmkIdOf(10), ...gukId({ gmk: gmkOf(10), gmkId: gmkIdOf(10), mcpttId: BOB }))), 'ERR_MEDIA_UNKNOWN_KEY');
  });
});
