/**
 * Runner of `gmk.login_many` (see bench/browser/login-many.ts): the dev stack with 100 extra
 * groups whose member is the dispatcher, Kamailio and the dev MCPTT server/GMS; for each
 * sample a fresh browser context (empty IndexedDB, a new console) where the dispatcher logs
 * in through the IdMS's real login form. Results, per sample: total time to every GMK stored,
 * the longest main-thread task, the largest frame gap.
 */
import { writeFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { startDevstack } from '../demo/server/devstack.js';
import type { BenchResult } from './measure.js';
import type { LoginManyResult } from './browser/login-many.js';

export const LOGIN_MANY_EXTRA_GROUPS = 100;

function summary(name: string, values: readonly number[]): BenchResult {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  const us = (ms: number): number => Math.round(ms * 1000 * 100) / 100;
  return { name, runtime: 'chromium-page', median_us: us(q(0.5)), p95_us: us(q(0.95)), n: values.length };
}

export async function runLoginMany(browser: Browser, origin: string, samples = 5, out: (line: string) => void = () => {}): Promise<BenchResult[]> {
  const page = '/bench/browser/login-many.html';
  const stack = await startDevstack({ webOrigins: [origin], redirectPaths: [page], kmsSecurity: 'on', sip: true, extraGroups: LOGIN_MANY_EXTRA_GROUPS });
  const runs: LoginManyResult[] = [];
  try {
    const user = stack.config.users.find((u) => u.username === 'dispatch')!;
    for (let i = 0; i < samples; i++) {
      const context = await browser.newContext();
      try {
        const p = await context.newPage();
        p.on('pageerror', (e) => out(`page error: ${e.message}`));
        await p.goto(`${origin}${page}`);
        // benchLogin navigates to the IdMS: its promise dies with the page.
        void p.evaluate(([c, u]) => (window as unknown as { benchLogin(c: unknown, u: string): Promise<void> }).benchLogin(c, u), [stack.config, user.username] as const).catch(() => undefined);
        await p.getByLabel('Username').fill(user.username);
        await p.getByLabel('Password').fill(user.password);
        await p.getByRole('button', { name: 'Sign in' }).click();
        await p.waitForURL((u) => u.pathname === page && u.searchParams.has('code'), { timeout: 30_000 });
        // BENCH_PROFILE=<file>: a CPU profile of the first sample's page (from the landing), to find long tasks.
        const profile = i === 0 && process.env['BENCH_PROFILE'] ? await context.newCDPSession(p) : undefined;
        await profile?.send('Profiler.enable');
        await profile?.send('Profiler.setSamplingInterval', { interval: 500 });
        await profile?.send('Profiler.start');
        await p.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult !== undefined, undefined, { timeout: 30_000 });
        const r = (await p.evaluate(() => (window as unknown as { benchResult: Promise<unknown> }).benchResult)) as LoginManyResult;
        if (profile) writeFileSync(process.env['BENCH_PROFILE']!, JSON.stringify((await profile.send('Profiler.stop')).profile));
        if (r.storedGroups !== r.groups || r.refused > 0) throw new Error(`gmk.login_many: ${r.storedGroups}/${r.groups} groups stored, ${r.refused} refused`);
        out(
          `  sample ${i + 1}: ${r.groups} groups, all GMKs stored ${r.totalMs.toFixed(0)} ms after the landing (${r.fromCompleteLoginMs.toFixed(0)} ms after completeLogin; keys ${r.keysReadyMs.toFixed(0)}, registered ${r.registeredMs.toFixed(0)}), ` +
            `key ring ${r.ringGroups}, ${r.duplicates} duplicates refused; longest task ${r.longestTaskMs.toFixed(0)} ms (${r.longTasks} ≥ 50 ms), longest frame gap ${r.longestFrameGapMs.toFixed(0)} ms`,
        );
        runs.push(r);
      } catch (e) {
        // Seen once under heavy machine load: the page navigated again after the landing. The
        // sample is dropped and said so; a case with fewer than 3 good samples fails.
        if (!String(e).includes('Execution context was destroyed')) throw e;
        out(`  sample ${i + 1}: dropped (${String(e).split('\n')[0]})`);
      } finally {
        await context.close();
      }
    }
    if (runs.length < Math.min(3, samples)) throw new Error(`gmk.login_many: only ${runs.length} of ${samples} samples completed`);
  } finally {
    await stack.close();
  }
  return [
    summary('gmk.login_many', runs.map((r) => r.totalMs)),
    summary('gmk.login_many.from_complete_login', runs.map((r) => r.fromCompleteLoginMs)),
    summary('gmk.login_many.longest_task', runs.map((r) => r.longestTaskMs)),
    summary('gmk.login_many.longest_frame_gap', runs.map((r) => r.longestFrameGapMs)),
  ];
}
