/**
 * Conformance checks of the encrypted media frame (docs/frame-format.md; TS 33.179 7.3.6,
 * 7.4.4 and 7.5 carried over to encoded frames), for `mcptt-sdk vectors`. Vector files:
 * test/vectors/frame-v1.json (frames and every intermediate value) and
 * test/vectors/frame-v1-refused.json (frames a receiver must refuse, with the error code).
 *
 * Group vectors also carry `gmk`, `guk_id`, `cs_id`, `rand`, `srtp_master_key` and
 * `srtp_master_salt_12` (and `mc_service_id`), so the MIKEY PRF and GUK-ID checks of
 * ./checks.ts run on them as well.
 */
import { srtpMasterKeys, srtpSessionKeys } from '../crypto/index.js';
import { decryptFrame, encodeFrameHeader, encryptFrame, frameIv, frameOverhead, parseFrame, type FrameKey } from '../codec/frame.js';
import { isMediaError } from '../codec/frame-errors.js';
import { bytesToHex, equalBytes, hexToBytes } from '../util/bytes.js';
import { subtle } from '../util/webcrypto.js';
import type { Json, JsonObject, VectorCheck } from './checks.js';

const hx = (v: Json | undefined): Uint8Array => {
  if (typeof v !== 'string') throw new TypeError('expected a hex string');
  return hexToBytes(v.replace(/\s+/g, ''));
};
const num = (v: Json | undefined): number => {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError('expected a number');
  return n;
};

async function frameKey(o: JsonObject, usage: 'encrypt' | 'decrypt'): Promise<FrameKey> {
  const key = await subtle().importKey('raw', hx(o.srtp_session_key) as Uint8Array<ArrayBuffer>, 'AES-GCM', false, [usage]);
  return { key, salt: hx(o.srtp_session_salt) };
}

const header = (o: JsonObject) => ({ mki: hx(o.frame_mki), streamId: hx(o.frame_stream_id), index: num(o.frame_index) });

const flip = (b: Uint8Array, at: number): Uint8Array => {
  const t = b.slice();
  t[at]! ^= 0x01;
  return t;
};

async function refusedWith(f: () => Promise<unknown>, code: string): Promise<boolean> {
  try {
    await f();
    return false;
  } catch (e) {
    return isMediaError(e) && (e.code as string) === code;
  }
}

export const FRAME_VECTOR_CHECKS: readonly VectorCheck[] = [
  {
    name: 'frame: SRTP master key and salt from the PCK (7.4.4, CSB-ID = PCK-ID)',
    needs: ['pck', 'pck_id', 'cs_id', 'rand', 'srtp_master_key', 'srtp_master_salt_12'],
    run: (o) => {
      const m = srtpMasterKeys({ tgk: hx(o.pck), csId: num(o.cs_id), csbId: hx(o.pck_id), rand: hx(o.rand) });
      return equalBytes(m.masterKey, hx(o.srtp_master_key)) && equalBytes(m.masterSalt, hx(o.srtp_master_salt_12));
    },
  },
  {
    name: 'frame: SRTP session key and salt (RFC 3711 4.3, kdr 0, 12-octet salt)',
    needs: ['srtp_master_key', 'srtp_master_salt_12', 'srtp_session_key', 'srtp_session_salt'],
    run: async (o) => {
      const s = await srtpSessionKeys({ masterKey: hx(o.srtp_master_key), masterSalt: hx(o.srtp_master_salt_12) });
      return equalBytes(s.srtp.key, hx(o.srtp_session_key)) && equalBytes(s.srtp.salt, hx(o.srtp_session_salt));
    },
  },
  {
    name: 'frame: MKI is GMK-ID ‖ GUK-ID (7.3.6) or the PCK-ID (7.4.4)',
    needs: ['frame_mki', 'kind'],
    run: (o) =>
      o.kind === 'group'
        ? bytesToHex(hx(o.frame_mki)) === bytesToHex(hx(o.gmk_id)) + bytesToHex(hx(o.guk_id))
        : o.kind === 'private' && equalBytes(hx(o.frame_mki), hx(o.pck_id)),
  },
  {
    name: 'frame: clear header (AAD) encoding',
    needs: ['frame_mki', 'frame_stream_id', 'frame_index', 'frame_header'],
    run: (o) => equalBytes(encodeFrameHeader(header(o)), hx(o.frame_header)),
  },
  {
    name: 'frame: IV = session salt XOR (stream ID ‖ index)',
    needs: ['srtp_session_salt', 'frame_stream_id', 'frame_index', 'frame_iv'],
    run: (o) => equalBytes(frameIv(hx(o.srtp_session_salt), hx(o.frame_stream_id), num(o.frame_index)), hx(o.frame_iv)),
  },
  {
    name: 'frame: encryption reproduces the frame, overhead as stated',
    needs: ['srtp_session_key', 'srtp_session_salt', 'frame_mki', 'frame_stream_id', 'frame_index', 'frame_plaintext', 'frame'],
    run: async (o) => {
      const out = await encryptFrame(await frameKey(o, 'encrypt'), header(o), hx(o.frame_plaintext));
      const overhead = frameOverhead(hx(o.frame_mki).length === 8 ? 'group' : 'private', num(o.frame_index));
      return equalBytes(out, hx(o.frame)) && (o.frame_overhead === undefined || num(o.frame_overhead) === overhead);
    },
  },
  {
    name: 'frame: parses and decrypts; a flipped tag or header bit is refused',
    needs: ['srtp_session_key', 'srtp_session_salt', 'frame', 'frame_plaintext'],
    run: async (o) => {
      const key = await frameKey(o, 'decrypt');
      const frame = hx(o.frame);
      const parsed = parseFrame(frame);
      if (o.frame_index !== undefined && parsed.index !== num(o.frame_index)) return false;
      if (!equalBytes(await decryptFrame(key, parsed), hx(o.frame_plaintext))) return false;
      const tagFlipped = refusedWith(() => decryptFrame(key, parseFrame(flip(frame, frame.length - 1))), 'ERR_MEDIA_AUTH_FAILED');
      const headerFlipped = refusedWith(() => decryptFrame(key, parseFrame(flip(frame, 1 + parsed.mki.length))), 'ERR_MEDIA_AUTH_FAILED');
      return (await tagFlipped) && (await headerFlipped);
    },
  },
  {
    name: 'frame: refused with the stated error',
    needs: ['frame', 'frame_error'],
    run: async (o) => {
      const code = typeof o.frame_error === 'string' ? o.frame_error : '';
      const frame = hx(o.frame);
      if (o.srtp_session_key === undefined) return refusedWith(async () => parseFrame(frame), code);
      const key = await frameKey(o, 'decrypt');
      return refusedWith(() => decryptFrame(key, parseFrame(frame)), code);
    },
  },
];
