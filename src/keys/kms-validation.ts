/**
 * What a key management client must check before it uses anything a KMS sent
 * (TS 33.179 7.2.4, Annex D.3.1.2 KmsCertificate, D.3.1.3 User IDs, D.3.2.2 KmsKeySet, F.2.1).
 *
 * The codec (src/codec/kms) surfaces the fields as written; this module judges them:
 *   certificate: UserIdFormat '2' (the F.2.1 UID), parameter set 1 (RFC 6509), not revoked,
 *     inside its validity, the expected KmsUri, Z a point of order q of the SAKKE curve and
 *     KPAK a point of P-256;
 *   key set: issued by that KMS, for the identity we asked for, under the UID that identity
 *     has in the stated period, with KeyPeriodNo matching ValidFrom, and keys that pass
 *     RFC 6508 6.1.2 (RSK) and RFC 6507 5.1.2 (SSK, PVT).
 * Either all of it holds and a frozen copy comes back, or a `KmsError` is thrown: a caller
 * never holds a half-checked value. Pure: the clock is a parameter.
 */
import { p256 } from '@noble/curves/nist.js';
import type { KmsCertificate, KmsKeySet } from '../codec/kms/types.js';
import { eccsiValidateSigningKey, sakkeValidateReceiverKey, type IdentityCrypto } from '../crypto/index.js';
import { decodePoint, isInSubgroup } from '../crypto/sakke/curve.js';
import { KmsError, type KmsErrorCode } from '../errors.js';
import { bytesToHex } from '../util/bytes.js';
import { ntpSecondsOfUnixMs, periodAt, periodEndUnixMs, uidOf, unixMsOfNtpSeconds } from './identity.js';
import type { KmsPublicParameters, PeriodKeys } from './identity.js';

/** A KMS certificate that passed `validateKmsCertificate`. Times are Unix ms. */
export interface ValidatedKmsCertificate extends KmsPublicParameters {
  /** ValidFrom, or undefined when the certificate states none. */
  readonly validFrom: number | undefined;
  /** ValidTo, or undefined when the certificate states none. */
  readonly validTo: number | undefined;
  readonly certUri: string | undefined;
}

/** A key set that passed `validateKeySet`. Times are Unix ms. */
export interface ValidatedKeySet extends PeriodKeys {
  /** ValidFrom as stated, or the start of the key period when absent. */
  readonly validFrom: number;
  /** ValidTo as stated, or the end of the key period when absent. */
  readonly validTo: number;
  /** The identity (MCPTT ID, GMS URI, …) the keys belong to: the key set's UserUri. */
  readonly identity: string;
}

export interface ValidateKmsCertificateOptions {
  /** Unix ms. */
  readonly now: number;
  /** The KMS URI the client is configured for; the certificate must name exactly it. */
  readonly expectedKmsUri?: string;
}

export interface ValidateKeySetOptions {
  readonly kms: ValidatedKmsCertificate;
  /** The identity the key set was requested for. */
  readonly identity: string;
  /** Unix ms. */
  readonly now: number;
}

/** Octet lengths of parameter set 1 (RFC 6509): RSK and Z on the SAKKE curve, PVT and KPAK on P-256. */
const SAKKE_POINT_BYTES = 257;
const ECCSI_POINT_BYTES = 65;
const SSK_BYTES = 32;
const UID_BYTES = 32;

function fail(code: KmsErrorCode, message: string, cause?: unknown): never {
  throw new KmsError(code, message, cause === undefined ? undefined : { cause });
}

function checkNow(now: unknown): number {
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError('now must be a finite number (Unix ms)');
  return now;
}

/** The SAKKE public key: an encoded point of the parameter-set-1 curve, of order q (RFC 6508 2.2). */
function checkZ(z: Uint8Array): void {
  if (z.length !== SAKKE_POINT_BYTES) fail('ERR_KMS_INVALID_CERTIFICATE', 'PubEncKey is not a 257-octet point');
  let ok: boolean;
  try {
    ok = isInSubgroup(decodePoint(z, 'PubEncKey'));
  } catch (cause) {
    return fail('ERR_KMS_INVALID_CERTIFICATE', 'PubEncKey is not a point of the SAKKE curve', cause);
  }
  // A point outside the order-q subgroup would let a sender's SSV leak through small-subgroup tricks.
  if (!ok) fail('ERR_KMS_INVALID_CERTIFICATE', 'PubEncKey is not of order q');
}

/** KPAK: an uncompressed P-256 point other than infinity (RFC 6507 5.1.2 needs it on E). */
function checkKpak(kpak: Uint8Array): void {
  if (kpak.length !== ECCSI_POINT_BYTES || kpak[0] !== 0x04) fail('ERR_KMS_INVALID_CERTIFICATE', 'PubAuthKey is not an uncompressed P-256 point');
  try {
    p256.Point.fromBytes(kpak).assertValidity();
  } catch (cause) {
    fail('ERR_KMS_INVALID_CERTIFICATE', 'PubAuthKey is not a point of P-256', cause);
  }
}

/**
 * Check a KMS certificate (D.3.1.2) and return its public parameters. Throws `KmsError`:
 * ERR_KMS_INVALID_CERTIFICATE (format, parameter set, KmsUri, key periods, public keys),
 * ERR_KMS_CERTIFICATE_REVOKED, ERR_KMS_CERTIFICATE_EXPIRED (also when not yet valid).
 */
export function validateKmsCertificate(cert: KmsCertificate, opts: ValidateKmsCertificateOptions): ValidatedKmsCertificate {
  if (typeof cert !== 'object' || cert === null) throw new TypeError('certificate must be an object');
  const now = checkNow(opts?.now);
  if (opts.expectedKmsUri !== undefined && (typeof opts.expectedKmsUri !== 'string' || opts.expectedKmsUri === '')) {
    throw new TypeError('expectedKmsUri must be a non-empty string');
  }
  // D.3.1.3: only format 2 names the F.2.1 UID we compute; another would make every UID wrong.
  if (typeof cert.userIdFormat !== 'string' || cert.userIdFormat.trim() !== '2') {
    fail('ERR_KMS_INVALID_CERTIFICATE', 'UserIdFormat is not 2 (TS 33.179 F.2.1)');
  }
  // ParameterSet is optional; RFC 6509 defines only set 1, which an absent value therefore means.
  if (cert.parameterSet !== undefined && cert.parameterSet !== 1) fail('ERR_KMS_INVALID_CERTIFICATE', 'ParameterSet is not 1');
  if (typeof cert.kmsUri !== 'string' || cert.kmsUri === '') fail('ERR_KMS_INVALID_CERTIFICATE', 'KmsUri is empty');
  if (opts.expectedKmsUri !== undefined && cert.kmsUri !== opts.expectedKmsUri) {
    fail('ERR_KMS_INVALID_CERTIFICATE', 'KmsUri is not the configured KMS');
  }
  if (!Number.isSafeInteger(cert.userKeyPeriod) || cert.userKeyPeriod <= 0) fail('ERR_KMS_INVALID_CERTIFICATE', 'UserKeyPeriod must be a positive integer');
  if (!Number.isSafeInteger(cert.userKeyOffset) || cert.userKeyOffset < 0) fail('ERR_KMS_INVALID_CERTIFICATE', 'UserKeyOffset must be a non-negative integer');
  if (cert.revoked === true) fail('ERR_KMS_CERTIFICATE_REVOKED', 'KMS certificate is revoked');
  const validFrom = cert.validFrom?.epochMs;
  const validTo = cert.validTo?.epochMs;
  if (validFrom !== undefined && validTo !== undefined && validTo <= validFrom) {
    fail('ERR_KMS_INVALID_CERTIFICATE', 'KMS certificate ValidTo is not after ValidFrom');
  }
  if (validFrom !== undefined && now < validFrom) fail('ERR_KMS_CERTIFICATE_EXPIRED', 'KMS certificate is not yet valid');
  if (validTo !== undefined && now >= validTo) fail('ERR_KMS_CERTIFICATE_EXPIRED', 'KMS certificate has expired');
  if (!(cert.pubEncKey instanceof Uint8Array) || !(cert.pubAuthKey instanceof Uint8Array)) {
    throw new TypeError('pubEncKey and pubAuthKey must be Uint8Arrays');
  }
  // The costly checks last, so cheap refusals stay cheap.
  checkKpak(cert.pubAuthKey);
  checkZ(cert.pubEncKey);
  return Object.freeze({
    kmsUri: cert.kmsUri,
    z: Uint8Array.from(cert.pubEncKey),
    kpak: Uint8Array.from(cert.pubAuthKey),
    userKeyPeriod: cert.userKeyPeriod,
    userKeyOffset: cert.userKeyOffset,
    validFrom,
    validTo,
    certUri: cert.certUri,
  });
}

/** `UserID` as the examples write it: hexBinary of the 32-octet UID (either case, outer blanks ignored). */
function readUid(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (!/^[0-9A-Fa-f]+$/.test(t) || t.length !== 2 * UID_BYTES) return undefined;
  const out = new Uint8Array(UID_BYTES);
  for (let i = 0; i < UID_BYTES; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function startOfPeriodMs(kms: KmsPublicParameters, periodNo: number): number {
  return unixMsOfNtpSeconds(periodNo * kms.userKeyPeriod + kms.userKeyOffset);
}

/** The period in force at a Unix instant; undefined before the key period offset. */
function periodOfUnixMs(kms: KmsPublicParameters, unixMs: number): number | undefined {
  try {
    return periodAt(kms, ntpSecondsOfUnixMs(unixMs));
  } catch {
    return undefined;
  }
}

/** Every check of `validateKeySet` but the RSK pairing (RFC 6508 6.1.2); the result is not frozen yet. */
function checkKeySetUpToPairing(keySet: KmsKeySet, opts: ValidateKeySetOptions): ValidatedKeySet {
  if (typeof keySet !== 'object' || keySet === null) throw new TypeError('keySet must be an object');
  const { kms, identity } = opts ?? ({} as ValidateKeySetOptions);
  const now = checkNow(opts?.now);
  if (typeof kms !== 'object' || kms === null) throw new TypeError('kms must be a validated KMS certificate');
  if (typeof identity !== 'string' || identity === '') throw new TypeError('identity must be a non-empty string');

  if (kms.validTo !== undefined && now >= kms.validTo) fail('ERR_KMS_CERTIFICATE_EXPIRED', 'KMS certificate has expired');
  if (keySet.revoked === true) fail('ERR_KMS_INVALID_KEY_SET', 'key set is revoked');
  if (keySet.kmsUri !== kms.kmsUri) fail('ERR_KMS_INVALID_KEY_SET', 'key set was issued by another KMS');
  if (keySet.certUri !== undefined && kms.certUri !== undefined && keySet.certUri !== kms.certUri) {
    fail('ERR_KMS_INVALID_KEY_SET', 'key set names another KMS certificate');
  }
  if (keySet.userUri !== identity) fail('ERR_KMS_WRONG_IDENTITY', 'key set is for another identity');

  const periodNo = keySet.keyPeriodNo;
  if (!Number.isSafeInteger(periodNo) || periodNo < 0) fail('ERR_KMS_INVALID_KEY_SET', 'KeyPeriodNo must be a non-negative integer');
  const periodStart = startOfPeriodMs(kms, periodNo);
  const periodEnd = periodEndUnixMs(kms, periodNo);
  const validFrom = keySet.validFrom?.epochMs ?? periodStart;
  const validTo = keySet.validTo?.epochMs ?? periodEnd;
  // The period of ValidFrom under the certificate's UserKeyPeriod/Offset must be KeyPeriodNo:
  // otherwise the KMS and we disagree on the period, hence on the UID, and nothing would work.
  if (keySet.validFrom !== undefined && periodOfUnixMs(kms, validFrom) !== periodNo) {
    fail('ERR_KMS_INVALID_KEY_SET', 'KeyPeriodNo does not match ValidFrom');
  }
  if (validTo <= validFrom) fail('ERR_KMS_INVALID_KEY_SET', 'key set ValidTo is not after ValidFrom');
  if ((kms.validFrom !== undefined && periodEnd <= kms.validFrom) || (kms.validTo !== undefined && periodStart >= kms.validTo)) {
    fail('ERR_KMS_INVALID_KEY_SET', 'key period lies outside the KMS certificate validity');
  }

  const uid = uidOf(identity, kms, periodNo);
  const stated = typeof keySet.userId === 'string' ? readUid(keySet.userId) : undefined;
  if (stated === undefined || bytesToHex(stated) !== bytesToHex(uid)) {
    fail('ERR_KMS_WRONG_IDENTITY', 'UserID is not the UID of the identity for this period');
  }

  const rsk = keySet.userDecryptKey;
  const ssk = keySet.userSigningKeySSK;
  const pvt = keySet.userPubTokenPVT;
  if (!(rsk instanceof Uint8Array) || !(ssk instanceof Uint8Array) || !(pvt instanceof Uint8Array)) {
    throw new TypeError('key material must be Uint8Arrays');
  }
  if (rsk.length !== SAKKE_POINT_BYTES || ssk.length !== SSK_BYTES || pvt.length !== ECCSI_POINT_BYTES) {
    fail('ERR_KMS_INVALID_KEY_SET', 'key material has the wrong length for parameter set 1');
  }
  let eccsiOk: boolean;
  try {
    eccsiOk = eccsiValidateSigningKey({ id: uid, kpak: kms.kpak, ssk, pvt });
  } catch (cause) {
    return fail('ERR_KMS_INVALID_KEY_SET', 'SSK/PVT are malformed', cause);
  }
  if (!eccsiOk) fail('ERR_KMS_INVALID_KEY_SET', 'SSK/PVT do not validate (RFC 6507 5.1.2)');
  return {
    keyPeriodNo: periodNo,
    uid,
    rsk: Uint8Array.from(rsk),
    ssk: Uint8Array.from(ssk),
    pvt: Uint8Array.from(pvt),
    validFrom,
    validTo,
    identity,
  };
}

const RSK_INVALID = 'RSK does not validate (RFC 6508 6.1.2)';

/**
 * Check a key set (D.3.2.2) against the validated certificate of its KMS and the identity it
 * was requested for. Throws `KmsError`: ERR_KMS_WRONG_IDENTITY (UserUri or UserID not ours),
 * ERR_KMS_INVALID_KEY_SET (revoked, other KMS, period inconsistent, keys that do not validate),
 * ERR_KMS_CERTIFICATE_EXPIRED (the certificate no longer valid at `now`).
 */
export function validateKeySet(keySet: KmsKeySet, opts: ValidateKeySetOptions): ValidatedKeySet {
  const checked = checkKeySetUpToPairing(keySet, opts);
  // The pairing check is the costly one (tens of ms): done last.
  let sakkeOk: boolean;
  try {
    sakkeOk = sakkeValidateReceiverKey({ id: checked.uid, z: opts.kms.z, rsk: checked.rsk });
  } catch (cause) {
    return fail('ERR_KMS_INVALID_KEY_SET', 'RSK is malformed', cause);
  }
  if (!sakkeOk) fail('ERR_KMS_INVALID_KEY_SET', RSK_INVALID);
  return Object.freeze(checked);
}

export interface ValidateKeySetAsyncOptions extends ValidateKeySetOptions {
  /** Where the RSK pairing check runs: a crypto worker in browsers; default this thread. */
  readonly identityCrypto?: IdentityCrypto;
}

/**
 * `validateKeySet` with the RSK pairing check (the costly part: a Miller loop, and the first
 * time the tables of P and Z) handed to `identityCrypto`, so that a page's main thread stays
 * free. Same checks, same order, same errors; a worker failure rejects with ERR_CRYPTO_WORKER.
 */
export async function validateKeySetAsync(keySet: KmsKeySet, opts: ValidateKeySetAsyncOptions): Promise<ValidatedKeySet> {
  if (opts?.identityCrypto === undefined) return validateKeySet(keySet, opts);
  const checked = checkKeySetUpToPairing(keySet, opts);
  const sakkeOk = await opts.identityCrypto.sakkeValidateReceiverKey({ id: checked.uid, z: opts.kms.z, rsk: checked.rsk });
  if (!sakkeOk) fail('ERR_KMS_INVALID_KEY_SET', RSK_INVALID);
  return Object.freeze(checked);
}
