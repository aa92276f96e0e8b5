/**
 * Key parameters as deployed implementations send them: the TS 33.180 successor of TS 33.179
 * E.6, in General Extension type 7 (GENERAL_EXTENSION_TYPE.KEY_PARAMETERS). Both interop
 * implementations (Streamwide, Alea) use it for GMK, PCK and CSK messages. The layout below
 * is taken from their published messages, which this module decrypts and re-encodes exactly.
 *
 * Extension data = a protected payload (TS 33.180 §8.5.4 / TS 24.282 §15.2 format):
 *
 *   off len
 *    0   1  message type        (0x43 Streamwide, 0x40 Alea; 0x40 = "encrypted" bit)
 *    1   5  date/time           (Alea: Unix seconds of the T payload; Streamwide: 1)
 *    6   4  payload ID          (0)
 *   10   1  payload sequence    (0)
 *   11   1  payload algorithm   (1 = AEAD_AES_128_GCM)
 *   12  16  IV                  (the whole 16 octets are the GCM nonce)
 *   28   4  DPPK-ID             (= the CSB ID: GUK-ID, PCK-ID or CSK-ID)
 *   32   1  content type        (0)
 *   33   2  content length
 *   35   n  ciphertext ‖ 16-octet GCM tag
 *
 * AEAD associated data = octets 0..31 (header ‖ IV ‖ DPPK-ID). The key is the DPCK =
 * the 128 least significant bits of KDF(key, FC = 0x53, P0 = DPPK-ID) (TS 33.220 Annex B
 * with the TS 33.180 FC value), where "key" is the GMK/PCK/CSK just decapsulated from the
 * SAKKE payload. The codec takes the DPCK ready-made: the KDF lives in the crypto layer.
 *
 * Plaintext (TS 33.180 E.6):
 *
 *    key type (1)   0 GMK, 1 PCK, 2 CSK, 3 SPK, 4 MKFC, 5 MSCCK, 6 MuSiK
 *    status (4)     bit 0 set = key NOT revoked, bit 1 = shared with a gateway
 *                   (as Streamwide and wolfSSL read TS 33.180 E.6.9; Alea sends 0)
 *    activation (5) 40-bit time, 0 = the T payload's time
 *    expiry (5)     40-bit time, 0 = never
 *    text           Length (2) ‖ text
 *    MC group IDs   Length (2) ‖ count (1) ‖ count × (IEI (1) ‖ Length (2) ‖ value)
 *
 * A 17-octet plaintext without the group IDs element, sent in clear inside the extension, is
 * the "legacy IWF" format of Streamwide ≤ 1.1.x (key type there counts from 1 = GMK).
 */
import { MikeyError } from '../../errors.js';
import { concatBytes } from '../../util/bytes.js';
import { GENERAL_EXTENSION_TYPE } from './constants.js';
import type { GeneralExtensionPayload } from './payloads.js';
import { MikeyReader } from './reader.js';
import { ab, importAes128, randomBytes, subtle } from './webcrypto.js';
import { checkUint, MikeyWriter } from './writer.js';

/** TS 33.180 E.6 key type (same numbering as the TS 33.180 purpose tags). */
export const KEY_PARAMETER_TYPE = Object.freeze({
  GMK: 0,
  PCK: 1,
  CSK: 2,
  SPK: 3,
  MKFC: 4,
  MSCCK: 5,
  MUSIK: 6,
} as const);

/** Status bits (TS 33.180 E.6.9 as read by both Streamwide and wolfSSL). */
export const KEY_PARAMETER_STATUS = Object.freeze({
  NOT_REVOKED: 0x1,
  SHARED_WITH_GATEWAY: 0x2,
} as const);

/** Payload algorithm octet of the protected payload: AEAD_AES_128_GCM. */
export const PROTECTED_PAYLOAD_AES_128_GCM = 1 as const;

export interface KeyParameterGroupId {
  /** Information element identifier (TS 24.282; 0x7b in the Alea message). */
  readonly iei: number;
  readonly value: Uint8Array;
}

export interface KeyParameters {
  readonly keyType: number;
  readonly status: number;
  /** 40-bit activation time as sent (0 = the I_MESSAGE time). */
  readonly activationTime: number;
  /** 40-bit expiry time as sent (0 = none). */
  readonly expiryTime: number;
  readonly text: Uint8Array;
  readonly groupIds: readonly KeyParameterGroupId[];
  /** False for the 17-octet legacy plaintext that ends after the text element. */
  readonly hasGroupIdsElement: boolean;
}

export interface ProtectedKeyParameters {
  readonly messageType: number;
  readonly dateTime: number;
  readonly payloadId: number;
  readonly payloadSequence: number;
  readonly payloadAlgorithm: number;
  readonly iv: Uint8Array;
  readonly dppkId: number;
  readonly contentType: number;
  /** Ciphertext followed by the 16-octet GCM tag. */
  readonly ciphertext: Uint8Array;
  /** Octets 0..31 of the extension data, the AEAD associated data. */
  readonly associatedData: Uint8Array;
}

export type KeyParametersExtension =
  | { readonly format: 'protected'; readonly container: ProtectedKeyParameters }
  | { readonly format: 'legacy-plain'; readonly params: KeyParameters };

const HEADER_LEN = 35;
const AD_LEN = 32;
const TAG_LEN = 16;

function bad(msg: string, cause?: unknown): MikeyError {
  return new MikeyError('ERR_MIKEY_BAD_GMK_PARAMETERS', `key parameters: ${msg}`, cause === undefined ? undefined : { cause });
}

function u40(r: MikeyReader, what: string): number {
  const hi = r.u8(what);
  return hi * 0x1_0000_0000 + r.u32(what);
}

/** Parses a key parameters plaintext (after decryption, or the legacy clear form). */
export function decodeKeyParametersPlaintext(pt: Uint8Array): KeyParameters {
  try {
    const r = new MikeyReader(pt);
    const keyType = r.u8('key type');
    const status = r.u32('status');
    const activationTime = u40(r, 'activation time');
    const expiryTime = u40(r, 'expiry time');
    const text = new Uint8Array(r.bytes(r.u16('text length'), 'text'));
    const groupIds: KeyParameterGroupId[] = [];
    let hasGroupIdsElement = false;
    if (!r.atEnd) {
      hasGroupIdsElement = true;
      const g = r.sub(r.u16('group IDs length'), 'group IDs');
      const count = g.u8('group ID count');
      if (count * 3 > g.remaining) throw bad(`group ID count ${count} exceeds the element`);
      for (let i = 0; i < count; i++) {
        const iei = g.u8('group ID IEI');
        groupIds.push({ iei, value: new Uint8Array(g.bytes(g.u16('group ID length'), 'group ID')) });
      }
      g.expectEnd('group IDs');
      r.expectEnd('key parameters');
    }
    return { keyType, status, activationTime, expiryTime, text, groupIds, hasGroupIdsElement };
  } catch (e) {
    if (e instanceof MikeyError && e.code === 'ERR_MIKEY_BAD_GMK_PARAMETERS') throw e;
    throw bad(e instanceof Error ? e.message : 'malformed', e);
  }
}

export function encodeKeyParametersPlaintext(p: KeyParameters): Uint8Array {
  const w = new MikeyWriter(64 + p.text.length);
  w.u8(p.keyType, 'key type').u32(p.status, 'status');
  for (const [t, what] of [[p.activationTime, 'activation time'], [p.expiryTime, 'expiry time']] as const) {
    checkUint(t, 0xff_ffff_ffff, what);
    w.u8(Math.floor(t / 0x1_0000_0000), what).u32(t % 0x1_0000_0000, what);
  }
  w.lengthPrefixed(p.text, 16, 'text');
  if (p.hasGroupIdsElement || p.groupIds.length > 0) {
    const g = new MikeyWriter();
    g.u8(p.groupIds.length, 'group ID count');
    for (const id of p.groupIds) g.u8(id.iei, 'group ID IEI').lengthPrefixed(id.value, 16, 'group ID');
    w.lengthPrefixed(g.finish(), 16, 'group IDs');
  }
  return w.finish();
}

/**
 * Splits General Extension type 7 data into the protected container, or recognises the
 * legacy clear plaintext. The container is recognised by its content length fitting exactly.
 */
export function decodeKeyParametersExtension(data: Uint8Array): KeyParametersExtension {
  if (!(data instanceof Uint8Array)) throw new TypeError('key parameters must be a Uint8Array');
  if (data.length >= HEADER_LEN && HEADER_LEN + ((data[33]! << 8) | data[34]!) === data.length) {
    const r = new MikeyReader(data);
    const messageType = r.u8('message type');
    const dateTime = u40(r, 'date/time');
    const payloadId = r.u32('payload ID');
    const payloadSequence = r.u8('payload sequence');
    const payloadAlgorithm = r.u8('payload algorithm');
    const iv = r.bytes(16, 'IV');
    const dppkId = r.u32('DPPK-ID');
    const contentType = r.u8('content type');
    const ciphertext = r.bytes(r.u16('content length'), 'content');
    return {
      format: 'protected',
      container: {
        messageType,
        dateTime,
        payloadId,
        payloadSequence,
        payloadAlgorithm,
        iv,
        dppkId,
        contentType,
        ciphertext,
        associatedData: data.subarray(0, AD_LEN),
      },
    };
  }
  return { format: 'legacy-plain', params: decodeKeyParametersPlaintext(data) };
}

/**
 * Decrypts a protected container with the DPCK (16 octets or an AES-GCM CryptoKey).
 * A failed tag check is `ERR_MIKEY_BAD_GMK_PARAMETERS`.
 */
export async function decryptKeyParameters(
  container: ProtectedKeyParameters,
  dpck: Uint8Array | CryptoKey,
): Promise<KeyParameters> {
  if (container.payloadAlgorithm !== PROTECTED_PAYLOAD_AES_128_GCM) {
    throw bad(`payload algorithm ${container.payloadAlgorithm} is not AEAD_AES_128_GCM`);
  }
  if (container.ciphertext.length < TAG_LEN) throw bad('content shorter than the GCM tag');
  const key = await importAes128(dpck, 'AES-GCM', 'DPCK');
  let pt: Uint8Array;
  try {
    pt = new Uint8Array(
      await subtle().decrypt(
        { name: 'AES-GCM', iv: ab(container.iv), additionalData: ab(container.associatedData), tagLength: 128 },
        key,
        ab(container.ciphertext),
      ),
    );
  } catch (e) {
    throw bad('AES-GCM authentication failed', e);
  }
  return decodeKeyParametersPlaintext(pt);
}

export interface KeyParametersProtectOptions {
  readonly dpck: Uint8Array | CryptoKey;
  /** DPPK-ID: the CSB ID of the I_MESSAGE. */
  readonly dppkId: number;
  readonly iv?: Uint8Array;
  /** Default 0x43 (Streamwide); Alea sends 0x40. */
  readonly messageType?: number;
  /** 40-bit date/time; default 0. */
  readonly dateTime?: number;
  readonly payloadId?: number;
  readonly payloadSequence?: number;
}

/** Encrypts `p` into General Extension type 7 data (the protected container). */
export async function encryptKeyParameters(p: KeyParameters, o: KeyParametersProtectOptions): Promise<Uint8Array> {
  const iv = o.iv ?? randomBytes(16);
  if (iv.length !== 16) throw new RangeError('key parameters IV must be 16 octets');
  const pt = encodeKeyParametersPlaintext(p);
  const dateTime = o.dateTime ?? 0;
  checkUint(dateTime, 0xff_ffff_ffff, 'date/time');
  const h = new MikeyWriter(AD_LEN);
  h.u8(o.messageType ?? 0x43, 'message type');
  h.u8(Math.floor(dateTime / 0x1_0000_0000), 'date/time').u32(dateTime % 0x1_0000_0000, 'date/time');
  h.u32(o.payloadId ?? 0, 'payload ID').u8(o.payloadSequence ?? 0, 'payload sequence');
  h.u8(PROTECTED_PAYLOAD_AES_128_GCM, 'payload algorithm').bytes(iv, 'IV').u32(o.dppkId, 'DPPK-ID');
  const ad = h.finish();
  const key = await importAes128(o.dpck, 'AES-GCM', 'DPCK');
  const ct = new Uint8Array(
    await subtle().encrypt({ name: 'AES-GCM', iv: ab(iv), additionalData: ab(ad), tagLength: 128 }, key, ab(pt)),
  );
  const tail = new MikeyWriter(3 + ct.length);
  tail.u8(0, 'content type').lengthPrefixed(ct, 16, 'content');
  return concatBytes(ad, tail.finish());
}

/** Wraps key parameters data in a General Extension of type 7. */
export function keyParametersExtension(data: Uint8Array): GeneralExtensionPayload {
  return { kind: 'GENERAL_EXTENSION', type: GENERAL_EXTENSION_TYPE.KEY_PARAMETERS, data };
}
