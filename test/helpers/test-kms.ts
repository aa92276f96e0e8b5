/**
 * A tiny in-test KMS: master secrets from fixed seeds, and key material issued per identity
 * and period with the SDK's own KMS-side functions. Unit tests only (the dev KMS server of
 * the login issue does the same over HTTP).
 */
import { eccsiDeriveKpak, eccsiIssueSigningKey, sakkeDerivePublicKey, sakkeIssueReceiverKey } from '../../src/crypto/index.js';
import { periodAt, staticIdentity, uidOf, ntpSecondsOfUnixMs, type KmsPublicParameters, type LocalIdentity, type PeriodKeys } from '../../src/keys/identity.js';
import { hexToBytes } from '../../src/util/bytes.js';

export interface TestKms {
  readonly params: KmsPublicParameters;
  issue(uri: string, periodNo: number): PeriodKeys;
  identity(uri: string, periods: readonly number[]): LocalIdentity;
  periodAt(unixMs: number): number;
}

export function createTestKms(kmsUri = 'kms.test.example', seed = 1): TestKms {
  const zS = hexToBytes((0x1234567n * BigInt(seed) + 0xabcdef0123n).toString(16).padStart(40, '0'));
  const ksak = hexToBytes((0x7654321n * BigInt(seed) + 0x1fedcba98n).toString(16).padStart(64, '0'));
  const params: KmsPublicParameters = {
    kmsUri,
    z: sakkeDerivePublicKey(zS),
    kpak: eccsiDeriveKpak(ksak),
    userKeyPeriod: 2592000, // 30 days
    userKeyOffset: 0,
  };
  const cache = new Map<string, PeriodKeys>();
  const issue = (uri: string, periodNo: number): PeriodKeys => {
    const k = `${uri}|${periodNo}`;
    let keys = cache.get(k);
    if (keys === undefined) {
      const uid = uidOf(uri, params, periodNo);
      const { ssk, pvt } = eccsiIssueSigningKey({ ksak, id: uid, v: hexToBytes('0c0ffee0' + periodNo.toString(16).padStart(8, '0')) });
      keys = { keyPeriodNo: periodNo, uid, rsk: sakkeIssueReceiverKey({ zS, id: uid }), ssk, pvt };
      cache.set(k, keys);
    }
    return keys;
  };
  return {
    params,
    issue,
    identity: (uri, periods) => staticIdentity(uri, params, periods.map((n) => issue(uri, n))),
    periodAt: (unixMs) => periodAt(params, ntpSecondsOfUnixMs(unixMs)),
  };
}
