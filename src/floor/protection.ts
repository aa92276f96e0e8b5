/**
 * Protection of floor control messages, TS 33.179 7.6: every MBCP packet travels as an SRTCP
 * packet (RFC 3711 3.4) under AEAD_AES_128_GCM (RFC 7714 section 9, "AEAD processing of SRTCP"),
 * with an MKI naming the key, so a receiver finds the key from the packet alone (7.6.2).
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P| Subtype |   PT=204      |   length                      |  ┐ first 8 octets: in clear,
 *   |                      SSRC of the sender                       |  ┘ authenticated (AAD)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  name "MCPT" ‖ floor control fields …   (AES-GCM ciphertext)   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  GCM tag (16 octets)                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |E|                     SRTCP index (31 bits)                   |  in clear, authenticated
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  MKI = key ID (4 octets)                      |  in clear, not authenticated
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   AAD = first 8 octets ‖ E ‖ SRTCP index            (RFC 7714 9.2, E = 1: encrypted)
 *   IV  = session salt XOR (0 0 ‖ SSRC ‖ 0 0 ‖ 0 ‖ index)   (RFC 7714 9.1)
 *
 * Keys (TS 33.179 7.6.1, ARCHITECTURE.md "Keys"): SRTCP master key and salt = MIKEY PRF with
 * TGK = the floor key, CS-ID of its kind, CSB-ID = its key ID and the RAND of its distribution;
 * session key and salt = RFC 3711 AES-CM KDF labels 0x03 / 0x05, kdr 0, 12-octet salt; the
 * session key lives only as a non-extractable AES-GCM CryptoKey. Profile ts33180 uses the CSK
 * (purpose tag 2, CS-ID 6 "CSK SRTCP"); ts33179-v13 a GMK whose tag allows floor control.
 *
 * SSRC rule (A.6, no key stream re-use): the client and the server share the CSK, and the IV
 * is made of SSRC and index only, so the two directions must never use the same SSRC. Server
 * SSRCs have the top bit set, client SSRCs have it clear; each side draws the other 31 bits at
 * random for every channel. A receiver refuses a packet whose SSRC is not of its peer's kind,
 * or is one it sent with itself (a reflected packet). Indices start at 0 per (key, SSRC) and
 * are never wrapped: at 2^31 − 1 the context is exhausted and a new SSRC (channel) is needed.
 */
import { srtcpAeadIv } from '../crypto/aead.js';
import { srtpMasterKeys } from '../crypto/mikey-prf.js';
import { srtpSessionKeys } from '../crypto/srtp-kdf.js';
import { FloorError, isMcpttError } from '../errors.js';
import { checkPurpose, keyProfile, purposeTag, type KeyProfile, type KeyProfileName } from '../keys/purpose.js';
import { createReplayWindow, type ReplayWindow } from '../media/replay-window.js';
import { bytesOf, bytesToHex } from '../util/bytes.js';
import { bufferSource, randomBytes as platformRandomBytes, subtle } from '../util/webcrypto.js';

export const SRTCP_TAG_LENGTH = 16;
export const SRTCP_INDEX_LENGTH = 4;
export const FLOOR_MKI_LENGTH = 4;
/** Largest SRTCP index (31 bits, RFC 3711 3.4). */
export const SRTCP_MAX_INDEX = 0x7fffffff;
/** The E flag of the E ‖ SRTCP index word. */
const E_FLAG = 0x80000000;
/** Octets SRTCP adds to an RTCP packet here: tag, E ‖ index, MKI. */
export const FLOOR_PROTECTION_OVERHEAD = SRTCP_TAG_LENGTH + SRTCP_INDEX_LENGTH + FLOOR_MKI_LENGTH;
/** Largest protected packet accepted (an MBCP packet is at most 4096 octets). */
const MAX_PROTECTED = 4096 + FLOOR_PROTECTION_OVERHEAD;

export type FloorRole = 'client' | 'server';
/** The distributions a floor key may come from, per profile (see `deriveFloorKey`). */
export type FloorKeyKind = 'CSK' | 'GMK';

/** The top SSRC bit tells the two directions apart (see the SSRC rule above). */
export const FLOOR_SERVER_SSRC_BIT = 0x80000000;

/** A fresh SSRC for a channel of `role`: 31 random bits, the top bit set for the server. */
export function newFloorSsrc(role: FloorRole, randomBytes: (n: number) => Uint8Array = platformRandomBytes): number {
  const r = randomBytes(4);
  if (!(r instanceof Uint8Array) || r.length < 4) throw new RangeError('randomBytes returned too few bytes');
  const v = ((r[0]! & 0x7f) << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!;
  return (role === 'server' ? v | FLOOR_SERVER_SSRC_BIT : v) >>> 0;
}

/** True when `ssrc` is of the kind `role` sends with. */
export function isFloorSsrcOf(role: FloorRole, ssrc: number): boolean {
  return role === 'server' ? ssrc >= FLOOR_SERVER_SSRC_BIT : ssrc < FLOOR_SERVER_SSRC_BIT;
}

/** A floor key ready for SRTCP: the MKI and the session key/salt of RFC 3711 labels 0x03 / 0x05. */
export interface FloorKey {
  /** The key ID (4 octets), carried as the MKI. */
  readonly keyId: Uint8Array;
  /** Non-extractable AES-GCM key, usages encrypt and decrypt. */
  readonly key: CryptoKey;
  /** The 12-octet SRTCP session salt. */
  readonly salt: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// keys

/** The kind of key that protects floor control with the arbitrator under `profile`. */
export function floorKeyKindOf(profile: KeyProfile): FloorKeyKind {
  return profile.name === 'ts33180' ? 'CSK' : 'GMK';
}

/**
 * Which key protects floor control under `profile`, checked on the key ID's purpose tag:
 * ts33180 → a CSK (tag 2); ts33179-v13 → a GMK whose tag allows floor control (0 "all",
 * 2 "floor only", 5 "private-call floor"). Anything else → `ERR_FLOOR_WRONG_PURPOSE`.
 */
export function checkFloorKeyPurpose(profile: KeyProfile, keyId: Uint8Array, kind: FloorKeyKind): void {
  const want = floorKeyKindOf(profile);
  if (kind !== want) throw new FloorError('ERR_FLOOR_WRONG_PURPOSE', `profile ${profile.name} protects floor control with a ${want}, not a ${kind}`);
  try {
    checkPurpose(profile, keyId, kind, 'floor');
  } catch (cause) {
    if (isMcpttError(cause)) throw new FloorError('ERR_FLOOR_WRONG_PURPOSE', `key with purpose tag ${purposeTag(keyId)} may not protect floor control (profile ${profile.name})`, { cause });
    throw cause;
  }
}

/** RFC 3711 4.3 with kdr 0: the SRTCP session key (label 0x03) and 12-octet salt (label 0x05). Raw: internal. */
export async function srtcpSessionMaterial(masterKey: Uint8Array, masterSalt: Uint8Array): Promise<{ key: Uint8Array; salt: Uint8Array }> {
  const s = await srtpSessionKeys({ masterKey, masterSalt });
  s.srtp.key.fill(0);
  s.srtp.salt.fill(0);
  return { key: s.srtcp.key, salt: s.srtcp.salt.slice(0, 12) };
}

/** Imports an SRTCP session key as a FloorKey (non-extractable); the caller should wipe `sessionKey`. */
export async function importFloorKey(args: { keyId: Uint8Array; sessionKey: Uint8Array; sessionSalt: Uint8Array }): Promise<FloorKey> {
  const keyId = bytesOf(args.keyId, FLOOR_MKI_LENGTH, 'floor key ID').slice();
  const raw = bytesOf(args.sessionKey, [16, 32], 'SRTCP session key');
  const salt = bytesOf(args.sessionSalt, 12, 'SRTCP session salt').slice();
  const key = await subtle().importKey('raw', bufferSource(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
  return Object.freeze({ keyId, key, salt });
}

/**
 * The floor key of TS 33.179 7.6 from a CSK (ts33180) or GMK (ts33179-v13) distribution:
 * purpose checked, then MIKEY PRF (CS-ID 6 "CSK SRTCP" for a CSK, the group CS-ID for a GMK;
 * CSB-ID = the key ID) and the SRTCP session KDF. Raw intermediates are overwritten.
 */
export async function deriveFloorKey(args: {
  profile?: KeyProfileName;
  kind: FloorKeyKind;
  keyId: Uint8Array;
  tgk: Uint8Array;
  rand: Uint8Array;
}): Promise<FloorKey> {
  const profile = keyProfile(args.profile ?? 'ts33180');
  const keyId = bytesOf(args.keyId, FLOOR_MKI_LENGTH, 'floor key ID');
  checkFloorKeyPurpose(profile, keyId, args.kind);
  const csId = args.kind === 'CSK' ? profile.csId.cskSrtcp : profile.csId.group;
  const { masterKey, masterSalt } = srtpMasterKeys({ tgk: args.tgk, csId, csbId: keyId, rand: args.rand });
  try {
    const s = await srtcpSessionMaterial(masterKey, masterSalt);
    try {
      return await importFloorKey({ keyId, sessionKey: s.key, sessionSalt: s.salt });
    } finally {
      s.key.fill(0);
      s.salt.fill(0);
    }
  } finally {
    masterKey.fill(0);
    masterSalt.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------
// RFC 7714 section 9 core (no MKI): byte-exact against RFC 7714 section 17

function word(index: number, encrypted: boolean): Uint8Array {
  const w = ((encrypted ? E_FLAG : 0) | index) >>> 0;
  return new Uint8Array([w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff]);
}

function checkIndex(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > SRTCP_MAX_INDEX) throw new RangeError('SRTCP index must be an integer 0..2^31-1');
  return index;
}

function ssrcOf(packet: Uint8Array): number {
  return ((packet[4]! << 24) | (packet[5]! << 16) | (packet[6]! << 8) | packet[7]!) >>> 0;
}

/**
 * RFC 7714 9.1–9.3: the SRTCP packet without MKI, i.e. header(8) ‖ ciphertext ‖ tag ‖ E ‖ index
 * (encrypted = true), or the RTCP packet ‖ tag ‖ 0 ‖ index (authentication only).
 */
export async function srtcpAeadSeal(args: { key: CryptoKey; salt: Uint8Array; rtcp: Uint8Array; index: number; encrypted?: boolean }): Promise<Uint8Array> {
  const rtcp = args.rtcp;
  if (!(rtcp instanceof Uint8Array) || rtcp.length < 8) throw new RangeError('RTCP packet must be at least 8 octets');
  const index = checkIndex(args.index);
  const encrypted = args.encrypted !== false;
  const iv = srtcpAeadIv({ salt: args.salt, ssrc: ssrcOf(rtcp), index });
  const w = word(index, encrypted);
  const aadHead = encrypted ? rtcp.subarray(0, 8) : rtcp;
  const aad = new Uint8Array(aadHead.length + 4);
  aad.set(aadHead);
  aad.set(w, aadHead.length);
  const plaintext = encrypted ? rtcp.subarray(8) : new Uint8Array(0);
  const sealed = new Uint8Array(
    await subtle().encrypt({ name: 'AES-GCM', iv: bufferSource(iv), additionalData: aad, tagLength: 128 }, args.key, bufferSource(plaintext.slice())),
  );
  const head = encrypted ? rtcp.subarray(0, 8) : rtcp;
  const out = new Uint8Array(head.length + sealed.length + 4);
  out.set(head);
  out.set(sealed, head.length);
  out.set(w, head.length + sealed.length);
  return out;
}

/** Inverse of `srtcpAeadSeal` (input without MKI); a failed tag → `ERR_FLOOR_AUTH_FAILED`. */
export async function srtcpAeadOpen(args: { key: CryptoKey; salt: Uint8Array; srtcp: Uint8Array }): Promise<{ rtcp: Uint8Array; index: number; encrypted: boolean }> {
  const p = args.srtcp;
  if (!(p instanceof Uint8Array)) throw new TypeError('srtcp must be a Uint8Array');
  if (p.length < 8 + SRTCP_TAG_LENGTH + 4) throw new FloorError('ERR_FLOOR_MALFORMED', 'SRTCP packet too short');
  const n = p.length;
  const w = ((p[n - 4]! << 24) | (p[n - 3]! << 16) | (p[n - 2]! << 8) | p[n - 1]!) >>> 0;
  const encrypted = (w & E_FLAG) !== 0;
  const index = w & SRTCP_MAX_INDEX;
  const iv = srtcpAeadIv({ salt: args.salt, ssrc: ssrcOf(p), index });
  const body = p.subarray(0, n - 4);
  const clear = encrypted ? body.subarray(0, 8) : body.subarray(0, body.length - SRTCP_TAG_LENGTH);
  const aad = new Uint8Array(clear.length + 4);
  aad.set(clear);
  aad.set(p.subarray(n - 4), clear.length);
  const sealed = encrypted ? body.subarray(8) : body.subarray(body.length - SRTCP_TAG_LENGTH);
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(
      await subtle().decrypt({ name: 'AES-GCM', iv: bufferSource(iv), additionalData: aad, tagLength: 128 }, args.key, bufferSource(sealed.slice())),
    );
  } catch (cause) {
    throw new FloorError('ERR_FLOOR_AUTH_FAILED', 'SRTCP authentication failed', { cause });
  }
  if (!encrypted) return { rtcp: clear.slice(), index, encrypted };
  const rtcp = new Uint8Array(8 + plain.length);
  rtcp.set(clear);
  rtcp.set(plain, 8);
  return { rtcp, index, encrypted };
}

// ---------------------------------------------------------------------------------------------
// stateful protection: send indices, key lookup by MKI, replay windows, the SSRC rule

export interface FloorUnprotected {
  /** The MBCP (RTCP) packet, decrypted and authenticated. */
  readonly rtcp: Uint8Array;
  readonly ssrc: number;
  readonly index: number;
  readonly keyId: Uint8Array;
}

export interface FloorProtection {
  /** SRTCP-protects one MBCP packet under the current send key. */
  protect(rtcp: Uint8Array): Promise<Uint8Array>;
  /** Checks and decrypts one SRTCP packet; every refusal is a FloorError with a stable code. */
  unprotect(srtcp: Uint8Array): Promise<FloorUnprotected>;
}

export interface FloorProtectionOptions {
  /** Our side of the channel: decides which SSRCs we send with and accept (the SSRC rule). */
  readonly role: FloorRole;
  /** The key to protect with now (after a CSK renewal, the new one); undefined → nothing is sent. */
  readonly sendKey: () => FloorKey | undefined;
  /** Finds a key by MKI (several keys may be valid at once during a renewal). */
  readonly lookup: (mki: Uint8Array) => FloorKey | undefined;
  /** When given, MKIs whose purpose tag does not allow floor control are refused before lookup. */
  readonly profile?: KeyProfileName;
  /** RFC 3711 3.3.2 replay window per (key, SSRC); default 128. */
  readonly replayWindow?: number;
  /** First SRTCP index of each send context (default 0; tests use it to reach exhaustion). */
  readonly startIndex?: number;
}

/** Upper bound on remembered receive contexts; only authenticated packets create one. */
const MAX_CONTEXTS = 1024;

export function createFloorProtection(options: FloorProtectionOptions): FloorProtection {
  const { role } = options;
  if (role !== 'client' && role !== 'server') throw new RangeError("role must be 'client' or 'server'");
  if (typeof options.sendKey !== 'function' || typeof options.lookup !== 'function') throw new TypeError('sendKey and lookup must be functions');
  const profile = options.profile === undefined ? undefined : keyProfile(options.profile);
  const startIndex = checkIndex(options.startIndex ?? 0);
  const windowSize = options.replayWindow ?? 128;
  createReplayWindow(windowSize); // validates the size now rather than on the first packet
  const peer: FloorRole = role === 'client' ? 'server' : 'client';
  const nextIndex = new Map<string, number>();
  const ownSsrcs = new Set<number>();
  const windows = new Map<string, ReplayWindow>();

  return {
    async protect(rtcp) {
      if (!(rtcp instanceof Uint8Array)) throw new TypeError('rtcp must be a Uint8Array');
      if (rtcp.length < 12 || rtcp.length % 4 !== 0 || rtcp.length > 4096) throw new RangeError('not an MBCP packet');
      const ssrc = ssrcOf(rtcp);
      if (!isFloorSsrcOf(role, ssrc)) throw new FloorError('ERR_FLOOR_BAD_SSRC', `a ${role} must not send with a ${peer} SSRC`);
      const fk = options.sendKey();
      if (fk === undefined) throw new FloorError('ERR_FLOOR_UNKNOWN_KEY', 'no floor key to protect with: nothing is sent');
      const ctx = `${bytesToHex(fk.keyId)}:${ssrc}`;
      const index = nextIndex.get(ctx) ?? startIndex;
      if (index > SRTCP_MAX_INDEX) throw new FloorError('ERR_FLOOR_INDEX_EXHAUSTED', 'SRTCP index exhausted for this SSRC and key: open a new channel');
      nextIndex.set(ctx, index + 1); // taken before the await: concurrent calls never share an index
      ownSsrcs.add(ssrc);
      const sealed = await srtcpAeadSeal({ key: fk.key, salt: fk.salt, rtcp, index });
      const out = new Uint8Array(sealed.length + FLOOR_MKI_LENGTH);
      out.set(sealed);
      out.set(fk.keyId, sealed.length);
      return out;
    },

    async unprotect(srtcp) {
      if (!(srtcp instanceof Uint8Array)) throw new TypeError('srtcp must be a Uint8Array');
      const n = srtcp.length;
      const declared = n >= 4 && srtcp[0]! >>> 6 === 2 && srtcp[1] === 204 ? (((srtcp[2]! << 8) | srtcp[3]!) + 1) * 4 : undefined;
      if (declared !== undefined && declared === n) throw new FloorError('ERR_FLOOR_UNPROTECTED', 'plain MBCP packet where SRTCP protection is required');
      if (n > MAX_PROTECTED || n < 12 + FLOOR_PROTECTION_OVERHEAD || declared === undefined || declared !== n - FLOOR_PROTECTION_OVERHEAD) {
        throw new FloorError('ERR_FLOOR_MALFORMED', 'not an SRTCP-protected MBCP packet');
      }
      const ssrc = ssrcOf(srtcp);
      if (!isFloorSsrcOf(peer, ssrc) || ownSsrcs.has(ssrc)) throw new FloorError('ERR_FLOOR_BAD_SSRC', `packet claims an SSRC our ${peer} may not send with`);
      const w = srtcp[n - 8]!;
      if ((w & 0x80) === 0) throw new FloorError('ERR_FLOOR_UNPROTECTED', 'SRTCP packet not encrypted (E flag clear): TS 33.179 7.6 requires confidentiality');
      const mki = srtcp.slice(n - FLOOR_MKI_LENGTH);
      if (profile !== undefined) {
        const p = profile.purposes[purposeTag(mki)];
        if (p === undefined || !p.uses.includes('floor') || p.kind !== floorKeyKindOf(profile)) throw new FloorError('ERR_FLOOR_WRONG_PURPOSE', `MKI purpose tag ${purposeTag(mki)} does not allow floor control`);
      }
      const fk = options.lookup(mki);
      if (fk === undefined) throw new FloorError('ERR_FLOOR_UNKNOWN_KEY', 'no floor key for this MKI');
      const index = (((srtcp[n - 8]! << 24) | (srtcp[n - 7]! << 16) | (srtcp[n - 6]! << 8) | srtcp[n - 5]!) >>> 0) & SRTCP_MAX_INDEX;
      const ctx = `${bytesToHex(mki)}:${ssrc}`;
      const win = windows.get(ctx);
      if (win !== undefined && win.check(index) !== 'new') throw new FloorError('ERR_FLOOR_REPLAY', 'SRTCP index already seen or too old');
      const opened = await srtcpAeadOpen({ key: fk.key, salt: fk.salt, srtcp: srtcp.subarray(0, n - FLOOR_MKI_LENGTH) });
      // Re-check after the await: a concurrent copy of the same packet may have committed meanwhile.
      let w2 = windows.get(ctx);
      if (w2 === undefined) {
        if (windows.size >= MAX_CONTEXTS) windows.delete(windows.keys().next().value!);
        w2 = createReplayWindow(windowSize);
        windows.set(ctx, w2);
      }
      if (w2.check(index) !== 'new') throw new FloorError('ERR_FLOOR_REPLAY', 'SRTCP index already seen or too old');
      w2.commit(index);
      return { rtcp: opened.rtcp, ssrc, index, keyId: mki };
    },
  };
}
