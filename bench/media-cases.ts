/**
 * Benchmark cases of the encrypted media frame (TS 33.179 7.5 carried over to encoded frames,
 * docs/frame-format.md), to be listed in `allCases()` of ./cases.ts.
 *
 * Frames are Opus-sized (80 and 160 octets: 32 and 64 kbit/s at 20 ms). A worker serves many
 * streams at once, so the per-frame cases keep `DEPTH` frames in flight over `STREAMS` streams,
 * each with its own key (a group receiver has one key per talker): every call starts one frame
 * and waits for the oldest, so the time per call is the time per frame of a busy worker and
 * 1e6 / median is frames per second per worker. `.serial` cases wait for each frame (latency).
 * `baseline.*` is the common design of other browser E2EE SDKs — AES-GCM per frame with a
 * 12-octet random IV in a trailer — measured the same way for the ratio. Web Crypto does the AES
 * in every case (no JS AES: table-based AES leaks timing).
 */
import { decryptFrame, encryptFrame, parseFrame, type FrameKey } from '../src/codec/frame.js';
import { deriveStreamKey } from '../src/media/session-keys.js';
import { hexToBytes } from '../src/util/bytes.js';
import type { BenchCase } from './measure.js';

const STREAMS = 8;
const DEPTH = 32;
const INNER = 500;
const TAG_BITS = 128;

// Fixed, non-secret benchmark material.
const PCK = hexToBytes('c0ffee112233445566778899aabbccdd');
const PCK_ID = hexToBytes('1e2d3c4b');
const RAND = hexToBytes('00112233445566778899aabbccddeeff');

function opusFrame(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  b[0] = 0x78;
  for (let i = 1; i < n; i++) b[i] = (seed * 31 + i * 151) & 0xff;
  return b;
}

interface Stream {
  readonly enc: FrameKey;
  readonly dec: FrameKey;
  readonly mki: Uint8Array;
  readonly streamId: Uint8Array;
  index: number;
}

async function streams(): Promise<Stream[]> {
  const out: Stream[] = [];
  for (let i = 0; i < STREAMS; i++) {
    // Different CS-IDs give different keys, as different talkers would have.
    const input = { tgk: PCK, csId: i, csbId: PCK_ID, rand: RAND };
    const [enc, dec] = await Promise.all([deriveStreamKey({ ...input, usage: 'encrypt' }), deriveStreamKey({ ...input, usage: 'decrypt' })]);
    out.push({ enc, dec, mki: PCK_ID, streamId: crypto.getRandomValues(new Uint8Array(8)), index: 0 });
  }
  return out;
}

/** Keeps `depth` operations in flight: each call starts one and waits for the oldest. */
function pipelined(start: () => Promise<unknown>, depth: number): () => Promise<void> | undefined {
  const inFlight: Promise<unknown>[] = [];
  let head = 0;
  return () => {
    inFlight.push(start());
    if (inFlight.length - head < depth) return undefined;
    const oldest = inFlight[head]!;
    inFlight[head++] = Promise.resolve();
    if (head > 4096) {
      inFlight.splice(0, head);
      head = 0;
    }
    return oldest.then(() => undefined);
  };
}

function encryptCase(size: number, serial: boolean, depth: number): BenchCase {
  return {
    name: `frame.encrypt.${size}${serial ? '.serial' : ''}`,
    inner: serial ? 100 : INNER,
    warmup: serial ? 200 : 1000,
    setup: async () => {
      const ss = await streams();
      const pt = opusFrame(size, 1);
      let n = 0;
      const one = (): Promise<Uint8Array> => {
        const s = ss[n++ % STREAMS]!;
        return encryptFrame(s.enc, { mki: s.mki, streamId: s.streamId, index: s.index++ }, pt);
      };
      return serial ? one : pipelined(one, depth);
    },
  };
}

function decryptCase(size: number, serial: boolean, depth: number): BenchCase {
  return {
    name: `frame.decrypt.${size}${serial ? '.serial' : ''}`,
    inner: serial ? 100 : INNER,
    warmup: serial ? 200 : 1000,
    setup: async () => {
      const ss = await streams();
      // Real frames of every stream, parsed on each call as the worker does.
      const frames = await Promise.all(ss.map((s) => encryptFrame(s.enc, { mki: s.mki, streamId: s.streamId, index: 1000 }, opusFrame(size, 2))));
      let n = 0;
      const one = async (): Promise<Uint8Array> => {
        const i = n++ % STREAMS;
        return decryptFrame(ss[i]!.dec, parseFrame(frames[i]!));
      };
      return serial ? one : pipelined(one, depth);
    },
  };
}

/** The common design: ciphertext ‖ tag ‖ IV (12, random) ‖ IV length (1) ‖ key index (1). */
async function baselineKeys(): Promise<{ enc: CryptoKey; dec: CryptoKey }[]> {
  const out: { enc: CryptoKey; dec: CryptoKey }[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const raw = crypto.getRandomValues(new Uint8Array(16));
    out.push({
      enc: await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']),
      dec: await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['decrypt']),
    });
  }
  return out;
}

async function baselineEncrypt(key: CryptoKey, pt: Uint8Array): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, tagLength: TAG_BITS }, key, pt as Uint8Array<ArrayBuffer>));
  const out = new Uint8Array(sealed.length + 14);
  out.set(sealed);
  out.set(iv, sealed.length);
  out[out.length - 2] = 12;
  out[out.length - 1] = 0;
  return out;
}

async function baselineDecrypt(key: CryptoKey, frame: Uint8Array): Promise<Uint8Array> {
  const ivLength = frame[frame.length - 2]!;
  const ivAt = frame.length - 2 - ivLength;
  const iv = frame.subarray(ivAt, ivAt + ivLength) as Uint8Array<ArrayBuffer>;
  return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, tagLength: TAG_BITS }, key, frame.subarray(0, ivAt) as Uint8Array<ArrayBuffer>));
}

function baselineCase(op: 'encrypt' | 'decrypt', size: number, depth: number): BenchCase {
  return {
    name: `frame.baseline.${op}.${size}`,
    inner: INNER,
    warmup: 1000,
    setup: async () => {
      const keys = await baselineKeys();
      const pt = opusFrame(size, 3);
      const frames = await Promise.all(keys.map((k) => baselineEncrypt(k.enc, pt)));
      let n = 0;
      return pipelined(() => {
        const i = n++ % STREAMS;
        return op === 'encrypt' ? baselineEncrypt(keys[i]!.enc, pt) : baselineDecrypt(keys[i]!.dec, frames[i]!);
      }, depth);
    },
  };
}

/** `depth`: frames in flight in the pipelined cases (default 32; exploration only). */
export function mediaCases(options: { readonly depth?: number } = {}): BenchCase[] {
  const depth = options.depth ?? DEPTH;
  // Each case next to its baseline: on a shared machine the load drifts within a run, and
  // neighbours in time are what can be compared.
  return [
    encryptCase(80, false, depth),
    baselineCase('encrypt', 80, depth),
    encryptCase(160, false, depth),
    baselineCase('encrypt', 160, depth),
    decryptCase(80, false, depth),
    baselineCase('decrypt', 80, depth),
    decryptCase(160, false, depth),
    baselineCase('decrypt', 160, depth),
    encryptCase(80, true, depth),
    decryptCase(80, true, depth),
    {
      // Late entry (TS 33.179 A.7): what the first frame of an unknown sender waits for.
      name: 'frame.derive_stream_key',
      samples: 20,
      setup: () => {
        let cs = 0;
        return () => deriveStreamKey({ tgk: PCK, csId: cs++ & 0xff, csbId: PCK_ID, rand: RAND, usage: 'decrypt' });
      },
    },
    {
      name: 'frame.parse',
      inner: 10_000,
      setup: async () => {
        const [s] = await streams();
        const frame = await encryptFrame(s!.enc, { mki: s!.mki, streamId: s!.streamId, index: 300 }, opusFrame(80, 4));
        return () => parseFrame(frame);
      },
    },
  ];
}
