/**
 * The page-side manager (src/platform/media/e2ee-manager.ts) against the real worker core in
 * this thread (InProcessWorker) and fake endpoints in place of RTCRtpSender/Receiver: keys from
 * the ring reach the worker as CryptoKeys, key requests are answered, events are typed and
 * unsubscribable, restart re-attaches everything with fresh stream IDs, dispose fails closed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseFrame } from '../../src/codec/frame.js';
import { isMediaError } from '../../src/codec/frame-errors.js';
import { gukId } from '../../src/crypto/index.js';
import type { ReceivedKey } from '../../src/keys/receive.js';
import { createE2eeManager, type E2eeManager, type E2eeManagerEvents } from '../../src/platform/media/e2ee-manager.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { FakeEndpoint, fakeHost, fakeTaps, frameOf, InProcessWorker, settle, until } from './helpers.js';

const PCK = hexToBytes('c0ffee112233445566778899aabbccdd');
const PCK_ID = hexToBytes('1e2d3c4b');
const RAND = hexToBytes('00112233445566778899aabbccddeeff');
const CALL = { kind: 'private', callId: 'call-1' } as const;
const OPUS = [0x78, 9, 8, 7, 6];

const managers: E2eeManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.dispose();
});

async function manager(workers: InProcessWorker[] = []): Promise<E2eeManager> {
  const m = await createE2eeManager({
    taps: fakeTaps(),
    createWorker: () => {
      const w = new InProcessWorker(fakeHost(Date.now()));
      workers.push(w);
      return w;
    },
    requestTimeoutMs: 1000,
  });
  managers.push(m);
  return m;
}

const asSender = (e: FakeEndpoint): RTCRtpSender => e as unknown as RTCRtpSender;
const asReceiver = (e: FakeEndpoint): RTCRtpReceiver => e as unknown as RTCRtpReceiver;

function record<K extends keyof E2eeManagerEvents>(m: E2eeManager, type: K): E2eeManagerEvents[K][] {
  const seen: E2eeManagerEvents[K][] = [];
  m.on(type, (e) => seen.push(e));
  return seen;
}

/** Caller and callee of a private call, each with its manager, sender and receiver. */
async function privateCall() {
  const callerWorkers: InProcessWorker[] = [];
  const caller = await manager(callerWorkers);
  const callee = await manager();
  await caller.addPrivateCallKey({ callId: 'call-1', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'initiator' });
  await callee.addPrivateCallKey({ callId: 'call-1', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'receiver' });
  const tx = new FakeEndpoint();
  const rx = new FakeEndpoint();
  await caller.attachSender(asSender(tx), CALL);
  await callee.attachReceiver(asReceiver(rx));
  /** Sends frames through the caller and carries whatever left it to the callee. */
  async function talk(n: number): Promise<void> {
    const before = tx.out.length;
    for (let i = 0; i < n; i++) tx.push(frameOf(OPUS));
    await until(() => tx.out.length === before + n, 'sent frames');
    for (const f of tx.out.slice(before)) rx.push(frameOf(new Uint8Array(f.data)));
  }
  return { caller, callee, tx, rx, talk, callerWorkers };
}

describe('E2EE manager', () => {
  it('handshakes with its worker and protects a private call end to end', async () => {
    const { caller, callee, tx, rx, talk } = await privateCall();
    expect(caller.mode).toBe('encoded-streams');
    const encrypting = record(callee, 'encrypting');
    await talk(3);
    await until(() => rx.out.length === 3, 'decrypted frames');
    expect([...rx.bytes(0)]).toEqual(OPUS);
    expect(bytesToHex(parseFrame(tx.bytes(0)).mki)).toBe('1e2d3c4b');
    expect(encrypting).toEqual([{ type: 'encrypting', trackId: 'rx-1', direction: 'receive', mki: '1e2d3c4b' }]);
    const counters = await callee.counters();
    expect(counters).toEqual([expect.objectContaining({ trackId: 'rx-1', direction: 'receive', framesIn: 3, framesOut: 3, droppedAuth: 0 })]);
    expect((await caller.counters())[0]).toMatchObject({ trackId: 'tx-1', context: 'call:call-1', framesOut: 3 });
  });

  it('each endpoint is set up once: attaching again returns its id; another context is refused', async () => {
    const m = await manager();
    const tx = new FakeEndpoint();
    const id = await m.attachSender(asSender(tx), CALL);
    expect(await m.attachSender(asSender(tx), CALL)).toBe(id);
    expect(tx.connections).toBe(1);
    await expect(m.attachSender(asSender(tx), { kind: 'group', groupId: 'g' })).rejects.toThrow(TypeError);
  });

  it('without a key the sender drops frames and says so; subscribers can unsubscribe', async () => {
    const m = await manager();
    const tx = new FakeEndpoint();
    await m.attachSender(asSender(tx), CALL);
    const missing = record(m, 'missing-key');
    const other: unknown[] = [];
    const off = m.on('missing-key', (e) => other.push(e));
    off();
    tx.push(frameOf(OPUS));
    await until(() => missing.length === 1, 'missing-key');
    expect(tx.out).toEqual([]);
    expect(missing[0]).toMatchObject({ type: 'missing-key', direction: 'send', trackId: 'tx-1' });
    expect(other).toEqual([]);
  });

  it('late entry: the callee gets its key after the first frames are in flight', async () => {
    const caller = await manager();
    const callee = await manager();
    await caller.addPrivateCallKey({ callId: 'call-1', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'initiator' });
    const tx = new FakeEndpoint();
    const rx = new FakeEndpoint();
    await caller.attachSender(asSender(tx), CALL);
    await callee.attachReceiver(asReceiver(rx));
    const missing = record(callee, 'missing-key');
    tx.push(frameOf(OPUS));
    await until(() => tx.out.length === 1, 'sent');
    rx.push(frameOf(new Uint8Array(tx.out[0]!.data)));
    await until(() => missing.length === 1, 'missing-key at the callee');
    expect(missing[0]).toMatchObject({ direction: 'receive', mki: '1e2d3c4b' });
    await callee.addPrivateCallKey({ callId: 'call-1', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'receiver' });
    tx.push(frameOf(OPUS));
    await until(() => tx.out.length === 2, 'sent');
    rx.push(frameOf(new Uint8Array(tx.out[1]!.data)));
    await until(() => rx.out.length === 1, 'decrypted after the key arrived');
  });

  it('revoking the key stops both sides at once', async () => {
    const { caller, callee, rx, tx, talk } = await privateCall();
    await talk(1);
    await until(() => rx.out.length === 1, 'first frame');
    await callee.revokeKey(PCK_ID);
    const failures = record(callee, 'missing-key');
    await talk(1);
    await until(() => failures.length === 1, 'missing-key after revoke');
    expect(rx.out).toHaveLength(1);
    await caller.revokeKey(PCK_ID);
    tx.push(frameOf(OPUS));
    await settle(50);
    expect(tx.out).toHaveLength(2); // the frame after the revocation never left
  });

  it('restart: a new worker, the same keys and tracks, a new stream ID and no IV repeat', async () => {
    const { caller, tx, rx, talk, callerWorkers } = await privateCall();
    await talk(5);
    await until(() => rx.out.length === 5, 'frames before restart');
    const g = caller.generation;
    await caller.restart();
    expect(caller.generation).toBe(g + 1);
    expect(callerWorkers[0]!.terminated).toBe(true);
    expect(tx.connections).toBe(2);
    await talk(5);
    await until(() => rx.out.length === 10, 'frames after restart');
    const pairs = tx.out.map((f) => {
      const p = parseFrame(new Uint8Array(f.data));
      return `${bytesToHex(p.streamId)}:${p.index}`;
    });
    expect(new Set(pairs).size).toBe(10);
    expect(new Set(pairs.map((p) => p.split(':')[0])).size).toBe(2);
  });

  it('group key from a ReceivedKey record: another member decrypts', async () => {
    const GMK = hexToBytes('5b6e3f0c8a1d4e7f92a3b4c5d6e7f801');
    const GMK_ID = hexToBytes('0c3a5e71');
    const rec = (mcpttId: string) =>
      ({ kind: 'GMK', key: GMK, keyId: GMK_ID, gukId: gukId({ gmk: GMK, gmkId: GMK_ID, mcpttId }), rand: RAND, groupIds: ['sip:g@x'], status: 'active', activationTime: undefined, expiryTime: undefined }) as unknown as ReceivedKey;
    const alice = await manager();
    const bob = await manager();
    await alice.setKey(rec('sip:alice@x'));
    await bob.setKey(rec('sip:bob@x'), { groupId: 'sip:g@x' });
    const tx = new FakeEndpoint();
    const rx = new FakeEndpoint();
    await alice.attachSender(asSender(tx), { kind: 'group', groupId: 'sip:g@x' });
    await bob.attachReceiver(asReceiver(rx));
    tx.push(frameOf(OPUS));
    await until(() => tx.out.length === 1, 'sent');
    expect(tx.bytes(0)[0]! >>> 2).toBe(0b111011); // marker + G bit: a group frame
    rx.push(frameOf(new Uint8Array(tx.out[0]!.data)));
    await until(() => rx.out.length === 1, 'decrypted');
    await alice.setKey({ kind: 'GMK', keyId: GMK_ID, status: 'revoked' } as unknown as ReceivedKey);
    expect(alice.keyRing.contexts()).toEqual([]);
  });

  it('a worker that breaks the protocol or fails is reported as worker-error; pending requests fail', async () => {
    const workers: InProcessWorker[] = [];
    const m = await manager(workers);
    const errors = record(m, 'worker-error');
    workers[0]!.fakeMessage({ kind: 'ack' });
    workers[0]!.fakeMessage({ kind: 'event', event: { type: 'encrypting', trackId: 'x', direction: 'up', mki: 'zz' } });
    expect(errors.map((e) => e.code)).toEqual(['ERR_MEDIA_WORKER', 'ERR_MEDIA_WORKER']);
    const pending = m.counters();
    workers[0]!.terminated = true; // the answer never comes…
    workers[0]!.fail('boom'); // …because the worker died
    const e = await pending.catch((x: unknown) => x);
    expect(isMediaError(e, 'ERR_MEDIA_WORKER')).toBe(true);
    expect(errors.at(-1)?.message).toContain('boom');
  });

  it('RTP flowing around a transform that never saw a frame is a bypass: the sender is stopped', async () => {
    class BypassedSender extends FakeEndpoint {
      replaced: unknown[] = [];
      packetsSent = 0;
      async getStats(): Promise<Map<string, unknown>> {
        return new Map([['o', { type: 'outbound-rtp', packetsSent: this.packetsSent }]]);
      }
      async replaceTrack(t: unknown): Promise<void> {
        this.replaced.push(t);
      }
    }
    const m = await manager();
    await m.addPrivateCallKey({ callId: 'call-1', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'initiator' });
    const bypassedEvents = record(m, 'transform-bypassed');
    const quiet = new BypassedSender();
    const leaking = new BypassedSender();
    const healthy = new BypassedSender();
    await m.attachSender(asSender(quiet), CALL); // no RTP yet (call setup): nothing to report
    await m.attachSender(asSender(leaking), CALL);
    await m.attachSender(asSender(healthy), CALL);
    healthy.packetsSent = 100;
    healthy.push(frameOf(OPUS)); // its frames do go through the worker
    leaking.packetsSent = 100; // RTP flows, but the worker never sees a frame
    await until(() => bypassedEvents.length === 1, 'bypass detected', 3000);
    await settle(600);
    expect(bypassedEvents).toEqual([{ type: 'transform-bypassed', trackId: 'tx-2', direction: 'send', packets: 100, stopped: true }]);
    expect(leaking.replaced).toEqual([null]);
    expect(quiet.replaced).toEqual([]);
    expect(healthy.replaced).toEqual([]);
  });

  it('dispose terminates the worker; the manager refuses further use', async () => {
    const workers: InProcessWorker[] = [];
    const m = await manager(workers);
    m.dispose();
    expect(workers[0]!.terminated).toBe(true);
    await expect(m.counters()).rejects.toSatisfy((e) => isMediaError(e, 'ERR_MEDIA_WORKER'));
    await expect(m.attachReceiver(asReceiver(new FakeEndpoint()))).rejects.toSatisfy((e) => isMediaError(e, 'ERR_MEDIA_WORKER'));
  });
});

describe('E2EE manager with many groups', () => {
  const gmkRecord = (i: number, groupId: string) => {
    const key = new Uint8Array(16).fill(i + 1);
    const keyId = Uint8Array.of(0x0b, 0, 0, i);
    return { kind: 'GMK', key, keyId, gukId: gukId({ gmk: key, gmkId: keyId, mcpttId: 'sip:d@x' }), rand: RAND, groupIds: [groupId], status: 'active', activationTime: undefined, expiryTime: undefined } as unknown as ReceivedKey;
  };
  const pushedContexts = (w: InProcessWorker, from: number): string[] =>
    w.received.slice(from).flatMap((m) => ((m as { kind: string }).kind === 'set-send-keys' ? [(m as { context: string }).context] : []));

  it("a new GMK updates its own group's send keys in the worker, not every group's; a key moved to another group leaves the first", async () => {
    const workers: InProcessWorker[] = [];
    const m = await manager(workers);
    const w = workers[0]!;
    for (let i = 0; i < 20; i++) await m.setKey(gmkRecord(i, `sip:g${i}@x`));
    let mark = w.received.length;
    await m.setKey(gmkRecord(20, 'sip:g20@x'));
    expect(pushedContexts(w, mark)).toEqual(['group:sip:g20@x']);
    // The same GMK handed for another group: both groups' send keys change.
    mark = w.received.length;
    await m.setKey(gmkRecord(5, 'sip:other@x'), { groupId: 'sip:other@x' });
    expect(pushedContexts(w, mark).sort()).toEqual(['group:sip:g5@x', 'group:sip:other@x']);
    const sent = w.received.slice(mark).filter((x) => (x as { kind: string }).kind === 'set-send-keys') as { context: string; keys: unknown[] }[];
    expect(sent.find((s) => s.context === 'group:sip:g5@x')!.keys).toEqual([]);
  });
});
