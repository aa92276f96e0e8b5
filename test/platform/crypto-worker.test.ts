/**
 * The identity crypto worker (src/platform/crypto-worker, workers/crypto-worker.ts; RFC 6508,
 * RFC 6507 for TS 33.179 7.2.4, 7.3.2, 9.1.3): its protocol checks, and that a page which runs
 * the heavy operations through the worker gets exactly what in-thread code gets — the same
 * bytes, the same verdicts, the same typed errors — with the worker's own failures typed too.
 * The worker runs in-process behind a fake Worker (the real one is exercised by the browser
 * tests and the gmk.login_many bench).
 */
import { describe, expect, it, vi } from 'vitest';
import { inThreadIdentityCrypto, sakkeEncapsulate } from '../../src/crypto/index.js';
import { isMcpttError } from '../../src/errors.js';
import { createKeyDistribution, createMikeyKeyReceiver, type KeyDistributionInput } from '../../src/keys/index.js';
import { validateKeySet, validateKeySetAsync, validateKmsCertificate } from '../../src/keys/kms-validation.js';
import type { KmsKeySet } from '../../src/codec/kms/types.js';
import {
  createCryptoWorkerClient,
  createCryptoWorkerCore,
  readFromCryptoWorker,
  readToCryptoWorker,
  type CryptoWorkerLike,
  type FromCryptoWorker,
} from '../../src/platform/crypto-worker/index.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const kms = createTestKms();
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const PERIOD = kms.periodAt(NOW);
const GMS = 'sip:gms@mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const GROUP = 'sip:fire-ops@mcptt.example';
const gms = kms.identity(GMS, [PERIOD]);
const alice = kms.identity(ALICE, [PERIOD]);
const aliceKeys = kms.issue(ALICE, PERIOD);
const SSV = hexToBytes('00112233445566778899aabbccddeeff');

type Listener = (e: { data?: unknown; preventDefault?: () => void; message?: string }) => void;

/** A Worker whose other side is the real worker core, run in this process (structured clone included). */
class FakeWorker implements CryptoWorkerLike {
  readonly listeners = new Map<string, Listener[]>();
  readonly posted: unknown[] = [];
  terminated = false;
  constructor(readonly behaviour: 'core' | 'silent' | ((m: unknown, reply: (d: unknown) => void) => void) = 'core') {}
  readonly core = createCryptoWorkerCore((m: FromCryptoWorker) => this.#deliver(m));
  addEventListener(type: string, l: (e: never) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), l as Listener]);
  }
  postMessage(message: unknown): void {
    if (this.terminated) return;
    const copy = structuredClone(message);
    this.posted.push(copy);
    if (this.behaviour === 'core') setTimeout(() => void this.core.onMessage(copy), 0);
    else if (typeof this.behaviour === 'function') this.behaviour(copy, (d) => this.#deliver(d));
  }
  terminate(): void {
    this.terminated = true;
  }
  fire(type: string, e: Parameters<Listener>[0]): void {
    for (const l of this.listeners.get(type) ?? []) l(e);
  }
  #deliver(data: unknown): void {
    if (this.terminated) return;
    const copy = structuredClone(data);
    setTimeout(() => this.fire('message', { data: copy }), 0);
  }
}

function clientWith(workers: FakeWorker[], make: () => FakeWorker = () => new FakeWorker(), timeoutMs?: number) {
  return createCryptoWorkerClient({
    createWorker: () => {
      const w = make();
      workers.push(w);
      return w;
    },
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (isMcpttError(e)) return e.code;
    return e instanceof Error ? e.name : 'non-error';
  }
}

describe('crypto worker protocol', () => {
  it('accepts each request kind and refuses what does not fit, naming the request id', () => {
    expect(readToCryptoWorker({ kind: 'init', id: 1, protocol: 1 })).toEqual({ kind: 'init', id: 1, protocol: 1 });
    const dec = readToCryptoWorker({ kind: 'sakke-decapsulate', id: 7, data: new Uint8Array(273), uid: new Uint8Array(32), z: new Uint8Array(257), rsk: new Uint8Array(257) });
    expect(dec.kind).toBe('sakke-decapsulate');
    for (const bad of [null, 'x', [], { kind: 'init', id: 0, protocol: 1 }, { kind: 'init', id: 1.5, protocol: 1 }]) {
      expect(() => readToCryptoWorker(bad)).toThrow();
    }
    expect(() => readToCryptoWorker({ kind: 'sakke-validate', id: 3, uid: 'ab', z: new Uint8Array(257), rsk: new Uint8Array(257) })).toThrow(
      expect.objectContaining({ id: 3, message: 'uid must be a Uint8Array' }),
    );
    expect(() => readToCryptoWorker({ kind: 'sakke-validate', id: 4, uid: new Uint8Array(32), z: new Uint8Array(5000), rsk: new Uint8Array(257) })).toThrow(
      expect.objectContaining({ id: 4 }),
    );
    expect(() => readToCryptoWorker({ kind: 'shell', id: 5 })).toThrow(expect.objectContaining({ id: 5, message: 'unknown message kind' }));
  });

  it('reads answers and refuses an error code that is not a crypto code', () => {
    expect(readFromCryptoWorker({ kind: 'bool', id: 2, value: true })).toEqual({ kind: 'bool', id: 2, value: true });
    expect(readFromCryptoWorker({ kind: 'error', id: null, code: 'ERR_CRYPTO_WORKER', message: 'x' }).id).toBeNull();
    expect(() => readFromCryptoWorker({ kind: 'error', id: 2, code: 'ERR_KMS_HTTP', message: 'x' })).toThrow();
    expect(() => readFromCryptoWorker({ kind: 'bool', id: 2, value: 'yes' })).toThrow();
    expect(() => readFromCryptoWorker({ kind: 'bytes', id: 2, value: new Uint8Array(0) })).toThrow();
  });

  it('the worker core answers every request once, a malformed one with an error carrying its id', async () => {
    const out: FromCryptoWorker[] = [];
    const core = createCryptoWorkerCore((m) => out.push(m));
    await core.onMessage({ kind: 'init', id: 1, protocol: 1 });
    await core.onMessage({ kind: 'init', id: 2, protocol: 99 });
    await core.onMessage({ kind: 'sakke-validate', id: 3, uid: 'not bytes' });
    await core.onMessage({ kind: 'sakke-validate', id: 4, uid: aliceKeys.uid, z: kms.params.z, rsk: aliceKeys.rsk });
    await core.onMessage(42);
    expect(out.map((m) => [m.kind, m.id])).toEqual([
      ['ready', 1],
      ['error', 2],
      ['error', 3],
      ['bool', 4],
      ['error', null],
    ]);
    expect(out[3]).toMatchObject({ value: true });
    // The error names the field, never a value.
    expect(JSON.stringify(out)).not.toContain(bytesToHex(aliceKeys.rsk).slice(0, 32));
  });
});

describe('crypto worker client: same results as in-thread', () => {
  it('encapsulates to the same bytes, decapsulates them back, and validates RSKs alike', async () => {
    const workers: FakeWorker[] = [];
    const c = clientWith(workers);
    const local = inThreadIdentityCrypto();
    const to = { id: aliceKeys.uid, z: kms.params.z };
    const viaWorker = await c.sakkeEncapsulate(SSV, to);
    expect(bytesToHex(viaWorker)).toBe(bytesToHex(sakkeEncapsulate(SSV, to)));
    expect(bytesToHex(await c.sakkeDecapsulate(viaWorker, { ...to, rsk: aliceKeys.rsk }))).toBe(bytesToHex(SSV));
    expect(bytesToHex(await local.sakkeDecapsulate(viaWorker, { ...to, rsk: aliceKeys.rsk }))).toBe(bytesToHex(SSV));
    expect(await c.sakkeValidateReceiverKey({ ...to, rsk: aliceKeys.rsk })).toBe(true);
    const otherRsk = kms.issue(GMS, PERIOD).rsk;
    expect(await c.sakkeValidateReceiverKey({ ...to, rsk: otherRsk })).toBe(false);
    expect(await local.sakkeValidateReceiverKey({ ...to, rsk: otherRsk })).toBe(false);
    // One worker for all of it: the handshake went first.
    expect(workers).toHaveLength(1);
    expect((workers[0]!.posted[0] as { kind: string }).kind).toBe('init');
    c.dispose();
    expect(workers[0]!.terminated).toBe(true);
  });

  it('refuses like in-thread code: a tampered encapsulation, a wrong RSK, a wrong length', async () => {
    const c = clientWith([]);
    const local = inThreadIdentityCrypto();
    const keys = { id: aliceKeys.uid, z: kms.params.z, rsk: aliceKeys.rsk };
    const enc = sakkeEncapsulate(SSV, keys);
    const tampered = enc.slice();
    tampered[272]! ^= 1;
    const wrongRsk = { ...keys, rsk: kms.issue(GMS, PERIOD).rsk };
    for (const [data, k] of [
      [tampered, keys],
      [enc, wrongRsk],
      [enc.subarray(0, 200), keys],
    ] as const) {
      const inThread = await codeOf(local.sakkeDecapsulate(data, k));
      expect(inThread).toMatch(/^ERR_/);
      expect(await codeOf(c.sakkeDecapsulate(data, k))).toBe(inThread);
    }
    expect(await codeOf(c.sakkeDecapsulate('x' as unknown as Uint8Array, keys))).toBe('TypeError');
    c.dispose();
  });

  it('a GMK received through the worker is the GMK received in-thread', async () => {
    const c = clientWith([]);
    const input: KeyDistributionInput = {
      kind: 'GMK',
      key: SSV,
      keyId: hexToBytes('0a1b2c3d'),
      rand: hexToBytes('5a5a5a5a000000001111111122222222'),
      from: gms,
      to: { uri: ALICE, kms: kms.params },
      time: NOW,
      parameters: { groupIds: [GROUP], activationTime: NOW },
      randomBytes: (n) => new Uint8Array(n).fill(7),
    };
    const plain = await createKeyDistribution(input);
    const viaWorker = await createKeyDistribution({ ...input, identityCrypto: c });
    expect(bytesToHex(viaWorker)).toBe(bytesToHex(plain));
    const opts = { self: alice, now: () => NOW, gmsUris: [GMS] };
    const a = await createMikeyKeyReceiver(opts).receive(plain, 'GMK', { groupId: GROUP });
    const b = await createMikeyKeyReceiver({ ...opts, identityCrypto: c }).receive(plain, 'GMK', { groupId: GROUP });
    expect(bytesToHex(b.key)).toBe(bytesToHex(a.key));
    expect(bytesToHex(b.keyId)).toBe(bytesToHex(a.keyId));
    // A forged signature is refused the same way through the worker.
    const forged = plain.slice();
    forged[forged.length - 1]! ^= 1;
    const err = await codeOf(createMikeyKeyReceiver({ ...opts, identityCrypto: c }).receive(forged, 'GMK', { groupId: GROUP }));
    expect(err).toBe(await codeOf(createMikeyKeyReceiver(opts).receive(forged, 'GMK', { groupId: GROUP })));
    expect(err).toBe('ERR_MIKEY_BAD_SIGNATURE');
    c.dispose();
  });

  it('key-set validation through the worker accepts and refuses what validateKeySet does', async () => {
    const c = clientWith([]);
    const cert = validateKmsCertificate(
      { userIdFormat: '2', kmsUri: kms.params.kmsUri, userKeyPeriod: kms.params.userKeyPeriod, userKeyOffset: kms.params.userKeyOffset, pubEncKey: kms.params.z, pubAuthKey: kms.params.kpak } as never,
      { now: NOW },
    );
    const keySet = (rsk: Uint8Array): KmsKeySet =>
      ({
        kmsUri: kms.params.kmsUri,
        userUri: ALICE,
        userId: bytesToHex(aliceKeys.uid),
        keyPeriodNo: PERIOD,
        userDecryptKey: rsk,
        userSigningKeySSK: aliceKeys.ssk,
        userPubTokenPVT: aliceKeys.pvt,
      }) as unknown as KmsKeySet;
    const opts = { kms: cert, identity: ALICE, now: NOW };
    const good = await validateKeySetAsync(keySet(aliceKeys.rsk), { ...opts, identityCrypto: c });
    expect(good).toEqual(validateKeySet(keySet(aliceKeys.rsk), opts));
    expect(Object.isFrozen(good)).toBe(true);
    const wrong = keySet(kms.issue(GMS, PERIOD).rsk);
    expect(await codeOf(validateKeySetAsync(wrong, { ...opts, identityCrypto: c }))).toBe('ERR_KMS_INVALID_KEY_SET');
    expect(await codeOf(Promise.resolve().then(() => validateKeySet(wrong, opts)))).toBe('ERR_KMS_INVALID_KEY_SET');
    c.dispose();
  });
});

describe('crypto worker client: failures are typed and recoverable', () => {
  const keys = { id: aliceKeys.uid, z: kms.params.z, rsk: aliceKeys.rsk };

  it('a worker that does not answer fails the request with ERR_CRYPTO_WORKER after the timeout', async () => {
    vi.useFakeTimers();
    try {
      const c = clientWith([], () => new FakeWorker('silent'), 1000);
      const p = codeOf(c.sakkeValidateReceiverKey(keys));
      await vi.advanceTimersByTimeAsync(1001);
      expect(await p).toBe('ERR_CRYPTO_WORKER');
      c.dispose();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a crashed worker fails what was pending, and the next call starts a new one', async () => {
    const workers: FakeWorker[] = [];
    let first = true;
    const c = clientWith(workers, () => {
      if (!first) return new FakeWorker();
      first = false;
      return new FakeWorker('silent');
    });
    const pending = codeOf(c.sakkeValidateReceiverKey(keys));
    workers[0]!.fire('error', { message: 'boom', preventDefault: () => undefined });
    expect(await pending).toBe('ERR_CRYPTO_WORKER');
    expect(workers[0]!.terminated).toBe(true);
    expect(await c.sakkeValidateReceiverKey(keys)).toBe(true);
    expect(workers).toHaveLength(2);
    c.dispose();
  });

  it('an answer of the wrong kind or a refused handshake is ERR_CRYPTO_WORKER, never a result', async () => {
    const liar = new FakeWorker((m, reply) => {
      const { id, kind } = m as { id: number; kind: string };
      reply(kind === 'init' ? { kind: 'ready', id, protocol: 1 } : { kind: 'bool', id, value: true });
    });
    const c = clientWith([], () => liar);
    expect(await codeOf(c.sakkeDecapsulate(new Uint8Array(273), keys))).toBe('ERR_CRYPTO_WORKER');
    c.dispose();
    const refusing = new FakeWorker((m, reply) => {
      const { id, kind } = m as { id: number; kind: string };
      if (kind === 'init') reply({ kind: 'error', id, code: 'ERR_CRYPTO_WORKER', message: 'protocol 1 is not 2' });
    });
    const d = clientWith([], () => refusing);
    expect(await codeOf(d.sakkeValidateReceiverKey(keys))).toBe('ERR_CRYPTO_WORKER');
    d.dispose();
  });

  it('after dispose every call rejects with ERR_CRYPTO_WORKER', async () => {
    const c = clientWith([]);
    c.dispose();
    expect(await codeOf(c.sakkeEncapsulate(SSV, keys))).toBe('ERR_CRYPTO_WORKER');
  });

  it('a receiver fed through a failing worker refuses the key with ERR_CRYPTO_WORKER, not as a bad message', async () => {
    const c = clientWith([], () => new FakeWorker('silent'));
    const message = await createKeyDistribution({
      kind: 'GMK',
      key: SSV,
      keyId: hexToBytes('0a1b2c3d'),
      rand: hexToBytes('5a5a5a5a000000001111111122222222'),
      from: gms,
      to: { uri: ALICE, kms: kms.params },
      time: NOW,
      parameters: { groupIds: [GROUP], activationTime: NOW },
    });
    const receiver = createMikeyKeyReceiver({ self: alice, now: () => NOW, gmsUris: [GMS], identityCrypto: { ...inThreadIdentityCrypto(), sakkeDecapsulate: (d, k) => c.sakkeDecapsulate(d, k) } });
    const p = codeOf(receiver.receive(message, 'GMK', { groupId: GROUP }));
    c.dispose();
    expect(await p).toBe('ERR_CRYPTO_WORKER');
  });
});
