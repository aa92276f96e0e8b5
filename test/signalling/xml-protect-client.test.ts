/**
 * The client side of TS 33.179 9.1.3.2 / 9.3 without a network: ServiceAuthorization with
 * `xmlProtection` (token encrypted and signed under the CSK it sends, CSK initiator hidden,
 * never the token in clear, not even without a CSK), the opaque AOR, and the GMK notification
 * processor reading a group ID protected under our CSK and refusing a tampered one.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';

import { buildMcpttInfoXml, parseMcpttInfoXml } from '../../src/codec/sip-bodies.js';
import { buildGmkNotificationBodyXml, protectMcpttInfo, readMcpttBody, singleCskLookup, unprotectMcpttInfo } from '../../src/codec/xml-protect/index.js';
import { createKeyDistribution, createMikeyKeyReceiver, newKeyId, uidOf } from '../../src/keys/index.js';
import { openKeyStore } from '../../src/platform/key-store/index.js';
import { GroupKeyProcessor, KeyContext, ServiceAuthorization, type GroupKeyFailure, type GroupKeyInfo } from '../../src/platform/signalling/index.js';
import { opaqueAor } from '../../src/platform/signalling/signalling-session.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const ALICE = 'sip:alice@mcptt.example';
const MDSI = 'sip:mcptt-server@mcptt.example';
const GMS = 'sip:gms@mcptt.example';
const FIRE = 'sip:fire-ops@mcptt.example';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln';
const kms = createTestKms('kms.mcptt.example', 7);
const T0 = Date.UTC(2025, 4, 1, 12);
const P0 = kms.periodAt(T0);
const alice = kms.identity(ALICE, [P0]);
const gms = kms.identity(GMS, [P0]);
const mdsi = createMikeyKeyReceiver({ self: kms.identity(MDSI, [P0]), now: () => T0 });
const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

describe('ServiceAuthorization with xmlProtection', () => {
  it('sends the token only encrypted and signed under the CSK of the same body, the CSK initiator by UID', async () => {
    const auth = new ServiceAuthorization({ identity: () => alice, accessToken: async () => TOKEN, mdsi: MDSI, now: () => T0, xmlProtection: true });
    const b = (await auth.body())!;
    expect(b.body).not.toContain(TOKEN);
    expect(b.body).not.toContain('alice@');
    const raw = readMcpttBody(b.contentType, b.body, 'service-authorization');
    const csk = await mdsi.receive(raw.iMessages[0]!, 'CSK');
    expect(csk.initiator.uri).toBeUndefined();
    expect(bytesToHex(csk.initiator.uid)).toBe(bytesToHex(uidOf(ALICE, kms.params, P0)));
    const clear = await unprotectMcpttInfo(raw.mcpttInfoXml!, singleCskLookup(csk, ALICE), { required: true });
    expect(parseMcpttInfoXml(clear.xml).accessToken).toBe(TOKEN);
  });

  it('without a CSK (no identity keys) sends nothing rather than the token in clear', async () => {
    const auth = new ServiceAuthorization({ identity: () => undefined, accessToken: async () => TOKEN, mdsi: MDSI, now: () => T0, xmlProtection: true });
    expect(await auth.body()).toBeUndefined();
  });

  it('draws opaque AORs: 80 random bits in base32 at the server domain, different each time', () => {
    const a = opaqueAor(MDSI, rnd);
    expect(a).toMatch(/^sip:ue-[a-z2-7]{16}@mcptt\.example$/);
    expect(opaqueAor(MDSI, rnd)).not.toBe(a);
    expect(opaqueAor(MDSI, () => new Uint8Array(10))).toBe('sip:ue-aaaaaaaaaaaaaaaa@mcptt.example');
  });
});

describe('GMK notifications with a protected group ID', () => {
  it('are read with our CSK; a tampered signature or an unknown CSK is refused and stores nothing', async () => {
    const store = await openKeyStore({ name: `xmlp-client-${Date.now()}` });
    const ctx = new KeyContext({ identity: () => alice, store, gmsUris: [GMS], now: () => T0 });
    await ctx.open();
    const csk = { key: rnd(16), keyId: newKeyId(2, rnd) };
    const keys: GroupKeyInfo[] = [];
    const refused: GroupKeyFailure[] = [];
    let current = csk;
    const p = new GroupKeyProcessor(ctx, { onKey: (k) => keys.push(k), onRefused: (f) => refused.push(f), xpkLookup: () => singleCskLookup(current, ALICE) });
    const gmk = async () =>
      createKeyDistribution({ kind: 'GMK', key: rnd(16), keyId: newKeyId(0, rnd), rand: rnd(16), from: gms, to: { uri: ALICE, kms: kms.params }, time: T0, parameters: { groupIds: [FIRE] }, hideIdentities: true });
    const body = async (edit: (x: string) => string = (x) => x) =>
      buildGmkNotificationBodyXml({ mcpttInfoXml: edit(await protectMcpttInfo(buildMcpttInfoXml({ groupId: FIRE }), csk, ALICE)), iMessages: [await gmk()] });

    const ok = await body();
    expect(ok.body).not.toContain('fire-ops');
    expect(await p.handleNotification(ok.body, ok.contentType, GMS, {} as never)).toEqual({ status: 200 });
    expect(keys.map((k) => k.groupId)).toEqual([FIRE]);

    const tampered = await body((x) => x.replace(/<SignatureValue>./, (m) => m.slice(0, -1) + (m.endsWith('A') ? 'B' : 'A')));
    const r1 = await p.handleNotification(tampered.body, tampered.contentType, GMS, {} as never);
    expect(r1.status).toBe(403);
    expect(refused.at(-1)?.code).toBe('ERR_XML_PROTECT_BAD_SIGNATURE');

    current = { key: rnd(16), keyId: newKeyId(2, rnd) };
    const stale = await body();
    const r2 = await p.handleNotification(stale.body, stale.contentType, GMS, {} as never);
    expect(r2.status).toBe(403);
    expect(refused.at(-1)?.code).toBe('ERR_XML_PROTECT_UNKNOWN_KEY');
    expect((await store.mediaKeys({ kind: 'GMK' })).length).toBe(1);
    ctx.close();
    store.close();
  });
});
