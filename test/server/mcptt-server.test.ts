/**
 * The dev MCPTT server + GMS (demo/server/mcptt-server/) against real parts: the dev IdMS
 * (real logins, JWT access tokens), the dev KMS (keys of users, GMS and MDSI), Kamailio 5.6
 * as the SIP core, and the SDK's own SIP user agents for alice and bob.
 *
 * TS 33.179 5.6.2.1 (token + CSK in REGISTER → third-party REGISTER → service
 * authorization), 9.1.3 (CSK to the MDSI), 7.3.1/7.3.2 (GMK notifications from the GMS,
 * one RAND per GMK, revocation), 7.3.6 (same SRTP master key per sender for every member),
 * 5.6.1 C-5 (group configuration pull over HTTP), RFC 5275 lifecycle (add, remove → rekey,
 * rekey, compromise → revoke).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { DEMO_GROUPS, DEMO_USERS, DEV_CLIENT_ID, DEV_KMS_URI, DEV_SIP_DOMAIN, DEV_USER_KEY_OFFSET, DEV_USER_KEY_PERIOD, MCPTT_SERVER_URI, SERVER_IDENTITIES } from '../../demo/server/config.js';
import { devLogin } from '../../demo/server/dev-login.js';
import { startIdms, type Idms } from '../../demo/server/idms.js';
import { startKamailio, type RunningKamailio } from '../../demo/server/kamailio.js';
import { startKms, type RunningKms } from '../../demo/server/kms.js';
import { startMcpttServer, type RunningMcpttServer } from '../../demo/server/mcptt-server/index.js';
import { createTokenVerifier } from '../../demo/server/token-verifier.js';
import { buildServiceAuthorizationBody, parseGmkNotificationBody } from '../../src/codec/sip-bodies.js';
import { gukId, srtpMasterKeys } from '../../src/crypto/index.js';
import {
  createKeyDistribution,
  createMikeyKeyReceiver,
  keyProfile,
  newKeyId,
  ntpSecondsOfUnixMs,
  periodAt,
  staticIdentity,
  type LocalIdentity,
  type ReceivedKey,
} from '../../src/keys/index.js';
import { createSipUserAgent, type SipUserAgent } from '../../src/platform/sip/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { sleep, stubSdhFactory, waitFor as until } from '../signalling/helpers.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const REDIRECT_URI = 'http://127.0.0.1:1/callback';
const WEB_ORIGIN = 'http://127.0.0.1:5173';
const GMS = SERVER_IDENTITIES.gms;
const FIRE = 'sip:fire-ops@mcptt.example';
const EMS = 'sip:ems@mcptt.example';
const POLICE = 'sip:police@mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const BOB = 'sip:bob@mcptt.example';
const CAROL = 'sip:carol@mcptt.example';

const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const hex = bytesToHex;
interface Member {
  readonly mcpttId: string;
  readonly self: LocalIdentity;
  readonly ua: SipUserAgent;
  /** Every key accepted from a GMK notification, in arrival order. */
  readonly keys: ReceivedKey[];
  /** Notifications that failed to process (answered 403). */
  readonly refused: unknown[];
  /** The access token the next REGISTER carries. */
  token: string;
}

describe('dev MCPTT server + GMS through Kamailio (TS 33.179 5.6.2.1, 7.3, 9.1.3)', () => {
  let idms: Idms;
  let kms: RunningKms;
  let kam: RunningKamailio;
  let server: RunningMcpttServer;
  const debugLines: string[] = [];
  const members: Member[] = [];
  const tokens = new Map<string, { access: string; id: string }>();
  let alice: Member;
  let bob: Member;

  function identity(mcpttId: string): LocalIdentity {
    const now = Date.now();
    const p = periodAt(kms.params, ntpSecondsOfUnixMs(now));
    return staticIdentity(mcpttId, kms.params, [kms.issue(mcpttId, p)]);
  }

  /** A CSK I_MESSAGE from the user to the MDSI (9.1.3.4 steps 1-2), fresh for each REGISTER. */
  async function cskIMessage(self: LocalIdentity): Promise<Uint8Array> {
    return await createKeyDistribution({
      kind: 'CSK',
      key: rnd(16),
      keyId: newKeyId(keyProfile().defaultTag.CSK!, rnd),
      rand: rnd(16),
      from: self,
      to: { uri: MCPTT_SERVER_URI, kms: kms.params },
      time: Date.now(),
    });
  }

  async function member(mcpttId: string, token: string): Promise<Member> {
    const self = identity(mcpttId);
    const receiver = createMikeyKeyReceiver({ self, gmsUris: [GMS] });
    const keys: ReceivedKey[] = [];
    const refused: unknown[] = [];
    const m: Member = {
      mcpttId,
      self,
      keys,
      refused,
      token,
      ua: createSipUserAgent({
        server: kam.wsUrl,
        aor: mcpttId,
        serviceAuthorization: 'register',
        sessionDescriptionHandlerFactory: stubSdhFactory(),
        registerBody: async () => buildServiceAuthorizationBody({ accessToken: m.token, cskIMessage: await cskIMessage(self) }),
        delegate: {
          async onKeyNotification(body, contentType, from) {
            try {
              expect(from).toBe(GMS);
              const n = parseGmkNotificationBody(contentType, body);
              const got: ReceivedKey[] = [];
              for (const im of n.iMessages) got.push(await receiver.receive(im, 'GMK', { groupId: n.groupId }));
              keys.push(...got); // stored only when every key of the notification was accepted
              return { status: 200 };
            } catch (e) {
              refused.push(e);
              return { status: 403, reason: 'Forbidden' };
            }
          },
        },
      }),
    };
    members.push(m);
    return m;
  }

  const keysOf = (m: Member, groupId: string): ReceivedKey[] => m.keys.filter((k) => k.groupIds.includes(groupId));
  const lastKey = (m: Member, groupId: string): ReceivedKey | undefined => keysOf(m, groupId).at(-1);

  async function login(username: string): Promise<{ access: string; id: string }> {
    const user = DEMO_USERS.find((u) => u.username === username)!;
    const { tokens: t } = await devLogin({ issuer: idms.issuer, clientId: DEV_CLIENT_ID, redirectUri: REDIRECT_URI, username, password: user.password });
    return { access: t.access_token, id: t.id_token };
  }

  async function pull(authorization?: string, origin?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (authorization !== undefined) headers['authorization'] = authorization;
    if (origin !== undefined) headers['origin'] = origin;
    return await fetch(`${server.httpUrl}/gms/v1/groups`, { headers });
  }

  async function admin(groupId: string, action: 'members' | 'rekey' | 'revoke', body?: unknown, contentType = 'application/json'): Promise<Response> {
    return await fetch(`${server.httpUrl}/admin/groups/${encodeURIComponent(groupId)}/${action}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: body === undefined ? '' : JSON.stringify(body),
    });
  }

  beforeAll(async () => {
    idms = await startIdms({ users: DEMO_USERS, clientId: DEV_CLIENT_ID, redirectUris: [REDIRECT_URI] });
    const verifyToken = createTokenVerifier({ issuer: idms.issuer, jwksUri: idms.jwksUri });
    kms = await startKms({ kmsUri: DEV_KMS_URI, userKeyPeriod: DEV_USER_KEY_PERIOD, userKeyOffset: DEV_USER_KEY_OFFSET, verifyToken });
    kam = await startKamailio({ domain: DEV_SIP_DOMAIN, appServer: { uri: MCPTT_SERVER_URI, routePsis: [MCPTT_SERVER_URI, ...DEMO_GROUPS.map((g) => g.groupId)] } });
    server = await startMcpttServer({
      sipWsUrl: kam.wsUrl,
      domain: DEV_SIP_DOMAIN,
      serverUri: MCPTT_SERVER_URI,
      gmsUri: GMS,
      kmsParams: kms.params,
      keysFor: (id, n) => kms.issue(id, n),
      verifyToken,
      groups: DEMO_GROUPS,
      http: { corsOrigins: [WEB_ORIGIN] },
      debug: (line) => debugLines.push(line),
    });
    const [a, b, c] = await Promise.all([login('alice'), login('bob'), login('carol')]);
    tokens.set('alice', a);
    tokens.set('bob', b);
    tokens.set('carol', c);
    alice = await member(ALICE, a.access);
    bob = await member(BOB, b.access);
    await Promise.all([alice.ua.start(), bob.ua.start()]);
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled(members.map((m) => m.ua.stop()));
    await server?.close();
    await kam?.close();
    await Promise.allSettled([kms?.close(), idms?.close()]);
  }, 20_000);

  it('authorizes alice and bob from the third-party REGISTER and sends each the GMKs of its groups', async () => {
    await until('alice: fire-ops; bob: fire-ops and ems', () => keysOf(alice, FIRE).length === 1 && keysOf(bob, FIRE).length === 1 && keysOf(bob, EMS).length === 1);
    // The server records a notification when the member's 200 reaches it, just after the
    // member stored the key: wait for the three answers too.
    await until('the three 200 answers recorded', () => server.sent().filter((s) => s.status === 200).length === 3);
    expect([...server.authorizedUsers()].sort()).toEqual([ALICE, BOB]);
    expect(alice.keys.map((k) => k.groupIds[0])).toEqual([FIRE]); // alice is in fire-ops only
    expect(alice.refused).toEqual([]);
    expect(bob.refused).toEqual([]);

    const a = lastKey(alice, FIRE)!;
    const b = lastKey(bob, FIRE)!;
    // One GMK, one GMK-ID and one RAND for every member (7.3.1, 7.3.6).
    expect(hex(a.keyId)).toBe(hex(b.keyId));
    expect(hex(a.rand)).toBe(hex(b.rand));
    expect(hex(a.key)).toBe(hex(b.key));
    expect(hex(server.currentGmkId(FIRE)!)).toBe(hex(a.keyId));
    expect(a.keyId[0]! >>> 4).toBe(0); // purpose tag 0
    expect(a.status).toBe('active');
    expect(a.initiator.uri).toBe(GMS);
    expect(a.activationTime).toBeLessThanOrEqual(Date.now());
    // Each member has its own GUK-ID.
    expect(hex(a.gukId!)).not.toBe(hex(b.gukId!));

    // The SRTP master key of alice's streams, as alice derives it and as bob derives it from
    // alice's GUK-ID (which a receiver reads from the MKI).
    const aliceView = srtpMasterKeys({ tgk: a.key, csId: 4, csbId: a.gukId!, rand: a.rand });
    const bobViewOfAlice = srtpMasterKeys({ tgk: b.key, csId: 4, csbId: gukId({ gmk: b.key, gmkId: b.keyId, mcpttId: ALICE }), rand: b.rand });
    expect(hex(bobViewOfAlice.masterKey)).toBe(hex(aliceView.masterKey));
    expect(hex(bobViewOfAlice.masterSalt)).toBe(hex(aliceView.masterSalt));
    const bobOwn = srtpMasterKeys({ tgk: b.key, csId: 4, csbId: b.gukId!, rand: b.rand });
    expect(hex(bobOwn.masterKey)).not.toBe(hex(aliceView.masterKey)); // keys are per sender

    const sent = server.sent();
    expect(sent.filter((s) => s.status === 200).map((s) => `${s.to} ${s.groupId}`).sort()).toEqual([`${ALICE} ${FIRE}`, `${BOB} ${EMS}`, `${BOB} ${FIRE}`]);
    expect(debugLines.some((l) => l.includes('third-party REGISTER 200 (with CSK)'))).toBe(true);
  });

  it('sends nothing again on a registration refresh once the member acknowledged its GMKs', async () => {
    const before = server.sent().length;
    const n = debugLines.length;
    await alice.ua.refreshRegistration();
    await until('the refresh authorized', () => debugLines.slice(n).some((l) => l.startsWith('sip: third-party REGISTER 200')));
    await sleep(200);
    expect(server.sent().length).toBe(before);
    expect(keysOf(alice, FIRE)).toHaveLength(1);
  });

  it('refuses service authorization for a bad token or a token of another user, and sends no GMK', async () => {
    const good = tokens.get('carol')!.access;
    const [h, p, s] = good.split('.') as [string, string, string];
    const tampered = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const carol = await member(CAROL, tampered);
    let n = debugLines.length;
    await carol.ua.start(); // the SIP core registers carol; the MCPTT server refuses her
    await until('the refusal', () => debugLines.slice(n).some((l) => l === 'sip: third-party REGISTER 403 (token)'));

    // alice's valid token in carol's REGISTER: the MCPTT ID is not the registering user.
    carol.token = tokens.get('alice')!.access;
    n = debugLines.length;
    await carol.ua.refreshRegistration();
    await until('the second refusal', () => debugLines.slice(n).some((l) => l === 'sip: third-party REGISTER 403 (identity-mismatch)'));

    // An ID token is not an access token (RFC 9068 typ at+jwt).
    carol.token = tokens.get('carol')!.id;
    n = debugLines.length;
    await carol.ua.refreshRegistration();
    await until('the third refusal', () => debugLines.slice(n).some((l) => l === 'sip: third-party REGISTER 403 (token)'));

    await sleep(300);
    expect(server.authorizedUsers()).not.toContain(CAROL);
    expect(server.sent().some((s) => s.to === CAROL)).toBe(false);
    expect(carol.keys).toEqual([]);
    await carol.ua.stop();
  });

  it("serves the caller's group configurations with I_MESSAGEs for the caller (5.6.1 C-5), 401 without a token", async () => {
    const res = await pull(`Bearer ${tokens.get('bob')!.access}`, WEB_ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(WEB_ORIGIN);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const json = (await res.json()) as { groups: { groupId: string; displayName: string; iMessages: string[] }[] };
    expect(json.groups.map((g) => [g.groupId, g.displayName])).toEqual([
      [FIRE, 'Fire ops'],
      [EMS, 'EMS'],
    ]);
    const receiver = createMikeyKeyReceiver({ self: bob.self, gmsUris: [GMS] });
    for (const g of json.groups) {
      expect(g.iMessages).toHaveLength(1);
      const k = await receiver.receive(new Uint8Array(Buffer.from(g.iMessages[0]!, 'base64')), 'GMK', { groupId: g.groupId });
      expect(hex(k.keyId)).toBe(hex(server.currentGmkId(g.groupId)!));
      expect(hex(k.key)).toBe(hex(lastKey(bob, g.groupId)!.key));
    }
    // alice's pulled GMK is not for bob.
    const aliceJson = (await (await pull(`Bearer ${tokens.get('alice')!.access}`)).json()) as { groups: { groupId: string; iMessages: string[] }[] };
    expect(aliceJson.groups.map((g) => g.groupId)).toEqual([FIRE]);
    await expect(receiver.receive(new Uint8Array(Buffer.from(aliceJson.groups[0]!.iMessages[0]!, 'base64')), 'GMK')).rejects.toMatchObject({ code: 'ERR_MIKEY_NOT_FOR_US' });

    const none = await pull();
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await pull('Bearer abc.def.ghi')).status).toBe(401);
    expect((await pull(`Bearer ${tokens.get('bob')!.id}`)).status).toBe(401);
    // CORS preflight only for the configured origins.
    expect((await fetch(`${server.httpUrl}/gms/v1/groups`, { method: 'OPTIONS', headers: { origin: WEB_ORIGIN } })).status).toBe(204);
    expect((await fetch(`${server.httpUrl}/gms/v1/groups`, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await fetch(`${server.httpUrl}/gms/v1/groups`, { method: 'POST' })).status).toBe(405);
  });

  it('addMember sends the newcomer the GMK in force (RFC 5275 4.3); the admin API does the same', async () => {
    await server.addMember(POLICE, ALICE);
    const police = lastKey(alice, POLICE);
    expect(police).toBeDefined();
    expect(hex(police!.keyId)).toBe(hex(server.currentGmkId(POLICE)!));

    expect((await admin(EMS, 'members', { add: ALICE })).status).toBe(204);
    expect(hex(lastKey(alice, EMS)!.keyId)).toBe(hex(lastKey(bob, EMS)!.keyId));
    expect(hex(lastKey(alice, EMS)!.rand)).toBe(hex(lastKey(bob, EMS)!.rand));

    expect((await admin(EMS, 'members', { add: ALICE })).status).toBe(409);
    expect((await admin('sip:nope@mcptt.example', 'rekey')).status).toBe(404);
    expect((await admin(EMS, 'rekey', undefined, 'text/plain')).status).toBe(415);
    expect((await admin(EMS, 'members', { add: 'x' })).status).toBe(400);
    await expect(server.removeMember(POLICE, BOB)).rejects.toMatchObject({ code: 'ERR_GMS_NOT_A_MEMBER' });
  });

  it('removeMember rekeys: the remaining members get a new GMK-ID and RAND, the removed member nothing (RFC 5275 4.4)', async () => {
    const old = lastKey(alice, FIRE)!;
    const bobCount = bob.keys.length;
    const from = server.sent().length;
    const t0 = Date.now();
    await server.removeMember(FIRE, BOB);
    const fresh = lastKey(alice, FIRE)!;
    expect(hex(fresh.keyId)).not.toBe(hex(old.keyId));
    expect(hex(fresh.rand)).not.toBe(hex(old.rand));
    expect(hex(fresh.key)).not.toBe(hex(old.key));
    expect(hex(server.currentGmkId(FIRE)!)).toBe(hex(fresh.keyId));
    expect(fresh.activationTime!).toBeGreaterThan(t0); // a replacing key activates a little later
    const sent = server.sent().slice(from);
    expect(sent.map((s) => [s.to, s.groupId, s.status])).toEqual([[ALICE, FIRE, 200]]);
    await sleep(300);
    expect(bob.keys.length).toBe(bobCount);
    // bob's pull no longer lists fire-ops.
    const json = (await (await pull(`Bearer ${tokens.get('bob')!.access}`)).json()) as { groups: { groupId: string }[] };
    expect(json.groups.map((g) => g.groupId)).toEqual([EMS]);
  });

  it('rekey through the admin API sends a new GMK to every member', async () => {
    const old = server.currentGmkId(EMS)!;
    expect((await admin(EMS, 'rekey')).status).toBe(204);
    const a = lastKey(alice, EMS)!;
    const b = lastKey(bob, EMS)!;
    expect(hex(a.keyId)).not.toBe(hex(old));
    expect(hex(a.keyId)).toBe(hex(b.keyId));
    expect(hex(a.rand)).toBe(hex(b.rand));
  });

  it('revoke sends the GMK in force again with status revoked (7.3.2); the group has no GMK until a rekey', async () => {
    const current = server.currentGmkId(FIRE)!;
    await server.revoke(FIRE);
    const r = lastKey(alice, FIRE)!;
    expect(r.status).toBe('revoked');
    expect(hex(r.keyId)).toBe(hex(current));
    expect(server.currentGmkId(FIRE)).toBeUndefined();
    expect(server.sent().at(-1)).toMatchObject({ to: ALICE, groupId: FIRE, revoked: true, status: 200 });

    expect((await admin(EMS, 'revoke')).status).toBe(204);
    expect(lastKey(bob, EMS)!.status).toBe('revoked');
    expect(lastKey(alice, EMS)!.status).toBe('revoked');
    const json = (await (await pull(`Bearer ${tokens.get('alice')!.access}`)).json()) as { groups: { groupId: string; iMessages: string[] }[] };
    expect(json.groups.find((g) => g.groupId === FIRE)!.iMessages).toEqual([]);

    // A rekey after the revocation keys the group again, active at once.
    await server.rekey(FIRE);
    const again = lastKey(alice, FIRE)!;
    expect(again.status).toBe('active');
    expect(hex(again.keyId)).toBe(hex(server.currentGmkId(FIRE)!));
    expect(again.activationTime!).toBeLessThanOrEqual(Date.now());
  });

  it('a third-party REGISTER with Expires 0 unbinds the user', async () => {
    // The SDK unregisters without a body, which the dev core does not repeat; a client that
    // puts its service authorization body in the de-REGISTER is repeated with Expires: 0.
    const ws = new WebSocket(kam.wsUrl, 'sip');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const body = buildServiceAuthorizationBody({ accessToken: tokens.get('alice')!.access });
    const callId = `t-${hex(rnd(6))}`;
    const answered = new Promise<string>((resolve) => ws.on('message', (d) => resolve(String(d))));
    const n = debugLines.length;
    ws.send(
      [
        `REGISTER sip:${DEV_SIP_DOMAIN} SIP/2.0`,
        `Via: SIP/2.0/WS t.invalid;branch=z9hG4bK${callId}`,
        'Max-Forwards: 70',
        `From: <${ALICE}>;tag=t1`,
        `To: <${ALICE}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 REGISTER',
        'Contact: <sip:t@t.invalid;transport=ws>;expires=0',
        `Content-Type: ${body.contentType}`,
        `Content-Length: ${Buffer.byteLength(body.body)}`,
        '',
        body.body,
      ].join('\r\n'),
    );
    expect(await answered).toMatch(/^SIP\/2\.0 200/);
    await until('the unbinding', () => debugLines.slice(n).includes('sip: third-party REGISTER 200 (unbound)'));
    expect(server.authorizedUsers()).toEqual([BOB]);
    ws.close();
    // alice's next REGISTER authorizes her again; a new binding gets the GMKs in force again.
    const count = alice.keys.length;
    await alice.ua.refreshRegistration();
    await until('alice re-keyed after re-binding', () => alice.keys.length > count);
    expect([...server.authorizedUsers()].sort()).toEqual([ALICE, BOB]);
    expect(hex(lastKey(alice, FIRE)!.keyId)).toBe(hex(server.currentGmkId(FIRE)!));
  });

  it('refreshes GMKs periodically when configured, and can notify every member (deliverTo all-members)', async () => {
    const group = 'sip:refresh-ops@mcptt.example';
    const second = await startMcpttServer({
      sipWsUrl: kam.wsUrl,
      domain: DEV_SIP_DOMAIN,
      serverUri: 'sip:mcptt-refresh@mcptt.example',
      gmsUri: GMS,
      kmsParams: kms.params,
      keysFor: (id, n) => kms.issue(id, n),
      verifyToken: async () => {
        throw new Error('not used');
      },
      groups: [{ groupId: group, members: [ALICE, 'sip:nobody@mcptt.example'] }],
      refreshIntervalMs: 1_000,
      deliverTo: 'all-members',
    });
    try {
      const first = second.currentGmkId(group)!;
      await until('a refreshed GMK at alice', () => keysOf(alice, group).length >= 1, 5_000);
      const k = keysOf(alice, group)[0]!;
      expect(hex(k.keyId)).not.toBe(hex(first));
      expect(k.activationTime!).toBeGreaterThan(k.sentAt);
      await until('the unregistered member answered', () => second.sent().some((s) => s.to === 'sip:nobody@mcptt.example'));
      expect(second.sent().find((s) => s.to === 'sip:nobody@mcptt.example')!.status).toBe(404); // from the SIP core
    } finally {
      await second.close();
    }
  });

  it('reconnects and registers its addresses again when the SIP core restarts', async () => {
    const { wsPort, udpPort } = kam;
    const n = debugLines.length;
    await kam.close();
    await until('the server noticed', () => debugLines.slice(n).includes('sip: connection lost, reconnecting'));
    kam = await startKamailio({ domain: DEV_SIP_DOMAIN, wsPort, udpPort, appServer: { uri: MCPTT_SERVER_URI, routePsis: [MCPTT_SERVER_URI, ...DEMO_GROUPS.map((g) => g.groupId)] } });
    await until('the server registered again', () => debugLines.slice(n).includes('sip: REGISTER 5 AORs: 200'), 15_000);
    await until('alice registered again', () => alice.ua.state === 'registered', 15_000);
    const count = keysOf(alice, FIRE).length;
    await server.rekey(FIRE);
    expect(keysOf(alice, FIRE).length).toBe(count + 1);
    expect(hex(lastKey(alice, FIRE)!.keyId)).toBe(hex(server.currentGmkId(FIRE)!));
  }, 40_000);

  it('never logs keys, tokens or MCPTT IDs', () => {
    const all = debugLines.join('\n');
    expect(all).not.toMatch(/alice|bob|carol|fire-ops|eyJ/);
    expect(debugLines.length).toBeGreaterThan(5);
  });
});
