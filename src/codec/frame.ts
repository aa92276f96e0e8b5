/**
 * The end-to-end encrypted media frame: TS 33.179 7.5 (SRTP with AEAD_AES_128_GCM, RFC 7714,
 * the key found from an MKI in every packet, 7.3.6 / 7.4.4) carried over to the WebRTC encoded
 * frame, because browsers keep the real SRTP (DTLS-SRTP, hop by hop) to themselves. Also meets
 * A.6 (no key stream re-use) and A.7 (late entry: a frame alone names its key). The layout, the
 * IV uniqueness argument, the overhead and worked vectors are in docs/frame-format.md.
 *
 *   octet 0    1 .. m         m+1 .. m+8      m+9 .. h-1        h .. n-17       n-16 .. n-1
 *   +--------+--------------+---------------+-----------------+---------------+------------+
 *   |11101GLL| MKI (4 or 8) | stream ID (8) | index (L+1: 1-4)| ciphertext    | GCM tag 16 |
 *   +--------+--------------+---------------+-----------------+---------------+------------+
 *   |<------------ header h octets: in clear, the AAD ------->|<- encrypted ->|
 *
 *   11101  format marker, version 1. Shaped like an Opus TOC byte (RFC 6716 3.1) whose config
 *          is 29 (CELT fullband 5 ms), which WebRTC's 20 ms Opus never emits: a plaintext Opus
 *          frame is told apart from an encrypted one by its first octet.
 *   G      1: MKI = GMK-ID ‖ GUK-ID of the sender (group, 7.3.6); 0: MKI = PCK-ID (private, 7.4.4).
 *   LL     the frame index takes LL+1 octets, big-endian, minimal (so one index has one encoding).
 *   IV     session salt XOR (stream ID ‖ index as 4 octets) — 12 octets, RFC 7714 8.1 in spirit.
 *   key    the SRTP session key of the sender's stream (RFC 3711 KDF, kdr 0, TS 33.179 7.5.1).
 *
 * No codec octet stays in clear: an Opus packet needs none for packetization or depacketizing,
 * and its TOC byte would reveal mode and bandwidth. Functions here are pure — no I/O, nothing
 * carried from one call to the next (a scratch IV buffer is reused, see `scratchIv`): the caller
 * supplies keys, the stream ID and the index; sizes are bounded.
 */
import { bufferSource, subtle } from '../util/webcrypto.js';
import { MediaError } from './frame-errors.js';

/** The 5-bit marker of format version 1 in the top of octet 0. */
export const FRAME_MARKER = 0b11101;
export const FRAME_VERSION = 1;
/** AEAD_AES_128_GCM tag, RFC 7714 section 7 / TS 33.179 7.5.1. */
export const FRAME_TAG_LENGTH = 16;
export const FRAME_STREAM_ID_LENGTH = 8;
export const FRAME_MKI_LENGTH = Object.freeze({ group: 8, private: 4 } as const);
/** Largest frame index; a sender draws a new stream ID before passing it. */
export const FRAME_MAX_INDEX = 0xffffffff;
/** Largest codec frame accepted (far above any Opus packet): bounds the work per frame. */
export const FRAME_MAX_PAYLOAD = 1 << 20;
/** Largest encrypted frame accepted by the parser. */
export const FRAME_MAX_LENGTH = FRAME_MAX_PAYLOAD + 1 + 8 + FRAME_STREAM_ID_LENGTH + 4 + FRAME_TAG_LENGTH;

const IV_LENGTH = 12;
const MIN_INDEX_OCTETS = 1;

export type FrameKind = 'group' | 'private';

/** What a sender puts in clear in front of the ciphertext. */
export interface FrameHeader {
  /** GMK-ID ‖ GUK-ID (8 octets) for a group stream, PCK-ID (4 octets) for a private call. */
  readonly mki: Uint8Array;
  /** 8 random octets drawn when the sender's stream starts (never persisted, never reused). */
  readonly streamId: Uint8Array;
  /** Frame counter of the stream, 0 .. 2^32 − 1. */
  readonly index: number;
}

/** A frame split into its parts. Byte fields are views into the parsed buffer (no copy). */
export interface ParsedFrame extends FrameHeader {
  readonly kind: FrameKind;
  /** Octets 0 .. h−1: everything in clear, the AAD. */
  readonly header: Uint8Array;
  /** Ciphertext ‖ 16-octet tag. */
  readonly sealed: Uint8Array;
}

/** The session key of one sender stream: a non-extractable AES-GCM key and its 12-octet salt. */
export interface FrameKey {
  readonly key: CryptoKey;
  readonly salt: Uint8Array;
}

/** Octets the index takes in its minimal big-endian form. */
export function frameIndexLength(index: number): 1 | 2 | 3 | 4 {
  return index < 0x100 ? 1 : index < 0x10000 ? 2 : index < 0x1000000 ? 3 : 4;
}

/** Octets a frame adds to the codec frame it protects: header plus tag. */
export function frameOverhead(kind: FrameKind, index: number): number {
  checkIndex(index);
  return 1 + FRAME_MKI_LENGTH[kind] + FRAME_STREAM_ID_LENGTH + frameIndexLength(index) + FRAME_TAG_LENGTH;
}

function checkIndex(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > FRAME_MAX_INDEX) {
    throw new RangeError('frame index must be an integer 0..2^32-1');
  }
  return index;
}

function checkHeader(h: FrameHeader): FrameKind {
  if (!(h.mki instanceof Uint8Array) || (h.mki.length !== 8 && h.mki.length !== 4)) {
    throw new RangeError('MKI must be 8 bytes (GMK-ID ‖ GUK-ID) or 4 bytes (PCK-ID)');
  }
  if (!(h.streamId instanceof Uint8Array) || h.streamId.length !== FRAME_STREAM_ID_LENGTH) {
    throw new RangeError(`stream ID must be ${FRAME_STREAM_ID_LENGTH} bytes`);
  }
  checkIndex(h.index);
  return h.mki.length === 8 ? 'group' : 'private';
}

/** Writes the header into `out` from offset 0 and returns its length. */
function writeHeader(out: Uint8Array, h: FrameHeader, kind: FrameKind): number {
  const indexLength = frameIndexLength(h.index);
  out[0] = (FRAME_MARKER << 3) | (kind === 'group' ? 0b100 : 0) | (indexLength - 1);
  out.set(h.mki, 1);
  let o = 1 + h.mki.length;
  out.set(h.streamId, o);
  o += FRAME_STREAM_ID_LENGTH;
  for (let shift = (indexLength - 1) * 8; shift >= 0; shift -= 8) out[o++] = (h.index >>> shift) & 0xff;
  return o;
}

/** The clear header of a frame: what `encryptFrame` authenticates as AAD. */
export function encodeFrameHeader(h: FrameHeader): Uint8Array {
  const kind = checkHeader(h);
  const out = new Uint8Array(1 + h.mki.length + FRAME_STREAM_ID_LENGTH + frameIndexLength(h.index));
  writeHeader(out, h, kind);
  return out;
}

function writeIv(iv: Uint8Array, salt: Uint8Array, streamId: Uint8Array, index: number): Uint8Array<ArrayBuffer> {
  if (!(salt instanceof Uint8Array) || salt.length !== IV_LENGTH) throw new RangeError('session salt must be 12 bytes');
  if (!(streamId instanceof Uint8Array) || streamId.length !== FRAME_STREAM_ID_LENGTH) throw new RangeError('stream ID must be 8 bytes');
  checkIndex(index);
  for (let i = 0; i < FRAME_STREAM_ID_LENGTH; i++) iv[i] = salt[i]! ^ streamId[i]!;
  iv[8] = salt[8]! ^ (index >>> 24);
  iv[9] = salt[9]! ^ ((index >>> 16) & 0xff);
  iv[10] = salt[10]! ^ ((index >>> 8) & 0xff);
  iv[11] = salt[11]! ^ (index & 0xff);
  return iv as Uint8Array<ArrayBuffer>;
}

/**
 * The 12-octet AES-GCM IV: salt XOR (stream ID ‖ index). Distinct (stream ID, index) pairs give
 * distinct IVs under one key, since XOR with the fixed salt is a bijection.
 */
export function frameIv(salt: Uint8Array, streamId: Uint8Array, index: number): Uint8Array {
  return writeIv(new Uint8Array(IV_LENGTH), salt, streamId, index);
}

/**
 * One IV buffer reused by every call. Safe because Web Crypto copies the IV (and every other
 * BufferSource member of the algorithm) before encrypt/decrypt return their promise (WebCrypto
 * "normalize an algorithm"); it saves an ArrayBuffer allocation per frame, which in V8 costs
 * more than the XOR (a small typed array passed to a Web API must be moved off the heap).
 */
const scratchIv = new Uint8Array(new ArrayBuffer(IV_LENGTH));

/**
 * Splits an encrypted frame. Hostile input only ever raises a `MediaError`:
 * `ERR_MEDIA_UNENCRYPTED` when the first octet is not the format marker (plaintext media or a
 * foreign format), `ERR_MEDIA_MALFORMED` when the marker is there but the rest cannot be a frame.
 */
export function parseFrame(frame: Uint8Array): ParsedFrame {
  if (!(frame instanceof Uint8Array)) throw new TypeError('frame must be a Uint8Array');
  const b0 = frame[0];
  if (b0 === undefined || b0 >>> 3 !== FRAME_MARKER) {
    throw new MediaError('ERR_MEDIA_UNENCRYPTED', 'not an encrypted frame of format version 1 (marker mismatch)');
  }
  if (frame.length > FRAME_MAX_LENGTH) throw new MediaError('ERR_MEDIA_MALFORMED', `frame longer than ${FRAME_MAX_LENGTH} bytes`);
  const kind: FrameKind = (b0 & 0b100) !== 0 ? 'group' : 'private';
  const mkiLength = FRAME_MKI_LENGTH[kind];
  const indexLength = (b0 & 0b11) + 1;
  const headerLength = 1 + mkiLength + FRAME_STREAM_ID_LENGTH + indexLength;
  if (frame.length < headerLength + FRAME_TAG_LENGTH) {
    throw new MediaError('ERR_MEDIA_MALFORMED', `frame of ${frame.length} bytes is shorter than its header and tag`);
  }
  const indexAt = headerLength - indexLength;
  if (indexLength > MIN_INDEX_OCTETS && frame[indexAt] === 0) {
    // One index, one encoding: a padded index would let two headers share an IV.
    throw new MediaError('ERR_MEDIA_MALFORMED', 'frame index is not minimally encoded');
  }
  let index = 0;
  for (let i = indexAt; i < headerLength; i++) index = index * 256 + frame[i]!;
  return {
    kind,
    mki: frame.subarray(1, 1 + mkiLength),
    streamId: frame.subarray(1 + mkiLength, indexAt),
    index,
    header: frame.subarray(0, headerLength),
    sealed: frame.subarray(headerLength),
  };
}

/** Encrypts one codec frame: header ‖ AES-128-GCM(key, IV, AAD = header, plaintext) ‖ tag. */
export async function encryptFrame(key: FrameKey, header: FrameHeader, plaintext: Uint8Array): Promise<Uint8Array> {
  const kind = checkHeader(header);
  if (!(plaintext instanceof Uint8Array)) throw new TypeError('plaintext must be a Uint8Array');
  if (plaintext.length > FRAME_MAX_PAYLOAD) throw new RangeError(`codec frame longer than ${FRAME_MAX_PAYLOAD} bytes`);
  const headerLength = 1 + header.mki.length + FRAME_STREAM_ID_LENGTH + frameIndexLength(header.index);
  // One output buffer (frame.data must own its bytes): the header is written in place and
  // handed to Web Crypto as the AAD (copied when the call starts), the sealed part lands behind.
  const out = new Uint8Array(headerLength + plaintext.length + FRAME_TAG_LENGTH);
  writeHeader(out, header, kind);
  const sealed = await subtle().encrypt(
    {
      name: 'AES-GCM',
      iv: writeIv(scratchIv, key.salt, header.streamId, header.index),
      additionalData: out.subarray(0, headerLength),
      tagLength: FRAME_TAG_LENGTH * 8,
    },
    key.key,
    bufferSource(plaintext),
  );
  out.set(new Uint8Array(sealed), headerLength);
  return out;
}

/**
 * Decrypts a parsed frame; any failure of authentication (wrong key, altered octet in header,
 * ciphertext or tag) is `ERR_MEDIA_AUTH_FAILED`, and no plaintext is returned.
 */
export async function decryptFrame(key: FrameKey, frame: ParsedFrame): Promise<Uint8Array> {
  let plain: ArrayBuffer;
  try {
    plain = await subtle().decrypt(
      { name: 'AES-GCM', iv: writeIv(scratchIv, key.salt, frame.streamId, frame.index), additionalData: bufferSource(frame.header), tagLength: FRAME_TAG_LENGTH * 8 },
      key.key,
      bufferSource(frame.sealed),
    );
  } catch (cause) {
    // OperationError is Web Crypto's authentication failure; anything else is misuse (a key
    // without the decrypt usage, a non-AES-GCM key) and must not pass for a forged frame.
    if (cause instanceof Error && cause.name !== 'OperationError') throw cause;
    throw new MediaError('ERR_MEDIA_AUTH_FAILED', 'frame authentication failed', { cause });
  }
  return new Uint8Array(plain);
}

/** Parses and decrypts in one step (vectors, tests, one-off use). */
export async function openFrame(key: FrameKey, frame: Uint8Array): Promise<{ readonly frame: ParsedFrame; readonly plaintext: Uint8Array }> {
  const parsed = parseFrame(frame);
  return { frame: parsed, plaintext: await decryptFrame(key, parsed) };
}
