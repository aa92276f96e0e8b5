/**
 * Shared steps of the browser tests that run the demo page against the dev stack: a user
 * signs in through the real login form in a browser context of its own and the page
 * registers with the MCPTT service.
 */
import { expect, type Browser, type Page } from '@playwright/test';
import type { Devstack } from '../demo/server/devstack.js';

export interface DemoLogin {
  readonly username: string;
  readonly password: string;
}

export async function signInToDemo(browser: Browser, stack: Devstack, user: DemoLogin, options: { readonly rawAudio?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext();
  if (options.rawAudio) {
    // The fake device's beep unprocessed: no gain control, noise suppression or echo cancellation.
    await context.addInitScript(() => {
      const md = navigator.mediaDevices;
      const gum = md.getUserMedia.bind(md);
      md.getUserMedia = (c?: MediaStreamConstraints) =>
        gum(c?.audio === true ? { ...c, audio: { autoGainControl: false, noiseSuppression: false, echoCancellation: false } } : c);
    });
  }
  const page = await context.newPage();
  await page.goto(`/demo/?devstack=${encodeURIComponent(JSON.stringify(stack.config))}`);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#registration')).toHaveText('Registered with the MCPTT service.', { timeout: 30_000 });
  return page;
}
