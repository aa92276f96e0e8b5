/**
 * MCPTT login in Chromium (TS 33.179 5.5.3.2, Annex B): the SDK's IdM client against the
 * dev IdMS, through its real login form, by redirect and by popup; then the access token
 * goes through the resource servers' verifier (5.6.1, B.6.2).
 */
import { expect, test, type Page } from '@playwright/test';
import { decodeJwt } from 'jose';

import { DEMO_USERS, DEV_CLIENT_ID, MCPTT_SCOPES } from '../demo/server/config.js';
import { startIdms, type Idms } from '../demo/server/idms.js';
import { createTokenVerifier } from '../demo/server/token-verifier.js';

const PORT = Number(process.env['PW_PORT'] ?? 5174);
const PAGE = `http://127.0.0.1:${PORT}/e2e/pages/login.html`;
const ALICE = DEMO_USERS[0];
if (ALICE === undefined) throw new Error('no demo users');

interface PageSession {
  mcpttId: string;
  accessToken: string;
  expiresAt: number;
  scopes: string[];
}

interface LoginWindow {
  mcpttLogin: {
    ready: Promise<void>;
    session(): Promise<PageSession | undefined>;
    accessToken(): Promise<string>;
    events: string[];
    lastError: string | undefined;
  };
}

async function pageSession(page: Page): Promise<PageSession | undefined> {
  return page.evaluate(async () => {
    const api = (window as unknown as LoginWindow).mcpttLogin;
    await api.ready;
    return api.session();
  });
}

async function storage(page: Page): Promise<{ local: number; session: string }> {
  return page.evaluate(() => ({
    local: localStorage.length,
    session: Object.keys(sessionStorage)
      .map((k) => `${k}=${sessionStorage.getItem(k) ?? ''}`)
      .join('\n'),
  }));
}

async function fillLogin(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Page errors and console errors: the SDK is silent, so any of them is a failure. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    // The browser's own favicon request 404s on the Vite server; it is no error of the page.
    if (m.location().url.endsWith('/favicon.ico')) return;
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()} (${m.location().url})`);
  });
  return errors;
}

let idms: Idms;

test.beforeAll(async () => {
  idms = await startIdms({ users: DEMO_USERS, clientId: DEV_CLIENT_ID, redirectUris: [PAGE], postLogoutRedirectUris: [PAGE] });
});

test.afterAll(async () => {
  await idms?.close();
});

test('redirect login: wrong password refused, session restored on reload, logout clears it', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto(`${PAGE}?idms=${encodeURIComponent(idms.issuer)}`);
  await expect(page.getByRole('status')).toHaveText('Signed out');

  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.waitForURL((u) => u.origin === idms.issuer);
  await fillLogin(page, ALICE.username, 'not-the-password');
  await expect(page.getByRole('alert')).toHaveText('Wrong username or password.');
  await fillLogin(page, ALICE.username, ALICE.password);

  await page.waitForURL(PAGE);
  await expect(page.getByRole('status')).toHaveText('Signed in');
  const s = await pageSession(page);
  expect(s?.mcpttId).toBe(ALICE.mcpttId);
  if (s === undefined) throw new Error('no session');

  // The access token is a JWT for the resource servers (B.1.2), and they accept it.
  const claims = decodeJwt(s.accessToken);
  expect(claims['mcptt_id']).toBe(ALICE.mcpttId);
  expect(claims['client_id']).toBe(DEV_CLIENT_ID);
  expect(String(claims['scope']).split(' ')).toEqual(expect.arrayContaining(MCPTT_SCOPES.filter((x) => x !== 'openid')));
  const verify = createTokenVerifier({ issuer: idms.issuer, jwksUri: idms.jwksUri });
  await expect(verify(`Bearer ${s.accessToken}`, '3gpp:mcptt:key_management_server')).resolves.toMatchObject({
    mcpttId: ALICE.mcpttId,
    clientId: DEV_CLIENT_ID,
  });

  // Secrets stay out of the DOM and out of localStorage; the tokens sit in sessionStorage.
  const html = await page.content();
  expect(html).not.toContain(s.accessToken);
  expect(html).not.toContain(ALICE.mcpttId);
  let st = await storage(page);
  expect(st.local).toBe(0);
  expect(st.session).toContain(s.accessToken);

  await page.reload();
  await expect(page.getByRole('status')).toHaveText('Signed in');
  expect((await pageSession(page))?.accessToken).toBe(s.accessToken);
  expect((await storage(page)).local).toBe(0);

  const refreshToken = /"refresh_token":"([^"]+)"/.exec((await storage(page)).session)?.[1];
  expect(refreshToken).toBeDefined();

  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText('Signed out');
  expect(await pageSession(page)).toBeUndefined();
  // Logout revoked the refresh token at the IdMS: it no longer buys access tokens.
  const reuse = await fetch(`${idms.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken ?? '', client_id: DEV_CLIENT_ID }).toString(),
  });
  expect(reuse.status).toBe(400);
  expect(((await reuse.json()) as { error?: string }).error).toBe('invalid_grant');
  st = await storage(page);
  expect(st.session).not.toContain(s.accessToken);
  expect(st.local).toBe(0);
  await page.reload();
  await expect(page.getByRole('status')).toHaveText('Signed out');
  expect(errors).toEqual([]);
});

test('popup login', async ({ page, context }) => {
  const errors = watchErrors(page);
  await page.goto(`${PAGE}?idms=${encodeURIComponent(idms.issuer)}`);
  await expect(page.getByRole('status')).toHaveText('Signed out');
  const popupOpened = context.waitForEvent('page');
  await page.getByRole('button', { name: 'Log in with popup' }).click();
  const popup = await popupOpened;
  await popup.waitForURL((u) => u.origin === idms.issuer);
  await fillLogin(popup, 'bob', 'bob-pass');

  await expect(page.getByRole('status')).toHaveText('Signed in');
  const s = await pageSession(page);
  expect(s?.mcpttId).toBe('sip:bob@mcptt.example');
  expect(page.url()).toBe(`${PAGE}?idms=${encodeURIComponent(idms.issuer)}`);
  expect((await storage(page)).local).toBe(0);
  await expect.poll(() => popup.isClosed()).toBe(true);
  expect(errors).toEqual([]);
});

test('logout at the IdMS ends its session too: the next login asks for the password again', async ({ page }) => {
  await page.goto(`${PAGE}?idms=${encodeURIComponent(idms.issuer)}`);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await fillLogin(page, 'carol', 'carol-pass');
  await page.waitForURL(PAGE);
  await expect(page.getByRole('status')).toHaveText('Signed in');

  // The page is already at PAGE, so wait for the navigation that comes back from the IdMS
  // (the first one to PAGE after the click; the way out goes to the IdMS's URL).
  const back = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() && f.url().startsWith(PAGE) });
  await page.getByRole('button', { name: 'Log out of the IdMS' }).click();
  await back;
  await page.waitForLoadState('load');
  await expect(page.getByRole('status')).toHaveText('Signed out');
  expect(await pageSession(page)).toBeUndefined();

  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await expect(page.getByLabel('Password')).toBeVisible();
});

test.describe('short-lived tokens', () => {
  let shortIdms: Idms;

  test.beforeAll(async () => {
    shortIdms = await startIdms({ users: DEMO_USERS, clientId: DEV_CLIENT_ID, redirectUris: [PAGE], accessTokenTtlSeconds: 12 });
  });

  test.afterAll(async () => {
    await shortIdms?.close();
  });

  test('the SDK refreshes with the refresh token before expiry (B.4)', async ({ page }) => {
    await page.goto(`${PAGE}?idms=${encodeURIComponent(shortIdms.issuer)}`);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await fillLogin(page, ALICE.username, ALICE.password);
    await page.waitForURL(PAGE);
    await expect(page.getByRole('status')).toHaveText('Signed in');
    const first = await pageSession(page);

    // Lifetime 12 s, so the refresh comes at half-life: about 6 s after login.
    await expect
      .poll(() => page.evaluate(() => (window as unknown as LoginWindow).mcpttLogin.events.filter((e) => e === 'session').length), {
        timeout: 15_000,
      })
      .toBeGreaterThanOrEqual(2);
    const second = await pageSession(page);
    expect(second?.accessToken).not.toBe(first?.accessToken);
    expect(second?.mcpttId).toBe(ALICE.mcpttId);
    expect(second?.expiresAt ?? 0).toBeGreaterThan(first?.expiresAt ?? 0);
    const verify = createTokenVerifier({ issuer: shortIdms.issuer, jwksUri: shortIdms.jwksUri });
    await expect(verify(`Bearer ${second?.accessToken ?? ''}`, '3gpp:mcptt:ptt_server')).resolves.toMatchObject({ mcpttId: ALICE.mcpttId });
    expect(await page.evaluate(() => (window as unknown as LoginWindow).mcpttLogin.events)).not.toContain('ended:refresh-failed');
  });
});
