/**
 * The key store on the real IndexedDB of Debian's chromium: data survives a reload, the
 * database read with the plain IndexedDB API holds no secret byte in clear, the at-rest
 * CryptoKey is non-extractable, two pages of one context writing at once lose nothing, and
 * clear() leaves nothing. Each test gets a fresh browser context, so a fresh origin storage.
 */
import { randomBytes } from 'node:crypto';
import { test, expect, type Page } from '@playwright/test';
import type { KeyStoreTestApi, SampleHex } from './pages/key-store.js';

const DB = 'mcptt-sdk-e2e';
const hex = (n: number): string => randomBytes(n).toString('hex');

function sample(): SampleHex {
  return {
    kmsUri: 'kms.mcptt.example',
    z: hex(257),
    kpak: hex(65),
    identity: 'sip:alice@mcptt.example',
    uid: hex(32),
    rsk: hex(257),
    ssk: hex(32),
    pvt: hex(65),
    trk: hex(32),
    ink: hex(32),
    gmk: hex(16),
    gmkId: '0a' + hex(3),
    pck: hex(16),
    pckId: '1b' + hex(3),
    csk: hex(16),
    cskId: '2c' + hex(3),
    rand: hex(16),
  };
}

async function ready(page: Page): Promise<void> {
  await page.goto('/e2e/pages/key-store.html');
  await expect(page.getByRole('status')).toHaveText('ready');
}

/** Runs one method of the page's test API. */
function call<K extends keyof KeyStoreTestApi>(page: Page, method: K, ...args: Parameters<KeyStoreTestApi[K]>): Promise<Awaited<ReturnType<KeyStoreTestApi[K]>>> {
  return page.evaluate(
    ([m, a]) => (window as unknown as { keyStoreTest: Record<string, (...x: unknown[]) => unknown> }).keyStoreTest[m]!(...a),
    [method, args] as const,
  ) as Promise<Awaited<ReturnType<KeyStoreTestApi[K]>>>;
}

test('records survive a reload, and nothing secret is stored in clear', async ({ page }) => {
  const s = sample();
  await ready(page);
  await call(page, 'open', DB);
  await call(page, 'putSample', s);
  expect(await call(page, 'readSample', s)).toEqual(s);

  await page.reload();
  await expect(page.getByRole('status')).toHaveText('ready');
  await call(page, 'open', DB);
  expect(await call(page, 'readSample', s)).toEqual(s);

  // Read back with the plain IndexedDB API: every store, every value.
  const secrets = [s.rsk, s.ssk, s.trk, s.ink, s.gmk, s.pck, s.csk];
  const halves = secrets.map((x) => x.slice(0, 16)); // 8 leading bytes of each, as a second net
  const publicParts = [s.uid, s.pvt, s.z, s.kpak];
  const scan = await call(page, 'rawScan', DB, [...secrets, ...halves, ...publicParts]);
  expect(scan.version).toBe(2);
  expect(scan.counts).toEqual({ atRest: 1, certificates: 1, keySets: 1, mediaKeys: 3, transportKeys: 2 });
  for (const x of [...secrets, ...halves]) expect(scan.found).not.toContain(x);
  // The scan does see what is stored in clear on purpose, so a miss above is meaningful.
  for (const x of publicParts) expect(scan.found).toContain(x);
});

test('the at-rest key is a non-extractable AES-GCM 256 CryptoKey', async ({ page }) => {
  await ready(page);
  await call(page, 'open', DB);
  const scan = await call(page, 'rawScan', DB, []);
  expect(scan.atRest).toEqual({
    isCryptoKey: true,
    extractable: false,
    algorithm: 'AES-GCM-256',
    usages: ['decrypt', 'encrypt'],
    exportRaw: 'InvalidAccessError',
    exportJwk: 'InvalidAccessError',
  });
});

test('two pages writing 100 records each at once: all 200 present and readable from both', async ({ page, context }) => {
  const other = await context.newPage();
  await Promise.all([ready(page), ready(other)]);
  await Promise.all([call(page, 'open', DB), call(other, 'open', DB)]);
  const [fromPage, fromOther] = await Promise.all([call(page, 'writeMany', 'GMK', 0x0a, 100), call(other, 'writeMany', 'PCK', 0x1b, 100)]);
  const expected = { ...fromPage, ...fromOther };
  expect(Object.keys(expected)).toHaveLength(200);
  expect(await call(page, 'readAllMedia')).toEqual(expected);
  expect(await call(other, 'readAllMedia')).toEqual(expected);

  // Change notices cross between the pages (BroadcastChannel): `other` never wrote a certificate.
  await call(page, 'putCertificateOnly', 'kms.mcptt.example');
  await expect.poll(() => call(other, 'changes')).toContain('certificate');
  await other.close();
});

test('clear() leaves nothing, in this page and for the others', async ({ page, context }) => {
  const other = await context.newPage();
  await Promise.all([ready(page), ready(other)]);
  await Promise.all([call(page, 'open', DB), call(other, 'open', DB)]);
  const s = sample();
  await call(page, 'putSample', s);
  await call(page, 'clear');
  const scan = await call(page, 'rawScan', DB, [s.rsk, s.gmk]);
  expect(scan.counts).toEqual({ atRest: 0, certificates: 0, keySets: 0, mediaKeys: 0, transportKeys: 0 });
  expect(scan.found).toEqual([]);
  await expect.poll(() => call(other, 'changes')).toContain('cleared');
  expect(await call(other, 'readAllMedia')).toEqual({});
  await other.close();
});
