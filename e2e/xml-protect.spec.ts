/**
 * TS 33.179 9.1.3.2 / 9.3 in the browser through Kamailio (A.3-009/010, A.10-002): with the
 * dev MCPTT server at `xmlProtection: 'required'` and the demo connecting with
 * `xmlProtection: true`, two users sign in, register, receive GMKs by SIP MESSAGE (also
 * after a rekey), join a group call (INVITE to the server URI) and make a private call
 * (INVITE to the callee's opaque AOR, hidden identities in the PCK I_MESSAGE), while every SIP WebSocket frame either page sends or receives is free of
 * MCPTT IDs, group IDs and the access tokens — in clear and as base64 at all three
 * alignments. The capture is Playwright's view of each page's WebSockets, plus the dev MCPTT
 * server's own SIP WebSocket (it runs in this process on `ws`, whose send and message events
 * are tapped for the test): third-party REGISTERs, GMK MESSAGEs, group call INVITEs and their
 * answers, and the server's own REGISTERs.
 */
import { test, expect, type Browser, type Page } from '@playwright/test';
import { WebSocket as NodeWebSocket } from 'ws';
import { startDevstack, type Devstack } from '../demo/server/devstack.js';
import { bytesToHex } from '../src/util/bytes.js';
import { findLeaks } from '../test/helpers/clear-text.js';

const PORT = Number(process.env['PW_PORT'] ?? 5174);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const FIRE_OPS = 'sip:fire-ops@mcptt.example';

interface Frame {
  readonly user: string;
  readonly dir: 'sent' | 'received';
  readonly url: string;
  readonly text: string;
}

/** The demo's sign-in with every WebSocket frame of the page recorded from the first load on. */
async function signInCapturing(browser: Browser, stack: Devstack, username: string, frames: Frame[]): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('websocket', (ws) => {
    const url = ws.url();
    ws.on('framesent', (f) => frames.push({ user: username, dir: 'sent', url, text: typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8') }));
    ws.on('framereceived', (f) => frames.push({ user: username, dir: 'received', url, text: typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8') }));
  });
  await page.goto(`/demo/?devstack=${encodeURIComponent(JSON.stringify(stack.config))}`);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(`${username}-pass`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#registration')).toHaveText('Registered with the MCPTT service.', { timeout: 30_000 });
  return page;
}

const groupKeys = (page: Page): Promise<Record<string, { gmkId: string; status: string }>> =>
  page.evaluate(() => (window as unknown as { mcpttDemo: { groupKeys(): Record<string, { gmkId: string; status: string }> } }).mcpttDemo.groupKeys());

/** The page's access token, from the OIDC session in sessionStorage (to look for it on the wire). */
const accessTokenOf = (page: Page): Promise<string | undefined> =>
  page.evaluate(() => {
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i)!;
      // oidc-client-ts keeps the user under "<prefix>user:<authority>:<client>".
      if (!/user:/.test(k)) continue;
      try {
        const t = (JSON.parse(sessionStorage.getItem(k)!) as { access_token?: unknown }).access_token;
        if (typeof t === 'string') return t;
      } catch {
        /* not the user entry */
      }
    }
    return undefined;
  });

test.describe.serial('XML protection of sensitive signalling through Kamailio (TS 33.179 9.3)', () => {
  let stack: Devstack;
  let alice: Page;
  let bob: Page;
  const frames: Frame[] = [];
  /** The dev server's SIP traffic (every `ws` client socket of this process: only the server's). */
  const serverFrames: string[] = [];
  const wsProto = NodeWebSocket.prototype as unknown as { send: (...a: unknown[]) => unknown; emit: (e: string | symbol, ...a: unknown[]) => boolean };
  const originalSend = wsProto.send;
  const originalEmit = wsProto.emit;

  test.beforeAll(async ({ browser }) => {
    wsProto.send = function (this: unknown, ...a: unknown[]) {
      serverFrames.push(String(a[0]));
      return originalSend.apply(this, a);
    };
    wsProto.emit = function (this: unknown, e: string | symbol, ...a: unknown[]) {
      if (e === 'message') serverFrames.push(String(a[0]));
      return originalEmit.apply(this, [e, ...a]);
    };
    stack = await startDevstack({ webOrigins: [ORIGIN], kmsSecurity: 'on', sip: true, xmlProtection: 'required' });
    expect(stack.config.xmlProtection).toBe(true);
    alice = await signInCapturing(browser, stack, 'alice', frames);
    bob = await signInCapturing(browser, stack, 'bob', frames);
  });

  test.afterAll(async () => {
    wsProto.send = originalSend;
    wsProto.emit = originalEmit;
    await alice?.context().close();
    await bob?.context().close();
    await stack?.close();
  });

  test('registration, GMK delivery, a group call setup and a private call work, and no MCPTT ID, group ID or token crosses the SIP core in clear', async () => {
    // Authorized by the server from the encrypted token, under opaque SIP identities.
    await expect.poll(() => [...stack.mcpttServer!.authorizedUsers()].sort(), { timeout: 20_000 }).toEqual(['sip:alice@mcptt.example', 'sip:bob@mcptt.example']);
    expect(stack.mcpttServer!.aorOf('sip:alice@mcptt.example')).toMatch(/^sip:ue-[a-z2-7]{16}@mcptt\.example$/);
    // A rekey is delivered by SIP MESSAGE only (no pull): both hold the new GMK.
    await stack.mcpttServer!.rekey(FIRE_OPS);
    const gmkId = bytesToHex(stack.mcpttServer!.currentGmkId(FIRE_OPS)!);
    for (const p of [alice, bob]) await expect.poll(async () => (await groupKeys(p))[FIRE_OPS]?.gmkId, { timeout: 20_000 }).toBe(gmkId);
    const delivered = stack.mcpttServer!.sent().filter((r) => r.groupId === FIRE_OPS && r.status === 200);
    expect(new Set(delivered.map((r) => r.to))).toEqual(new Set(['sip:alice@mcptt.example', 'sip:bob@mcptt.example']));
    expect(stack.mcpttServer!.refusals()).toEqual([]);

    const sip = frames.filter((f) => f.url.startsWith(stack.config.sip!.replace(/\/$/, '')));
    // The capture really holds the traffic: REGISTERs out, protected GMK MESSAGEs in.
    expect(sip.some((f) => f.dir === 'sent' && f.text.startsWith('REGISTER '))).toBe(true);
    expect(sip.filter((f) => f.dir === 'received' && f.text.startsWith('MESSAGE ') && f.text.includes('xenc:EncryptedData')).length).toBeGreaterThanOrEqual(2);
    // A group call setup: the INVITE to the server URI carries the group ID and calling user
    // encrypted and signed under the caller's CSK (protectInfo → readMcpttInfo).
    for (const p of [alice, bob]) {
      await expect.poll(() => p.evaluate(() => typeof (window as unknown as { mcpttDemo?: { joinGroup?: unknown } }).mcpttDemo?.joinGroup), { timeout: 10_000 }).toBe('function');
      expect(await p.evaluate((g) => (window as unknown as { mcpttDemo: { joinGroup(g: string): Promise<string> } }).mcpttDemo.joinGroup(g), FIRE_OPS)).toBe('joined');
    }
    await expect.poll(() => stack.mcpttServer!.groupCalls().find((c) => c.groupId === FIRE_OPS)?.participants, { timeout: 10_000 }).toBe(2);
    expect(frames.some((f) => f.dir === 'sent' && f.text.startsWith('INVITE ') && f.text.includes('xenc:EncryptedData'))).toBe(true);
    // A private call: dialled at bob's opaque AOR from the server's directory, PCK with hidden
    // identities; bob's page still names the verified caller (UID resolved and re-derived).
    await alice.getByLabel('Person to call').selectOption({ label: 'Bob (field)' });
    await alice.getByRole('button', { name: 'Call', exact: true }).click();
    await expect(bob.locator('#call-state')).toHaveText('Incoming call from Alice (field)', { timeout: 20_000 });
    await bob.getByRole('button', { name: 'Answer' }).click();
    await expect(alice.locator('#call-state')).toContainText('In a call with Bob (field)', { timeout: 20_000 });
    const fingerprint = (p: Page) => p.evaluate(() => (window as unknown as { mcpttDemo: { callKeyFingerprint(): string | undefined } }).mcpttDemo.callKeyFingerprint());
    expect(await fingerprint(alice)).toBeDefined();
    expect(await fingerprint(bob)).toBe(await fingerprint(alice));
    expect(frames.some((f) => f.dir === 'sent' && f.text.startsWith('INVITE sip:ue-') && f.text.includes('a=key-mgmt:mikey'))).toBe(true);
    await alice.getByRole('button', { name: 'Hang up' }).click();
    await expect(bob.locator('#call-state')).toHaveText('Call ended.', { timeout: 10_000 });
    const all = frames.map((f) => f.text).join('\n');
    const tokens = [await accessTokenOf(alice), await accessTokenOf(bob)];
    expect(tokens.every((t) => typeof t === 'string' && t.length > 20)).toBe(true);
    const secrets = [
      ...stack.config.users.map((u) => u.mcpttId.replace(/^sip:/, '')),
      ...(stack.config.groups ?? []).map((g) => g.groupId.replace(/^sip:/, '')),
      ...(tokens as string[]),
    ];
    expect(findLeaks(all, secrets)).toEqual([]);
    // The server's side of the SIP core: third-party REGISTERs in, GMK MESSAGEs out, no leak.
    const server = serverFrames.join('\n');
    expect(serverFrames.some((t) => t.startsWith('REGISTER ') && t.includes('xenc:EncryptedData'))).toBe(true);
    expect(serverFrames.some((t) => t.startsWith('MESSAGE ') && t.includes('xenc:EncryptedData'))).toBe(true);
    expect(findLeaks(server, secrets)).toEqual([]);
  });
});
