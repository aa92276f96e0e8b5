/**
 * TS 33.179 9.1.3.3 and 9.3 end to end in Node: the dev MCPTT server with
 * `xmlProtection: 'required'`, Kamailio, the dev IdMS and KMS, and SDK signalling sessions
 * with `xmlProtection: true`. Registration and GMK delivery work while the SIP traffic a
 * client sends and receives holds no MCPTT ID, group ID or access token, in clear or base64;
 * clear, tampered, wrapped or mismatched service authorization bodies are refused with 403
 * and the reason is recorded. (The dev core answers the user's REGISTER itself and repeats it
 * to the server afterwards, 5.6.2.1 step 9: the server's verdict is read from `refusals()`
 * and `authorizedUsers()`, not from the user's REGISTER status.)
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
import { buildMcpttInfoXml } from '../../src/codec/sip-bodies.js';
import { buildServiceAuthorizationBodyXml, protectMcpttInfo } from '../../src/codec/xml-protect/index.js';
import { decodeBase64, encodeBase64 } from '../../src/codec/kms/index.js';
import { createKeyDistribution, keyProfile, newKeyId, ntpSecondsOfUnixMs, periodAt, staticIdentity, type LocalIdentity } from '../../src/keys/index.js';
import { openKeyStore, type KeyStore } from '../../src/platform/key-store/index.js';
import { createSignallingSession, type GroupKeyInfo, type IncomingPrivateCall, type PrivateCall, type SignallingSession } from '../../src/platform/signalling/index.js';
import { createSipUserAgent, type SipUserAgent } from '../../src/platform/sip/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { findLeaks } from '../helpers/clear-text.js';
import { stubSdhFactory, waitFor as until } from '../signalling/helpers.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const REDIRECT_URI = 'http://127.0.0.1:1/callback';
const GMS = SERVER_IDENTITIES.gms;
const FIRE = 'sip:fire-ops@mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const BOB = 'sip:bob@mcptt.example';
const CAROL = 'sip:carol@mcptt.example';
const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** Records the text of every SIP message a sip.js user agent sends and receives. */
function wireTap(wire: string[]): (options: ConstructorParameters<typeof UserAgent>[0]) => UserAgent {
  return (options) => {
    const ua = new UserAgent(options);
    const t = ua.transport;
    const send = t.send.bind(t);
    t.send = (text: string) => {
      wire.push(text);
      return send(text);
    };
    const onMessage = t.onMessage;
    t.onMessage = (text: string) => {
      wire.push(text);
      onMessage?.(text);
    };
    return ua;
  };
}

describe('XML protection of sensitive signalling through Kamailio (TS 33.179 9.1.3, 9.3)', () => {
  let idms: Idms;
  let kms: RunningKms;
  let kam: RunningKamailio;
  let server: RunningMcpttServer;
  const debugLines: string[] = [];
  const tokens = new Map<string, string>();
  const sessions: SignallingSession[] = [];
  const stores: KeyStore[] = [];
  const uas: SipUserAgent[] = [];
  const wire: string[] = [];

  function identity(mcpttId: string): LocalIdentity {
    const p = periodAt(kms.params, ntpSecondsOfUnixMs(Date.now()));
    return staticIdentity(mcpttId, kms.params, [kms.issue(mcpttId, p), kms.issue(mcpttId, p + 1)]);
  }

  async function session(mcpttId: string, username: string, xmlProtection: boolean, serviceAuthorization: 'register' | 'publish' = 'register'): Promise<{ s: SignallingSession; keys: GroupKeyInfo[] }> {
    const store = await openKeyStore({ name: `xmlp-${username}-${Date.now()}` });
    stores.push(store);
    const self = identity(mcpttId);
    const s = createSignallingSession({
      sipServer: kam.wsUrl,
      mcpttServerUri: MCPTT_SERVER_URI,
      gmsUris: [GMS],
      identity: () => self,
      tokens: { accessToken: async () => tokens.get(username)! },
      store,
      xmlProtection,
      serviceAuthorization,
      // The dev server's HTTP API: the group pull and, under protection, the directory.
      gmsUrl: server.httpUrl,
      sessionDescriptionHandlerFactory: stubSdhFactory(),
      userAgentFactory: wireTap(wire),
    });
    sessions.push(s);
    const keys: GroupKeyInfo[] = [];
    s.on('group-key', (k) => keys.push(k));
    return { s, keys };
  }

  /**
   * Registers with a hand-made protected body (`edit` changes the protected mcpttinfo) and
   * returns the server's verdict: 200 once authorized, else the refusal recorded.
   */
  async function rawRegister(o: { user: string; tokenOf: string; edit?: (xml: string) => string }): Promise<number> {
    const n = server.refusals().length;
    const self = identity(o.user);
    const csk = { key: rnd(16), keyId: newKeyId(keyProfile().defaultTag.CSK!, rnd) };
    const message = await createKeyDistribution({
      kind: 'CSK', ...csk, rand: rnd(16), from: self, to: { uri: MCPTT_SERVER_URI, kms: kms.params }, time: Date.now(), hideIdentities: true,
    });
    const info = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: tokens.get(o.tokenOf)! }), csk, o.user);
    const body = buildServiceAuthorizationBodyXml({ cskIMessage: message, mcpttInfoXml: (o.edit ?? ((x) => x))(info) });
    const ua = createSipUserAgent({ server: kam.wsUrl, aor: `sip:ue-test${uas.length}@${DEV_SIP_DOMAIN}`, serviceAuthorization: 'register', registerBody: async () => body });
    uas.push(ua);
    await ua.start();
    await until('the verdict of the server', () => server.refusals().length > n || server.authorizedUsers().includes(o.user));
    return server.refusals().length > n ? server.refusals().at(-1)!.status : 200;
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
      users: DEMO_USERS.map((u) => u.mcpttId),
      xmlProtection: 'required',
      debug: (line) => debugLines.push(line),
    });
    for (const u of DEMO_USERS) {
      const { tokens: t } = await devLogin({ issuer: idms.issuer, clientId: DEV_CLIENT_ID, redirectUri: REDIRECT_URI, username: u.username, password: u.password });
      tokens.set(u.username, t.access_token);
    }
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled([...sessions.map((s) => s.stop()), ...uas.map((u) => u.stop())]);
    for (const s of stores) s.close();
    await server?.close();
    await kam?.close();
    await Promise.allSettled([kms?.close(), idms?.close()]);
  }, 20_000);

  it('registers under opaque AORs and delivers GMKs, with no MCPTT ID, group ID or token on the wire', async () => {
    const alice = await session(ALICE, 'alice', true);
    const bob = await session(BOB, 'bob', true);
    await alice.s.start();
    await bob.s.start();
    await until('both authorized', () => server.authorizedUsers().includes(ALICE) && server.authorizedUsers().includes(BOB));
    expect(alice.s.aor).toMatch(/^sip:ue-[a-z2-7]{16}@mcptt\.example$/);
    expect(bob.s.aor).not.toBe(alice.s.aor);
    expect(server.aorOf(ALICE)).toBe(alice.s.aor);
    expect(server.aorOf(BOB)).toBe(bob.s.aor);
    await until('both hold the fire-ops GMK', () => alice.keys.some((k) => k.groupId === FIRE) && bob.keys.some((k) => k.groupId === FIRE));
    // 200, or 488 "Duplicate Key" when the pull at connect was first: accepted either way.
    expect(server.sent().filter((r) => r.groupId === FIRE).every((r) => r.status === 200 || r.status === 488)).toBe(true);
    // A rekey too goes out protected and is accepted.
    await server.rekey(FIRE);
    const gmkId = bytesToHex(server.currentGmkId(FIRE)!);
    for (const m of [alice, bob]) await until('the rekeyed GMK by SIP MESSAGE', () => m.keys.some((k) => k.gmkId === gmkId && k.source === 'notification'));

    const traffic = wire.join('\n');
    expect(traffic).toContain('REGISTER sip:mcptt.example');
    expect(traffic).toMatch(/^MESSAGE sip:/m);
    expect(traffic).toMatch(/^To: <sip:ue-[a-z2-7]{16}@mcptt\.example>/m);
    expect(traffic).toContain('xenc:EncryptedData');
    const secrets = [
      ...DEMO_USERS.map((u) => u.mcpttId.replace(/^sip:/, '')),
      ...DEMO_GROUPS.map((g) => g.groupId.replace(/^sip:/, '')),
      ...[...tokens.values()],
    ];
    expect(findLeaks(traffic, secrets)).toEqual([]);
    expect(server.refusals()).toEqual([]);
  });

  it('a private call under protection: dialled by opaque AOR, PCK with hidden identities, the callee learns the verified caller', async () => {
    const [alice, bob] = sessions as [SignallingSession, SignallingSession];
    const n = wire.length;
    const rang: IncomingPrivateCall[] = [];
    const off = bob.on('incoming-call', (c) => {
      rang.push(c);
      void c.accept();
    });
    const bobCall = new Promise<PrivateCall>((resolve) => bob.on('call-keys', resolve));
    const call = await alice.call(BOB);
    const atBob = await bobCall;
    off();
    expect(rang[0]!.caller).toMatchObject({ uri: ALICE, hidden: false });
    expect(atBob.peer).toMatchObject({ uri: ALICE, verified: true });
    expect(bytesToHex(atBob.keys().key)).toBe(bytesToHex(call.keys().key));
    const invite = wire.slice(n).find((t) => t.startsWith('INVITE '))!;
    expect(invite).toMatch(/^To: <sip:ue-[a-z2-7]{16}@mcptt\.example>/m);
    expect(invite).toContain('a=key-mgmt:mikey');
    await call.hangup();
    const secrets = [...DEMO_USERS.map((u) => u.mcpttId.replace(/^sip:/, '')), ...DEMO_GROUPS.map((g) => g.groupId.replace(/^sip:/, '')), ...tokens.values()];
    expect(findLeaks(wire.slice(n).join('\n'), secrets)).toEqual([]);
  });

  it('refuses a client that sends its token in clear (403, ERR_XML_PROTECT_REQUIRED)', async () => {
    const carol = await session(CAROL, 'carol', false);
    await carol.s.start();
    await until('the refusal', () => server.refusals().length > 0);
    expect(server.refusals().at(-1)).toMatchObject({ status: 403, failure: 'clear-body', code: 'ERR_XML_PROTECT_REQUIRED' });
    expect(server.authorizedUsers()).not.toContain(CAROL);
    await carol.s.stop();
  });

  it('refuses a tampered signature, a tampered ciphertext, signature wrapping and a changed KeyName with the typed reason', async () => {
    const flipSig = (x: string): string => {
      const v = /<SignatureValue>([^<]*)</.exec(x)![1]!;
      const b = decodeBase64(v, 't');
      b[3]! ^= 1;
      return x.replace(v, encodeBase64(b));
    };
    const flipCipher = (x: string): string => {
      const v = /<xenc:CipherValue>([^<]*)</.exec(x)![1]!;
      const b = decodeBase64(v, 't');
      b[b.length - 1]! ^= 1;
      return x.replace(v, encodeBase64(b));
    };
    // Wrapping: a second mcptt-Params (an encrypted copy, or a clear value) beside the signed one.
    const wrap = (x: string): string => x.replace('<mcptt-Params', `<mcptt-Params>${/<mcptt-access-token[^]*?<\/mcptt-access-token>/.exec(x)![0]}</mcptt-Params><mcptt-Params`);
    const wrapClear = (x: string): string => x.replace('<mcptt-Params', '<mcptt-Params><mcptt-access-token type="Normal"><mcpttString>eyJ4IjoxfQ.eyJ5IjoyfQ.c2ln</mcpttString></mcptt-access-token></mcptt-Params><mcptt-Params');
    const keyName = (x: string): string => x.replace(/<ds:KeyName>[^<]*</, `<ds:KeyName>${encodeBase64(Uint8Array.of(0x20, 0, 0, 1))}<`);
    for (const [edit, code] of [
      [flipSig, 'ERR_XML_PROTECT_BAD_SIGNATURE'],
      [flipCipher, 'ERR_XML_PROTECT_BAD_SIGNATURE'],
      [wrap, 'ERR_XML_PROTECT_BAD_SIGNATURE'],
      [keyName, 'ERR_XML_PROTECT_BAD_SIGNATURE'],
      [wrapClear, 'ERR_XML_PROTECT_REQUIRED'],
    ] as const) {
      expect(await rawRegister({ user: CAROL, tokenOf: 'carol', edit })).toBe(403);
      expect(server.refusals().at(-1)).toMatchObject({ status: 403, failure: 'xml-protect', code });
    }
    expect(server.authorizedUsers()).not.toContain(CAROL);
    // The same, untouched, authorizes carol under the opaque AOR.
    expect(await rawRegister({ user: CAROL, tokenOf: 'carol' })).toBe(200);
  });

  it("refuses another user's token under one's own CSK (the token's MCPTT ID must own the CSK)", async () => {
    const n = server.refusals().length;
    expect(await rawRegister({ user: 'sip:dispatch@mcptt.example', tokenOf: 'alice' })).toBe(403);
    expect(server.refusals().slice(n)).toEqual([expect.objectContaining({ failure: 'identity-mismatch' })]);
  });

  it("service authorization by PUBLISH (5.6.2.2) is protected the same way; the server's 200 is the PUBLISH's", async () => {
    const n = wire.length;
    const dispatch = await session('sip:dispatch@mcptt.example', 'dispatch', true, 'publish');
    await dispatch.s.start();
    expect(server.aorOf('sip:dispatch@mcptt.example')).toBe(dispatch.s.aor);
    await until('the GMKs of dispatch', () => new Set(dispatch.keys.map((k) => k.groupId)).size === 3);
    const publish = wire.slice(n).find((t) => t.startsWith('PUBLISH '))!;
    expect(publish).toContain('xenc:EncryptedData');
    expect(findLeaks(wire.slice(n).join('\n'), [...DEMO_USERS.map((u) => u.mcpttId.replace(/^sip:/, '')), ...tokens.values()])).toEqual([]);
    await dispatch.s.stop();
  });

  it('never logs tokens or identities', () => {
    const log = debugLines.join('\n');
    expect(findLeaks(log, [...DEMO_USERS.map((u) => u.mcpttId), ...tokens.values()])).toEqual([]);
  });
});
