/**
 * Runner of the MCPTT KPI benchmarks (TS 22.179 6.15.3: MCPTT access time, mouth-to-ear
 * latency, late call entry time) through the real dev stack: oidc-provider, the dev KMS,
 * Kamailio, the dev MCPTT server with its werift media focus and floor arbitrator; the SDK in
 * Debian chromium, one browser context per user (bench/browser/kpi.ts), all in one browser so
 * that the pages' `performance.timeOrigin + performance.now()` compare.
 *
 * - `kpi.access_time`: Alice's `requestFloor()` called → its promise resolved ('granted');
 *   between samples she releases and the floor goes idle at Bob's.
 * - `kpi.mouth_to_ear`: Alice holds the floor; a 1 kHz tone burst (300 ms on, 700 ms off) is
 *   switched on at her generator; time from the onset detected at her generator's output to
 *   the onset detected in Bob's received audio (the same detector on both sides, see
 *   bench/browser/kpi.ts). `.from_switch`: from the gain switch instead.
 * - `kpi.late_entry`: Alice talks (tone on, floor held); Carol calls `joinGroup()` → the first
 *   frame her E2EE worker decrypts. `.audible`: → the tone detected in her played audio;
 *   `.join`: → `joinGroup()` resolved; `.after_dtls`: the joiner's DTLS handshake done → first
 *   frame decrypted (the media plane and late-entry key derivation alone); `.fast_ice`: the
 *   same as `kpi.late_entry` for a joiner whose sip.js does not wait for ICE gathering to
 *   complete (timeout 50 ms).
 */
import type { Browser, Page } from 'playwright-core';
import { startDevstack, type Devstack } from '../demo/server/devstack.js';
import type { BenchResult } from './measure.js';
import type { FloorTiming, JoinTiming, KpiApi, KpiPageOptions } from './browser/kpi.js';

const PAGE = '/bench/browser/kpi.html';
/** ICE gathering timeout of the second late-entry series (sip.js option), ms. */
const LATE_ENTRY_FAST_ICE_MS = 50;
const GROUP = 'sip:fire-ops@mcptt.example';

export interface KpiOptions {
  readonly accessSamples?: number;
  readonly mouthToEarSamples?: number;
  readonly lateEntrySamples?: number;
}

function summary(name: string, values: readonly number[]): BenchResult {
  if (values.length === 0) throw new Error(`${name}: no sample`);
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  const us = (ms: number): number => Math.round(ms * 1000 * 100) / 100;
  return { name, runtime: 'chromium-page', median_us: us(q(0.5)), p95_us: us(q(0.95)), n: values.length };
}

const timeline = (t: JoinTiming): string =>
  Object.entries(t.timeline)
    .sort((x, y) => x[1] - y[1])
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Calls `window.kpi[name](...args)` on a page. */
export function kpi<N extends keyof KpiApi>(page: Page, name: N, ...args: Parameters<KpiApi[N]>): Promise<Awaited<ReturnType<KpiApi[N]>>> {
  return page.evaluate(([n, a]) => (window as unknown as { kpi: Record<string, (...x: unknown[]) => unknown> }).kpi[n]!(...a), [name, args] as const) as Promise<Awaited<ReturnType<KpiApi[N]>>>;
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number, stepMs = 10): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

export async function signIn(browser: Browser, origin: string, stack: Devstack, username: string, out: (l: string) => void, options: KpiPageOptions = {}): Promise<Page> {
  const user = stack.config.users.find((u) => u.username === username)!;
  const context = await browser.newContext();
  const p = await context.newPage();
  p.on('pageerror', (e) => out(`page error (${username}): ${e.message}`));
  await p.goto(`${origin}${PAGE}`);
  void p
    .evaluate(([c, u, o]) => (window as unknown as { benchLogin(c: unknown, u: string, o: unknown): Promise<void> }).benchLogin(c, u, o), [stack.config, username, options] as const)
    .catch(() => undefined);
  await p.getByLabel('Username').fill(user.username);
  await p.getByLabel('Password').fill(user.password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL((u) => u.pathname === PAGE && u.searchParams.has('code'), { timeout: 30_000 });
  await p.waitForFunction(() => (window as unknown as { kpiReady?: unknown }).kpiReady !== undefined, undefined, { timeout: 30_000 });
  await p.evaluate(() => (window as unknown as { kpiReady: Promise<void> }).kpiReady);
  await until(`${username}'s GMK`, () => kpi(p, 'hasGmk', GROUP), 20_000, 50);
  return p;
}

export async function runKpi(browser: Browser, origin: string, out: (line: string) => void = () => {}, o: KpiOptions = {}): Promise<BenchResult[]> {
  const stack = await startDevstack({ webOrigins: [origin], redirectPaths: [PAGE], kmsSecurity: 'on', sip: true });
  const pages: Page[] = [];
  try {
    const [alice, bob, carol] = [await signIn(browser, origin, stack, 'alice', out), await signIn(browser, origin, stack, 'bob', out), await signIn(browser, origin, stack, 'carol', out)];
    pages.push(alice, bob, carol);
    const aj = await kpi(alice, 'join', GROUP, 0);
    const bj = await kpi(bob, 'join', GROUP, 0);
    out(`  joined: alice ${aj.joinedMs.toFixed(0)} ms, bob ${bj.joinedMs.toFixed(0)} ms ${timeline(bj)}`);
    const idleAtBob = () => until('the floor idle at Bob', async () => !(await kpi(bob, 'floor', GROUP)).talking, 10_000);
    // Alice's talk bursts stay well under the arbitrator's T2 (30 s stop-talking timer): a burst
    // older than 20 s is released and a new one requested before the next sample.
    let grantedAt = 0;
    const aliceTalks = async (): Promise<void> => {
      if (grantedAt !== 0 && Date.now() - grantedAt < 20_000 && (await kpi(alice, 'floor', GROUP)).state === 'has-permission') return;
      if (grantedAt !== 0) await kpi(alice, 'releaseFloor', GROUP);
      await idleAtBob();
      const t = await kpi(alice, 'requestFloor', GROUP);
      if (t.result !== 'granted') throw new Error(`Alice's floor request: ${t.result}`);
      grantedAt = Date.now();
      // Media flows to Bob again (his worker decrypts Alice's frames).
      const before = (await kpi(bob, 'stats', GROUP)).framesDecrypted;
      await until('frames decrypted at Bob', async () => (await kpi(bob, 'stats', GROUP)).framesDecrypted > before + 10, 15_000, 50);
    };

    // ---- access time ------------------------------------------------------------------------
    const access: FloorTiming[] = [];
    const accessSamples = o.accessSamples ?? 30;
    for (let i = -2; i < accessSamples; i++) {
      await idleAtBob();
      const t = await kpi(alice, 'requestFloor', GROUP);
      if (t.result !== 'granted') throw new Error(`kpi.access_time: ${t.result}`);
      if (i >= 0) access.push(t);
      await kpi(alice, 'releaseFloor', GROUP);
    }
    out(`  access: resolved ${access.map((a) => a.resolvedMs.toFixed(1)).join(' ')}`);

    // ---- mouth to ear -----------------------------------------------------------------------
    const m2e: number[] = [];
    const fromSwitch: number[] = [];
    const rs0 = await kpi(bob, 'receiveStats', GROUP);
    const m2eSamples = o.mouthToEarSamples ?? 15;
    for (let i = -2; i < m2eSamples; i++) {
      await aliceTalks();
      await kpi(alice, 'armMouth');
      await kpi(bob, 'armEar');
      await sleep(30);
      const on = await kpi(alice, 'tone', true);
      // Polled coarsely: the times come from the pages; polling only paces the bursts (and the
      // media focus shares this Node process).
      const heard = await until('the tone at Bob', () => kpi(bob, 'earSince', on), 3000, 50).catch(() => undefined);
      const spoken = await kpi(alice, 'mouthSince', on);
      await sleep(300);
      await kpi(alice, 'tone', false);
      await sleep(700);
      if (heard === undefined || spoken === undefined) {
        out(`  burst ${i}: ${spoken === undefined ? 'no onset at the generator' : 'not heard at Bob'}`);
        continue;
      }
      if (i < 0) continue;
      m2e.push(heard - spoken);
      fromSwitch.push(heard - on);
    }
    out(`  mouth-to-ear: ${m2e.map((v) => v.toFixed(1)).join(' ')} (generator switch → its own detector ${fromSwitch.map((v, i) => (v - m2e[i]!).toFixed(1)).join(' ')})`);
    const rs = await kpi(bob, 'receiveStats', GROUP);
    // Over the bursts alone (the access-time samples before them are talk bursts of a few frames).
    const burstJb = ((rs.jitterBufferDelayS - rs0.jitterBufferDelayS) / Math.max(1, rs.jitterBufferEmitted - rs0.jitterBufferEmitted)) * 1000;
    const burstConcealed = (rs.concealed - rs0.concealed) / Math.max(1, rs.samples - rs0.samples);
    out(
      `  at Bob: mean jitter buffer delay ${burstJb.toFixed(1)} ms during the bursts (${rs.jitterBufferMs.toFixed(1)} ms since joining), interarrival jitter ${rs.jitterMs.toFixed(1)} ms, ` +
        `concealed ${(burstConcealed * 100).toFixed(2)} % of samples during the bursts`,
    );

    // ---- late entry -------------------------------------------------------------------------
    await kpi(alice, 'tone', true);
    const lateEntry = async (joiner: Page, label: string): Promise<JoinTiming[]> => {
      const late: JoinTiming[] = [];
      const lateSamples = o.lateEntrySamples ?? 10;
      for (let i = -1; i < lateSamples; i++) {
        await aliceTalks();
        const t = await kpi(joiner, 'join', GROUP, 5000);
        if (i >= 0) late.push(t);
        out(`  late entry ${label} ${i}: joined ${t.joinedMs.toFixed(0)} ms, first decrypted frame ${t.firstDecryptMs?.toFixed(0) ?? '-'} ms, audible ${t.firstSoundMs?.toFixed(0) ?? '-'} ms; ${timeline(t)}`);
        await kpi(joiner, 'leave', GROUP);
        await sleep(500);
      }
      return late;
    };
    const late = await lateEntry(carol, 'carol');
    // The same with sip.js told not to wait for ICE gathering to complete (host candidates come
    // within a few ms; gathering "complete" takes about 120 ms more here).
    const dispatch = await signIn(browser, origin, stack, 'dispatch', out, { iceGatheringTimeoutMs: LATE_ENTRY_FAST_ICE_MS });
    pages.push(dispatch);
    const fast = await lateEntry(dispatch, `dispatch (ICE gathering ≤ ${LATE_ENTRY_FAST_ICE_MS} ms)`);
    await kpi(alice, 'tone', false);
    await kpi(alice, 'releaseFloor', GROUP);

    const defined = (xs: (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined);
    return [
      summary('kpi.access_time', access.map((a) => a.resolvedMs)),
      summary('kpi.access_time.permission', defined(access.map((a) => a.permissionMs))),
      summary('kpi.mouth_to_ear', m2e),
      summary('kpi.mouth_to_ear.from_switch', fromSwitch),
      summary('kpi.late_entry', defined(late.map((l) => l.firstDecryptMs))),
      summary('kpi.late_entry.audible', defined(late.map((l) => l.firstSoundMs))),
      summary('kpi.late_entry.join', late.map((l) => l.joinedMs)),
      // The media plane alone: the joiner's DTLS handshake done → first frame decrypted.
      summary('kpi.late_entry.after_dtls', defined(late.map((l) => (l.firstDecryptMs === undefined || l.timeline['dtls-connected'] === undefined ? undefined : l.firstDecryptMs - l.timeline['dtls-connected'])))),
      summary('kpi.late_entry.fast_ice', defined(fast.map((l) => l.firstDecryptMs))),
    ];
  } finally {
    for (const p of pages) {
      await p.evaluate(() => (window as unknown as { kpi?: { disconnect(): Promise<void> } }).kpi?.disconnect()).catch(() => undefined);
      await p.context().close().catch(() => undefined);
    }
    await stack.close();
  }
}
