/**
 * The whole group call flow with real parts (TS 33.179 7.3 GMKs and their rotation, 7.5 media
 * protected end to end under the GMK with the sender's GUK-ID in the MKI, late entry A.7;
 * TS 24.380 floor control through the dev MCPTT server's arbitrator; TS 24.379 call setup):
 * Debian chromium, one context per user, the demo page, Kamailio, the IdMS, the KMS with its
 * security extension and the werift media focus.
 *
 * Alice (A), Bob (B) and Carol (C) monitor fire-ops from the page's group panel; A speaks from
 * the test-tone WAV of playwright.config.ts. The suite walks through: A talks and B, C hear
 * her; the floor passes to B; C asks while B talks (queued or denied); Eve, outside the group,
 * is let into the media by the server's test-only hook and plays nothing; C leaves and
 * re-joins while A talks and hears her at once; the GMK is rotated mid-talk without a gap
 * and the new GMK-ID shows up in the MKI; the server's record of what it forwarded holds
 * ciphertext only. Screenshots of each state are attached to the report.
 *
 * Bounds, and why:
 * - concealment < 5 % of received samples over a window after a 1 s warm-up: on loopback
 *   nothing is lost, so NetEq conceals only jitter underruns (a loaded 2-core machine: a few
 *   frames); 5 % is 100 ms in 2 s, which a listener would hear as a gap;
 * - what a member hears is read from the SDK's playback (`outputLevel()`, the RMS of the
 *   decrypted audio Web Audio plays, sampled every 10 ms): inbound-rtp `totalAudioEnergy`
 *   stays 0 here because the SDK plays through Web Audio with the track's <audio> element
 *   muted (src/platform/group-calls/playback.ts), and Chromium computes that statistic only
 *   for audio an element renders. "Hears" = at least 95 % of the samples above 0.02 (the
 *   test tone plays at about 0.28); "plays nothing" for Eve = never above 0.001 while her
 *   packet counter grows;
 * - late entry: decrypted frames and audio energy within 5 s of the join resolving (the
 *   benchmark `kpi.late_entry` measures the real figure; this bound survives a loaded CI).
 */
import { test, expect, type Browser, type Page, type TestInfo } from '@playwright/test';
import { startDevstack, type Devstack } from '../demo/server/devstack.js';
import { bytesToHex } from '../src/util/bytes.js';
import { signInToDemo } from './helpers.js';

const PORT = Number(process.env['PW_PORT'] ?? 5174);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const FIRE = 'sip:fire-ops@mcptt.example';
const SLUG = 'fire-ops';
const EVE_ID = 'sip:eve@mcptt.example';
const user = (name: string) => ({ username: name, password: `${name}-pass` });

interface FloorView {
  call: string;
  state: string;
  talker: string | undefined;
  self: boolean;
}
interface CallStats {
  totalAudioEnergy: number;
  concealedSamples: number;
  totalSamplesReceived: number;
  packetsReceived: number;
  packetsSent: number;
  framesEncrypted: number;
  framesDecrypted: number;
  framesDropped: number;
  sendMki: string | undefined;
  receiveMki: string | undefined;
  outputLevel: number;
}
interface Counters {
  direction: 'send' | 'receive';
  framesOut: number;
  droppedNoKey: number;
  droppedUnknownKey: number;
  droppedAuth: number;
  droppedReplay: number;
  droppedMalformed: number;
  droppedUnencrypted: number;
  droppedExpired: number;
  droppedError: number;
}

const hook = <T>(page: Page, name: string, ...args: unknown[]): Promise<T> =>
  page.evaluate(([n, a]) => (window as unknown as { mcpttDemo: Record<string, (...x: unknown[]) => unknown> }).mcpttDemo[n as string]!(...(a as unknown[])), [name, args] as const) as Promise<T>;
const floorOf = (p: Page): Promise<FloorView> => hook<FloorView>(p, 'floorState', FIRE);
const statsOf = (p: Page): Promise<CallStats> => hook<CallStats>(p, 'groupCallStats', FIRE);
const receiveCounters = async (p: Page): Promise<Counters[]> => (await hook<Counters[]>(p, 'mediaCounters')).filter((c) => c.direction === 'receive');

/** The SDK's output level of the call (the page's UI entry for it), every `stepMs` for `ms`. */
const levels = (p: Page, ms: number, stepMs = 10): Promise<number[]> =>
  p.evaluate(
    async ([g, total, step]) => {
      const call = (window as unknown as { mcpttDemo: { groupCall(id: string): { outputLevel(): number } | undefined } }).mcpttDemo.groupCall(g);
      const out: number[] = [];
      for (const end = performance.now() + total; performance.now() < end; await new Promise((r) => setTimeout(r, step))) out.push(call?.outputLevel() ?? 0);
      return out;
    },
    [FIRE, ms, stepMs] as const,
  );
const audibleShare = (xs: readonly number[]): number => xs.filter((x) => x > 0.02).length / Math.max(1, xs.length);

/**
 * The browser with Vite's HMR socket answered by a silent stand-in in every new context: a
 * source file edited while the suite runs must not reload the pages mid-call (the calls, keys
 * and counters live in the page). SIP and other WebSockets go through untouched.
 */
function withoutHmr(browser: Browser): Browser {
  return new Proxy(browser, {
    get(target, key) {
      if (key === 'newContext') {
        return async (...args: Parameters<Browser['newContext']>) => {
          const context = await target.newContext(...args);
          await context.routeWebSocket((u) => u.port === String(PORT), () => undefined);
          return context;
        };
      }
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Concealed share of the samples received between two stats readings. */
function concealment(a: CallStats, b: CallStats): { received: number; ratio: number } {
  const received = b.totalSamplesReceived - a.totalSamplesReceived;
  return { received, ratio: received > 0 ? (b.concealedSamples - a.concealedSamples) / received : 1 };
}

/** Waits until at least `samples` more samples were received, then returns the stats. */
async function afterSamples(p: Page, from: CallStats, samples: number, timeout = 20_000): Promise<CallStats> {
  await expect.poll(async () => (await statsOf(p)).totalSamplesReceived - from.totalSamplesReceived, { timeout }).toBeGreaterThanOrEqual(samples);
  return statsOf(p);
}

async function shot(page: Page, info: TestInfo, name: string): Promise<void> {
  const path = info.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await info.attach(name, { path, contentType: 'image/png' });
}

/** Monitors fire-ops from the group panel (the UI join), then lets the hooks watch the call. */
async function monitor(p: Page): Promise<void> {
  const box = p.locator(`#monitor-${SLUG}`);
  await expect(box).toBeEnabled({ timeout: 20_000 });
  await box.check();
  await expect(p.locator(`#call-${SLUG}`)).toHaveText('Monitoring.', { timeout: 30_000 });
  expect(await hook<string>(p, 'joinGroup', FIRE)).toBe('joined');
}

async function unmonitor(p: Page): Promise<void> {
  await p.locator(`#monitor-${SLUG}`).uncheck();
  await expect(p.locator(`#call-${SLUG}`)).toHaveText('Not monitored.', { timeout: 15_000 });
}

async function talk(p: Page): Promise<void> {
  expect(await hook<string>(p, 'requestFloor', FIRE)).toBe('granted');
}

async function release(p: Page, others: readonly Page[]): Promise<void> {
  expect(await hook<string>(p, 'releaseFloor', FIRE)).toBe('ok');
  for (const o of [p, ...others]) await expect.poll(async () => (await floorOf(o)).talker, { timeout: 10_000 }).toBeUndefined();
}

test.describe.serial('group call flow: floor, E2EE media, outsider, late entry, GMK rotation', () => {
  let stack: Devstack;
  let a: Page;
  let b: Page;
  let c: Page;
  let eve: Page;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(120_000);
    stack = await startDevstack({ webOrigins: [ORIGIN], kmsSecurity: 'on', sip: true });
    browser = withoutHmr(browser);
    // Side by side: each sign-in mostly waits on the IdMS, the KMS and the REGISTER.
    [a, b, c, eve] = await Promise.all([
      signInToDemo(browser, stack, user('alice'), { rawAudio: true }),
      signInToDemo(browser, stack, user('bob'), { rawAudio: true }),
      signInToDemo(browser, stack, user('carol'), { rawAudio: true }),
      signInToDemo(browser, stack, user('eve')),
    ]);
    for (const p of [a, b, c, eve]) {
      await expect.poll(() => p.evaluate(() => typeof (window as unknown as { mcpttDemo?: { joinGroup?: unknown } }).mcpttDemo?.joinGroup), { timeout: 10_000 }).toBe('function');
    }
  });

  test.afterAll(async () => {
    for (const p of [a, b, c, eve]) await p?.context().close();
    await stack?.close();
  });

  test('A talks: B and C hear her, every frame decrypted, little concealment', async ({}, info) => {
    test.setTimeout(90_000);
    for (const p of [a, b, c]) await monitor(p);
    await expect.poll(() => stack.mcpttServer!.groupCalls().find((g) => g.groupId === FIRE)?.participants, { timeout: 10_000 }).toBe(3);
    await expect(a.locator('#floor-state')).toHaveText('Idle: nobody is talking.');
    await shot(a, info, '01-idle-alice');

    await talk(a);
    await expect(a.locator('#floor-state')).toHaveText('Granted: you are talking.');
    for (const p of [b, c]) {
      await expect(p.locator('#floor-state')).toHaveText('Taken by Alice (field).', { timeout: 10_000 });
      await expect(p.locator(`#talker-${SLUG}`)).toHaveText('Alice (field) is talking.');
    }
    await shot(a, info, '02-talking-alice');
    await shot(b, info, '03-listening-bob');

    const sendMki = (await statsOf(a)).sendMki;
    for (const p of [b, c]) {
      await expect.poll(async () => (await statsOf(p)).framesDecrypted, { timeout: 20_000 }).toBeGreaterThan(0);
      // Warm-up (jitter buffer settles), then a 2 s window.
      const warm = await afterSamples(p, await statsOf(p), 48_000);
      const heard = await levels(p, 2000);
      const after = await afterSamples(p, warm, 96_000);
      expect(audibleShare(heard), 'share of 10 ms samples with the tone audible').toBeGreaterThan(0.95);
      const w = concealment(warm, after);
      expect(w.ratio, `concealed share over ${w.received} samples`).toBeLessThan(0.05);
      expect(after.receiveMki).toBe(sendMki);
      for (const k of await receiveCounters(p)) {
        expect(k.framesOut).toBeGreaterThan(0);
        for (const d of ['droppedAuth', 'droppedMalformed', 'droppedUnencrypted', 'droppedError'] as const) expect(k[d], d).toBe(0);
        // A packet the browser NACKs and gets again may arrive twice; audio frame transforms sit
        // before the jitter buffer that would drop the copy, so the worker refuses it as a
        // replay. Under load that happens, rarely: more than 2 % would be a fault.
        expect(k.droppedReplay, 'droppedReplay').toBeLessThanOrEqual(Math.ceil(k.framesOut * 0.02));
      }
    }
    expect(sendMki).toMatch(/^[0-9a-f]{16}$/);
    expect(sendMki!.slice(0, 8)).toBe(bytesToHex(stack.mcpttServer!.currentGmkId(FIRE)!));
  });

  test("the floor goes idle on A's release; B gets it next; C is queued or denied", async ({}, info) => {
    test.setTimeout(60_000);
    await release(a, [b, c]);
    await expect(b.locator('#floor-state')).toHaveText('Idle: nobody is talking.');
    await talk(b);
    for (const p of [a, c]) await expect.poll(async () => (await floorOf(p)).talker, { timeout: 10_000 }).toBe('Bob (field)');
    await expect(a.locator(`#talker-${SLUG}`)).toHaveText('Bob (field) is talking.');
    await expect.poll(async () => (await statsOf(a)).receiveMki, { timeout: 10_000 }).toBe((await statsOf(b)).sendMki);

    // C asks while B talks: the arbitrator queues or denies, B keeps the floor.
    const answer = await hook<string>(c, 'requestFloor', FIRE);
    expect(['queued', 'error:ERR_FLOOR_DENIED']).toContain(answer);
    await expect(c.locator('#floor-state')).toHaveText(answer === 'queued' ? /^Queued/ : /^Taken by Bob/, { timeout: 10_000 });
    await shot(c, info, answer === 'queued' ? '04-queued-carol' : '04-denied-carol');
    expect((await floorOf(b)).state).toBe('has-permission');
    if (answer === 'queued') expect(await hook<string>(c, 'releaseFloor', FIRE)).toBe('ok');
    await release(b, [a, c]);
  });

  test('Eve, outside the group but let into the media, gets frames she cannot decrypt and plays nothing', async ({}, info) => {
    test.setTimeout(90_000);
    const t0 = Date.now();
    const phases: string[] = [];
    const phase = (name: string): void => void phases.push(`${name} ${Date.now() - t0} ms`);
    // Without the admin hook the server refuses her (not a member).
    expect(await hook<string>(eve, 'joinGroup', FIRE)).toMatch(/^error:/);
    stack.mcpttServer!.admitToMedia(FIRE, EVE_ID);
    expect(await hook<string>(eve, 'joinGroup', FIRE)).toBe('joined');
    phase('joined');

    await talk(a);
    await expect.poll(async () => (await statsOf(eve)).packetsReceived, { timeout: 20_000 }).toBeGreaterThan(100);
    phase('packets');
    await expect.poll(async () => (await receiveCounters(eve)).reduce((n, k) => n + k.droppedUnknownKey + k.droppedNoKey, 0), { timeout: 10_000 }).toBeGreaterThan(50);
    phase('dropped');
    // Her playback stays silent (she joined through the client, not the page's group panel:
    // her level comes with the call's stats, every 100 ms for 2 s).
    const eveLevels: number[] = [];
    for (let i = 0; i < 20; i++) {
      eveLevels.push((await statsOf(eve)).outputLevel);
      await eve.waitForTimeout(100);
    }
    expect(Math.max(...eveLevels)).toBeLessThan(0.001);
    const e = await statsOf(eve);
    expect(e.packetsReceived).toBeGreaterThan(100);
    expect(e.framesDecrypted).toBe(0);
    expect(e.receiveMki).toBeUndefined();
    const events = await hook<{ type: string; direction?: string }[]>(eve, 'mediaEvents');
    expect(events.some((x) => x.type === 'missing-key' && x.direction === 'receive')).toBe(true);
    expect(events.filter((x) => x.type === 'encrypting' && x.direction === 'receive')).toEqual([]);
    // Meanwhile B hears A.
    expect(audibleShare(await levels(b, 1000))).toBeGreaterThan(0.95);
    await release(a, [b, c]);
    await hook(eve, 'leaveGroup', FIRE);
    phase('done');
    info.annotations.push({ type: 'phases', description: phases.join(', ') });
  });

  test('a late joiner hears the current talker at once', async ({}, info) => {
    test.setTimeout(60_000);
    await talk(a);
    await expect.poll(async () => (await statsOf(b)).receiveMki, { timeout: 10_000 }).toBe((await statsOf(a)).sendMki);
    await unmonitor(c);
    const t0 = Date.now();
    await monitor(c);
    const joinedAfter = Date.now() - t0;
    await expect.poll(async () => (await statsOf(c)).framesDecrypted, { timeout: 5000 }).toBeGreaterThan(0);
    await expect.poll(async () => (await statsOf(c)).outputLevel, { timeout: 5000 }).toBeGreaterThan(0.02);
    const heardAfter = Date.now() - t0;
    expect(audibleShare(await levels(c, 1000))).toBeGreaterThan(0.95);
    await expect(c.locator('#floor-state')).toHaveText('Taken by Alice (field).', { timeout: 10_000 });
    info.annotations.push({ type: 'late entry', description: `joined in ${joinedAfter} ms, decrypted audio with energy ${heardAfter} ms after the join started (test polling included)` });
    await shot(c, info, '05-late-joiner-carol');
    // T2 (30 s at the dev arbitrator) would end this burst during the next test.
    await release(a, [b, c]);
  });

  test('a GMK rotation mid-talk: no audible gap, and frames after the switch carry the new GMK-ID', async ({}, info) => {
    test.setTimeout(90_000);
    const oldGmk = bytesToHex(stack.mcpttServer!.currentGmkId(FIRE)!);
    await talk(a);
    await expect.poll(async () => (await statsOf(b)).receiveMki, { timeout: 10_000 }).toBe((await statsOf(a)).sendMki);
    const before = await afterSamples(b, await statsOf(b), 24_000);
    await stack.mcpttServer!.rekey(FIRE);
    const newGmk = bytesToHex(stack.mcpttServer!.currentGmkId(FIRE)!);
    expect(newGmk).not.toBe(oldGmk);
    // The new GMK activates a few seconds later (5 s at the dev GMS): B's playback is sampled
    // every 10 ms across the switch while A switches and B and C follow by the MKI.
    const acrossSwitch = levels(b, 9000);
    await expect.poll(async () => (await statsOf(a)).sendMki?.slice(0, 8), { timeout: 20_000 }).toBe(newGmk);
    for (const p of [b, c]) await expect.poll(async () => (await statsOf(p)).receiveMki?.slice(0, 8), { timeout: 10_000 }).toBe(newGmk);
    const after = await afterSamples(b, await statsOf(b), 48_000);
    const w = concealment(before, after);
    expect(w.received).toBeGreaterThan(96_000);
    expect(w.ratio, `concealed share over ${w.received} samples across the switch`).toBeLessThan(0.05);
    const heard = await acrossSwitch;
    expect(audibleShare(heard), 'share of 10 ms samples with the tone audible across the switch').toBeGreaterThan(0.95);
    for (const k of await receiveCounters(b)) {
      for (const d of ['droppedAuth', 'droppedMalformed', 'droppedUnencrypted', 'droppedError'] as const) expect(k[d], d).toBe(0);
      expect(k.droppedReplay, 'droppedReplay (NACKed copies, see above)').toBeLessThanOrEqual(Math.ceil(k.framesOut * 0.02));
    }
    info.annotations.push({ type: 'rekey', description: `concealment ${(w.ratio * 100).toFixed(2)} % over ${(w.received / 48_000).toFixed(1)} s across the switch; tone audible in ${(audibleShare(heard) * 100).toFixed(1)} % of ${heard.length} level samples` });
    await shot(a, info, '06-after-rekey-alice');
    await shot(b, info, '07-after-rekey-bob');
    await release(a, [b, c]);
  });

  test('the server forwarded ciphertext only: v1 frame marker, no 20 ms Opus TOC', async () => {
    const calls = stack.mcpttServer!.groupCalls().find((g) => g.groupId === FIRE)!;
    const payloads = stack.mcpttServer!.forwardedPayloads(FIRE);
    expect(payloads.length).toBeGreaterThan(500);
    // Nobody talks now: the record is what was forwarded, up to its limit (2000).
    expect(payloads.length).toBe(Math.min(2000, calls.counters.packetsForwarded));
    // 20 ms Opus configs (RFC 6716 3.1): SILK 1, 5, 9; hybrid 13, 15; CELT 19, 23, 27, 31.
    const opus20ms = new Set([1, 5, 9, 13, 15, 19, 23, 27, 31]);
    // One check over all of them (thousands of expect() calls would take seconds).
    const bad = payloads.filter((p) => p[0]! >> 3 !== 0b11101 || opus20ms.has(p[0]! >> 3) || (p[0]! & 0b100) === 0 || p.length <= 1 + 8 + 8 + 1 + 16);
    // Marker 11101 (v1), G = 1 (group frame: MKI = GMK-ID ‖ GUK-ID), header (1 + 8 MKI + 8 stream
    // ID + ≥ 1 index) and the 16-octet tag around a non-empty frame.
    expect(bad.map((p) => `${p[0]!.toString(2).padStart(8, '0')}/${p.length}`).slice(0, 5)).toEqual([]);
    const bytes = payloads.reduce((n, p) => n + p.length, 0);
    // About 50 frames per second of Opus speech: tens of octets each plus the 34–37 overhead.
    expect(bytes / payloads.length).toBeGreaterThan(40);
  });
});
