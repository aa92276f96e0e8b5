/**
 * `npm run bench`: every case in Node, then in a dedicated worker of Debian's chromium
 * (Vite serves the worker; Playwright drives the browser). Prints a table, compares with
 * the targets and writes bench/results.json as
 * [{ name, runtime: 'node' | 'chromium-worker' | 'chromium-page', median_us, p95_us, n }]
 * ('chromium-page': on a page's main thread, e.g. gmk.login_many).
 * Options: --node-only, --browser-only, --filter <substring>; BENCH_PORT: Vite's port (default 5175).
 */
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'vite';
import { chromium } from 'playwright-core';
import { allCases, disposeNodeBenches } from './cases.js';
import { measure, type BenchResult } from './measure.js';
import { TARGETS_US } from './targets.js';
import { CHROMIUM_ARGS } from '../playwright.config.js';
import { startDevstack } from '../demo/server/devstack.js';
import { devLogin } from '../demo/server/dev-login.js';
import { runLoginMany } from './login-many.js';
import { runKpi } from './kpi.js';

const args = process.argv.slice(2);
const filterAt = args.indexOf('--filter');
const filter = filterAt >= 0 ? args[filterAt + 1] ?? '' : '';
const selected = (name: string): boolean => name.includes(filter);
// Several runs may share the machine: each its own Vite port.
const PORT = Number(process.env['BENCH_PORT'] ?? 5175);
const ORIGIN = `http://127.0.0.1:${PORT}`;

async function runNode(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const c of allCases()) {
    if (!selected(c.name)) continue;
    const r = await measure(c, 'node');
    process.stdout.write(`node            ${r.name.padEnd(28)} ${fmt(r.median_us)}\n`);
    out.push(r);
  }
  return out;
}

async function runBrowser(): Promise<BenchResult[]> {
  // No HMR: a file edited meanwhile must not reload the pages being measured.
  const server = await createServer({ configFile: 'vite.config.ts', server: { port: PORT, strictPort: true, hmr: false }, logLevel: 'error' });
  await server.listen();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const results: BenchResult[] = [];
    // The worker cases (skipped when the filter can only mean a page case).
    if (!filter.startsWith('gmk.login_many') && !filter.startsWith('kpi')) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
      await page.goto(`${ORIGIN}/bench/browser/index.html`);
      results.push(...((await page.evaluate(() => (window as unknown as { benchResults: Promise<BenchResult[]> }).benchResults)) as BenchResult[]));
      for (const r of results) process.stdout.write(`chromium-worker ${r.name.padEnd(28)} ${fmt(r.median_us)}\n`);
    }
    if (selected('kms.')) results.push(...(await runProvisioning(browser)));
    if (selected('gmk.login_many')) {
      const many = await runLoginMany(browser, ORIGIN, Number(process.env['BENCH_SAMPLES'] ?? 5), (l) => void process.stdout.write(l + '\n'));
      for (const r of many) process.stdout.write(`chromium-page   ${r.name.padEnd(28)} ${fmt(r.median_us)}\n`);
      results.push(...many);
    }
    if (selected('kpi.')) {
      const kpi = await runKpi(browser, ORIGIN, (l) => void process.stdout.write(l + '\n'));
      for (const r of kpi) process.stdout.write(`chromium-page   ${r.name.padEnd(28)} ${fmt(r.median_us)}\n`);
      results.push(...kpi);
    }
    return results.filter((r) => selected(r.name));
  } finally {
    await browser.close();
    await server.close();
  }
}

/** kms.provision against the real dev stack, with a token from a real login, in a worker. */
async function runProvisioning(browser: Awaited<ReturnType<typeof chromium.launch>>): Promise<BenchResult[]> {
  const origin = ORIGIN;
  const stack = await startDevstack({ webOrigins: [origin], kmsSecurity: 'on' });
  try {
    const user = stack.config.users[0]!;
    const { tokens } = await devLogin({ issuer: stack.config.idms, clientId: stack.config.clientId, redirectUri: `${origin}/demo/`, username: user.username, password: user.password });
    const page = await browser.newPage();
    await page.goto(`${origin}/bench/browser/provision.html`);
    const params = { kms: stack.config.kms, kmsUri: stack.config.kmsUri, token: tokens.access_token, mcpttId: user.mcpttId, transportKey: user.transportKey! };
    const results = (await page.evaluate((p) => (window as unknown as { runProvisionBench(p: unknown): Promise<BenchResult[]> }).runProvisionBench(p), params)) as BenchResult[];
    for (const r of results) process.stdout.write(`chromium-worker ${r.name.padEnd(28)} ${fmt(r.median_us)}\n`);
    return results;
  } finally {
    await stack.close();
  }
}

function fmt(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(2)} µs`;
}

const results: BenchResult[] = [];
if (!args.includes('--browser-only')) {
  try {
    results.push(...(await runNode()));
  } finally {
    await disposeNodeBenches();
  }
}
if (!args.includes('--node-only')) results.push(...(await runBrowser()));

// Keep results of cases not run this time (e.g. --filter), replace the ones measured.
const file = 'bench/results.json';
const previous: BenchResult[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BenchResult[]) : [];
const key = (r: BenchResult): string => `${r.runtime}:${r.name}`;
const merged = new Map(previous.map((r) => [key(r), r]));
for (const r of results) merged.set(key(r), r);
const all = [...merged.values()].sort((a, b) => key(a).localeCompare(key(b)));
writeFileSync(file, JSON.stringify(all, null, 2) + '\n');

process.stdout.write(`\n${'runtime'.padEnd(16)}${'case'.padEnd(28)}${'median'.padStart(12)}${'p95'.padStart(12)}${'n'.padStart(6)}  target\n`);
for (const r of all) {
  const t = TARGETS_US[key(r)];
  const verdict = t === undefined ? '' : r.median_us <= t ? `≤ ${fmt(t)} met` : `≤ ${fmt(t)} MISSED`;
  process.stdout.write(`${r.runtime.padEnd(16)}${r.name.padEnd(28)}${fmt(r.median_us).padStart(12)}${fmt(r.p95_us).padStart(12)}${String(r.n).padStart(6)}  ${verdict}\n`);
}
process.stdout.write(`\nwrote ${file}\n`);
