/**
 * The signalling session (src/platform/signalling) against real parts: Kamailio as the SIP
 * core, the dev KMS (in-process) issuing every identity's keys, the key store on
 * fake-indexeddb, SIP user agents in Node with a stub session description handler.
 *
 *   TS 33.179 5.6.2.1 / 9.1.3.2  the REGISTER carries a token and a CSK the MDSI can decapsulate
 *                                (read from the third-party REGISTER the SIP core relays);
 *                                a token refresh re-REGISTERs with the new token
 *   5.6.1 step C-5               group keys pulled over HTTP at connect
 *   7.3.2                        a GMS (a second UA) notifies GMKs: accepted → 200 and stored;
 *                                forged (wrong signer, impostor, replayed duplicate, tampered
 *                                byte, wrong group, not for us, half-good batch) → error, nothing stored
 *   7.4                          alice calls bob: same PCK, PCK-ID, RAND on both sides, bob sees
 *                                alice's verified identity; hidden identity; tampered, replayed
 *                                or missing key-mgmt → 488 and nothing stored
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { DEV_KMS_URI, DEV_SIP_DOMAIN, DEV_USER_KEY_OFFSET, DEV_USER_KEY_PERIOD, SERVER_IDENTITIES } from '../../demo/server/config.js';
import { startKamailio, type RunningKamailio } from '../../demo/server/kamailio.js';
import { startKms, type RunningKms } from '../../demo/server/kms.js';
import { buildGmkNotificationBody, parseServiceAuthorizationBody } from '../../src/codec/sip-bodies.js';
import { encodeBase64, writeSdpMikey } from '../../src/codec/sdp-key-mgmt.js';
import { AuthError } from '../../src/errors.js';
import {
  createKeyDistribution,
  createMikeyKeyReceiver,
  newKeyId,
  ntpSecondsOfUnixMs,
  periodAt,
  staticIdentity,
  type LocalIdentity,
} from '../../src/keys/index.js';
import { openKeyStore, type KeyStore } from '../../src/platform/key-store/index.js';
import {
  createSignallingSession,
  type CallFailure,
  type CskInfo,
  type GroupKeyFailure,
  type GroupKeyInfo,
  type GroupPullSummary,
  type IncomingPrivateCall,
  type PrivateCall,
  type SignallingSession,
  type SignallingSessionOptions,
} from '../../src/platform/signalling/index.js';
import { createSipUserAgent, isSipError, type SipUserAgent } from '../../src/platform/sip/index.js';
import { bytesToHex, utf8 } from '../../src/util/bytes.js';
import { MdsiEndpoint, startTestGms, stubSdhFactory, waitFor, type TestGms } from './helpers.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const ALICE = `sip:alice@${DEV_SIP_DOMAIN}`;
const BOB = `sip:bob@${DEV_SIP_DOMAIN}`;
const CAROL = `sip:carol@${DEV_SIP_DOMAIN}`;
const DISPATCH = `sip:dispatch@${DEV_SIP_DOMAIN}`;
const GMS = SERVER_IDENTITIES.gms;
const MDSI = SERVER_IDENTITIES.mdsi;
const FIRE = `sip:fire-ops@${DEV_SIP_DOMAIN}`;
const EMS = `sip:ems@${DEV_SIP_DOMAIN}`;

const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** Recorded events of one session. */
interface Seen {
  csk: CskInfo[];
  groupKeys: GroupKeyInfo[];
  refused: GroupKeyFailure[];
  pulls: GroupPullSummary[];
  incoming: IncomingPrivateCall[];
  callKeys: PrivateCall[];
  callFailed: CallFailure[];
  callEnded: PrivateCall[];
}

function watch(s: SignallingSession): Seen {
  const seen: Seen = { csk: [], groupKeys: [], refused: [], pulls: [], incoming: [], callKeys: [], callFailed: [], callEnded: [] };
  s.on('csk', (i) => seen.csk.push(i));
  s.on('group-key', (i) => seen.groupKeys.push(i));
  s.on('group-key-refused', (f) => seen.refused.push(f));
  s.on('group-pull', (p) => seen.pulls.push(p));
  s.on('incoming-call', (c) => seen.incoming.push(c));
  s.on('call-keys', (c) => seen.callKeys.push(c));
  s.on('call-failed', (f) => seen.callFailed.push(f));
  s.on('call-ended', (c) => seen.callEnded.push(c));
  return seen;
}

/** Status of a SIP request: the 2xx, or the status the peer refused it with. */
async function statusOf(p: Promise<{ status: number }>): Promise<number> {
  try {
    return (await p).status;
  } catch (e) {
    if (isSipError(e) && e.statusCode !== undefined) return e.statusCode;
    throw e;
  }
}

describe('MCPTT signalling through Kamailio with the dev KMS (TS 33.179 5.6.2.1, 7.3.2, 7.4, 9.1.3.2)', () => {
  let kms: RunningKms;
  let kam: RunningKamailio;
  let gmsHttp: TestGms;
  const mdsi = new MdsiEndpoint();
  const uas: SipUserAgent[] = [];
  const sessions: SignallingSession[] = [];
  const stores: KeyStore[] = [];
  let identityOf: (uri: string) => LocalIdentity;

  let alice: SignallingSession;
  let bob: SignallingSession;
  let aliceSeen: Seen;
  let bobSeen: Seen;
  let aliceStore: KeyStore;
  let bobStore: KeyStore;
  let gmsUa: SipUserAgent;
  let carolUa: SipUserAgent;
  let aliceToken = 'alice-token-1';
  const aliceRefresh = new Set<() => void>();
  /** What the GMS serves alice at connect: one GMK of fire-ops. */
  let pulledGmkId: Uint8Array;
  let onRing: (c: IncomingPrivateCall) => void = (c) => c.reject();
  /** carol's hidden-identity offer, received (and rejected by the user) once. */
  let hiddenMessage: Uint8Array;

  interface Gmk {
    readonly key: Uint8Array;
    readonly keyId: Uint8Array;
    readonly rand: Uint8Array;
  }
  const newGmk = (): Gmk => ({ key: rnd(16), keyId: newKeyId(0, rnd), rand: rnd(16) });

  /** One member's I_MESSAGE of `gmk` for `group`, signed by `from` (the GMS unless forged). */
  async function gmkMessage(member: string, group: string, gmk: Gmk, o: { from?: LocalIdentity; revoked?: boolean } = {}): Promise<Uint8Array> {
    const now = Date.now();
    return createKeyDistribution({
      kind: 'GMK',
      key: gmk.key,
      keyId: gmk.keyId,
      rand: gmk.rand,
      from: o.from ?? identityOf(GMS),
      to: { uri: member, kms: kms.params },
      time: now,
      parameters: { groupIds: [group], activationTime: now + 1_000, ...(o.revoked ? { revoked: true } : {}) },
    });
  }

  const notify = (to: string, groupId: string, iMessages: readonly Uint8Array[]): Promise<number> =>
    statusOf(gmsUa.sendMessage(to, buildGmkNotificationBody({ groupId, iMessages })));

  const gmkCount = async (s: KeyStore): Promise<number> => (await s.mediaKeys({ kind: 'GMK' })).length;
  const pckCount = async (s: KeyStore): Promise<number> => (await s.mediaKeys({ kind: 'PCK' })).length;

  function session(identity: LocalIdentity, store: KeyStore, extra: Partial<SignallingSessionOptions>): SignallingSession {
    const s = createSignallingSession({
      sipServer: kam.wsUrl,
      mcpttServerUri: MDSI,
      gmsUris: [GMS],
      identity: () => identity,
      tokens: { accessToken: async () => `token-of-${identity.uri.slice(4, identity.uri.indexOf('@'))}` }, // b64token charset
      store,
      sessionDescriptionHandlerFactory: stubSdhFactory(),
      reconnect: { initialMs: 100, maxMs: 800 },
      ...extra,
    });
    sessions.push(s);
    return s;
  }

  async function sipAgent(aor: string): Promise<SipUserAgent> {
    const ua = createSipUserAgent({ server: kam.wsUrl, aor, serviceAuthorization: 'register', sessionDescriptionHandlerFactory: stubSdhFactory() });
    uas.push(ua);
    await ua.start();
    return ua;
  }

  /** A PCK offer from carol to bob, as carol's own SDK would build it (optionally hiding her identity). */
  const carolPck = (hideIdentities = false): Promise<Uint8Array> =>
    createKeyDistribution({
      kind: 'PCK',
      key: rnd(16),
      keyId: newKeyId(1, rnd),
      rand: rnd(16),
      from: identityOf(CAROL),
      to: { uri: BOB, kms: kms.params },
      time: Date.now(),
      sakkeToSelf: true,
      hideIdentities,
    });

  const carolCalls = (message: Uint8Array | undefined): Promise<number> =>
    statusOf(
      carolUa.call(BOB, message === undefined ? {} : { transformOffer: (sdp) => writeSdpMikey(sdp, message, { level: 'session' }) }).then(async (c) => {
        await c.hangup();
        return { status: 200 };
      }),
    );

  beforeAll(async () => {
    kms = await startKms({
      kmsUri: DEV_KMS_URI,
      userKeyPeriod: DEV_USER_KEY_PERIOD,
      userKeyOffset: DEV_USER_KEY_OFFSET,
      // Only issue() is used here; the HTTP interface and its token check are not under test.
      verifyToken: async () => {
        throw new AuthError('ERR_AUTH_INVALID_TOKEN', 'not used in this test');
      },
      seed: utf8('signalling test seed'),
    });
    const period = periodAt(kms.params, ntpSecondsOfUnixMs(Date.now()));
    const cache = new Map<string, LocalIdentity>();
    identityOf = (uri) => {
      let id = cache.get(uri);
      if (id === undefined) {
        id = staticIdentity(uri, kms.params, [kms.issue(uri, period), kms.issue(uri, period + 1)]);
        cache.set(uri, id);
      }
      return id;
    };

    const pulled = newGmk();
    pulledGmkId = pulled.keyId;
    const pulledMessage = await gmkMessage(ALICE, FIRE, pulled);
    gmsHttp = await startTestGms((token) =>
      token === aliceToken && token.startsWith('alice-token')
        ? { groups: [{ groupId: FIRE, displayName: 'Fire ops', iMessages: [encodeBase64(pulledMessage)] }] }
        : undefined,
    );

    kam = await startKamailio({ domain: DEV_SIP_DOMAIN, appServer: { uri: MDSI, routePsis: [MDSI] } });
    await mdsi.open(kam.wsUrl, MDSI);

    aliceStore = await openKeyStore({ name: `signalling-alice-${Date.now()}` });
    bobStore = await openKeyStore({ name: `signalling-bob-${Date.now()}` });
    stores.push(aliceStore, bobStore);
    alice = session(identityOf(ALICE), aliceStore, {
      gmsUrl: gmsHttp.url,
      tokens: {
        accessToken: async () => aliceToken,
        onRefresh: (l) => {
          aliceRefresh.add(l);
          return () => aliceRefresh.delete(l);
        },
      },
    });
    bob = session(identityOf(BOB), bobStore, { ringTimeoutMs: 5_000 });
    aliceSeen = watch(alice);
    bobSeen = watch(bob);
    bob.on('incoming-call', (c) => onRing(c));
    await Promise.all([alice.start(), bob.start()]);
    gmsUa = await sipAgent(GMS);
    carolUa = await sipAgent(CAROL);
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled([...sessions.map((s) => s.stop()), ...uas.map((u) => u.stop())]);
    for (const s of stores) s.close();
    mdsi.close();
    await gmsHttp?.close();
    await kam?.close();
    await kms?.close();
  }, 20_000);

  it('REGISTER carries the access token and a CSK that the MDSI decapsulates (5.6.2.1, 9.1.3.2)', async () => {
    expect(alice.state).toBe('running');
    expect(alice.registrationState).toBe('registered');
    const reg = await waitFor('the third-party REGISTER of alice', () => mdsi.registersFor(ALICE)[0]);
    const body = parseServiceAuthorizationBody(reg.getHeader('content-type')!, reg.body);
    expect(body.accessToken).toBe('alice-token-1');
    const csk = await createMikeyKeyReceiver({ self: identityOf(MDSI) }).receive(body.cskIMessage!, 'CSK');
    const mine = alice.csk()!;
    expect(bytesToHex(csk.key)).toBe(bytesToHex(mine.key));
    expect(bytesToHex(csk.keyId)).toBe(bytesToHex(mine.keyId));
    expect(csk.keyId[0]! >> 4).toBe(2); // CSK purpose tag (TS 33.180 profile)
    expect(csk.initiator.uri).toBe(ALICE);
    expect(aliceSeen.csk).toEqual([{ cskId: bytesToHex(mine.keyId), keyPeriodNo: mine.keyPeriodNo, reason: 'new-session' }]);
    // bob's CSK is his own, not alice's.
    const bobReg = await waitFor('the third-party REGISTER of bob', () => mdsi.registersFor(BOB)[0]);
    const bobBody = parseServiceAuthorizationBody(bobReg.getHeader('content-type')!, bobReg.body);
    expect(bobBody.accessToken).toBe('token-of-bob');
    expect(bytesToHex((await createMikeyKeyReceiver({ self: identityOf(MDSI) }).receive(bobBody.cskIMessage!, 'CSK')).keyId)).toBe(bytesToHex(bob.csk()!.keyId));
  });

  it('pulls the group keys at connect (5.6.1 C-5) and stores them; a second pull finds them unchanged', async () => {
    expect(gmsHttp.requests[0]).toEqual({ authorization: 'Bearer alice-token-1', path: '/gms/v1/groups' });
    expect(aliceSeen.pulls[0]).toEqual({ ok: true, groups: [{ groupId: FIRE, displayName: 'Fire ops', outcome: 'stored' }] });
    expect(aliceSeen.groupKeys).toHaveLength(1);
    expect(aliceSeen.groupKeys[0]).toMatchObject({ source: 'pull', groupId: FIRE, gmkId: bytesToHex(pulledGmkId), status: 'active' });
    const stored = await aliceStore.getMediaKey('GMK', pulledGmkId);
    expect(stored?.groupIds).toEqual([FIRE]);
    expect(await alice.pullGroupKeys()).toEqual({ ok: true, groups: [{ groupId: FIRE, displayName: 'Fire ops', outcome: 'unchanged' }] });
    expect(aliceSeen.groupKeys).toHaveLength(1);
  });

  it('a GMK notification from the GMS is checked, stored and answered 200 (7.3.2)', async () => {
    const media = newGmk();
    const floor = newGmk();
    const before = bobSeen.groupKeys.length;
    expect(await notify(BOB, FIRE, [await gmkMessage(BOB, FIRE, media), await gmkMessage(BOB, FIRE, floor)])).toBe(200);
    for (const g of [media, floor]) {
      const k = await bobStore.getMediaKey('GMK', g.keyId);
      expect(bytesToHex(k!.key)).toBe(bytesToHex(g.key));
      expect(bytesToHex(k!.rand)).toBe(bytesToHex(g.rand));
    }
    const events = bobSeen.groupKeys.slice(before);
    expect(events.map((e) => e.gmkId)).toEqual([bytesToHex(media.keyId), bytesToHex(floor.keyId)]);
    expect(events[0]).toMatchObject({ source: 'notification', groupId: FIRE, status: 'active' });
    expect(events[0]!.activationTime).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(events)).not.toContain(bytesToHex(media.key));
  });

  it('refuses forged, replayed, tampered and misdirected notifications, storing nothing', async () => {
    const stored = await gmkCount(bobStore);
    const refusedBefore = bobSeen.refused.length;
    const good = newGmk();
    const goodMessage = await gmkMessage(BOB, FIRE, good);
    expect(await notify(BOB, FIRE, [goodMessage])).toBe(200);

    const carol = identityOf(CAROL);
    const impostor: LocalIdentity = { uri: GMS, kms: kms.params, keysForPeriod: (n) => carol.keysForPeriod(n) };
    const tampered = goodMessage.slice();
    tampered[Math.floor(tampered.length / 2)]! ^= 0x01;
    const cases: { name: string; send: () => Promise<number>; status: number; code: string }[] = [
      { name: 'signed by a user, not the GMS', send: async () => notify(BOB, FIRE, [await gmkMessage(BOB, FIRE, newGmk(), { from: carol })]), status: 403, code: 'ERR_MIKEY_UNAUTHORIZED_INITIATOR' },
      { name: 'names the GMS, signed with other keys', send: async () => notify(BOB, FIRE, [await gmkMessage(BOB, FIRE, newGmk(), { from: impostor })]), status: 403, code: 'ERR_MIKEY_BAD_SIGNATURE' },
      { name: 'replayed duplicate', send: () => notify(BOB, FIRE, [goodMessage]), status: 488, code: 'ERR_MIKEY_DUPLICATE_KEY' },
      { name: 'one byte changed', send: () => notify(BOB, FIRE, [tampered]), status: 403, code: 'ERR_MIKEY_BAD_SIGNATURE' },
      { name: 'key of another group', send: async () => notify(BOB, EMS, [await gmkMessage(BOB, FIRE, newGmk())]), status: 488, code: 'ERR_MIKEY_GROUP_MISMATCH' },
      { name: "another member's copy", send: async () => notify(BOB, FIRE, [await gmkMessage(CAROL, FIRE, newGmk())]), status: 403, code: 'ERR_MIKEY_NOT_FOR_US' },
      {
        name: 'a good key with a forged one',
        send: async () => notify(BOB, FIRE, [await gmkMessage(BOB, FIRE, newGmk()), await gmkMessage(BOB, FIRE, newGmk(), { from: carol })]),
        status: 403,
        code: 'ERR_MIKEY_UNAUTHORIZED_INITIATOR',
      },
      {
        name: 'a body that is not multipart',
        send: () => statusOf(gmsUa.sendMessage(BOB, { contentType: 'multipart/mixed;boundary=zz', body: 'not a multipart body' })),
        status: 400,
        code: 'ERR_SIP_BODY_MALFORMED',
      },
    ];
    for (const c of cases) {
      expect({ case: c.name, status: await c.send() }).toEqual({ case: c.name, status: c.status });
      expect({ case: c.name, code: bobSeen.refused.at(-1)?.code }).toEqual({ case: c.name, code: c.code });
    }
    const refused = bobSeen.refused.slice(refusedBefore);
    expect(refused).toHaveLength(cases.length);
    expect(refused[6]).toMatchObject({ source: 'notification', groupId: FIRE, failureClass: 'forbidden', sipStatus: 403, messageIndex: 1 });
    // Only the one good notification was stored.
    expect(await gmkCount(bobStore)).toBe(stored + 1);
  });

  it('a revocation replaces the active GMK (7.3.2, key parameters Status)', async () => {
    const g = newGmk();
    expect(await notify(BOB, FIRE, [await gmkMessage(BOB, FIRE, g)])).toBe(200);
    expect(await notify(BOB, FIRE, [await gmkMessage(BOB, FIRE, g, { revoked: true })])).toBe(200);
    expect((await bobStore.getMediaKey('GMK', g.keyId))?.status).toBe('revoked');
    expect(bobSeen.groupKeys.at(-1)).toMatchObject({ gmkId: bytesToHex(g.keyId), status: 'revoked' });
    // A revoked key does not come back.
    expect(await notify(BOB, FIRE, [await gmkMessage(BOB, FIRE, g)])).toBe(488);
  });

  it('private call alice → bob: bob sees the verified caller, both hold the same PCK, PCK-ID and RAND (7.4)', async () => {
    let bobCall: Promise<PrivateCall> | undefined;
    let ringing: IncomingPrivateCall | undefined;
    onRing = (c) => {
      ringing = c;
      bobCall = c.accept();
    };
    const bobPcks = await pckCount(bobStore);
    await alice.prepareCall(BOB); // 7.4.2 note 1: pre-generated offer
    const aliceCall = await alice.call(BOB);
    const answered = await bobCall!;
    expect(ringing!.caller).toMatchObject({ uri: ALICE, hidden: false, sipFrom: ALICE, sipFromMatches: true, kmsUri: DEV_KMS_URI });
    expect(answered.peer).toEqual({ uri: ALICE, verified: true, hidden: false });
    expect(aliceCall.peer).toEqual({ uri: BOB, verified: false, hidden: false });
    const a = aliceCall.keys();
    const b = answered.keys();
    expect(bytesToHex(b.key)).toBe(bytesToHex(a.key));
    expect(bytesToHex(b.keyId)).toBe(bytesToHex(a.keyId));
    expect(bytesToHex(b.rand)).toBe(bytesToHex(a.rand));
    expect(b.keyId[0]! >> 4).toBe(1); // PCK purpose tag
    expect(aliceCall.pckId).toBe(answered.pckId);
    expect(b.sentAt).toBe(a.sentAt);
    expect(aliceSeen.callKeys.at(-1)).toBe(aliceCall);
    expect(bobSeen.callKeys.at(-1)).toBe(answered);
    expect((await bobStore.getMediaKey('PCK', b.keyId))?.initiator.uri).toBe(ALICE);
    expect(await aliceStore.getMediaKey('PCK', a.keyId)).toBeDefined();
    expect(await pckCount(bobStore)).toBe(bobPcks + 1);
    // The offer on the wire held the key-mgmt line at session level; the answer holds none.
    expect(aliceCall.sip.localSdp).toMatch(/^a=key-mgmt:mikey [A-Za-z0-9+/=]+\r$/m);
    expect(aliceCall.sip.localSdp!.indexOf('a=key-mgmt')).toBeLessThan(aliceCall.sip.localSdp!.indexOf('m=audio'));
    expect(aliceCall.sip.remoteSdp).not.toContain('key-mgmt');
    await aliceCall.hangup();
    await waitFor('bob sees the call end', () => bobSeen.callEnded.includes(answered));
    expect(answered.state).toBe('ended');
  });

  it('a caller hiding its identity (E.7) rings as hidden; reject() answers 486', async () => {
    const pcks = await pckCount(bobStore);
    let ringing: IncomingPrivateCall | undefined;
    onRing = (c) => {
      ringing = c;
      c.reject('busy');
    };
    hiddenMessage = await carolPck(true);
    expect(await carolCalls(hiddenMessage)).toBe(486);
    expect(ringing!.caller).toMatchObject({ uri: undefined, hidden: true, sipFrom: CAROL, sipFromMatches: false });
    expect(ringing!.state).toBe('rejected');
    expect(await pckCount(bobStore)).toBe(pcks);
  });

  it('refuses tampered, replayed and missing key-mgmt with 488 before ringing, storing nothing', async () => {
    const pcks = await pckCount(bobStore);
    const rings = bobSeen.incoming.length;
    const failedBefore = bobSeen.callFailed.length;
    const tampered = (await carolPck()).slice();
    tampered[tampered.length - 20]! ^= 0x80;
    expect(await carolCalls(tampered)).toBe(488);
    expect(await carolCalls(hiddenMessage)).toBe(488); // accepted once already (then rejected by the user)
    expect(await carolCalls(undefined)).toBe(488);
    const failed = bobSeen.callFailed.slice(failedBefore);
    expect(failed.map((f) => f.code)).toEqual(['ERR_MIKEY_BAD_SIGNATURE', 'ERR_MIKEY_REPLAY', 'ERR_MIKEY_MALFORMED']);
    expect(failed[0]).toEqual({ direction: 'incoming', peer: undefined, code: 'ERR_MIKEY_BAD_SIGNATURE', failureClass: 'forbidden', sipStatus: 488 });
    expect(bobSeen.incoming.length).toBe(rings);
    expect(await pckCount(bobStore)).toBe(pcks);
  });

  it('an outgoing call refused by the callee rejects with its status and a call-failed event', async () => {
    onRing = (c) => c.reject();
    const e = await alice.call(BOB).catch((x: unknown) => x);
    expect(isSipError(e) && e.statusCode).toBe(603);
    expect(aliceSeen.callFailed.at(-1)).toEqual({ direction: 'outgoing', peer: BOB, code: 'ERR_SIP_REQUEST_FAILED', failureClass: 'call', sipStatus: 603 });
  });

  it('a token refresh re-REGISTERs with the new token and the same CSK; renewCsk() sends a new one', async () => {
    const n = mdsi.registersFor(ALICE).length;
    const cskId = bytesToHex(alice.csk()!.keyId);
    aliceToken = 'alice-token-2';
    for (const l of aliceRefresh) l();
    const reg = await waitFor('a REGISTER with the new token', () => mdsi.registersFor(ALICE)[n]);
    const body = parseServiceAuthorizationBody(reg.getHeader('content-type')!, reg.body);
    expect(body.accessToken).toBe('alice-token-2');
    const mdsiReceiver = createMikeyKeyReceiver({ self: identityOf(MDSI) });
    expect(bytesToHex((await mdsiReceiver.receive(body.cskIMessage!, 'CSK')).keyId)).toBe(cskId);

    await alice.renewCsk();
    const renewed = await waitFor('a REGISTER with a new CSK', () => mdsi.registersFor(ALICE)[n + 1]);
    const csk = await mdsiReceiver.receive(parseServiceAuthorizationBody(renewed.getHeader('content-type')!, renewed.body).cskIMessage!, 'CSK');
    expect(bytesToHex(csk.keyId)).not.toBe(cskId);
    expect(bytesToHex(csk.key)).toBe(bytesToHex(alice.csk()!.key));
    expect(aliceSeen.csk.at(-1)).toMatchObject({ cskId: bytesToHex(csk.keyId), reason: 'renewed' });
  });

  it('a failed pull is an event with its code, not an exception', async () => {
    aliceToken = 'someone-else';
    expect(await alice.pullGroupKeys()).toEqual({ ok: false, code: 'ERR_GMS_HTTP', httpStatus: 401 });
    expect(aliceSeen.pulls.at(-1)).toEqual({ ok: false, code: 'ERR_GMS_HTTP', httpStatus: 401 });
    aliceToken = 'alice-token-2';
  });

  it('without anyone listening for calls an INVITE is answered 480 at once', async () => {
    const store = await openKeyStore({ name: `signalling-dispatch-${Date.now()}` });
    stores.push(store);
    const listenerless = session(identityOf(DISPATCH), store, {});
    await listenerless.start();
    const e = await alice.call(DISPATCH).catch((x: unknown) => x);
    expect(isSipError(e) && e.statusCode).toBe(480);
    await listenerless.stop();
    expect(listenerless.state).toBe('stopped');
  });

  it('stop() unregisters; calls and pulls are refused afterwards', async () => {
    await bob.stop();
    expect(bob.state).toBe('stopped');
    expect(bob.registrationState).toBe('stopped');
    await expect(bob.call(ALICE)).rejects.toMatchObject({ code: 'ERR_SIGNALLING_INVALID_STATE' });
    const e = await alice.call(BOB).catch((x: unknown) => x);
    expect(isSipError(e) && e.statusCode).toBe(404);
  });
});
