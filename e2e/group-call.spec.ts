/**
 * A prearranged group call end to end (TS 24.379 call setup to the MCPTT server, TS 33.179 7.3
 * group keys and 7.5 media under the GMK, 7.6 protected floor control; TS 24.380 floor
 * control): Alice and Bob sign in in their own Chromium contexts, register through Kamailio,
 * receive the fire-ops GMK, and join the group's call at the dev MCPTT server (werift focus).
 * Alice takes the floor: Bob sees her as the talker and hears her (inbound audio energy grows,
 * little concealment, every frame decrypted under the GMK); Alice releases: idle; Bob talks.
 */
import { test, expect, type Page } from '@playwright/test';
import { startDevstack, type Devstack } from '../demo/server/devstack.js';
import { signInToDemo } from './helpers.js';

const PORT = Number(process.env['PW_PORT'] ?? 5174);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const ALICE = { username: 'alice', password: 'alice-pass' };
const BOB = { username: 'bob', password: 'bob-pass' };
const FIRE = 'sip:fire-ops@mcptt.example';

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
  inputLevel: number;
}

const call = <T>(page: Page, name: string, ...args: unknown[]): Promise<T> =>
  page.evaluate(([n, a]) => (window as unknown as { mcpttDemo: Record<string, (...x: unknown[]) => unknown> }).mcpttDemo[n as string]!(...(a as unknown[])), [name, args] as const) as Promise<T>;
const floorOf = (p: Page): Promise<FloorView> => call<FloorView>(p, 'floorState', FIRE);
const statsOf = (p: Page): Promise<CallStats> => call<CallStats>(p, 'groupCallStats', FIRE);

test.describe.serial('group call through Kamailio and the dev MCPTT server', () => {
  let stack: Devstack;
  let alice: Page;
  let bob: Page;

  test.beforeAll(async ({ browser }) => {
    stack = await startDevstack({ webOrigins: [ORIGIN], kmsSecurity: 'on', sip: true });
    alice = await signInToDemo(browser, stack, ALICE, { rawAudio: true });
    bob = await signInToDemo(browser, stack, BOB, { rawAudio: true });
  });

  test.afterAll(async () => {
    await alice?.context().close();
    await bob?.context().close();
    await stack?.close();
  });

  test('both join fire-ops; the offer went to the server with the floor channel; nobody talks yet', async () => {
    test.setTimeout(60_000);
    // The GMK arrives with the pull at connect; wait for the hook module too.
    for (const p of [alice, bob]) {
      await expect.poll(() => p.evaluate(() => typeof (window as unknown as { mcpttDemo?: { joinGroup?: unknown } }).mcpttDemo?.joinGroup), { timeout: 10_000 }).toBe('function');
    }
    const t0 = Date.now();
    expect(await call<string>(alice, 'joinGroup', FIRE)).toBe('joined');
    const t1 = Date.now();
    expect(await call<string>(bob, 'joinGroup', FIRE)).toBe('joined');
    console.log(`group call join (INVITE → 200 → floor channel open): alice ${t1 - t0} ms, bob ${Date.now() - t1} ms`);
    for (const p of [alice, bob]) expect(await floorOf(p)).toMatchObject({ call: 'joined', state: 'has-no-permission', talker: undefined });
    await expect.poll(async () => stack.mcpttServer!.groupCalls().find((c) => c.groupId === FIRE)?.participants, { timeout: 10_000 }).toBe(2);
    // The GMK from the pull reached the E2EE manager: the muted sender's (silent) frames are
    // encrypted under it rather than dropped for want of a key; no MKI is shown while muted.
    await expect.poll(async () => (await statsOf(alice)).framesEncrypted, { timeout: 10_000 }).toBeGreaterThan(10);
    expect((await statsOf(alice)).sendMki).toBeUndefined();
    expect((await statsOf(alice)).inputLevel).toBe(0);
  });

  test('alice talks: granted, bob sees her and hears her, decrypted under the GMK', async () => {
    test.setTimeout(90_000);
    expect(await call<string>(alice, 'requestFloor', FIRE)).toBe('granted');
    expect(await floorOf(alice)).toMatchObject({ state: 'has-permission', self: true });
    await expect.poll(async () => (await floorOf(bob)).talker, { timeout: 10_000 }).toBe('Alice (field)');
    expect((await floorOf(bob)).state).toBe('has-no-permission');

    // Audio reaches Bob and keeps coming, with little concealment.
    await expect.poll(async () => (await statsOf(bob)).totalAudioEnergy, { timeout: 20_000 }).toBeGreaterThan(0);
    const s1 = await statsOf(bob);
    await bob.waitForTimeout(2000);
    const s2 = await statsOf(bob);
    expect(s2.totalAudioEnergy).toBeGreaterThan(s1.totalAudioEnergy);
    const received = s2.totalSamplesReceived - s1.totalSamplesReceived;
    const concealed = s2.concealedSamples - s1.concealedSamples;
    expect(received).toBeGreaterThan(48_000); // > 1 s of 48 kHz audio in 2 s
    expect(concealed / received).toBeLessThan(0.1);
    console.log(`bob hears alice: ${received} samples in 2 s, ${(100 * concealed / received).toFixed(2)} % concealed, energy +${(s2.totalAudioEnergy - s1.totalAudioEnergy).toFixed(3)}, output level ${s2.outputLevel.toFixed(2)}`);
    expect(s2.framesDecrypted).toBeGreaterThan(50);
    expect(s2.outputLevel).toBeGreaterThan(0);
    // What Alice sends and Bob decrypts carries the GMK-ID ‖ Alice's GUK-ID as MKI.
    const a = await statsOf(alice);
    expect(a.framesEncrypted).toBeGreaterThan(50);
    expect(a.sendMki).toMatch(/^[0-9a-f]{16}$/);
    expect(s2.receiveMki).toBe(a.sendMki);
  });

  test('alice releases: idle for both; bob requests and is granted', async () => {
    test.setTimeout(60_000);
    expect(await call<string>(alice, 'releaseFloor', FIRE)).toBe('ok');
    await expect.poll(async () => (await floorOf(bob)).talker, { timeout: 10_000 }).toBeUndefined();
    expect((await floorOf(alice)).state).toBe('has-no-permission');
    expect(await call<string>(bob, 'requestFloor', FIRE)).toBe('granted');
    await expect.poll(async () => (await floorOf(alice)).talker, { timeout: 10_000 }).toBe('Bob (field)');
    await expect.poll(async () => (await statsOf(alice)).framesDecrypted, { timeout: 20_000 }).toBeGreaterThan(20);
    const b = await statsOf(bob);
    await expect.poll(async () => (await statsOf(alice)).receiveMki, { timeout: 10_000 }).toBe(b.sendMki);
    expect(await call<string>(bob, 'releaseFloor', FIRE)).toBe('ok');
    await call(alice, 'leaveGroup', FIRE);
    await call(bob, 'leaveGroup', FIRE);
    await expect.poll(() => call<FloorView>(alice, 'floorState', FIRE).then((f) => f.call)).toBe('none');
  });
});
