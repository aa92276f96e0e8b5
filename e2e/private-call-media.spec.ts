/**
 * End-to-end protected media in a SIP private call (TS 33.179 7.4, 7.5): Alice and Bob sign in
 * in separate browser contexts of Debian chromium, register through Kamailio, Alice calls Bob
 * and Bob answers; the SDK's session description handler attaches the E2EE worker to every
 * sender and receiver. Audio (the fake capture device's beep, AGC/NS/EC off) must flow both
 * ways, every frame the receivers' workers saw must carry the call's PCK-ID as MKI and
 * decrypt, and no transform may have been bypassed.
 */
import { test, expect, type Page } from '@playwright/test';
import { startDevstack, type Devstack } from '../demo/server/devstack.js';
import { signInToDemo } from './helpers.js';

const PORT = Number(process.env['PW_PORT'] ?? 5174);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const ALICE = { username: 'alice', password: 'alice-pass' };
const BOB = { username: 'bob', password: 'bob-pass' };

interface Counters {
  direction: 'send' | 'receive';
  framesIn: number;
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
interface Hooks {
  callState(): string;
  mediaMode(): string;
  mediaCounters(): Promise<Counters[]>;
  mediaEvents(): { type: string; direction?: string; mki?: string; reason?: string }[];
  callInbound(): Promise<{ energy: number; packets: number }>;
}
type HookName = keyof Hooks;
const hook = <N extends HookName>(page: Page, name: N) =>
  page.evaluate((n) => ((window as unknown as { mcpttDemo: Record<string, () => unknown> }).mcpttDemo[n]!)(), name) as Promise<Awaited<ReturnType<Hooks[N]>>>;

test.describe.serial('E2EE media in a private call through Kamailio', () => {
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

  test('audio flows both ways, encrypted under the call PCK, nothing bypassed', async () => {
    test.setTimeout(90_000);
    expect(await hook(alice, 'mediaMode')).not.toBe('off');
    expect(await hook(bob, 'mediaMode')).not.toBe('off');
    await alice.getByLabel('Person to call').selectOption({ label: 'Bob (field)' });
    await alice.getByRole('button', { name: 'Call', exact: true }).click();
    await expect(bob.locator('#call-state')).toHaveText('Incoming call from Alice (field)', { timeout: 20_000 });
    await bob.getByRole('button', { name: 'Answer' }).click();
    await expect(alice.locator('#call-state')).toContainText('In a call with Bob (field)', { timeout: 20_000 });
    await expect(bob.locator('#call-state')).toContainText('In a call with Alice (field)');
    const pckId = /\(PCK ([0-9a-f]{8})\)/.exec((await alice.locator('#call-state').textContent()) ?? '')?.[1];
    expect(pckId).toBeDefined();
    await expect(bob.locator('#call-state')).toContainText(`(PCK ${pckId})`);

    // Audio arrives and keeps arriving on both sides.
    for (const p of [alice, bob]) await expect.poll(async () => (await hook(p, 'callInbound')).energy, { timeout: 20_000 }).toBeGreaterThan(0);
    const e1 = await Promise.all([hook(alice, 'callInbound'), hook(bob, 'callInbound')]);
    await alice.waitForTimeout(2000);
    const e2 = await Promise.all([hook(alice, 'callInbound'), hook(bob, 'callInbound')]);
    for (const i of [0, 1]) {
      expect(e2[i]!.energy).toBeGreaterThan(e1[i]!.energy);
      expect(e2[i]!.packets).toBeGreaterThan(e1[i]!.packets);
    }

    for (const [name, p] of [['alice', alice], ['bob', bob]] as const) {
      const counters = await hook(p, 'mediaCounters');
      const send = counters.filter((c) => c.direction === 'send');
      const receive = counters.filter((c) => c.direction === 'receive');
      expect(send.length, name).toBe(1);
      expect(receive.length, name).toBe(1);
      // Frames passed through the worker both ways: the transforms were not bypassed.
      expect(send[0]!.framesOut, name).toBeGreaterThan(50);
      expect(receive[0]!.framesOut, name).toBeGreaterThan(50);
      // Received frames all carried the format marker and decrypted.
      for (const k of ['droppedAuth', 'droppedReplay', 'droppedMalformed', 'droppedUnencrypted', 'droppedExpired', 'droppedError'] as const) {
        expect(receive[0]![k], `${name} ${k}`).toBe(0);
      }
      const events = await hook(p, 'mediaEvents');
      expect(events.filter((e) => e.type === 'transform-bypassed'), name).toEqual([]);
      expect(events.filter((e) => e.type === 'decrypt-failed' || e.type === 'unencrypted-frame-received' || e.type === 'worker-error'), name).toEqual([]);
      // What each side sent and received was protected under the call's PCK-ID (the MKI).
      const mkis = (dir: string) => [...new Set(events.filter((e) => e.type === 'encrypting' && e.direction === dir).map((e) => e.mki))];
      expect(mkis('send'), name).toEqual([pckId]);
      expect(mkis('receive'), name).toEqual([pckId]);
    }

    await alice.getByRole('button', { name: 'Hang up' }).click();
    await expect(bob.locator('#call-state')).toHaveText('Call ended.', { timeout: 10_000 });
  });
});
