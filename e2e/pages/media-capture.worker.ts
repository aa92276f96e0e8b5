/**
 * Test-only observer for e2e/media-e2ee.spec.ts: sits on a receiver of the call without the
 * SDK's worker, so it sees the encoded frames exactly as they arrived (before any decryption).
 * Records what each frame's clear header says, and decrypts the first frames with a key the page
 * hands over, to show that the wire carries the ciphertext of real Opus frames. Passes nothing on.
 */
import { decryptFrame, parseFrame } from '../../src/codec/frame.js';
import type { EncodedFrameLike, TransformWorkerScope } from '../../src/media/encoded-frames.js';
import { bytesToHex } from '../../src/util/bytes.js';

interface Seen {
  readonly mki: string;
  readonly streamId: string;
  readonly index: number;
  readonly length: number;
}

const seen: Seen[] = [];
const opened: { plaintextHead: string; sealedHead: string; plaintextLength: number }[] = [];
let unparsed = 0;
let empty = 0;
const unparsedFrames: { head: string; length: number }[] = [];
let key: { key: CryptoKey; salt: Uint8Array } | undefined;

async function observe(frame: EncodedFrameLike): Promise<void> {
  const bytes = new Uint8Array(frame.data);
  if (bytes.length === 0) {
    empty++; // RTP padding (bandwidth probes) reaches transforms as empty frames: no media in it
    return;
  }
  let p;
  try {
    p = parseFrame(bytes);
  } catch {
    unparsed++;
    if (unparsedFrames.length < 10) unparsedFrames.push({ head: bytesToHex(bytes.subarray(0, 12)), length: bytes.length });
    return;
  }
  seen.push({ mki: bytesToHex(p.mki), streamId: bytesToHex(p.streamId), index: p.index, length: bytes.length });
  if (key !== undefined && opened.length < 20) {
    try {
      const plain = await decryptFrame(key, p);
      opened.push({ plaintextHead: bytesToHex(plain.subarray(0, 8)), sealedHead: bytesToHex(p.sealed.subarray(0, 8)), plaintextLength: plain.length });
    } catch {
      opened.push({ plaintextHead: '', sealedHead: bytesToHex(p.sealed.subarray(0, 8)), plaintextLength: -1 });
    }
  }
}

function run(readable: ReadableStream<EncodedFrameLike>, writable: WritableStream<EncodedFrameLike>): void {
  void readable.pipeThrough(new TransformStream<EncodedFrameLike, EncodedFrameLike>({ transform: (f) => observe(f) })).pipeTo(writable);
}

(globalThis as unknown as TransformWorkerScope).onrtctransform = (e) => run(e.transformer.readable, e.transformer.writable);

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { kind: string; readable?: ReadableStream<EncodedFrameLike>; writable?: WritableStream<EncodedFrameLike>; key?: CryptoKey; salt?: Uint8Array };
  if (m.kind === 'streams') run(m.readable!, m.writable!);
  if (m.kind === 'key') key = { key: m.key!, salt: m.salt! };
  if (m.kind === 'report') postMessage({ seen, opened, unparsed, unparsedFrames, empty });
};
