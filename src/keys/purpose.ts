/**
 * Purpose tags of key identifiers (the 4 most significant bits of a GMK-ID, PCK-ID, CSK-ID).
 *
 * Two numberings exist and both are deployed in some form, so the SDK takes one as a
 * configured profile (../shared/design/ARCHITECTURE.md, "Keys"):
 * - `ts33180` (default; TS 33.180 Annex G and every interop vector): 0 GMK, 1 PCK, 2 CSK,
 *   3 SPK, 4 MKFC, 5 MSCCK, 6 MuSiK; CS-IDs of TS 33.180 E.1.3: 0/1 private call
 *   initiator/receiver, 4 group call, 6 CSK SRTCP.
 * - `ts33179-v13` (TS 33.179 V13.0.0 clause 7.3.3): 0 GMK all, 1 GMK media only, 2 GMK floor
 *   only, 3 PCK all, 4 PCK media only, 5 private-call floor GMK, 6 CSK, 7 SPK.
 * A key used for anything its tag does not allow is refused (fail closed).
 */
import { MikeyError } from '../errors.js';

export type KeyProfileName = 'ts33180' | 'ts33179-v13';
/** The distribution a key arrives in (TS 33.179 Annex E.2/E.3/E.4). */
export type KeyKind = 'GMK' | 'PCK' | 'CSK' | 'SPK' | 'MKFC' | 'MSCCK' | 'MuSiK';
/** What a key may protect: SRTP media, floor control (SRTCP/MBCP), or signalling (XML). */
export type KeyUse = 'media' | 'floor' | 'signalling';

export interface KeyPurpose {
  readonly tag: number;
  readonly kind: KeyKind;
  readonly uses: readonly KeyUse[];
}

export interface KeyProfile {
  readonly name: KeyProfileName;
  /** Purposes by tag; a tag missing here is undefined and refused. */
  readonly purposes: Readonly<Record<number, KeyPurpose>>;
  /** The tag a newly created key of each kind gets (for media and floor together). */
  readonly defaultTag: Readonly<Partial<Record<KeyKind, number>>>;
  /** CS-IDs for the MIKEY PRF (RFC 3830 4.1.3) of each media context. */
  readonly csId: Readonly<{ privateInitiator: number; privateReceiver: number; group: number; cskSrtcp: number }>;
}

const p = (tag: number, kind: KeyKind, uses: readonly KeyUse[]): KeyPurpose => Object.freeze({ tag, kind, uses: Object.freeze([...uses]) });

export const KEY_PROFILES: Readonly<Record<KeyProfileName, KeyProfile>> = Object.freeze({
  ts33180: Object.freeze({
    name: 'ts33180',
    purposes: Object.freeze({
      0: p(0, 'GMK', ['media', 'floor']),
      1: p(1, 'PCK', ['media', 'floor']),
      2: p(2, 'CSK', ['signalling', 'floor']),
      3: p(3, 'SPK', ['signalling']),
      4: p(4, 'MKFC', ['floor']),
      5: p(5, 'MSCCK', ['floor']),
      6: p(6, 'MuSiK', ['floor']),
    }),
    defaultTag: Object.freeze({ GMK: 0, PCK: 1, CSK: 2, SPK: 3, MKFC: 4, MSCCK: 5, MuSiK: 6 }),
    csId: Object.freeze({ privateInitiator: 0, privateReceiver: 1, group: 4, cskSrtcp: 6 }),
  }),
  'ts33179-v13': Object.freeze({
    name: 'ts33179-v13',
    purposes: Object.freeze({
      0: p(0, 'GMK', ['media', 'floor']),
      1: p(1, 'GMK', ['media']),
      2: p(2, 'GMK', ['floor']),
      3: p(3, 'PCK', ['media', 'floor']),
      4: p(4, 'PCK', ['media']),
      5: p(5, 'GMK', ['floor']),
      6: p(6, 'CSK', ['signalling']),
      7: p(7, 'SPK', ['signalling']),
    }),
    defaultTag: Object.freeze({ GMK: 0, PCK: 3, CSK: 6, SPK: 7 }),
    // V13 names no CS-IDs; the TS 33.180 values are what deployed peers expect.
    csId: Object.freeze({ privateInitiator: 0, privateReceiver: 1, group: 4, cskSrtcp: 6 }),
  }),
});

export function keyProfile(name: KeyProfileName = 'ts33180'): KeyProfile {
  const profile = KEY_PROFILES[name];
  if (profile === undefined) throw new RangeError(`unknown key profile ${String(name)}`);
  return profile;
}

/** The purpose tag of a 4-byte key identifier. */
export function purposeTag(keyId: Uint8Array): number {
  if (keyId.length !== 4) throw new RangeError('key identifiers are 4 bytes');
  return keyId[0]! >>> 4;
}

/**
 * The purpose of `keyId` under `profile`, checked against the kind of distribution it came
 * in (a PCK-tagged ID inside a GMK distribution is refused) and, when given, a use.
 */
export function checkPurpose(profile: KeyProfile, keyId: Uint8Array, kind: KeyKind, use?: KeyUse): KeyPurpose {
  const tag = purposeTag(keyId);
  const purpose = profile.purposes[tag];
  if (purpose === undefined) throw new MikeyError('ERR_MIKEY_WRONG_PURPOSE', `purpose tag ${tag} is not defined in profile ${profile.name}`);
  if (purpose.kind !== kind) throw new MikeyError('ERR_MIKEY_WRONG_PURPOSE', `purpose tag ${tag} is a ${purpose.kind} tag, not ${kind} (profile ${profile.name})`);
  if (use !== undefined && !purpose.uses.includes(use)) throw new MikeyError('ERR_MIKEY_WRONG_PURPOSE', `a key with purpose tag ${tag} may not protect ${use}`);
  return purpose;
}

/** A fresh 4-byte key identifier: the purpose tag and 28 random bits (TS 33.179 7.3.1). */
export function newKeyId(tag: number, randomBytes: (n: number) => Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 15) throw new RangeError('purpose tag must be 0..15');
  const id = randomBytes(4).slice(0, 4);
  if (id.length !== 4) throw new RangeError('randomBytes returned too few bytes');
  id[0] = (tag << 4) | (id[0]! & 0x0f);
  return id;
}
