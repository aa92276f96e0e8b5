/**
 * The dev GMS's group key lifecycle (demo/server/mcptt-server/gms.ts) in process: TS 33.179
 * 7.3.1 (GMK, GMK-ID with purpose tag 0, one RAND for every member, signed as the GMS),
 * 7.3.2 (revocation) and the RFC 5275 mapping (assign, add without rekey, delete → rekey,
 * rekey, compromise → revoke). The SIP and HTTP sides are in mcptt-server.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { createGroupKeyManager, GmsError } from '../../demo/server/mcptt-server/gms.js';
import { createMikeyKeyReceiver } from '../../src/keys/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const GMS = 'sip:gms@mcptt.example';
const G = 'sip:fire-ops@mcptt.example';
const A = 'sip:alice@mcptt.example';
const B = 'sip:bob@mcptt.example';
const C = 'sip:carol@mcptt.example';
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

function setup(groups = [{ groupId: G, displayName: 'Fire ops', members: [A, B] }]) {
  const kms = createTestKms('kms.mcptt.example');
  let t = T0;
  const p = kms.periodAt(T0);
  const gms = createGroupKeyManager({ gms: kms.identity(GMS, [p]), memberKms: kms.params, groups, now: () => t, rekeyActivationDelayMs: 4_000 });
  const receiver = (uri: string) => createMikeyKeyReceiver({ self: kms.identity(uri, [p]), gmsUris: [GMS], now: () => t });
  return { gms, receiver, advance: (ms: number) => (t += ms) };
}

describe('group key manager (RFC 5275 lifecycle on GMKs)', () => {
  it('assigns every group a first GMK, active at once, with purpose tag 0', () => {
    const { gms } = setup();
    const k = gms.current(G)!;
    expect(k.key).toHaveLength(16);
    expect(k.rand).toHaveLength(16);
    expect(k.keyId[0]! >>> 4).toBe(0);
    expect(k.activationTime).toBe(T0);
    expect(k.generation).toBe(1);
    expect(gms.displayName(G)).toBe('Fire ops');
    expect(gms.groupsOf(A)).toEqual([G]);
  });

  it('gives every member the same GMK, GMK-ID and RAND, each under its own GUK-ID, signed as the GMS', async () => {
    const { gms, receiver } = setup();
    const k = gms.current(G)!;
    const [ma, mb] = await gms.iMessages(k, [A, B]);
    const ra = await receiver(A).receive(ma!, 'GMK', { groupId: G });
    const rb = await receiver(B).receive(mb!, 'GMK', { groupId: G });
    for (const r of [ra, rb]) {
      expect(bytesToHex(r.key)).toBe(bytesToHex(k.key));
      expect(bytesToHex(r.keyId)).toBe(bytesToHex(k.keyId));
      expect(bytesToHex(r.rand)).toBe(bytesToHex(k.rand));
      expect(r.initiator.uri).toBe(GMS);
      expect(r.groupIds).toEqual([G]);
      expect(r.activationTime).toBe(T0);
      expect(r.status).toBe('active');
    }
    expect(bytesToHex(ra.gukId!)).not.toBe(bytesToHex(rb.gukId!));
    // A message for alice is not for bob.
    await expect(receiver(B).receive(ma!, 'GMK')).rejects.toMatchObject({ code: 'ERR_MIKEY_NOT_FOR_US' });
  });

  it('adds without rekeying, removes with a rekey whose activation lies ahead', () => {
    const { gms, advance } = setup();
    const first = gms.current(G)!;
    expect(gms.addMember(G, C)).toBe(first);
    expect(gms.members(G)).toEqual([A, B, C]);
    advance(1_000);
    const next = gms.removeMember(G, B)!;
    expect(next.generation).toBe(2);
    expect(bytesToHex(next.keyId)).not.toBe(bytesToHex(first.keyId));
    expect(bytesToHex(next.rand)).not.toBe(bytesToHex(first.rand));
    expect(next.activationTime).toBe(T0 + 1_000 + 4_000);
    expect(gms.current(G)).toBe(next);
    expect(gms.isMember(G, B)).toBe(false);
  });

  it('revokes: the key can be announced revoked under the same GMK-ID; a later rekey is active at once', async () => {
    const { gms, receiver, advance } = setup();
    const k = gms.current(G)!;
    expect(gms.revoke(G)).toBe(k);
    expect(gms.current(G)).toBeUndefined();
    expect(gms.revoke(G)).toBeUndefined();
    const r = await receiver(A).receive(await gms.iMessage(k, A, { revoked: true }), 'GMK', { groupId: G });
    expect(r.status).toBe('revoked');
    expect(bytesToHex(r.keyId)).toBe(bytesToHex(k.keyId));
    advance(10);
    const again = gms.rekey(G);
    expect(again.activationTime).toBe(T0 + 10);
    // A removal while no GMK is in force has nothing to replace.
    gms.revoke(G);
    expect(gms.removeMember(G, A)).toBeUndefined();
  });

  it('never reuses a GMK-ID within a group', () => {
    // randomBytes that keeps proposing the same GMK-ID until the fourth draw.
    const kms = createTestKms('kms.mcptt.example');
    let idDraws = 0;
    const randomBytes = (n: number): Uint8Array => {
      if (n === 4) return idDraws++ < 3 ? new Uint8Array([1, 2, 3, 4]) : new Uint8Array([1, 2, 3, 5]);
      return crypto.getRandomValues(new Uint8Array(n));
    };
    const gms = createGroupKeyManager({ gms: kms.identity(GMS, [kms.periodAt(Date.now())]), memberKms: kms.params, groups: [{ groupId: G, members: [A] }], randomBytes });
    const first = bytesToHex(gms.current(G)!.keyId);
    expect(bytesToHex(gms.rekey(G).keyId)).not.toBe(first);
  });

  it('refuses unknown groups, double adds, removals of non-members and malformed identities', () => {
    const { gms } = setup();
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
        return undefined;
      } catch (e) {
        return e instanceof GmsError ? e.code : String(e);
      }
    };
    expect(code(() => gms.rekey('sip:nope@mcptt.example'))).toBe('ERR_GMS_UNKNOWN_GROUP');
    expect(code(() => gms.addMember(G, A))).toBe('ERR_GMS_ALREADY_A_MEMBER');
    expect(code(() => gms.removeMember(G, C))).toBe('ERR_GMS_NOT_A_MEMBER');
    expect(code(() => gms.addMember(G, 'alice'))).toBe('ERR_GMS_BAD_IDENTITY');
    expect(code(() => gms.addMember(G, 'sip:a@b\r\nX: y'))).toBe('ERR_GMS_BAD_IDENTITY');
    expect(() => setup([{ groupId: G, displayName: 'x', members: [] }, { groupId: G, displayName: 'y', members: [] }])).toThrow(RangeError);
  });
});
