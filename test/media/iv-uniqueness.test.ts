/**
 * TS 33.179 A.6 (no key stream re-use) for the encrypted frame (docs/frame-format.md, "IV
 * uniqueness"): one user's group key is the same on all of their devices and across reloads, so
 * uniqueness must come from the frame itself. Property: whatever the mix of devices, page
 * reloads, worker restarts, senders and SFU rewriting of SSRC/sequence numbers, no (key, IV)
 * pair produced by the real worker code repeats. A control run with a broken random source
 * shows that the test would see a repeat.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameIv, parseFrame } from '../../src/codec/frame.js';
import { gukId } from '../../src/crypto/index.js';
import { createMediaKeyRing } from '../../src/media/key-ring.js';
import { DEFAULT_WORKER_CONFIG } from '../../src/media/protocol.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { createE2eeWorkerCore } from '../../workers/e2ee/worker-core.js';
import { fakeHost, frameOf, FramePipe, until } from './helpers.js';

const GMK = hexToBytes('5b6e3f0c8a1d4e7f92a3b4c5d6e7f801');
const GMK_ID = hexToBytes('0c3a5e71');
const RAND = hexToBytes('a1b2c3d4e5f60718293a4b5c6d7e8f90');
const ALICE = 'sip:alice@mcptt.example';

/** One worker lifetime: a device's page (re)loaded, or a worker restarted, sending on some tracks. */
interface Session {
  readonly senders: number;
  readonly frames: number;
  readonly ssrc: number;
}

async function runSessions(sessions: readonly Session[], randomBytes?: (n: number) => Uint8Array): Promise<{ ivs: string[]; salt: string }> {
  // Every device of alice derives the same send key: same GMK, same GUK-ID, same RAND.
  const ring = createMediaKeyRing();
  ring.addGroupKey({ groupId: 'g', gmk: GMK, gmkId: GMK_ID, gukId: gukId({ gmk: GMK, gmkId: GMK_ID, mcpttId: ALICE }), rand: RAND });
  const [key] = await ring.sendKeys({ kind: 'group', groupId: 'g' });
  const ivs: string[] = [];
  for (const s of sessions) {
    const host = fakeHost();
    const core = createE2eeWorkerCore(randomBytes === undefined ? host : { ...host, randomBytes });
    core.onMessage({ kind: 'init', id: 1, protocol: 1, config: DEFAULT_WORKER_CONFIG });
    core.onMessage({ kind: 'set-send-keys', id: 2, context: 'group:g', keys: [{ mki: key!.mki, key: key!.key, salt: key!.salt, activeFrom: 0, activeUntil: null }] });
    const pipes = Array.from({ length: s.senders }, (_, i) => {
      const pipe = new FramePipe();
      core.onMessage({ kind: 'attach', id: 3 + i, trackId: `tx-${i}`, direction: 'send', context: 'group:g', readable: pipe.readable, writable: pipe.writable });
      return pipe;
    });
    for (let f = 0; f < s.frames; f++) {
      // What an SFU does to RTP (new SSRC, rewritten sequence numbers) never reaches the IV.
      for (const p of pipes) p.push(frameOf([0x78, f & 0xff], { ssrc: s.ssrc, sequenceNumber: (f * 7919) & 0xffff }));
    }
    await until(() => pipes.every((p) => p.out.length === s.frames), 'all frames');
    for (const p of pipes) {
      for (let i = 0; i < p.out.length; i++) {
        const parsed = parseFrame(p.bytes(i));
        ivs.push(bytesToHex(frameIv(key!.salt, parsed.streamId, parsed.index)));
      }
    }
    core.dispose(); // the reload / restart: nothing survives but the key
  }
  return { ivs, salt: bytesToHex(key!.salt) };
}

const session = fc.record({ senders: fc.integer({ min: 1, max: 3 }), frames: fc.integer({ min: 1, max: 40 }), ssrc: fc.integer({ min: 0, max: 0xffffffff }) });

describe('IV uniqueness under one key', () => {
  it('two devices, reloads, worker restarts, several senders, SSRC rewriting: no IV repeats', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(session, { minLength: 2, maxLength: 8 }), async (sessions) => {
        const { ivs } = await runSessions(sessions);
        expect(new Set(ivs).size).toBe(ivs.length);
      }),
      { numRuns: 15 },
    );
  });

  it('control: with a random source that repeats, the same scenario does repeat IVs', async () => {
    const broken = (n: number): Uint8Array => new Uint8Array(n); // every stream ID would be 0…0
    const { ivs } = await runSessions([{ senders: 1, frames: 5, ssrc: 1 }, { senders: 1, frames: 5, ssrc: 2 }], broken);
    expect(new Set(ivs).size).toBeLessThan(ivs.length);
  });
});
