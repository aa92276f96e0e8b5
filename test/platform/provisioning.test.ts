/**
 * Identity key provisioning over key periods (TS 33.179 7.2): fetch ahead, roll over,
 * keep working from stored keys while the KMS is away, and recover by itself.
 */
import { describe, expect, it } from 'vitest';
import { KmsError } from '../../src/errors.js';
import { periodEndUnixMs, type PeriodKeys } from '../../src/keys/identity.js';
import { createKeyProvisioner, type KeyStorePort, type KmsPort, type ProvisioningStatus } from '../../src/platform/provisioning.js';
import { createTestKms } from '../helpers/test-kms.js';

const ME = 'sip:alice@mcptt.example';
const kms = createTestKms('kms.prov.example', 6);
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

function harness() {
  let clock = T0;
  let up = true;
  const calls: string[] = [];
  const cert = { ...kms.params, validFrom: T0 - 86_400_000, validTo: T0 + 365 * 86_400_000 };
  const period = (at: number) => kms.periodAt(at);
  const set = (n: number) => ({ ...kms.issue(ME, n), validFrom: 0, validTo: periodEndUnixMs(kms.params, n) });
  const port: KmsPort = {
    async init() {
      calls.push('init');
      if (!up) throw new KmsError('ERR_KMS_UNREACHABLE', 'down');
      return { certificate: cert };
    },
    async keyProvision(o) {
      calls.push(o?.at === undefined ? 'keyprov' : `keyprov@${period(o.at)}`);
      if (!up) throw new KmsError('ERR_KMS_UNREACHABLE', 'down');
      return [set(period(o?.at ?? clock))];
    },
  };
  const stored = { certs: new Map<string, any>(), sets: [] as { identity: string; kmsUri: string; keys: PeriodKeys; validTo: number }[], prunes: 0 };
  const store: KeyStorePort = {
    async putCertificate(c) {
      stored.certs.set(c.kmsUri, c);
    },
    async getCertificate(uri) {
      return stored.certs.get(uri);
    },
    async putKeySet(s) {
      stored.sets = stored.sets.filter((x) => x.keys.keyPeriodNo !== s.keys.keyPeriodNo);
      stored.sets.push(s);
    },
    async keySets(identity) {
      return stored.sets.filter((s) => s.identity === identity);
    },
    async prune() {
      stored.prunes++;
    },
  };
  const pending: { at: number; fn: () => void }[] = [];
  const timers = {
    setTimeout: (fn: () => void, ms: number) => {
      const t = { at: clock + ms, fn };
      pending.push(t);
      return t;
    },
    clearTimeout: (h: unknown) => {
      const i = pending.indexOf(h as never);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  /** Moves the clock to the next timer and fires it; resolves with the status that follows. */
  const fireNext = async (p: ReturnType<typeof createKeyProvisioner>) => {
    pending.sort((a, b) => a.at - b.at);
    const t = pending.shift();
    if (!t) throw new Error('no timer pending');
    clock = Math.max(clock, t.at);
    t.fn();
    return p.refresh();
  };
  return {
    port, store, stored, timers, calls, pending, fireNext,
    now: () => clock,
    setUp: (v: boolean) => (up = v),
    setClock: (v: number) => (clock = v),
  };
}

function provisioner(h: ReturnType<typeof harness>) {
  return createKeyProvisioner({ identity: ME, kmsUri: kms.params.kmsUri, kms: h.port, store: h.store, now: h.now, timers: h.timers, random: () => 0.5 });
}

describe('key provisioning', () => {
  it('fetches the certificate and the current and next periods, stores them, and is ready', async () => {
    const h = harness();
    const p = provisioner(h);
    const seen: ProvisioningStatus['state'][] = [];
    p.on('status', (s) => seen.push(s.state));
    const s = await p.start();
    const current = kms.periodAt(T0);
    expect(s).toMatchObject({ state: 'ready', source: 'kms', currentPeriod: current, nextPeriodReady: true });
    expect(seen).toEqual(['provisioning', 'ready']);
    expect(h.stored.sets.map((x) => x.keys.keyPeriodNo).sort()).toEqual([current, current + 1]);
    const id = p.identity()!;
    expect(id.uri).toBe(ME);
    expect(id.keysForPeriod(current)?.uid).toEqual(kms.issue(ME, current).uid);
    expect(id.keysForPeriod(current + 1)).toBeDefined();
  });

  it('rolls over at the period change without a gap and fetches the period after', async () => {
    const h = harness();
    const p = provisioner(h);
    await p.start();
    const current = kms.periodAt(T0);
    expect(h.pending).toHaveLength(1);
    expect(h.pending[0]!.at).toBeGreaterThanOrEqual(periodEndUnixMs(kms.params, current));
    const s = await h.fireNext(p);
    expect(s).toMatchObject({ state: 'ready', currentPeriod: current + 1, nextPeriodReady: true });
    expect(p.identity()!.keysForPeriod(current + 2)).toBeDefined();
    expect(h.stored.prunes).toBeGreaterThanOrEqual(2);
  });

  it('works from stored keys while the KMS is away, retries with backoff, and recovers', async () => {
    const h = harness();
    await provisioner(h).start(); // a first session stores keys
    h.setUp(false);
    const p = provisioner(h); // a page reload: nothing in memory
    const s = await p.start();
    expect(s).toMatchObject({ state: 'offline', source: 'store', currentPeriod: kms.periodAt(T0), error: 'ERR_KMS_UNREACHABLE' });
    expect(p.identity()?.keysForPeriod(kms.periodAt(T0))).toBeDefined();
    const first = (s as { retryAt: number }).retryAt - T0;
    const s2 = await h.fireNext(p);
    const second = (s2 as { retryAt: number }).retryAt - h.now();
    expect(second).toBeGreaterThan(first); // exponential backoff
    h.setUp(true);
    expect(await h.fireNext(p)).toMatchObject({ state: 'ready', source: 'kms' });
  });

  it('fails (no keys) when the KMS is away and nothing is stored, and keeps retrying', async () => {
    const h = harness();
    h.setUp(false);
    const p = provisioner(h);
    expect(await p.start()).toMatchObject({ state: 'failed', error: 'ERR_KMS_UNREACHABLE' });
    expect(p.identity()).toBeUndefined();
    expect(h.pending).toHaveLength(1);
  });

  it('stores nothing when a fetch fails half way', async () => {
    const h = harness();
    const port = h.port;
    let n = 0;
    h.port.keyProvision = async (o) => {
      if (++n === 2) throw new KmsError('ERR_KMS_BAD_SIGNATURE', 'bad');
      return (await (port.keyProvision as any).call(port, o)) as never;
    };
    const p = provisioner(h);
    expect(await p.start()).toMatchObject({ state: 'failed', error: 'ERR_KMS_BAD_SIGNATURE' });
    expect(h.stored.sets).toHaveLength(0);
    expect(h.stored.certs.size).toBe(0);
  });

  it('stop() forgets the keys, cancels timers, and a throwing listener harms no one', async () => {
    const h = harness();
    const p = provisioner(h);
    let calls = 0;
    p.on('status', () => {
      throw new Error('listener bug');
    });
    p.on('status', () => calls++);
    await p.start();
    expect(calls).toBe(2);
    p.stop();
    expect(p.status().state).toBe('stopped');
    expect(p.identity()).toBeUndefined();
    expect(h.pending).toHaveLength(0);
  });
});
