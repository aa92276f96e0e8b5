/**
 * The facade's signalling (`McpttClient.connect/call/disconnect`, src/client.ts) end to end
 * in Node: login through a fake OIDC user manager (the IdMS is not under test), identity keys
 * from the dev KMS over HTTP, the key store on fake-indexeddb, Kamailio as the SIP core.
 * connect() waits for the keys, registers with token + CSK (TS 33.179 5.6.2.1, 9.1.3.2);
 * call() carries the PCK (7.4); logout() disconnects.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { DEV_KMS_URI, DEV_SIP_DOMAIN, DEV_USER_KEY_OFFSET, DEV_USER_KEY_PERIOD, MCPTT_SCOPES, SERVER_IDENTITIES } from '../../demo/server/config.js';
import { startKamailio, type RunningKamailio } from '../../demo/server/kamailio.js';
import { KMS_SCOPE, startKms, type RunningKms } from '../../demo/server/kms.js';
import { createMcpttClient, type McpttClient } from '../../src/client.js';
import { parseServiceAuthorizationBody } from '../../src/codec/sip-bodies.js';
import { AuthError } from '../../src/errors.js';
import { createMikeyKeyReceiver, ntpSecondsOfUnixMs, periodAt, staticIdentity } from '../../src/keys/index.js';
import type { OidcUserLike, UserManagerLike } from '../../src/platform/auth/index.js';
import type { IncomingPrivateCall, PrivateCall } from '../../src/platform/signalling/index.js';
import type { SipUaState } from '../../src/platform/sip/index.js';
import { bytesToHex, utf8 } from '../../src/util/bytes.js';
import { MdsiEndpoint, stubSdhFactory, waitFor } from './helpers.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const ALICE = `sip:alice@${DEV_SIP_DOMAIN}`;
const BOB = `sip:bob@${DEV_SIP_DOMAIN}`;
const MDSI = SERVER_IDENTITIES.mdsi;
const TOKENS: Readonly<Record<string, string>> = { 'tok-alice': ALICE, 'tok-bob': BOB };

/** Stands in for oidc-client-ts: a popup login that yields the user's tokens at once. */
class FakeUserManager implements UserManagerLike {
  #user: OidcUserLike | null = null;
  constructor(readonly mcpttId: string, readonly token: string) {}
  #issue(): OidcUserLike {
    this.#user = { access_token: this.token, refresh_token: 'r', expires_at: Math.floor(Date.now() / 1000) + 3600, scope: MCPTT_SCOPES.join(' '), profile: { mcptt_id: this.mcpttId } };
    return this.#user;
  }
  async signinRedirect(): Promise<void> {}
  async signinPopup(): Promise<OidcUserLike> {
    return this.#issue();
  }
  async signinRedirectCallback(): Promise<OidcUserLike> {
    return this.#issue();
  }
  async signinPopupCallback(): Promise<void> {}
  async signinSilent(): Promise<OidcUserLike | null> {
    return this.#issue();
  }
  async getUser(): Promise<OidcUserLike | null> {
    return this.#user;
  }
  async removeUser(): Promise<void> {
    this.#user = null;
  }
  async revokeTokens(): Promise<void> {}
  async signoutRedirect(): Promise<void> {}
  async clearStaleState(): Promise<void> {}
}

describe('McpttClient.connect / call / disconnect (TS 33.179 5.6.2.1, 7.4, 9.1.3.2)', () => {
  let kms: RunningKms;
  let kam: RunningKamailio;
  const mdsi = new MdsiEndpoint();
  const clients: McpttClient[] = [];

  function client(name: string, mcpttId: string): McpttClient {
    const c = createMcpttClient({
      idms: { authority: 'http://127.0.0.1:9', clientId: 'mcptt-demo', redirectUri: 'http://127.0.0.1:9/cb', tokenStore: 'memory', userManager: () => new FakeUserManager(mcpttId, `tok-${name}`) },
      kms: { baseUrl: kms.url, kmsUri: DEV_KMS_URI },
      keyStore: { name: `client-connect-${name}-${Date.now()}` },
    });
    clients.push(c);
    return c;
  }

  const connectOptions = () => ({ sipServer: kam.wsUrl, mcpttServerUri: MDSI, gmsUris: [SERVER_IDENTITIES.gms], sessionDescriptionHandlerFactory: stubSdhFactory() });

  beforeAll(async () => {
    kms = await startKms({
      kmsUri: DEV_KMS_URI,
      userKeyPeriod: DEV_USER_KEY_PERIOD,
      userKeyOffset: DEV_USER_KEY_OFFSET,
      verifyToken: async (authorization, scope) => {
        const mcpttId = TOKENS[/^Bearer (\S+)$/.exec(authorization ?? '')?.[1] ?? ''];
        if (mcpttId === undefined || scope !== KMS_SCOPE) throw new AuthError('ERR_AUTH_INVALID_TOKEN', 'unknown test token');
        return { mcpttId };
      },
      seed: utf8('client-connect test seed'),
    });
    kam = await startKamailio({ domain: DEV_SIP_DOMAIN, appServer: { uri: MDSI, routePsis: [MDSI] } });
    await mdsi.open(kam.wsUrl, MDSI);
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    mdsi.close();
    await kam?.close();
    await kms?.close();
  }, 20_000);

  it('connect() refuses before login; after login it waits for the keys and registers with token + CSK', async () => {
    const alice = client('alice', ALICE);
    await expect(alice.connect(connectOptions())).rejects.toMatchObject({ code: 'ERR_AUTH_NOT_LOGGED_IN' });
    const states: SipUaState[] = [];
    alice.on('registration', (s) => states.push(s));
    await alice.login('popup');
    await alice.connect(connectOptions());
    expect(states).toEqual(['connecting', 'registering', 'registered']);
    expect(alice.signalling()?.state).toBe('running');
    await expect(alice.connect(connectOptions())).rejects.toMatchObject({ code: 'ERR_SIGNALLING_INVALID_STATE' });

    const reg = await waitFor('the third-party REGISTER', () => mdsi.registersFor(ALICE)[0]);
    const body = parseServiceAuthorizationBody(reg.getHeader('content-type')!, reg.body);
    expect(body.accessToken).toBe('tok-alice');
    const period = periodAt(kms.params, ntpSecondsOfUnixMs(Date.now()));
    const mdsiReceiver = createMikeyKeyReceiver({ self: staticIdentity(MDSI, kms.params, [kms.issue(MDSI, period)]) });
    const csk = await mdsiReceiver.receive(body.cskIMessage!, 'CSK');
    expect(bytesToHex(csk.keyId)).toBe(bytesToHex(alice.signalling()!.csk()!.keyId));
  });

  it('call() reaches another client: both hold the same PCK; logout() disconnects', async () => {
    const alice = clients[0]!;
    const bob = client('bob', BOB);
    await bob.login('popup');
    await bob.connect(connectOptions());
    let answered: Promise<PrivateCall> | undefined;
    let ringing: IncomingPrivateCall | undefined;
    bob.on('incoming-call', (c) => {
      ringing = c;
      answered = c.accept();
    });
    const keysOnBob: PrivateCall[] = [];
    bob.on('call-keys', (c) => keysOnBob.push(c));
    const call = await alice.call(BOB);
    const bobCall = await answered!;
    expect(ringing!.caller.uri).toBe(ALICE);
    expect(bytesToHex(bobCall.keys().key)).toBe(bytesToHex(call.keys().key));
    expect(bytesToHex(bobCall.keys().rand)).toBe(bytesToHex(call.keys().rand));
    expect(keysOnBob).toEqual([bobCall]);
    await call.hangup();

    const states: SipUaState[] = [];
    bob.on('registration', (s) => states.push(s));
    await bob.logout();
    expect(states).toEqual(['unregistering', 'stopped']);
    expect(bob.signalling()).toBeUndefined();
    await expect(alice.call(BOB)).rejects.toMatchObject({ statusCode: 404 });
  });
});
