/**
 * GMK associated parameters, TS 33.179 v13 Annex E.6 (the layout of the seed specification).
 *
 * General Extension data (type VENDOR_ID per E.6.1, pending a 3GPP type):
 *
 *   IV (16)                                                    E.6.2, in clear
 *   ┌ Length (2) ‖ MCPTT group ID ‖ 0-3 random octets          E.6.3, element ≡ 0 mod 4
 *   │ Activation time (8, NTP-UTC like the T payload)          E.6.4
 *   │ Length (2) ‖ Text ‖ 0-3 random octets                    E.6.5, element ≡ 0 mod 4
 *   │ Length (2) ‖ Reserved                                    E.6.6, element ≡ 0 mod 4
 *   └ random padding                                           E.6.7
 *     └─ AES-128-CBC under the GMK with the IV (E.6.8, RFC 3602)
 *
 * Padding: E.6.7 asks for 0-15 random octets making "the General extension payload" a
 * multiple of 32 octets, which cannot hold (4-octet header + 16-octet IV is not a multiple
 * of 16) and is not what CBC needs. We pad the encrypted part to a multiple of the AES
 * block (16): with every element a multiple of 4 that is 0, 4, 8 or 12 octets, inside the
 * 0-15 allowed. On decode any 0-15 trailing octets are accepted.
 *
 * Reserved: E.6.6 wants Length + Reserved to be a multiple of 4, so an empty Reserved is
 * impossible; the encoder defaults to 2 zero octets and refuses other misaligned lengths,
 * the decoder ignores the content (as E.6.6 requires) and tolerates misalignment.
 *
 * Status: the change request speaks of a "Status field in the GMK parameters" but gives it
 * no place in this layout; v13 revokes with a zero-length GMK (7.3.2). The Status field is
 * carried by the TS 33.180 layout in `key-params.ts`, which is what deployed systems send.
 *
 * CBC has no integrity of its own: the ciphertext is covered by the I_MESSAGE signature, and
 * a wrong GMK is caught by the structure checks below and by the group ID comparison that
 * the processing layer must make (7.3.1: "decrypts and verifies the MCPTT group ID").
 */
import { MikeyError } from '../../errors.js';
import { bigIntToBytes, bytesToBigInt, concatBytes, utf8 } from '../../util/bytes.js';
import { GENERAL_EXTENSION_TYPE } from './constants.js';
import type { GeneralExtensionPayload } from './payloads.js';
import { MikeyReader } from './reader.js';
import { cbcDecryptRaw, cbcEncryptRaw, importAes128, randomBytes } from './webcrypto.js';
import { MikeyWriter } from './writer.js';

export interface GmkParameters {
  /** MCPTT group ID (E.6.3), e.g. `sip:group1@example.org`. */
  readonly groupId: string;
  /** Activation time (E.6.4) as the 64-bit NTP-UTC value (seconds ‖ fraction). */
  readonly activationTime: bigint;
  /** Optional user-readable text (E.6.5); '' when absent. */
  readonly text: string;
  /** Reserved sub-element (E.6.6), opaque. */
  readonly reserved: Uint8Array;
}

export interface GmkParametersEncodeOptions {
  /** Source of the random padding and IV (tests pass a deterministic one). */
  readonly random?: (n: number) => Uint8Array;
}

const BLOCK = 16;
const DEFAULT_RESERVED = new Uint8Array(2);

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function checkedRandom(random: (n: number) => Uint8Array, n: number): Uint8Array {
  const r = random(n);
  if (!(r instanceof Uint8Array) || r.length !== n) throw new TypeError(`random(${n}) must return ${n} octets`);
  return r;
}

/** The E.6 plaintext (MCPTT group ID … random padding), a multiple of 16 octets. */
export function encodeGmkParametersPlaintext(p: GmkParameters, options: GmkParametersEncodeOptions = {}): Uint8Array {
  const random = options.random ?? randomBytes;
  const group = utf8(p.groupId);
  const text = utf8(p.text);
  const reserved = p.reserved ?? DEFAULT_RESERVED;
  if ((2 + reserved.length) % 4 !== 0) {
    throw new RangeError('E.6.6: Length + Reserved must be a multiple of 4 octets (reserved length 2, 6, 10, …)');
  }
  if (typeof p.activationTime !== 'bigint') throw new TypeError('activationTime must be a bigint (64-bit NTP)');
  const w = new MikeyWriter(64 + group.length + text.length + reserved.length);
  w.lengthPrefixed(group, 16, 'MCPTT group ID');
  w.bytes(checkedRandom(random, pad4(2 + group.length)), 'group ID padding');
  w.bytes(bigIntToBytes(p.activationTime, 8), 'activation time');
  w.lengthPrefixed(text, 16, 'text');
  w.bytes(checkedRandom(random, pad4(2 + text.length)), 'text padding');
  w.lengthPrefixed(reserved, 16, 'reserved');
  w.bytes(checkedRandom(random, (BLOCK - (w.length % BLOCK)) % BLOCK), 'random padding');
  return w.finish();
}

const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });

function bad(msg: string, cause?: unknown): MikeyError {
  return new MikeyError('ERR_MIKEY_BAD_GMK_PARAMETERS', `GMK parameters (E.6): ${msg}`, cause === undefined ? undefined : { cause });
}

/**
 * Parses a decrypted E.6 plaintext. Any structural problem (which is also what a wrong GMK
 * produces) is `ERR_MIKEY_BAD_GMK_PARAMETERS`: E.6/7.3.1 say the GMK is then rejected.
 */
export function decodeGmkParametersPlaintext(pt: Uint8Array): GmkParameters {
  try {
    const r = new MikeyReader(pt);
    const gLen = r.u16('group ID length');
    const group = r.bytes(gLen, 'group ID');
    r.bytes(pad4(2 + gLen), 'group ID padding');
    const activationTime = bytesToBigInt(r.bytes(8, 'activation time'));
    const tLen = r.u16('text length');
    const text = r.bytes(tLen, 'text');
    r.bytes(pad4(2 + tLen), 'text padding');
    const reserved = new Uint8Array(r.bytes(r.u16('reserved length'), 'reserved'));
    if (r.remaining >= BLOCK) throw bad(`${r.remaining} octets of padding, at most 15 allowed`);
    return {
      groupId: UTF8_STRICT.decode(group),
      activationTime,
      text: UTF8_STRICT.decode(text),
      reserved,
    };
  } catch (e) {
    if (e instanceof MikeyError && e.code === 'ERR_MIKEY_BAD_GMK_PARAMETERS') throw e;
    throw bad(e instanceof MikeyError ? e.message : 'group ID or text is not valid UTF-8', e);
  }
}

/** Encrypts `p` under the GMK: returns the General Extension data IV ‖ ciphertext. */
export async function encryptGmkParameters(
  p: GmkParameters,
  gmk: Uint8Array | CryptoKey,
  options: GmkParametersEncodeOptions & { readonly iv?: Uint8Array } = {},
): Promise<Uint8Array> {
  const key = await importAes128(gmk, 'AES-CBC', 'GMK');
  const iv = options.iv ?? checkedRandom(options.random ?? randomBytes, BLOCK);
  if (iv.length !== BLOCK) throw new RangeError('E.6.2: the IV must be 16 octets');
  const ct = await cbcEncryptRaw(key, iv, encodeGmkParametersPlaintext(p, options));
  return concatBytes(iv, ct);
}

/** Decrypts General Extension data (IV ‖ ciphertext) under the GMK and parses it. */
export async function decryptGmkParameters(data: Uint8Array, gmk: Uint8Array | CryptoKey): Promise<GmkParameters> {
  if (!(data instanceof Uint8Array)) throw new TypeError('GMK parameters must be a Uint8Array');
  // IV plus at least one block, whole blocks only (E.6.8 leaves no room for a partial one).
  if (data.length < 2 * BLOCK || data.length % BLOCK !== 0) {
    throw bad(`${data.length} octets is not IV (16) plus whole 16-octet blocks`);
  }
  const key = await importAes128(gmk, 'AES-CBC', 'GMK');
  let pt: Uint8Array;
  try {
    pt = await cbcDecryptRaw(key, data.subarray(0, BLOCK), data.subarray(BLOCK));
  } catch (e) {
    throw bad('AES-CBC decryption failed', e);
  }
  return decodeGmkParametersPlaintext(pt);
}

/** Wraps encrypted parameters in a General Extension (E.6.1: the Vendor ID type in v13). */
export function gmkParametersExtension(
  data: Uint8Array,
  type: number = GENERAL_EXTENSION_TYPE.VENDOR_ID,
): GeneralExtensionPayload {
  return { kind: 'GENERAL_EXTENSION', type, data };
}
