/**
 * What the key management client checks before using KMS material (TS 33.179 D.3.1.2,
 * D.3.1.3, D.3.2.2, F.2.1; RFC 6507 5.1.2, RFC 6508 6.1.2): certificates and key sets built
 * here with the SDK's KMS-side crypto, then altered one field at a time.
 */
import { describe, expect, it } from 'vitest';
import { kmsDateTime } from '../../src/codec/kms/index.js';
import type { KmsCertificate, KmsKeySet } from '../../src/codec/kms/index.js';
import { eccsiDeriveKpak, eccsiIssueSigningKey, sakkeDerivePublicKey, sakkeIssueReceiverKey } from '../../src/crypto/index.js';
import { isMcpttError } from '../../src/errors.js';
import type { McpttErrorCode } from '../../src/errors.js';
import { ntpSecondsOfUnixMs, periodAt, periodEndUnixMs, uidOf, unixMsOfNtpSeconds } from '../../src/keys/identity.js';
import type { PeriodKeys } from '../../src/keys/identity.js';
import { validateKeySet, validateKmsCertificate } from '../../src/keys/kms-validation.js';
import type { ValidatedKmsCertificate } from '../../src/keys/kms-validation.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';

const KMS_URI = 'kms.validation.example';
const ALICE = 'sip:alice@mcptt.example';
const BOB = 'sip:bob@mcptt.example';
const PERIOD = 86_400;
const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);

const zS = hexToBytes('5a3c0ffee1d2b3a4958677e8f9a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2');
const ksak = hexToBytes('2b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfe');
const Z = sakkeDerivePublicKey(zS);
const KPAK = eccsiDeriveKpak(ksak);

function certificate(over: Partial<KmsCertificate> = {}): KmsCertificate {
  return {
    role: 'Root',
    certUri: `cert1.${KMS_URI}`,
    kmsUri: KMS_URI,
    validFrom: kmsDateTime(NOW - 100 * DAY),
    validTo: kmsDateTime(NOW + 100 * DAY),
    revoked: false,
    userIdFormat: '2',
    userKeyPeriod: PERIOD,
    userKeyOffset: 0,
    pubEncKey: Z,
    pubAuthKey: KPAK,
    parameterSet: 1,
    ...over,
  };
}

const KMS: ValidatedKmsCertificate = validateKmsCertificate(certificate(), { now: NOW, expectedKmsUri: KMS_URI });
const CURRENT = periodAt(KMS, ntpSecondsOfUnixMs(NOW));

const issued = new Map<string, PeriodKeys>();
function issue(identity: string, periodNo: number): PeriodKeys {
  const k = `${identity}|${periodNo}`;
  let keys = issued.get(k);
  if (keys === undefined) {
    const uid = uidOf(identity, KMS, periodNo);
    const { ssk, pvt } = eccsiIssueSigningKey({ ksak, id: uid });
    keys = { keyPeriodNo: periodNo, uid, rsk: sakkeIssueReceiverKey({ zS, id: uid }), ssk, pvt };
    issued.set(k, keys);
  }
  return keys;
}

const periodStart = (n: number): number => unixMsOfNtpSeconds(n * PERIOD);

/** A key set as the codec returns it, for `identity` in period `periodNo`. */
function keySet(identity: string, periodNo: number, over: Partial<KmsKeySet> = {}): KmsKeySet {
  const keys = issue(identity, periodNo);
  return {
    kmsUri: KMS_URI,
    certUri: `cert1.${KMS_URI}`,
    userUri: identity,
    userId: bytesToHex(keys.uid).toUpperCase(),
    validFrom: kmsDateTime(periodStart(periodNo)),
    validTo: kmsDateTime(periodEndUnixMs(KMS, periodNo)),
    keyPeriodNo: periodNo,
    revoked: false,
    userDecryptKey: keys.rsk,
    userSigningKeySSK: keys.ssk,
    userPubTokenPVT: keys.pvt,
    keysWrapped: false,
    ...over,
  };
}

function flip(b: Uint8Array, at = b.length - 1): Uint8Array {
  const c = Uint8Array.from(b);
  c[at] = c[at]! ^ 0x01;
  return c;
}

function expectCode(f: () => unknown, code: McpttErrorCode, message?: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code}`).toBeDefined();
  expect(isMcpttError(thrown, code), `expected ${code}, got ${String((thrown as { code?: string }).code ?? thrown)}`).toBe(true);
  if (message) expect((thrown as Error).message).toMatch(message);
}

const validate = (ks: KmsKeySet, identity = ALICE, now = NOW) => validateKeySet(ks, { kms: KMS, identity, now });

describe('validateKmsCertificate (D.3.1.2)', () => {
  it('accepts a root certificate and returns its public parameters as a frozen copy', () => {
    const src = certificate();
    const v = validateKmsCertificate(src, { now: NOW, expectedKmsUri: KMS_URI });
    expect(v.kmsUri).toBe(KMS_URI);
    expect(bytesToHex(v.z)).toBe(bytesToHex(Z));
    expect(bytesToHex(v.kpak)).toBe(bytesToHex(KPAK));
    expect(v.userKeyPeriod).toBe(PERIOD);
    expect(v.userKeyOffset).toBe(0);
    expect(v.validFrom).toBe(src.validFrom!.epochMs);
    expect(v.validTo).toBe(src.validTo!.epochMs);
    expect(v.certUri).toBe(`cert1.${KMS_URI}`);
    expect(Object.isFrozen(v)).toBe(true);
    expect(v.z).not.toBe(src.pubEncKey);
  });

  it('accepts optional fields left out (no validity, no ParameterSet, no expected KMS URI)', () => {
    const v = validateKmsCertificate(certificate({ validFrom: undefined, validTo: undefined, parameterSet: undefined, revoked: undefined }), { now: NOW });
    expect(v.validFrom).toBeUndefined();
    expect(v.validTo).toBeUndefined();
  });

  it('refuses a UserIdFormat other than 2 and a parameter set other than 1', () => {
    expectCode(() => validateKmsCertificate(certificate({ userIdFormat: '1' }), { now: NOW }), 'ERR_KMS_INVALID_CERTIFICATE');
    expectCode(() => validateKmsCertificate(certificate({ userIdFormat: '' }), { now: NOW }), 'ERR_KMS_INVALID_CERTIFICATE');
    expectCode(() => validateKmsCertificate(certificate({ parameterSet: 2 }), { now: NOW }), 'ERR_KMS_INVALID_CERTIFICATE');
  });

  it('refuses another KMS URI than the configured one', () => {
    expectCode(() => validateKmsCertificate(certificate(), { now: NOW, expectedKmsUri: 'kms.other.example' }), 'ERR_KMS_INVALID_CERTIFICATE');
  });

  it('refuses a revoked certificate', () => {
    expectCode(() => validateKmsCertificate(certificate({ revoked: true }), { now: NOW }), 'ERR_KMS_CERTIFICATE_REVOKED');
  });

  it('refuses an expired or not yet valid certificate', () => {
    expectCode(() => validateKmsCertificate(certificate({ validTo: kmsDateTime(NOW - DAY) }), { now: NOW }), 'ERR_KMS_CERTIFICATE_EXPIRED');
    expectCode(() => validateKmsCertificate(certificate(), { now: NOW + 101 * DAY }), 'ERR_KMS_CERTIFICATE_EXPIRED');
    expectCode(() => validateKmsCertificate(certificate({ validFrom: kmsDateTime(NOW + DAY) }), { now: NOW }), 'ERR_KMS_CERTIFICATE_EXPIRED');
  });

  it('refuses key periods that make no sense', () => {
    expectCode(() => validateKmsCertificate(certificate({ userKeyPeriod: 0 }), { now: NOW }), 'ERR_KMS_INVALID_CERTIFICATE');
    expectCode(() => validateKmsCertificate(certificate({ userKeyOffset: -1 }), { now: NOW }), 'ERR_KMS_INVALID_CERTIFICATE');
  });

  it('refuses public keys that are not valid points', () => {
    const zOrder2 = new Uint8Array(257);
    zOrder2[0] = 0x04; // (0, 0) lies on y² = x³ − 3x but has order 2
    const kpakZero = new Uint8Array(65);
    kpakZero[0] = 0x04;
    for (const pubEncKey of [flip(Z), zOrder2, Z.subarray(0, 129), hexToBytes('029A2F')]) {
      expectCode(() => validateKmsCertificate(certificate({ pubEncKey }), { now: NOW }), 'ERR_KMS_INVALID_CERTIFICATE');
    }
    for (const pubAuthKey of [flip(KPAK), kpakZero, Uint8Array.of(0x02, ...KPAK.subarray(1, 33))]) {
      expectCode(() => validateKmsCertificate(certificate({ pubAuthKey }), { now: NOW }), 'ERR_KMS_INVALID_CERTIFICATE');
    }
  });
});

describe('validateKeySet (D.3.2.2, F.2.1)', () => {
  it('accepts the key sets of the current and another period, for users and servers', () => {
    const v = validate(keySet(ALICE, CURRENT));
    const keys = issue(ALICE, CURRENT);
    expect(v.identity).toBe(ALICE);
    expect(v.keyPeriodNo).toBe(CURRENT);
    expect(bytesToHex(v.uid)).toBe(bytesToHex(uidOf(ALICE, KMS, CURRENT)));
    expect(bytesToHex(v.rsk)).toBe(bytesToHex(keys.rsk));
    expect(bytesToHex(v.ssk)).toBe(bytesToHex(keys.ssk));
    expect(bytesToHex(v.pvt)).toBe(bytesToHex(keys.pvt));
    expect(v.validFrom).toBe(periodStart(CURRENT));
    expect(v.validTo).toBe(periodEndUnixMs(KMS, CURRENT));
    expect(Object.isFrozen(v)).toBe(true);

    const gms = 'sip:gms@mcptt.example';
    expect(validate(keySet(gms, CURRENT - 3), gms).keyPeriodNo).toBe(CURRENT - 3);
  });

  it('derives the validity from the period when ValidFrom/ValidTo are absent, and reads a lower-case UserID', () => {
    const ks = keySet(ALICE, CURRENT, { validFrom: undefined, validTo: undefined });
    const v = validate({ ...ks, userId: ks.userId.toLowerCase() });
    expect(v.validFrom).toBe(periodStart(CURRENT));
    expect(v.validTo).toBe(periodEndUnixMs(KMS, CURRENT));
  });

  it('refuses a key set for another identity (UserUri)', () => {
    expectCode(() => validate(keySet(BOB, CURRENT)), 'ERR_KMS_WRONG_IDENTITY');
  });

  it('refuses a UserID that is not our UID for that period', () => {
    const bobUid = bytesToHex(uidOf(BOB, KMS, CURRENT));
    const nextUid = bytesToHex(uidOf(ALICE, KMS, CURRENT + 1));
    for (const userId of [bobUid, nextUid, 'not-hex', bytesToHex(uidOf(ALICE, KMS, CURRENT)).slice(2)]) {
      expectCode(() => validate(keySet(ALICE, CURRENT, { userId })), 'ERR_KMS_WRONG_IDENTITY');
    }
  });

  it("refuses another identity's keys under our labels", () => {
    const bob = issue(BOB, CURRENT);
    expectCode(
      () => validate(keySet(ALICE, CURRENT, { userDecryptKey: bob.rsk, userSigningKeySSK: bob.ssk, userPubTokenPVT: bob.pvt })),
      'ERR_KMS_INVALID_KEY_SET',
      /SSK\/PVT/,
    );
  });

  it('refuses a tampered or mismatched RSK', () => {
    const ks = keySet(ALICE, CURRENT);
    expectCode(() => validate({ ...ks, userDecryptKey: flip(ks.userDecryptKey) }), 'ERR_KMS_INVALID_KEY_SET', /RSK/);
    // A valid point, but the RSK of another period: the pairing check catches it.
    expectCode(() => validate({ ...ks, userDecryptKey: issue(ALICE, CURRENT - 3).rsk }), 'ERR_KMS_INVALID_KEY_SET', /RSK/);
  });

  it('refuses a tampered SSK or PVT', () => {
    const ks = keySet(ALICE, CURRENT);
    expectCode(() => validate({ ...ks, userSigningKeySSK: flip(ks.userSigningKeySSK) }), 'ERR_KMS_INVALID_KEY_SET', /SSK\/PVT/);
    expectCode(() => validate({ ...ks, userPubTokenPVT: flip(ks.userPubTokenPVT) }), 'ERR_KMS_INVALID_KEY_SET', /SSK\/PVT/);
    expectCode(() => validate({ ...ks, userPubTokenPVT: issue(ALICE, CURRENT - 3).pvt }), 'ERR_KMS_INVALID_KEY_SET', /SSK\/PVT/);
  });

  it('refuses key material of the wrong length', () => {
    const ks = keySet(ALICE, CURRENT);
    expectCode(() => validate({ ...ks, userDecryptKey: ks.userDecryptKey.subarray(1) }), 'ERR_KMS_INVALID_KEY_SET');
    expectCode(() => validate({ ...ks, userSigningKeySSK: new Uint8Array(33) }), 'ERR_KMS_INVALID_KEY_SET');
  });

  it('refuses a revoked key set', () => {
    expectCode(() => validate(keySet(ALICE, CURRENT, { revoked: true })), 'ERR_KMS_INVALID_KEY_SET');
  });

  it('refuses a KeyPeriodNo inconsistent with ValidFrom', () => {
    // Keys and UID genuinely of CURRENT, but ValidFrom in the next period.
    expectCode(() => validate(keySet(ALICE, CURRENT, { validFrom: kmsDateTime(periodStart(CURRENT + 1)) })), 'ERR_KMS_INVALID_KEY_SET', /KeyPeriodNo/);
    expectCode(() => validate(keySet(ALICE, CURRENT, { validFrom: kmsDateTime(periodStart(CURRENT) - 1000) })), 'ERR_KMS_INVALID_KEY_SET', /KeyPeriodNo/);
    expectCode(() => validate(keySet(ALICE, CURRENT, { validTo: kmsDateTime(periodStart(CURRENT)) })), 'ERR_KMS_INVALID_KEY_SET', /ValidTo/);
  });

  it('refuses a key set of another KMS or certificate, or outside the certificate validity', () => {
    expectCode(() => validate(keySet(ALICE, CURRENT, { kmsUri: 'kms.other.example' })), 'ERR_KMS_INVALID_KEY_SET');
    expectCode(() => validate(keySet(ALICE, CURRENT, { certUri: 'cert2.kms.other.example' })), 'ERR_KMS_INVALID_KEY_SET');
    expectCode(() => validate(keySet(ALICE, CURRENT - 200)), 'ERR_KMS_INVALID_KEY_SET', /validity/);
  });

  it('refuses everything once the certificate has expired', () => {
    expectCode(() => validate(keySet(ALICE, CURRENT), ALICE, NOW + 200 * DAY), 'ERR_KMS_CERTIFICATE_EXPIRED');
  });

  it('reports misuse as TypeError', () => {
    expect(() => validateKeySet(keySet(ALICE, CURRENT), { kms: KMS, identity: '', now: NOW })).toThrow(TypeError);
    expect(() => validateKmsCertificate(certificate(), { now: Number.NaN })).toThrow(TypeError);
  });
});
