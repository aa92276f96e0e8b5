/**
 * Login and identity key provisioning with real parts (TS 33.179 5.6.1, 7.2, Annex D):
 * the demo page in Debian chromium signs in through the dev identity server's login form,
 * provisions from the dev KMS (security extension on) into IndexedDB, keeps its keys over
 * a reload, keeps working when the KMS goes away, and refuses a KMS response that does not
 * verify under the user's transport key.
 */
import { test, expect, type Page } from '@playwright/test';
import { startDevstack, type Devstack } from '../demo/server/devstack.js';
import { periodAt, ntpSecondsOfUnixMs } from '../src/keys/identity.js';

const PORT = Number(process.env['PW_PORT'] ?? 5174);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const ALICE = { username: 'alice', password: 'alice-pass', mcpttId: 'sip:alice@mcptt.example' };

interface DemoHooks {
  keyStatus(): { state: string; currentPeriod?: number; nextPeriodReady?: boolean; source?: string; error?: string };
  heldPeriods(): number[];
  storedKeySetCount(mcpttId: string): Promise<number>;
}
const hooks = (page: Page) => ({
  status: () => page.evaluate(() => (window as unknown as { mcpttDemo: DemoHooks }).mcpttDemo.keyStatus()),
  held: () => page.evaluate(() => (window as unknown as { mcpttDemo: DemoHooks }).mcpttDemo.heldPeriods()),
  stored: (id: string) => page.evaluate((i) => (window as unknown as { mcpttDemo: DemoHooks }).mcpttDemo.storedKeySetCount(i), id),
});

async function signIn(page: Page, stack: Devstack): Promise<void> {
  await page.goto(`/demo/?devstack=${encodeURIComponent(JSON.stringify(stack.config))}`);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByLabel('Username').fill(ALICE.username);
  await page.getByLabel('Password').fill(ALICE.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#session')).toHaveText('Signed in.', { timeout: 15_000 }); // redirect, code exchange and page load on a loaded 2-core machine
}

test.describe('identity keys from the dev KMS', () => {
  let stack: Devstack;
  test.beforeEach(async () => {
    stack = await startDevstack({ webOrigins: [ORIGIN], kmsSecurity: 'on' });
  });
  test.afterEach(async () => {
    await stack.close();
  });

  test('sign in through the login form, provision two periods into IndexedDB, keep them over a reload', async ({ page }) => {
    await signIn(page, stack);
    await expect(page.locator('#key-state')).toHaveText('ready (from the KMS)');
    const current = periodAt(stack.kms.params, ntpSecondsOfUnixMs(Date.now()));
    const h = hooks(page);
    expect(await h.status()).toMatchObject({ state: 'ready', source: 'kms', currentPeriod: current, nextPeriodReady: true });
    expect(await h.held()).toEqual([current, current + 1]);
    expect(await h.stored(ALICE.mcpttId)).toBe(2);
    // Nothing secret in the page: no MCPTT ID rendered.
    expect(await page.locator('body').innerText()).not.toContain('alice@');
    await page.screenshot({ path: test.info().outputPath('demo-keys-ready.png'), fullPage: true });

    await page.reload();
    await expect(page.locator('#session')).toHaveText('Signed in.');
    await expect(page.locator('#key-state')).toHaveText('ready (from the KMS)');
    expect(await h.stored(ALICE.mcpttId)).toBe(2);
    expect(await h.held()).toEqual([current, current + 1]);
  });

  test('when the KMS goes away, the stored keys stay usable and the page says so', async ({ page }) => {
    await signIn(page, stack);
    await expect(page.locator('#key-state')).toHaveText('ready (from the KMS)');
    const current = periodAt(stack.kms.params, ntpSecondsOfUnixMs(Date.now()));
    await stack.kms.close();
    await page.reload();
    await expect(page.locator('#key-state')).toContainText('offline: using stored keys (ERR_KMS_UNREACHABLE)');
    const h = hooks(page);
    expect(await h.status()).toMatchObject({ state: 'offline', source: 'store', currentPeriod: current, error: 'ERR_KMS_UNREACHABLE' });
    expect(await h.held()).toEqual([current, current + 1]);
  });

  test('a KMS response that does not verify under the transport key is refused and nothing is stored', async ({ page }) => {
    // Re-sign every KMS response with a key the user does not hold, as a KMS impostor would.
    await page.route(`${stack.config.kms}/**`, async (route) => {
      const response = await route.fetch();
      const body = await response.text();
      const forged = body.replace(/(<(?:\w+:)?SignatureValue>)[^<]*(<\/(?:\w+:)?SignatureValue>)/, (_m, open: string, close: string) => {
        const bytes = crypto.getRandomValues(new Uint8Array(32));
        return `${open}${Buffer.from(bytes).toString('base64')}${close}`;
      });
      expect(forged).not.toBe(body);
      await route.fulfill({ response, body: forged });
    });
    await signIn(page, stack);
    await expect(page.locator('#key-state')).toHaveText('failed: ERR_KMS_BAD_SIGNATURE; no usable keys');
    expect(await hooks(page).stored(ALICE.mcpttId)).toBe(0);
    expect(await hooks(page).held()).toEqual([]);
  });
});
