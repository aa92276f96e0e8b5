/**
 * The six published MIKEY-SAKKE messages of two other implementations (Streamwide, Alea),
 * processed by the SDK's receive path with the keys published beside them.
 */
import { describe, expect, it } from 'vitest';
import { decodeIMessage } from '../../src/codec/mikey/index.js';
import { identityOfKeySet } from '../../src/conformance/key-sets.js';
import type { JsonObject } from '../../src/conformance/checks.js';
import { isMcpttError } from '../../src/errors.js';
import { createMikeyKeyReceiver, keyProfile, purposeTag, unixMsOfNtpSeconds, type DistributedKeyKind } from '../../src/keys/index.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { sharedVector } from '../helpers/shared.js';

const doc = sharedVector('impl-mikey-sakke-published-interop');
const cases = (doc.i_message_sets as JsonObject[]).flatMap((set) => (set.messages as JsonObject[]).map((m) => ({ set, m })));

function setup(set: JsonObject, m: JsonObject) {
  const bytes = hexToBytes(m.i_message_hex as string);
  const self = identityOfKeySet(set, m.responder_uri as string)!;
  const sentAt = unixMsOfNtpSeconds(decodeIMessage(bytes).ntpSeconds!);
  const kind = keyProfile('ts33180').purposes[purposeTag(hexToBytes(m.key_id as string))]!.kind as DistributedKeyKind;
  const receiver = createMikeyKeyReceiver({ self, now: () => sentAt, gmsUris: [m.initiator_uri as string] });
  return { bytes, kind, receiver };
}

describe('published interop I_MESSAGEs', () => {
  it('there are six of them, of all three kinds', () => {
    expect(cases).toHaveLength(6);
    expect(new Set(cases.map(({ set, m }) => setup(set, m).kind))).toEqual(new Set(['GMK', 'PCK', 'CSK']));
  });

  for (const { set, m } of cases) {
    it(`${String(set.origin).split(' ')[0]} ${String(m.title)}: key, key ID, RAND, GUK-ID as published`, async () => {
      const { bytes, kind, receiver } = setup(set, m);
      const r = await receiver.receive(bytes, kind);
      expect(bytesToHex(r.key)).toBe((m.key as string).toLowerCase());
      expect(bytesToHex(r.keyId)).toBe((m.key_id as string).toLowerCase());
      expect(bytesToHex(r.rand)).toBe((m.rand as string).toLowerCase());
      // The legacy-format entry publishes its GUK-ID only as the parsed CSB ID.
      const guk = (m.guk_id ?? (m.parsed as JsonObject).csb_id) as string;
      if (kind === 'GMK') expect(bytesToHex(r.gukId!)).toBe(guk.toLowerCase());
      // Identity hiding in every one of them: the initiator is known by UID only.
      expect(r.initiator.uri).toBeUndefined();
    });

    it(`${String(set.origin).split(' ')[0]} ${String(m.title)}: no single-byte change is accepted`, async () => {
      const { bytes, kind, receiver } = setup(set, m);
      for (let i = 0; i < bytes.length; i++) {
        const t = bytes.slice();
        t[i]! ^= 0x01;
        const outcome = await receiver.receive(t, kind).then(
          () => 'accepted',
          (e: unknown) => (isMcpttError(e) ? 'typed' : String(e)),
        );
        expect(outcome, `offset ${i}`).toBe('typed');
      }
    });
  }

  it('reads the Status field as bit 0 = not revoked, so the Alea GMK (status 0) is reported revoked', async () => {
    const { set, m } = cases.find(({ m }) => String(m.title).startsWith('GMK gms->alice'))!;
    const { bytes, receiver } = setup(set, m);
    const r = await receiver.receive(bytes, 'GMK', { groupId: 'sip:g4.chat@veronica-cluster' });
    expect(r.status).toBe('revoked');
    expect(r.groupIds).toEqual(['sip:g4.chat@veronica-cluster']);
    // A deployment that talks to such a peer configures the other reading.
    const self = identityOfKeySet(set, m.responder_uri as string)!;
    const lenient = createMikeyKeyReceiver({ self, now: () => r.sentAt, gmsUris: [m.initiator_uri as string], isKeyActive: (s) => (s & 1) === 0 });
    expect((await lenient.receive(bytes, 'GMK')).status).toBe('active');
  });
});
