/**
 * The encrypted frame (docs/frame-format.md; TS 33.179 7.5 carried over to encoded frames):
 * the vectors of test/vectors/frame-v1*.json through the conformance checks, the same vectors
 * recomputed with node:crypto independently of the codec, and the edges of the layout.
 */
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decryptFrame,
  encodeFrameHeader,
  encryptFrame,
  FRAME_MAX_INDEX,
  frameIndexLength,
  frameIv,
  frameOverhead,
  openFrame,
  parseFrame,
  type FrameKey,
} from '../../src/codec/frame.js';
import { isMediaError, MediaError } from '../../src/codec/frame-errors.js';
import { McpttError } from '../../src/errors.js';
import { checkVectorDocument, VECTOR_CHECKS, type Json } from '../../src/conformance/checks.js';
import { FRAME_VECTOR_CHECKS } from '../../src/conformance/frame-checks.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';

interface ValidVector {
  readonly name: string;
  readonly srtp_session_key: string;
  readonly srtp_session_salt: string;
  readonly frame_mki: string;
  readonly frame_stream_id: string;
  readonly frame_index: number;
  readonly frame_plaintext: string;
  readonly frame_header: string;
  readonly frame_iv: string;
  readonly frame: string;
}

const read = (f: string): Json => JSON.parse(readFileSync(new URL(`../vectors/${f}`, import.meta.url), 'utf8')) as Json;
const valid = (read('frame-v1.json') as unknown as { vectors: ValidVector[] }).vectors;

async function keyOf(hex: string, salt: string, usage: KeyUsage = 'decrypt'): Promise<FrameKey> {
  return { key: await crypto.subtle.importKey('raw', hexToBytes(hex) as Uint8Array<ArrayBuffer>, 'AES-GCM', false, [usage]), salt: hexToBytes(salt) };
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof McpttError) return e.code;
    throw e;
  }
}

const SID = hexToBytes('0011223344556677');
const MKI8 = hexToBytes('0c3a5e71012305f4');
const MKI4 = hexToBytes('1e2d3c4b');

describe('frame vectors', () => {
  it.each(['frame-v1.json', 'frame-v1-refused.json'])('%s: every check passes', async (file) => {
    const results = await checkVectorDocument(read(file), [...VECTOR_CHECKS, ...FRAME_VECTOR_CHECKS]);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(file.includes('refused') ? 11 : 35);
  });

  it.each(valid.map((v) => [v.name, v] as const))('node:crypto opens %s without the codec', (_name, v) => {
    const frame = Buffer.from(v.frame, 'hex');
    const hlen = v.frame_header.length / 2;
    expect(frame.subarray(0, hlen).toString('hex')).toBe(v.frame_header);
    expect(frame[0]! >>> 3).toBe(0b11101);
    // IV by hand: salt XOR (stream ID ‖ index as 4 octets).
    const iv = Buffer.alloc(12);
    Buffer.from(v.frame_stream_id, 'hex').copy(iv);
    iv.writeUInt32BE(v.frame_index, 8);
    const salt = Buffer.from(v.srtp_session_salt, 'hex');
    for (let i = 0; i < 12; i++) iv[i]! ^= salt[i]!;
    expect(iv.toString('hex')).toBe(v.frame_iv);
    const d = createDecipheriv('aes-128-gcm', Buffer.from(v.srtp_session_key, 'hex'), iv);
    d.setAAD(frame.subarray(0, hlen));
    d.setAuthTag(frame.subarray(frame.length - 16));
    const pt = Buffer.concat([d.update(frame.subarray(hlen, frame.length - 16)), d.final()]);
    expect(pt.toString('hex')).toBe(v.frame_plaintext);
  });
});

describe('frame layout', () => {
  it('octet 0 is the marker 11101, the G bit and the index length', () => {
    expect(encodeFrameHeader({ mki: MKI8, streamId: SID, index: 0 })[0]).toBe(0b11101_1_00);
    expect(encodeFrameHeader({ mki: MKI4, streamId: SID, index: 256 })[0]).toBe(0b11101_0_01);
    expect(encodeFrameHeader({ mki: MKI4, streamId: SID, index: 0x10000 })[0]).toBe(0b11101_0_10);
    expect(encodeFrameHeader({ mki: MKI8, streamId: SID, index: FRAME_MAX_INDEX })[0]).toBe(0b11101_1_11);
  });

  it('the index takes its minimal length at every boundary and parses back', async () => {
    const key = await keyOf('00'.repeat(16), '00'.repeat(12), 'encrypt');
    for (const [index, len] of [[0, 1], [255, 1], [256, 2], [65535, 2], [65536, 3], [0xffffff, 3], [0x1000000, 4], [FRAME_MAX_INDEX, 4]] as const) {
      expect(frameIndexLength(index)).toBe(len);
      const out = await encryptFrame(key, { mki: MKI4, streamId: SID, index }, new Uint8Array(3));
      const p = parseFrame(out);
      expect(p.index).toBe(index);
      expect(p.header.length).toBe(1 + 4 + 8 + len);
      expect(out.length).toBe(3 + frameOverhead('private', index));
    }
  });

  it('overhead per 20 ms Opus frame: 34-37 octets for groups, 30-33 for private calls', () => {
    expect([0, 256, 65536, FRAME_MAX_INDEX].map((i) => frameOverhead('group', i))).toEqual([34, 35, 36, 37]);
    expect([0, 256, 65536, FRAME_MAX_INDEX].map((i) => frameOverhead('private', i))).toEqual([30, 31, 32, 33]);
    // 50 frames/s: a 2-octet index (the first 21.8 minutes after 5.1 s) costs 14.0 / 12.4 kbit/s.
    expect((frameOverhead('group', 300) * 8 * 50) / 1000).toBe(14);
    expect((frameOverhead('private', 300) * 8 * 50) / 1000).toBe(12.4);
  });

  it('many frames encrypted and decrypted concurrently each get their own IV', async () => {
    const enc = await keyOf(valid[0]!.srtp_session_key, valid[0]!.srtp_session_salt, 'encrypt');
    const dec = await keyOf(valid[0]!.srtp_session_key, valid[0]!.srtp_session_salt, 'decrypt');
    const indices = Array.from({ length: 64 }, (_, i) => i * 977);
    const frames = await Promise.all(indices.map((index) => encryptFrame(enc, { mki: MKI8, streamId: SID, index }, Uint8Array.of(index & 0xff))));
    const plain = await Promise.all(frames.map((f) => openFrame(dec, f)));
    expect(plain.map((p) => p.frame.index)).toEqual(indices);
    expect(plain.map((p) => p.plaintext[0])).toEqual(indices.map((i) => i & 0xff));
    // The frame agrees with a separately computed IV (not a shared, later overwritten one).
    for (const [i, f] of frames.entries()) {
      const iv = Buffer.from(frameIv(dec.salt, SID, indices[i]!));
      const p = parseFrame(f);
      const d = createDecipheriv('aes-128-gcm', Buffer.from(valid[0]!.srtp_session_key, 'hex'), iv);
      d.setAAD(p.header);
      d.setAuthTag(p.sealed.subarray(p.sealed.length - 16));
      expect([...Buffer.concat([d.update(p.sealed.subarray(0, p.sealed.length - 16)), d.final()])]).toEqual([indices[i]! & 0xff]);
    }
  });

  it('parse returns views into the frame (no copies)', async () => {
    const v = valid[0]!;
    const frame = hexToBytes(v.frame);
    const p = parseFrame(frame);
    expect(p.kind).toBe('group');
    expect(p.mki.buffer).toBe(frame.buffer);
    expect(bytesToHex(p.mki)).toBe(v.frame_mki);
    expect(bytesToHex(p.streamId)).toBe(v.frame_stream_id);
    expect(p.sealed.length).toBe(frame.length - p.header.length);
  });

  it('misuse on the encode side is a RangeError/TypeError, not a MediaError', async () => {
    const key = await keyOf('00'.repeat(16), '00'.repeat(12), 'encrypt');
    expect(() => encodeFrameHeader({ mki: new Uint8Array(6), streamId: SID, index: 0 })).toThrow(RangeError);
    expect(() => encodeFrameHeader({ mki: MKI4, streamId: new Uint8Array(7), index: 0 })).toThrow(RangeError);
    for (const index of [-1, 1.5, FRAME_MAX_INDEX + 1, Number.NaN]) expect(() => encodeFrameHeader({ mki: MKI4, streamId: SID, index })).toThrow(RangeError);
    expect(() => frameIv(new Uint8Array(14), SID, 0)).toThrow(RangeError);
    await expect(encryptFrame(key, { mki: MKI4, streamId: SID, index: 0 }, 'x' as unknown as Uint8Array)).rejects.toThrow(TypeError);
    expect(() => parseFrame([0xe8] as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('frame refusal', () => {
  const v = valid[0]!;

  it('no prefix of a frame decrypts: short ones are malformed, longer ones fail authentication', async () => {
    const key = await keyOf(v.srtp_session_key, v.srtp_session_salt);
    const frame = hexToBytes(v.frame);
    const hlen = v.frame_header.length / 2;
    for (let n = 0; n < frame.length; n++) {
      const prefix = frame.slice(0, n);
      if (n === 0) expect(codeOf(() => parseFrame(prefix))).toBe('ERR_MEDIA_UNENCRYPTED');
      else if (n < hlen + 16) expect(codeOf(() => parseFrame(prefix))).toBe('ERR_MEDIA_MALFORMED');
      else await expect(decryptFrame(key, parseFrame(prefix))).rejects.toSatisfy((e) => isMediaError(e, 'ERR_MEDIA_AUTH_FAILED'));
    }
  });

  it('every single-bit change anywhere in the frame is refused', async () => {
    const key = await keyOf(v.srtp_session_key, v.srtp_session_salt);
    const frame = hexToBytes(v.frame);
    for (let i = 0; i < frame.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const t = frame.slice();
        t[i]! ^= 1 << bit;
        let refused = false;
        try {
          await openFrame(key, t);
        } catch (e) {
          refused = e instanceof MediaError;
        }
        expect(refused, `octet ${i} bit ${bit}`).toBe(true);
      }
    }
  });

  it('a wrong key fails authentication; plaintext is never returned', async () => {
    const wrong = await keyOf('ff'.repeat(16), v.srtp_session_salt);
    await expect(openFrame(wrong, hexToBytes(v.frame))).rejects.toSatisfy((e) => isMediaError(e, 'ERR_MEDIA_AUTH_FAILED'));
    const wrongSalt = await keyOf(v.srtp_session_key, 'ff'.repeat(12));
    await expect(openFrame(wrongSalt, hexToBytes(v.frame))).rejects.toSatisfy((e) => isMediaError(e, 'ERR_MEDIA_AUTH_FAILED'));
  });

  it('a key without the decrypt usage is misuse, not a forged frame', async () => {
    const encryptOnly = await keyOf(v.srtp_session_key, v.srtp_session_salt, 'encrypt');
    const e = await openFrame(encryptOnly, hexToBytes(v.frame)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect(isMediaError(e)).toBe(false);
  });
});
