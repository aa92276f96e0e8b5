/**
 * Resource server token checks (TS 33.179 5.6.1, B.6.2) against a real dev IdMS (B.3, B.4).
 * Tokens are obtained the way a native MCPTT client would (B.3.1): the authorization code
 * flow with PKCE driven by plain fetch, the login form posted like a user would.
 */
import { createHash } from 'node:crypto';

import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { DEMO_USERS, DEV_CLIENT_ID, MCPTT_SCOPES } from '../../demo/server/config.js';
import { CookieJar, devLogin, follow, step, type DevTokens } from '../../demo/server/dev-login.js';
import { startIdms, type Idms } from '../../demo/server/idms.js';
import { createTokenVerifier, type TokenVerifier } from '../../demo/server/token-verifier.js';
import { isMcpttError } from '../../src/errors.js';

const REDIRECT_URI = 'http://127.0.0.1:1/callback';

type TokenResponse = DevTokens;

/** The real login flow (demo/server/dev-login.ts), with the wrong-password page checked. */
async function login(idms: Idms, username: string, password: string, wrongFirst = false): Promise<TokenResponse> {
  const r = await devLogin({ issuer: idms.issuer, clientId: DEV_CLIENT_ID, redirectUri: REDIRECT_URI, username, password, wrongPasswordFirst: wrongFirst });
  if (wrongFirst) expect(r.wrongPasswordPage).toContain('Wrong username or password.');
  return r.tokens;
}

async function expectInvalid(p: Promise<unknown>, message?: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isMcpttError(err, 'ERR_AUTH_INVALID_TOKEN'), String(err)).toBe(true);
  if (message !== undefined) expect((err as Error).message).toMatch(message);
}

describe('dev IdMS + token verifier', () => {
  let idms: Idms;
  let verify: TokenVerifier;
  let alice: TokenResponse;

  beforeAll(async () => {
    idms = await startIdms({ users: DEMO_USERS, clientId: DEV_CLIENT_ID, redirectUris: [REDIRECT_URI] });
    verify = createTokenVerifier({ issuer: idms.issuer, jwksUri: idms.jwksUri });
    alice = await login(idms, 'alice', 'alice-pass', true);
  });

  afterAll(async () => {
    await idms.close();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('issues an ID token with mcptt_id and acr, and a JWT access token (Annex B.1)', () => {
    expect(alice.token_type).toBe('Bearer');
    expect(alice.expires_in).toBeGreaterThan(250);
    expect(alice.refresh_token).toBeTruthy();
    const id = decodeJwt(alice.id_token);
    expect(id['mcptt_id']).toBe('sip:alice@mcptt.example');
    expect(id['acr']).toBe('3gpp:acr:password');
    expect(id.aud).toBe(DEV_CLIENT_ID);
    expect(id.iss).toBe(idms.issuer);

    expect(decodeProtectedHeader(alice.access_token).typ).toBe('at+jwt');
    const at = decodeJwt(alice.access_token);
    expect(at['mcptt_id']).toBe('sip:alice@mcptt.example');
    expect(at['client_id']).toBe(DEV_CLIENT_ID);
    expect(at.iss).toBe(idms.issuer);
    expect(at.aud).toBe(idms.audience);
    expect(String(at['scope']).split(' ')).toEqual(expect.arrayContaining(MCPTT_SCOPES.filter((s) => s !== 'openid')));
  });

  it('accepts a valid access token and reports mcptt_id and scopes', async () => {
    const v = await verify(`Bearer ${alice.access_token}`, '3gpp:mcptt:key_management_server');
    expect(v.mcpttId).toBe('sip:alice@mcptt.example');
    expect(v.clientId).toBe(DEV_CLIENT_ID);
    expect(v.subject).toBe('alice');
    expect(v.scopes).toContain('3gpp:mcptt:ptt_server');
    expect(v.expiresAt).toBe((decodeJwt(alice.access_token).exp ?? 0) * 1000);
    // The scheme name is case-insensitive (RFC 9110 11.1).
    await expect(verify(`bearer ${alice.access_token}`, '3gpp:mcptt:ptt_server')).resolves.toMatchObject({ subject: 'alice' });
  });

  it('refreshes with the refresh token (B.4) and the new access token still carries mcptt_id', async () => {
    const bob = await login(idms, 'bob', 'bob-pass');
    const res = await fetch(new URL('/token', idms.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: bob.refresh_token ?? '', client_id: DEV_CLIENT_ID }).toString(),
    });
    expect(res.status).toBe(200);
    const refreshed = (await res.json()) as TokenResponse;
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(bob.refresh_token); // rotated: public client
    const v = await verify(`Bearer ${refreshed.access_token}`, '3gpp:mcptt:ptt_server');
    expect(v.mcpttId).toBe('sip:bob@mcptt.example');
  });

  it('refuses a token without the required scope', async () => {
    await expectInvalid(verify(`Bearer ${alice.access_token}`, '3gpp:mcptt:unknown_server'), /lacks the scope/);
  });

  it('refuses an expired token', async () => {
    await verify(`Bearer ${alice.access_token}`, '3gpp:mcptt:ptt_server');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 301_000 + 5_000 });
    await expectInvalid(verify(`Bearer ${alice.access_token}`, '3gpp:mcptt:ptt_server'), /expired/);
  });

  it('refuses a token of another issuer, or for another audience', async () => {
    const other = createTokenVerifier({ issuer: 'http://127.0.0.1:1', jwksUri: idms.jwksUri });
    await expectInvalid(other(`Bearer ${alice.access_token}`, '3gpp:mcptt:ptt_server'), /iss/);
    const otherAud = createTokenVerifier({ issuer: idms.issuer, jwksUri: idms.jwksUri, audience: 'urn:other' });
    await expectInvalid(otherAud(`Bearer ${alice.access_token}`, '3gpp:mcptt:ptt_server'), /aud/);
  });

  it('refuses a token signed with another key, even under the IdMS key id', async () => {
    const { kid } = decodeProtectedHeader(alice.access_token);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(decodeJwt(alice.access_token))
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...(kid === undefined ? {} : { kid }) })
      .sign(privateKey);
    await expectInvalid(verify(`Bearer ${forged}`, '3gpp:mcptt:ptt_server'), /signature/);
    const unknownKid = await new SignJWT(decodeJwt(alice.access_token))
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'not-the-idms' })
      .sign(privateKey);
    await expectInvalid(verify(`Bearer ${unknownKid}`, '3gpp:mcptt:ptt_server'), /unknown key/);
  });

  it('refuses an ID token presented as an access token', async () => {
    await expectInvalid(verify(`Bearer ${alice.id_token}`, '3gpp:mcptt:ptt_server'));
  });

  it('refuses garbage and non-Bearer credentials', async () => {
    for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic YWxpY2U6YWxpY2UtcGFzcw==', 'Bearer not.a.jwt', 'Bearer abc', `Bearer ${alice.access_token} extra`, `Token ${alice.access_token}`]) {
      await expectInvalid(verify(h, '3gpp:mcptt:ptt_server'));
    }
    const [h = '', p = ''] = alice.access_token.split('.');
    await expectInvalid(verify(`Bearer ${h}.${p}.AAAA`, '3gpp:mcptt:ptt_server'));
    await expect(verify(`Bearer ${alice.access_token}`, '')).rejects.toBeInstanceOf(TypeError);
  });

  it('answers an unknown user like a wrong password, and a cancel with access_denied', async () => {
    const jar = new CookieJar();
    const auth = new URL('/auth', idms.issuer);
    auth.search = new URLSearchParams({
      client_id: DEV_CLIENT_ID,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: REDIRECT_URI,
      state: 's1',
      code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const { res } = await follow(jar, idms.issuer, await step(jar, auth.href));
    const html = await res.text();
    const base = /action="([^"]+)\/login"/.exec(html)?.[1] ?? '';
    const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    const unknown = await step(jar, new URL(`${base}/login`, idms.issuer).href, { ...form, body: 'username=mallory&password=x' });
    expect(await unknown.text()).toContain('Wrong username or password.');
    const cancelled = await follow(jar, idms.issuer, await step(jar, new URL(`${base}/abort`, idms.issuer).href, { ...form, body: '' }));
    const back = new URL(cancelled.url);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('refuses an authorization request without PKCE (B.3.1.1)', async () => {
    const jar = new CookieJar();
    const auth = new URL('/auth', idms.issuer);
    auth.search = new URLSearchParams({ client_id: DEV_CLIENT_ID, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI, state: 's2' }).toString();
    const res = await step(jar, auth.href);
    const back = new URL(res.headers.get('location') ?? '', idms.issuer);
    expect(back.searchParams.get('error')).toBe('invalid_request');
  });
});
