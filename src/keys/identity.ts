/**
 * Identities and key periods (TS 33.179 7.2, F.2.1; Annex D UserKeyPeriod/UserKeyOffset).
 *
 * A party to MIKEY-SAKKE (user, GMS, MCPTT domain) holds, per key period, a UID and the
 * RSK/SSK/PVT the KMS issued for it. The period in force for a message is found from the
 * time in its T payload: period number = floor((NTP seconds − offset) / period).
 * These are plain data shapes and pure helpers; the key store (login/KMS issue) supplies them.
 */
import { keyPeriodNo, mikeySakkeUid, NTP_UNIX_OFFSET } from '../crypto/index.js';

/** What a KMS publishes (its certificate): enough to verify and to encrypt to its users. */
export interface KmsPublicParameters {
  readonly kmsUri: string;
  /** SAKKE public key Z_S (257 bytes). */
  readonly z: Uint8Array;
  /** ECCSI public authentication key KPAK (65 bytes). */
  readonly kpak: Uint8Array;
  /** UserKeyPeriod, seconds. */
  readonly userKeyPeriod: number;
  /** UserKeyOffset, seconds. */
  readonly userKeyOffset: number;
}

/** The private key material of one identity for one key period. */
export interface PeriodKeys {
  readonly keyPeriodNo: number;
  readonly uid: Uint8Array;
  /** SAKKE receiver secret key (257 bytes). */
  readonly rsk: Uint8Array;
  /** ECCSI secret signing key (32 bytes) and public validation token (65 bytes). */
  readonly ssk: Uint8Array;
  readonly pvt: Uint8Array;
}

/** A party of this process: its identifier, its KMS and a lookup of its keys by period. */
export interface LocalIdentity {
  /** The identifier the UID is made from: an MCPTT ID, the GMS URI or the MDSI. */
  readonly uri: string;
  readonly kms: KmsPublicParameters;
  keysForPeriod(keyPeriodNo: number): PeriodKeys | undefined;
}

export function ntpSecondsOfUnixMs(unixMs: number): number {
  return Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET;
}

export function unixMsOfNtpSeconds(ntpSeconds: number): number {
  return (ntpSeconds - NTP_UNIX_OFFSET) * 1000;
}

/** The key period number in force at `ntpSeconds` for identities of `kms`. */
export function periodAt(kms: KmsPublicParameters, ntpSeconds: number): number {
  return keyPeriodNo({ ntpSeconds, keyPeriod: kms.userKeyPeriod, keyPeriodOffset: kms.userKeyOffset });
}

/** Unix ms at which key period `periodNo` of `kms` ends. */
export function periodEndUnixMs(kms: KmsPublicParameters, periodNo: number): number {
  return unixMsOfNtpSeconds((periodNo + 1) * kms.userKeyPeriod + kms.userKeyOffset);
}

/** The UID of `uri` under `kms` for period `periodNo` (TS 33.179 F.2.1). */
export function uidOf(uri: string, kms: KmsPublicParameters, periodNo: number): Uint8Array {
  return mikeySakkeUid({ identifier: uri, kmsUri: kms.kmsUri, keyPeriod: kms.userKeyPeriod, keyPeriodOffset: kms.userKeyOffset, keyPeriodNo: periodNo });
}

/** A `LocalIdentity` over a fixed list of period keys (tests, tools, the dev servers). */
export function staticIdentity(uri: string, kms: KmsPublicParameters, keys: readonly PeriodKeys[]): LocalIdentity {
  const byPeriod = new Map(keys.map((k) => [k.keyPeriodNo, k]));
  return { uri, kms, keysForPeriod: (n) => byPeriod.get(n) };
}
