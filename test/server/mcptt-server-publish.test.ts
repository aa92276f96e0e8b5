/**
 * MCPTT user service authorization by SIP PUBLISH (TS 33.179 5.6.2.2) end to end: the SDK's
 * SIP user agent and signalling session in 'publish' mode, Kamailio 5.6 routing the PUBLISH
 * to the dev MCPTT server's registered contact, the dev MCPTT server checking it exactly as
 * a third-party REGISTER (5.6.2.1) and then sending the GMKs (7.3.2). Real logins at the dev
 * IdMS (JWT access tokens), real keys from the dev KMS, real CSK I_MESSAGEs to the MDSI.
 *
 * RFC 3903 on the wire: the initial PUBLISH gets a SIP-ETag, a refresh (new token) carries
 * SIP-If-Match and gets a new entity-tag, stop() removes the publication with Expires 0 and
 * the server unbinds the user; an unknown entity-tag is 412, another event package 489.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { UserAgent } from 'sip.js';

import { DEMO_GROUPS, DEMO_USERS, DEV_CLIENT_ID, DEV_KMS_URI, DEV_SIP_DOMAIN, DEV_USER_KEY_OFFSET, DEV_USER_KEY_PERIOD, MCPTT_SERVER_URI, SERVER_IDENTITIES } from '../../demo/server/config.js';
import { devLogin } from '../../demo/server/dev-login.js';
import { startIdms, type Idms } from '../../demo/server/idms.js';
import { startKamailio, type RunningKamailio } from '../../demo/server/kamailio.js';
import { startKms, type RunningKms } from '../../demo/server/kms.js';
import { startMcpttServer, type RunningMcpttServer } from '../../demo/server/mcptt-server/index.js';
import { createTokenVerifier } from '../../demo/server/token-verifier.js';
import { buildServiceAuthorizationBody, parseGmkNotificationBody, parseServiceAuthorizationBody } from '../../src/codec/sip-bodies.js';
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
import { openKeyStore, type KeyStore } from '../../src/platform/key-store/index.js';
import { createSignallingSession, type GroupKeyInfo, type SignallingSession } from '../../src/platform/signalling/index.js';
import { createSipUserAgent, isSipError, type SipUserAgent } from '../../src/platform/sip/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { sleep, stubSdhFactory, waitFor as until } from '../signalling/helpers.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const REDIRECT_URI = 'http://127.0.0.1:1/callback';
const GMS = SERVER_IDENTITIES.gms;
const FIRE = 'sip:fire-ops@mcptt.example';
const EMS = 'sip:ems@mcptt.example';
const POLICE = 'sip:police@mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const CAROL = 'sip:carol@mcptt.example';
const DISPATCH = 'sip:dispatch@mcptt.example';

const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
/** One SIP message as seen on a user agent's WebSocket. */
interface WireMessage {
  readonly dir: 'out' | 'in';
  readonly text: string;
}

const startLine = (m: WireMessage): string => m.text.slice(0, m.text.indexOf('\r\n'));
const header = (m: WireMessage, name: string): string | undefined => {
  const head = m.text.slice(0, m.text.indexOf('\r\n\r\n'));
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im');
  return re.exec(head)?.[1]?.trim();
};
const bodyOf = (m: WireMessage): string => m.text.slice(m.text.indexOf('\r\n\r\n') + 4);
const cseqMethod = (m: WireMessage): string | undefined => header(m, 'CSeq')?.split(/\s+/)[1];

/** Records every message the sip.js user agent sends and receives. */
function wireTap(wire: WireMessage[]): (options: ConstructorParameters<typeof UserAgent>[0]) => UserAgent {
  return (options) => {
    const ua = new UserAgent(options);
    const t = ua.transport;
    const send = t.send.bind(t);
    t.send = (text: string) => {
      wire.push({ dir: 'out', text });
      return send(text);
    };
    const onMessage = t.onMessage;
    t.onMessage = (text: string) => {
      wire.push({ dir: 'in', text });
      onMessage?.(text);
    };
    return ua;
  };
}

interface Member {
  readonly mcpttId: string;
  readonly ua: SipUserAgent;
  readonly keys: ReceivedKey[];
  readonly wire: WireMessage[];
  /** The access token the next PUBLISH carries. */
  token: string;
}

describe('service authorization by SIP PUBLISH at the dev MCPTT server (TS 33.179 5.6.2.2)', () => {
  let idms: Idms;
  let kms: RunningKms;
  let kam: RunningKamailio;
  let server: RunningMcpttServer;
  const debugLines: string[] = [];
  const members: Member[] = [];
  const sessions: SignallingSession[] = [];
  const stores: KeyStore[] = [];
  const tokens = new Map<string, { access: string; id: string }>();

  function identity(mcpttId: string): LocalIdentity {
    const p = periodAt(kms.params, ntpSecondsOfUnixMs(Date.now()));
    return staticIdentity(mcpttId, kms.params, [kms.issue(mcpttId, p), kms.issue(mcpttId, p + 1)]);
  }

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

  function member(mcpttId: string, token: string): Member {
    const self = identity(mcpttId);
    const receiver = createMikeyKeyReceiver({ self, gmsUris: [GMS] });
    const keys: ReceivedKey[] = [];
    const wire: WireMessage[] = [];
    const m: Member = {
      mcpttId,
      keys,
      wire,
      token,
      ua: createSipUserAgent({
        server: kam.wsUrl,
        aor: mcpttId,
        serviceAuthorization: 'publish',
        publishTarget: MCPTT_SERVER_URI,
        sessionDescriptionHandlerFactory: stubSdhFactory(),
        userAgentFactory: wireTap(wire),
        registerBody: async () => buildServiceAuthorizationBody({ accessToken: m.token, cskIMessage: await cskIMessage(self) }),
        delegate: {
          async onKeyNotification(body, contentType, from) {
            if (from !== GMS) return { status: 403, reason: 'Forbidden' };
            const n = parseGmkNotificationBody(contentType, body);
            for (const im of n.iMessages) keys.push(await receiver.receive(im, 'GMK', { groupId: n.groupId }));
            return { status: 200 };
          },
        },
      }),
    };
    members.push(m);
    return m;
  }

  const requests = (m: Member, method: string): WireMessage[] => m.wire.filter((w) => w.dir === 'out' && startLine(w).startsWith(`${method} `));
  const responses = (m: Member, method: string): WireMessage[] =>
    m.wire.filter((w) => w.dir === 'in' && startLine(w).startsWith('SIP/2.0 ') && !startLine(w).startsWith('SIP/2.0 100') && cseqMethod(w) === method);
  const groupsOf = (m: Member): string[] => [...new Set(m.keys.flatMap((k) => k.groupIds))].sort();

  async function login(username: string): Promise<{ access: string; id: string }> {
    const user = DEMO_USERS.find((u) => u.username === username)!;
    const { tokens: t } = await devLogin({ issuer: idms.issuer, clientId: DEV_CLIENT_ID, redirectUri: REDIRECT_URI, username, password: user.password });
    return { access: t.access_token, id: t.id_token };
  }

  /** Sends one raw request over a fresh WebSocket through the core; resolves with the status line. */
  async function raw(lines: (callId: string) => string[]): Promise<string> {
    const ws = new WebSocket(kam.wsUrl, 'sip');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const callId = `p-${bytesToHex(rnd(6))}`;
    const answered = new Promise<string>((resolve) =>
      ws.on('message', (d) => {
        const s = String(d);
        if (!s.startsWith('SIP/2.0 100')) resolve(s.slice(0, s.indexOf('\r\n')));
      }),
    );
    ws.send(lines(callId).join('\r\n'));
    try {
      return await answered;
    } finally {
      ws.close();
    }
  }

  const rawPublish = (from: string, extra: string[], body?: { contentType: string; body: string }) =>
    raw((callId) => [
      `PUBLISH ${MCPTT_SERVER_URI} SIP/2.0`,
      `Via: SIP/2.0/WS t.invalid;branch=z9hG4bK${callId}`,
      'Max-Forwards: 70',
      `From: <${from}>;tag=t1`,
      `To: <${MCPTT_SERVER_URI}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 PUBLISH',
      ...extra,
      ...(body ? [`Content-Type: ${body.contentType}`] : []),
      `Content-Length: ${body ? Buffer.byteLength(body.body) : 0}`,
      '',
      body?.body ?? '',
    ]);

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
      debug: (line) => debugLines.push(line),
    });
    for (const u of ['alice', 'bob', 'carol', 'dispatch']) tokens.set(u, await login(u));
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled([...sessions.map((s) => s.stop()), ...members.map((m) => m.ua.stop())]);
    for (const s of stores) s.close();
    await server?.close();
    await kam?.close();
    await Promise.allSettled([kms?.close(), idms?.close()]);
  }, 20_000);

  let alice: Member;

  it("authorizes from a PUBLISH after a body-less REGISTER, answers SIP-ETag and Expires, then sends the member's GMKs", async () => {
    alice = member(ALICE, tokens.get('alice')!.access);
    const n = debugLines.length;
    await alice.ua.start();
    expect(alice.ua.state).toBe('registered');

    const [reg] = requests(alice, 'REGISTER');
    expect(bodyOf(reg!)).toBe('');
    const [pub] = requests(alice, 'PUBLISH');
    expect(startLine(pub!)).toBe(`PUBLISH ${MCPTT_SERVER_URI} SIP/2.0`);
    expect(header(pub!, 'Event')).toBe('poc.settings');
    expect(header(pub!, 'SIP-If-Match')).toBeUndefined();
    const sent = parseServiceAuthorizationBody(header(pub!, 'Content-Type')!, bodyOf(pub!));
    expect(sent.accessToken).toBe(tokens.get('alice')!.access);
    expect(sent.cskIMessage).toBeDefined();

    const [ok] = responses(alice, 'PUBLISH');
    expect(startLine(ok!)).toBe('SIP/2.0 200 OK');
    expect(header(ok!, 'SIP-ETag')).toMatch(/^\S+$/);
    expect(Number(header(ok!, 'Expires'))).toBe(600);

    await until("alice's fire-ops GMK", () => groupsOf(alice).includes(FIRE));
    expect(groupsOf(alice)).toEqual([FIRE]);
    expect(bytesToHex(alice.keys[0]!.keyId)).toBe(bytesToHex(server.currentGmkId(FIRE)!));
    expect(server.authorizedUsers()).toEqual([ALICE]);
    expect(server.sent().map((s) => [s.to, s.groupId, s.status])).toEqual([[ALICE, FIRE, 200]]);
    // The body-less REGISTER was not repeated to the server: the PUBLISH did it all.
    expect(debugLines.slice(n)).toContain('sip: PUBLISH 200 (with CSK)');
    expect(debugLines.slice(n).some((l) => l.startsWith('sip: third-party REGISTER'))).toBe(false);
  });

  it('a refresh with a new token is a PUBLISH with SIP-If-Match, gets a new entity-tag, and sends nothing again', async () => {
    const firstTag = header(responses(alice, 'PUBLISH').at(-1)!, 'SIP-ETag')!;
    alice.token = (await login('alice')).access;
    const before = server.sent().length;
    await alice.ua.refreshRegistration();
    const pub = requests(alice, 'PUBLISH').at(-1)!;
    expect(header(pub, 'SIP-If-Match')).toBe(firstTag);
    expect(parseServiceAuthorizationBody(header(pub, 'Content-Type')!, bodyOf(pub)).accessToken).toBe(alice.token);
    const ok = responses(alice, 'PUBLISH').at(-1)!;
    expect(startLine(ok)).toBe('SIP/2.0 200 OK');
    expect(header(ok, 'SIP-ETag')).not.toBe(firstTag);
    await sleep(300);
    expect(server.sent().length).toBe(before);
    expect(server.authorizedUsers()).toEqual([ALICE]);

    // The old entity-tag is gone (RFC 3903: a new one per successful PUBLISH).
    expect(await rawPublish(ALICE, ['Event: poc.settings', 'Expires: 600', `SIP-If-Match: ${firstTag}`])).toBe('SIP/2.0 412 Conditional Request Failed');
  });

  it('refuses a bad token or the token of another user with 403 and sends no GMK; a good token then authorizes', async () => {
    const good = tokens.get('carol')!.access;
    const [h, p, s] = good.split('.') as [string, string, string];
    const tampered = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const carol = member(CAROL, tampered);
    const failures: number[] = [];
    carol.ua.on('registrationFailed', (e) => failures.push(e.statusCode ?? 0));
    const e = await carol.ua.start().catch((x: unknown) => x);
    expect(isSipError(e) && [e.code, e.statusCode]).toEqual(['ERR_SIP_REGISTRATION_REJECTED', 403]);
    expect(carol.ua.state).toBe('rejected');
    expect(debugLines).toContain('sip: PUBLISH 403 (token)');

    carol.token = tokens.get('alice')!.access;
    const e2 = await carol.ua.refreshRegistration().catch((x: unknown) => x);
    expect(isSipError(e2) && e2.statusCode).toBe(403);
    expect(debugLines).toContain('sip: PUBLISH 403 (identity-mismatch)');
    expect(failures).toEqual([403, 403]);

    await sleep(300);
    expect(server.authorizedUsers()).not.toContain(CAROL);
    expect(server.sent().some((x) => x.to === CAROL)).toBe(false);
    expect(carol.keys).toEqual([]);

    carol.token = good;
    await carol.ua.refreshRegistration();
    expect(carol.ua.state).toBe('registered');
    await until("carol's GMKs", () => groupsOf(carol).length === 2);
    expect(groupsOf(carol)).toEqual([FIRE, POLICE].sort());
    await carol.ua.stop();
  });

  it('answers 489 for another event package, 400 without body or entity-tag, 404 elsewhere, 501 for other methods', async () => {
    const body = buildServiceAuthorizationBody({ accessToken: tokens.get('alice')!.access });
    expect(await rawPublish(ALICE, ['Event: presence', 'Expires: 600'], body)).toBe('SIP/2.0 489 Bad Event');
    expect(await rawPublish(ALICE, ['Event: poc.settings', 'Expires: 600'])).toBe('SIP/2.0 400 Bad Request');
    expect(await rawPublish(ALICE, ['Event: poc.settings', 'Expires: 600', 'SIP-If-Match: nope'])).toBe('SIP/2.0 412 Conditional Request Failed');
    const toGroup = await raw((callId) => [
      `PUBLISH ${FIRE} SIP/2.0`,
      `Via: SIP/2.0/WS t.invalid;branch=z9hG4bK${callId}`,
      'Max-Forwards: 70',
      `From: <${ALICE}>;tag=t1`,
      `To: <${FIRE}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 PUBLISH',
      'Event: poc.settings',
      `Content-Type: ${body.contentType}`,
      `Content-Length: ${Buffer.byteLength(body.body)}`,
      '',
      body.body,
    ]);
    expect(toGroup).toBe('SIP/2.0 404 Not Found');
    const e = await alice.ua.sendMessage(MCPTT_SERVER_URI, { contentType: 'text/plain', body: 'x' }).catch((x: unknown) => x);
    expect(isSipError(e) && e.statusCode).toBe(501);
    expect(server.authorizedUsers()).toEqual([ALICE]);
  });

  it('a refresh whose entity-tag the server no longer knows (412) is retried as an initial PUBLISH', async () => {
    const tag = header(responses(alice, 'PUBLISH').at(-1)!, 'SIP-ETag')!;
    // The publication is removed behind the agent's back (as after a server restart).
    expect(await rawPublish(ALICE, ['Event: poc.settings', 'Expires: 0', `SIP-If-Match: ${tag}`])).toBe('SIP/2.0 200 OK');
    expect(server.authorizedUsers()).not.toContain(ALICE);
    const count = alice.keys.length;
    const pubs = requests(alice, 'PUBLISH').length;
    await alice.ua.refreshRegistration();
    const [refresh, initial] = requests(alice, 'PUBLISH').slice(pubs);
    expect(header(refresh!, 'SIP-If-Match')).toBe(tag);
    expect(header(initial!, 'SIP-If-Match')).toBeUndefined();
    expect(responses(alice, 'PUBLISH').slice(-2).map(startLine)).toEqual(['SIP/2.0 412 Conditional Request Failed', 'SIP/2.0 200 OK']);
    expect(alice.ua.state).toBe('registered');
    expect(server.authorizedUsers()).toEqual([ALICE]);
    // A new binding: the GMK in force goes out again.
    await until('alice re-keyed after re-binding', () => alice.keys.length > count);
    expect(bytesToHex(alice.keys.at(-1)!.keyId)).toBe(bytesToHex(server.currentGmkId(FIRE)!));
  });

  it('stop() removes the publication with Expires 0 and the server unbinds the user', async () => {
    const tag = header(responses(alice, 'PUBLISH').at(-1)!, 'SIP-ETag')!;
    const n = debugLines.length;
    await alice.ua.stop();
    const removal = requests(alice, 'PUBLISH').at(-1)!;
    expect(header(removal, 'Expires')).toBe('0');
    expect(header(removal, 'SIP-If-Match')).toBe(tag);
    expect(bodyOf(removal)).toBe('');
    expect(startLine(responses(alice, 'PUBLISH').at(-1)!)).toBe('SIP/2.0 200 OK');
    // The PUBLISH removal goes before the REGISTER removal.
    const out = alice.wire.filter((w) => w.dir === 'out');
    expect(out.indexOf(removal)).toBeLessThan(out.indexOf(requests(alice, 'REGISTER').at(-1)!));
    expect(debugLines.slice(n)).toContain('sip: PUBLISH 200 (unbound)');
    expect(server.authorizedUsers()).not.toContain(ALICE);
    // Unbound: a rekey no longer notifies alice.
    const before = server.sent().length;
    await server.rekey(FIRE);
    expect(server.sent().slice(before).some((s) => s.to === ALICE)).toBe(false);
  });

  it("signalling session with serviceAuthorization 'publish': GMKs after connect, PUBLISH on token refresh, unbound on stop", async () => {
    const store = await openKeyStore({ name: `publish-dispatch-${Date.now()}` });
    stores.push(store);
    let token = tokens.get('dispatch')!.access;
    const refresh = new Set<() => void>();
    const self = identity(DISPATCH);
    const session = createSignallingSession({
      sipServer: kam.wsUrl,
      mcpttServerUri: MCPTT_SERVER_URI,
      gmsUris: [GMS],
      identity: () => self,
      tokens: {
        accessToken: async () => token,
        onRefresh: (l) => {
          refresh.add(l);
          return () => refresh.delete(l);
        },
      },
      store,
      serviceAuthorization: 'publish',
      sessionDescriptionHandlerFactory: stubSdhFactory(),
    });
    sessions.push(session);
    const keys: GroupKeyInfo[] = [];
    session.on('group-key', (k) => keys.push(k));
    let n = debugLines.length;
    await session.start();
    await until('the GMKs of dispatch', () => new Set(keys.map((k) => k.groupId)).size === 3);
    expect([...new Set(keys.map((k) => k.groupId))].sort()).toEqual([EMS, FIRE, POLICE].sort());
    expect(keys.every((k) => k.source === 'notification')).toBe(true);
    expect((await store.mediaKeys({ kind: 'GMK' })).length).toBe(3);
    expect(server.authorizedUsers()).toContain(DISPATCH);
    expect(debugLines.slice(n)).toContain('sip: PUBLISH 200 (with CSK)');

    n = debugLines.length;
    token = (await login('dispatch')).access;
    for (const l of refresh) l();
    await until('the PUBLISH with the new token', () => debugLines.slice(n).includes('sip: PUBLISH 200 (with CSK)'));

    n = debugLines.length;
    await session.stop();
    expect(debugLines.slice(n)).toContain('sip: PUBLISH 200 (unbound)');
    expect(server.authorizedUsers()).not.toContain(DISPATCH);
  });

  it('never logs keys, tokens or MCPTT IDs', () => {
    expect(debugLines.join('\n')).not.toMatch(/alice|carol|dispatch|fire-ops|eyJ/);
  });
});
