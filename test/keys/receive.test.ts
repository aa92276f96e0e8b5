/**
 * I_MESSAGE processing (TS 33.179 7.3.1/7.4.1/9.1.3.3, Annex E): what the SDK accepts from
 * what it creates, and a distinct typed error for every way a message can be wrong.
 */
import { describe, expect, it } from 'vitest';
import { eccsiSign, srtpMasterKeys } from '../../src/crypto/index.js';
import { decodeIMessage, encodeIMessage, type MikeyPayload } from '../../src/codec/mikey/index.js';
import { isMcpttError, type MikeyErrorCode } from '../../src/errors.js';
import {
  createKeyDistribution,
  createMemoryReplayCache,
  createMikeyKeyReceiver,
  keyProfile,
  staticIdentity,
  type KeyDistributionInput,
  type LocalIdentity,
  type MikeyReceiverOptions,
} from '../../src/keys/index.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const kms = createTestKms();
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const PERIOD = kms.periodAt(NOW);
const GMS = 'sip:gms@mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const BOB = 'sip:bob@mcptt.example';
const CAROL = 'sip:carol@mcptt.example';
const MDSI = 'sip:mdsi@mcptt.example';
const GROUP = 'sip:fire-ops@mcptt.example';

const gms = kms.identity(GMS, [PERIOD]);
const alice = kms.identity(ALICE, [PERIOD]);
const bob = kms.identity(BOB, [PERIOD]);
const carol = kms.identity(CAROL, [PERIOD]);
const mdsi = kms.identity(MDSI, [PERIOD]);

const GMK = hexToBytes('00112233445566778899aabbccddeeff');
const GMK_ID = hexToBytes('0a1b2c3d'); // tag 0: GMK
const PCK = hexToBytes('ffeeddccbbaa99887766554433221100');
const PCK_ID = hexToBytes('1cafe001'); // tag 1: PCK
const CSK = hexToBytes('0f0e0d0c0b0a09080706050403020100');
const CSK_ID = hexToBytes('2dead0ff'); // tag 2: CSK
const RAND = hexToBytes('5a5a5a5a000000001111111122222222');

function gmkFor(to: LocalIdentity, extra: Partial<KeyDistributionInput> = {}): Promise<Uint8Array> {
  return createKeyDistribution({
    kind: 'GMK',
    key: GMK,
    keyId: GMK_ID,
    rand: RAND,
    from: gms,
    to: { uri: to.uri, kms: kms.params },
    time: NOW,
    parameters: { groupIds: [GROUP], activationTime: NOW + 60_000, text: 'shift B' },
    ...extra,
  });
}

function receiverFor(self: LocalIdentity, extra: Partial<MikeyReceiverOptions> = {}) {
  return createMikeyKeyReceiver({ self, now: () => NOW, gmsUris: [GMS], ...extra });
}

async function refusal(p: Promise<unknown>): Promise<MikeyErrorCode | 'accepted' | 'other'> {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    return isMcpttError(e) ? (e.code as MikeyErrorCode) : 'other';
  }
}

/** Re-signs a modified payload list with the GMS keys: a message whose signature is valid. */
function resignedByGms(message: Uint8Array, edit: (ps: MikeyPayload[]) => MikeyPayload[]): Uint8Array {
  const m = decodeIMessage(message);
  const pending = encodeIMessage({ header: m.header, payloads: edit(m.payloads.filter((p) => p.kind !== 'SIGN')) });
  const keys = gms.keysForPeriod(PERIOD)!;
  return pending.finish(eccsiSign(pending.toSign, { id: keys.uid, ssk: keys.ssk, pvt: keys.pvt, kpak: kms.params.kpak }));
}

describe('GMK distribution (E.2)', () => {
  it('a member gets the GMK, GMK-ID, its GUK-ID, the RAND and the parameters', async () => {
    const r = await receiverFor(alice).receive(await gmkFor(alice), 'GMK', { groupId: GROUP });
    expect(bytesToHex(r.key)).toBe(bytesToHex(GMK));
    expect(bytesToHex(r.keyId)).toBe(bytesToHex(GMK_ID));
    expect(r.gukId).toBeDefined();
    expect(bytesToHex(r.gukId!)).not.toBe(bytesToHex(GMK_ID)); // salted per user
    expect(bytesToHex(r.rand)).toBe(bytesToHex(RAND));
    expect(r.groupIds).toEqual([GROUP]);
    expect(r.activationTime).toBe(NOW + 60_000);
    expect(r.text).toBe('shift B');
    expect(r.status).toBe('active');
    expect(r.purpose).toMatchObject({ tag: 0, kind: 'GMK' });
    expect(r.initiator.uri).toBe(GMS);
    expect(r.keyPeriodNo).toBe(PERIOD);
    expect(r.keyPeriodEndsAt).toBeGreaterThan(NOW);
  });

  it('all members derive the same SRTP master key for a given sender', async () => {
    const [a, b] = await Promise.all([
      gmkFor(alice).then((m) => receiverFor(alice).receive(m, 'GMK')),
      gmkFor(bob).then((m) => receiverFor(bob).receive(m, 'GMK')),
    ]);
    const csId = keyProfile('ts33180').csId.group;
    // Alice sends with her GUK-ID; Bob recomputes Alice's GUK-ID from the GMK and her MCPTT ID.
    const { gukId } = await import('../../src/crypto/index.js');
    const aliceGukAtBob = gukId({ gmk: b.key, gmkId: b.keyId, mcpttId: ALICE });
    expect(bytesToHex(aliceGukAtBob)).toBe(bytesToHex(a.gukId!));
    const atAlice = srtpMasterKeys({ tgk: a.key, csId, csbId: a.gukId!, rand: a.rand });
    const atBob = srtpMasterKeys({ tgk: b.key, csId, csbId: aliceGukAtBob, rand: b.rand });
    expect(bytesToHex(atBob.masterKey)).toBe(bytesToHex(atAlice.masterKey));
    expect(bytesToHex(atBob.masterSalt)).toBe(bytesToHex(atAlice.masterSalt));
  });

  it('works with identities hidden behind UIDs (E.7)', async () => {
    const m = await gmkFor(alice, { hideIdentities: true });
    expect(decodeIMessage(m).idrs.map((i) => i.role)).toEqual([8, 9, 6, 7]);
    const r = await receiverFor(alice).receive(m, 'GMK');
    expect(bytesToHex(r.key)).toBe(bytesToHex(GMK));
    expect(r.initiator.uri).toBeUndefined();
  });

  it('revocation by the Status field is reported, and may reuse a held GMK-ID', async () => {
    const m = await gmkFor(alice, { parameters: { groupIds: [GROUP], revoked: true } });
    const r = await receiverFor(alice, { existingKey: () => ({ key: GMK }) }).receive(m, 'GMK');
    expect(r.status).toBe('revoked');
  });

  it('the TS 33.179 v13 profile round-trips E.6 parameters, and a zero GMK revokes', async () => {
    const v13 = keyProfile('ts33179-v13');
    expect(v13.purposes[0]?.kind).toBe('GMK');
    const m = await gmkFor(alice, { profile: 'ts33179-v13' });
    const r = await receiverFor(alice, { profile: 'ts33179-v13' }).receive(m, 'GMK', { groupId: GROUP });
    expect(r.groupIds).toEqual([GROUP]);
    expect(r.activationTime).toBe(NOW + 60_000);
    expect(r.status).toBe('active');
    const zero = await gmkFor(alice, { profile: 'ts33179-v13', key: new Uint8Array(16) });
    expect((await receiverFor(alice, { profile: 'ts33179-v13' }).receive(zero, 'GMK')).status).toBe('revoked');
    // The same message read under the other profile has no parameters it understands.
    expect(await refusal(receiverFor(alice).receive(m, 'GMK'))).toBe('ERR_MIKEY_BAD_GMK_PARAMETERS');
  });
});

describe('PCK distribution (E.3) and CSK distribution (E.4)', () => {
  const pck = (extra: Partial<KeyDistributionInput> = {}) =>
    createKeyDistribution({ kind: 'PCK', key: PCK, keyId: PCK_ID, rand: RAND, from: alice, to: { uri: BOB, kms: kms.params }, time: NOW, ...extra });

  it('the callee gets the PCK and the verified caller', async () => {
    const r = await receiverFor(bob).receive(await pck(), 'PCK');
    expect(bytesToHex(r.key)).toBe(bytesToHex(PCK));
    expect(bytesToHex(r.keyId)).toBe(bytesToHex(PCK_ID));
    expect(r.gukId).toBeUndefined();
    expect(r.initiator.uri).toBe(ALICE);
    expect(r.purpose.kind).toBe('PCK');
  });

  it("the caller's other device reads the SAKKE-to-self copy (E.5); others cannot", async () => {
    const m = await pck({ sakkeToSelf: true });
    const r = await receiverFor(alice).receive(m, 'PCK');
    expect(r.viaSakkeToSelf).toBe(true);
    expect(bytesToHex(r.key)).toBe(bytesToHex(PCK));
    expect(await refusal(receiverFor(carol).receive(m, 'PCK'))).toBe('ERR_MIKEY_NOT_FOR_US');
  });

  it('the MCPTT domain gets the CSK', async () => {
    const m = await createKeyDistribution({ kind: 'CSK', key: CSK, keyId: CSK_ID, rand: RAND, from: alice, to: { uri: MDSI, kms: kms.params }, time: NOW });
    const r = await receiverFor(mdsi).receive(m, 'CSK');
    expect(bytesToHex(r.key)).toBe(bytesToHex(CSK));
    expect(r.purpose.kind).toBe('CSK');
  });

  it('a replayed PCK is refused, stale and future ones too', async () => {
    const m = await pck();
    const receiver = receiverFor(bob, { replayCache: createMemoryReplayCache() });
    await receiver.receive(m, 'PCK');
    expect(await refusal(receiver.receive(m, 'PCK'))).toBe('ERR_MIKEY_REPLAY');
    expect(await refusal(receiverFor(bob, { now: () => NOW + 3_600_000 }).receive(m, 'PCK'))).toBe('ERR_MIKEY_STALE');
    expect(await refusal(receiverFor(bob, { now: () => NOW - 3_600_000 }).receive(m, 'PCK'))).toBe('ERR_MIKEY_STALE');
  });

  it('a refused message leaves nothing in the replay cache', async () => {
    const cache = createMemoryReplayCache();
    const m = await pck();
    expect(await refusal(receiverFor(carol, { replayCache: cache }).receive(m, 'PCK'))).toBe('ERR_MIKEY_NOT_FOR_US');
    await receiverFor(bob, { replayCache: cache }).receive(m, 'PCK');
  });
});

describe('each failure is its own typed error, and nothing else escapes', () => {
  it('malformed input', async () => {
    const m = await gmkFor(alice);
    expect(await refusal(receiverFor(alice).receive(m.subarray(0, m.length - 10), 'GMK'))).toBe('ERR_MIKEY_MALFORMED');
    expect(await refusal(receiverFor(alice).receive(new Uint8Array(0), 'GMK'))).toBe('ERR_MIKEY_MALFORMED');
  });

  it('a signer that is not who IDRi says', async () => {
    const mallory = staticIdentity(GMS, kms.params, [kms.issue('sip:mallory@mcptt.example', PERIOD)]);
    const m = await gmkFor(alice, { from: mallory });
    expect(await refusal(receiverFor(alice).receive(m, 'GMK'))).toBe('ERR_MIKEY_BAD_SIGNATURE');
  });

  it('a GMK from someone who is not a GMS', async () => {
    const m = await gmkFor(alice, { from: bob });
    expect(await refusal(receiverFor(alice).receive(m, 'GMK'))).toBe('ERR_MIKEY_UNAUTHORIZED_INITIATOR');
    expect(await refusal(receiverFor(alice, { gmsUris: [] }).receive(await gmkFor(alice), 'GMK'))).toBe('ERR_MIKEY_UNAUTHORIZED_INITIATOR');
  });

  it('an initiator under a KMS we do not know', async () => {
    const other = createTestKms('kms.elsewhere.example', 2);
    const stranger = other.identity(GMS, [other.periodAt(NOW)]);
    const m = await gmkFor(alice, { from: stranger });
    expect(await refusal(receiverFor(alice).receive(m, 'GMK'))).toBe('ERR_MIKEY_UNKNOWN_INITIATOR');
  });

  it('a message for someone else, and one for a period we hold no key for', async () => {
    expect(await refusal(receiverFor(bob).receive(await gmkFor(alice), 'GMK'))).toBe('ERR_MIKEY_NOT_FOR_US');
    const later = NOW + 40 * 86_400_000; // the next 30-day period
    const gmsLater = kms.identity(GMS, [kms.periodAt(later)]);
    const m = await gmkFor(alice, { from: gmsLater, time: later, hideIdentities: true });
    expect(await refusal(receiverFor(alice, { now: () => later }).receive(m, 'GMK'))).toBe('ERR_MIKEY_NO_KEY_FOR_PERIOD');
  });

  it('a SAKKE payload that does not decapsulate, under a valid signature', async () => {
    const m = resignedByGms(await gmkFor(alice), (ps) =>
      ps.map((p) => (p.kind === 'SAKKE' ? { ...p, data: p.data.map((b, i) => (i === 272 ? b ^ 1 : b)) } : p)),
    );
    expect(await refusal(receiverFor(alice).receive(m, 'GMK'))).toBe('ERR_MIKEY_DECAPSULATION_FAILED');
  });

  it('a GMK without parameters, or for another group', async () => {
    const bare = resignedByGms(await gmkFor(alice), (ps) => ps.filter((p) => p.kind !== 'GENERAL_EXTENSION'));
    expect(await refusal(receiverFor(alice).receive(bare, 'GMK'))).toBe('ERR_MIKEY_BAD_GMK_PARAMETERS');
    expect(await refusal(receiverFor(alice).receive(await gmkFor(alice), 'GMK', { groupId: 'sip:other@mcptt.example' }))).toBe('ERR_MIKEY_GROUP_MISMATCH');
  });

  it('a GMK-ID already held', async () => {
    expect(await refusal(receiverFor(alice, { existingKey: () => ({ key: GMK }) }).receive(await gmkFor(alice), 'GMK'))).toBe('ERR_MIKEY_DUPLICATE_KEY');
  });

  it('a key whose purpose does not fit the distribution', async () => {
    // A PCK (tag 1) with parameters, offered where a GMK is expected.
    const m = await createKeyDistribution({ kind: 'PCK', key: PCK, keyId: PCK_ID, rand: RAND, from: gms, to: { uri: ALICE, kms: kms.params }, time: NOW, parameters: { groupIds: [GROUP] } });
    expect(await refusal(receiverFor(alice).receive(m, 'GMK'))).toBe('ERR_MIKEY_WRONG_PURPOSE');
    // And the creator refuses to put a GMK-tagged ID in a PCK distribution.
    await expect(createKeyDistribution({ kind: 'PCK', key: PCK, keyId: GMK_ID, rand: RAND, from: alice, to: { uri: BOB, kms: kms.params }, time: NOW })).rejects.toMatchObject({ code: 'ERR_MIKEY_WRONG_PURPOSE' });
  });

  it('no single-byte change of a GMK message is accepted, and every refusal is typed', async () => {
    const m = await gmkFor(alice);
    const receiver = receiverFor(alice);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < m.length; i++) {
      const t = m.slice();
      t[i]! ^= 0x80;
      const o = await refusal(receiver.receive(t, 'GMK', { groupId: GROUP }));
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }
    expect(outcomes.get('accepted')).toBeUndefined();
    expect(outcomes.get('other')).toBeUndefined();
    expect(outcomes.get('ERR_MIKEY_BAD_SIGNATURE')).toBeGreaterThan(m.length / 2);
  });
});
