/**
 * Fuzzing the frame parser (docs/frame-format.md): whatever the bytes, parseFrame returns a
 * frame whose parts add up, or throws a MediaError — never another exception, never reads out
 * of bounds. Round trip and tamper properties over random headers and payloads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decryptFrame, encryptFrame, FRAME_MARKER, FRAME_MAX_INDEX, parseFrame, type FrameKey } from '../../src/codec/frame.js';
import { isMediaError, MediaError } from '../../src/codec/frame-errors.js';

async function key(): Promise<{ enc: FrameKey; dec: FrameKey }> {
  const raw = crypto.getRandomValues(new Uint8Array(16));
  const salt = crypto.getRandomValues(new Uint8Array(12));
  const imp = (u: KeyUsage) => crypto.subtle.importKey('raw', raw, 'AES-GCM', false, [u]);
  return { enc: { key: await imp('encrypt'), salt }, dec: { key: await imp('decrypt'), salt } };
}

function parsesOrMediaError(bytes: Uint8Array): void {
  try {
    const p = parseFrame(bytes);
    expect(p.header.length + p.sealed.length).toBe(bytes.length);
    expect(p.sealed.length).toBeGreaterThanOrEqual(16);
    expect(p.mki.length).toBe(p.kind === 'group' ? 8 : 4);
    expect(p.streamId.length).toBe(8);
    expect(p.index).toBeLessThanOrEqual(FRAME_MAX_INDEX);
  } catch (e) {
    if (!(e instanceof MediaError)) throw e;
  }
}

const header = fc.record({
  mki: fc.oneof(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 4, maxLength: 4 })),
  streamId: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  index: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: FRAME_MAX_INDEX })),
});

describe('frame parser fuzz', () => {
  it('arbitrary bytes: a consistent frame or a MediaError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => parsesOrMediaError(b)), { numRuns: 5000 });
  });

  it('bytes behind a valid marker (the parser gets past the first octet)', () => {
    const marked = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 80 })).map(([low, rest]) => Uint8Array.of((FRAME_MARKER << 3) | low, ...rest));
    fc.assert(fc.property(marked, (b) => parsesOrMediaError(b)), { numRuns: 5000 });
  });

  it('round trip: what is encrypted decrypts to the same bytes, header fields intact', async () => {
    const k = await key();
    await fc.assert(
      fc.asyncProperty(header, fc.uint8Array({ maxLength: 400 }), async (h, pt) => {
        const frame = await encryptFrame(k.enc, h, pt);
        const p = parseFrame(frame);
        expect(p.index).toBe(h.index);
        expect([...p.mki]).toEqual([...h.mki]);
        expect([...p.streamId]).toEqual([...h.streamId]);
        expect([...(await decryptFrame(k.dec, p))]).toEqual([...pt]);
      }),
      { numRuns: 300 },
    );
  });

  it('a valid frame with any octet changed, cut or extended is refused', async () => {
    const k = await key();
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), xor: fc.constant(0) }),
      fc.record({ kind: fc.constant('extend' as const), at: fc.nat({ max: 20 }), xor: fc.integer({ min: 0, max: 255 }) }),
    );
    await fc.assert(
      fc.asyncProperty(header, fc.uint8Array({ maxLength: 200 }), mutation, async (h, pt, m) => {
        const frame = await encryptFrame(k.enc, h, pt);
        let bad: Uint8Array;
        if (m.kind === 'flip') {
          bad = frame.slice();
          bad[m.at % frame.length]! ^= m.xor;
        } else if (m.kind === 'cut') {
          bad = frame.slice(0, m.at % frame.length);
        } else {
          bad = Uint8Array.of(...frame, ...new Uint8Array(m.at + 1).fill(m.xor));
        }
        const e = await (async () => decryptFrame(k.dec, parseFrame(bad)))().then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(isMediaError(e)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
