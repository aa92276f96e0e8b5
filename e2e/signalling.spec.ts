/**
 * MCPTT signalling with real parts (TS 33.179 5.6.2.1, 7.3.2, 7.4, 9.1.3): two users in
 * separate browser contexts of Debian chromium sign in, provision keys, register through
 * Kamailio with their access token and CSK, receive the GMK from the dev GMS, call each other
 * with the PCK in the SDP, refuse forged key messages, survive a rekey that excludes a
 * removed member, and re-register by themselves after the WebSocket to the SIP core is cut.
 */
import { test, expect, type Page } from '@playwright/test';
import { WebSocket } from 'ws';
import { startDevstack, type Devstack } from '../demo/server/devstack.js';
import { DEV_SIP_DOMAIN, MCPTT_SERVER_URI } from '../demo/server/config.js';
import { startKamailio, type RunningKamailio } from '../demo/server/kamailio.js';
import { buildGmkNotificationBody } from '../src/codec/sip-bodies.js';
import { createKeyDistribution, newKeyId, periodAt, ntpSecondsOfUnixMs, staticIdentity, type LocalIdentity } from '../src/keys/index.js';
import { createSipUserAgent, type SipUserAgent } from '../src/platform/sip/index.js';
import { bytesToHex } from '../src/util/bytes.js';
import { signInToDemo } from './helpers.js';

// sip.js in this (Node) test process needs a WebSocket.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const PORT = Number(process.env['PW_PORT'] ?? 5174);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const FIRE_OPS = 'sip:fire-ops@mcptt.example';
const ALICE = { username: 'alice', password: 'alice-pass', mcpttId: 'sip:alice@mcptt.example' };
const BOB = { username: 'bob', password: 'bob-pass', mcpttId: 'sip:bob@mcptt.example' };

interface Hooks {
  registration(): string;
  groupKeys(): Record<string, { gmkId: string; status: string }>;
  storedGmkIds(groupId: string): Promise<string[]>;
  senderKeyFingerprint(groupId: string, sender: string): Promise<string | undefined>;
  callState(): string;
  callKeyFingerprint(): string | undefined;
}
type HookName = keyof Hooks;
const hook = <N extends HookName>(page: Page, name: N, ...args: Parameters<Hooks[N]>) =>
  page.evaluate(
    ([n, a]) => ((window as unknown as { mcpttDemo: Record<string, (...x: unknown[]) => unknown> }).mcpttDemo[n as string]!)(...(a as unknown[])),
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<Hooks[N]>>>;

test.describe.serial('signalling through Kamailio with the dev MCPTT server', () => {
  let stack: Devstack;
  let alice: Page;
  let bob: Page;
  let impostor: SipUserAgent | undefined;
  let restartedKamailio: RunningKamailio | undefined;

  test.beforeAll(async ({ browser }) => {
    stack = await startDevstack({ webOrigins: [ORIGIN], kmsSecurity: 'on', sip: true });
    alice = await signInToDemo(browser, stack, ALICE);
    bob = await signInToDemo(browser, stack, BOB);
  });

  test.afterAll(async () => {
    await impostor?.stop().catch(() => undefined);
    await alice?.context().close();
    await bob?.context().close();
    await restartedKamailio?.close();
    await stack?.close();
  });

  test('both members get the group GMK and derive the same SRTP master key for a given sender', async () => {
    await expect.poll(async () => (await hook(alice, 'groupKeys'))[FIRE_OPS]?.status, { timeout: 20_000 }).toBe('active');
    await expect.poll(async () => (await hook(bob, 'groupKeys'))[FIRE_OPS]?.status, { timeout: 20_000 }).toBe('active');
    const a = (await hook(alice, 'groupKeys'))[FIRE_OPS]!;
    const b = (await hook(bob, 'groupKeys'))[FIRE_OPS]!;
    expect(a.gmkId).toBe(b.gmkId);
    expect(a.gmkId).toBe(bytesToHex(stack.mcpttServer!.currentGmkId(FIRE_OPS)!));
    for (const sender of [ALICE.mcpttId, BOB.mcpttId]) {
      const atAlice = await hook(alice, 'senderKeyFingerprint', FIRE_OPS, sender);
      const atBob = await hook(bob, 'senderKeyFingerprint', FIRE_OPS, sender);
      expect(atAlice).toBeDefined();
      expect(atAlice).toBe(atBob);
    }
    // Per-sender keys: Alice's streams and Bob's are protected differently.
    expect(await hook(alice, 'senderKeyFingerprint', FIRE_OPS, ALICE.mcpttId)).not.toBe(await hook(alice, 'senderKeyFingerprint', FIRE_OPS, BOB.mcpttId));
    // Nothing secret rendered.
    for (const p of [alice, bob]) {
      const text = await p.locator('body').innerText();
      expect(text).not.toContain('@mcptt.example');
    }
  });

  test('a private call: the INVITE carries the PCK and both ends hold the same key', async () => {
    await alice.getByLabel('Person to call').selectOption({ label: 'Bob (field)' });
    await alice.getByRole('button', { name: 'Call', exact: true }).click();
    await expect(bob.locator('#call-state')).toHaveText('Incoming call from Alice (field)', { timeout: 20_000 });
    await bob.getByRole('button', { name: 'Answer' }).click();
    await expect(alice.locator('#call-state')).toContainText('In a call with Bob (field)', { timeout: 20_000 });
    await expect(bob.locator('#call-state')).toContainText('In a call with Alice (field)');
    const fa = await hook(alice, 'callKeyFingerprint');
    expect(fa).toBeDefined();
    expect(await hook(bob, 'callKeyFingerprint')).toBe(fa);
    await alice.getByRole('button', { name: 'Hang up' }).click();
    await expect(bob.locator('#call-state')).toHaveText('Call ended.', { timeout: 10_000 });
  });

  test('forged key messages are refused and store nothing; a replay is refused', async () => {
    const period = periodAt(stack.kms.params, ntpSecondsOfUnixMs(Date.now()));
    const identity = (uri: string): LocalIdentity => staticIdentity(uri, stack.kms.params, [stack.kms.issue(uri, period)]);
    const gms = identity(stack.config.serverIdentities.gms);
    const carol = identity('sip:carol@mcptt.example');
    const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
    const gmk = (from: LocalIdentity) =>
      createKeyDistribution({
        kind: 'GMK', key: random(16), keyId: newKeyId(0, random), rand: random(16), from,
        to: { uri: ALICE.mcpttId, kms: stack.kms.params }, time: Date.now(), parameters: { groupIds: [FIRE_OPS] },
      });
    impostor = createSipUserAgent({ server: stack.config.sip!, aor: `sip:mallory@${DEV_SIP_DOMAIN}`, serviceAuthorization: 'register' });
    await impostor.start();
    // The SIP status Alice's SDK answered with (sendMessage rejects on a non-2xx answer).
    const send = (iMessage: Uint8Array): Promise<number> =>
      impostor!.sendMessage(ALICE.mcpttId, buildGmkNotificationBody({ groupId: FIRE_OPS, iMessages: [iMessage] })).then(
        (r) => r.status,
        (e: { statusCode?: number }) => e.statusCode ?? 0,
      );
    const before = await hook(alice, 'storedGmkIds', FIRE_OPS);

    // Signed by a user who is not a GMS.
    expect(await send(await gmk(carol))).toBe(403);
    // Signed by the GMS, then one octet changed.
    const tampered = await gmk(gms);
    tampered[40]! ^= 0x01;
    expect(await send(tampered)).toBe(403);
    expect(await hook(alice, 'storedGmkIds', FIRE_OPS)).toEqual(before);

    // A genuine one is accepted once; its replay is refused.
    const genuine = await gmk(gms);
    expect(await send(genuine)).toBe(200);
    expect(await send(genuine)).toBe(488);
    expect((await hook(alice, 'storedGmkIds', FIRE_OPS)).length).toBe(before.length + 1);
  });

  test('a member removed from the group gets no new GMK; the others get one', async () => {
    // The GMS's key in force (Alice's latest may be the test's own key from the test before).
    const old = bytesToHex(stack.mcpttServer!.currentGmkId(FIRE_OPS)!);
    expect((await hook(bob, 'groupKeys'))[FIRE_OPS]!.gmkId).toBe(old);
    await stack.mcpttServer!.removeMember(FIRE_OPS, BOB.mcpttId);
    const fresh = bytesToHex(stack.mcpttServer!.currentGmkId(FIRE_OPS)!);
    expect(fresh).not.toBe(old);
    await expect.poll(async () => (await hook(alice, 'groupKeys'))[FIRE_OPS]?.gmkId, { timeout: 20_000 }).toBe(fresh);
    const toBob = stack.mcpttServer!.sent().filter((s) => s.to === BOB.mcpttId && bytesToHex(s.gmkId) === fresh);
    expect(toBob).toEqual([]);
    expect((await hook(bob, 'groupKeys'))[FIRE_OPS]!.gmkId).toBe(old);
    expect(await hook(bob, 'storedGmkIds', FIRE_OPS)).not.toContain(`${fresh}:active`);
  });

  test('the WebSocket to the SIP core is cut and the client re-registers by itself', async () => {
    const ws = new URL(stack.config.sip!);
    await stack.kamailio!.close();
    await expect.poll(() => hook(alice, 'registration'), { timeout: 15_000 }).not.toBe('registered');
    restartedKamailio = await startKamailio({
      domain: DEV_SIP_DOMAIN,
      wsPort: Number(ws.port),
      appServer: { uri: MCPTT_SERVER_URI, routePsis: stack.config.groups!.map((g) => g.groupId) },
    });
    await expect.poll(() => hook(alice, 'registration'), { timeout: 45_000 }).toBe('registered');
    await expect.poll(() => hook(bob, 'registration'), { timeout: 45_000 }).toBe('registered');
    await expect(alice.locator('#registration')).toHaveText('Registered with the MCPTT service.');
  });
});
