/**
 * Security Properties for MIKEY-SAKKE (RFC 3830 §6.10, §6.10.1) and the TS 33.179 default
 * SRTP profiles: Table E.2-1 (GMK, group calls) and Table E.3-1 (PCK, private calls).
 *
 * E.2/E.3 say the defaults apply "where no security profile is provided"; this module
 * only builds and reads parameter lists. Which profile wins is the key-processing layer's
 * decision, since it also knows the purpose of the key.
 */
import { PROT_TYPE, SRTP_AUTH_ALGORITHM, SRTP_ENCRYPTION_ALGORITHM, SRTP_POLICY_PARAM } from './constants.js';
import type { SpParam, SpPayload } from './payloads.js';

/** A parameter with a one-octet value, the shape of every default-profile entry. */
export interface SrtpPolicyValue {
  readonly type: number;
  readonly value: number;
}

/** TS 33.179 Table E.2-1: MIKEY group call SRTP default profile. */
export const GMK_DEFAULT_SRTP_PROFILE: readonly SrtpPolicyValue[] = Object.freeze([
  { type: SRTP_POLICY_PARAM.ENCRYPTION_ALGORITHM, value: SRTP_ENCRYPTION_ALGORITHM.AES_GCM },
  { type: SRTP_POLICY_PARAM.SESSION_ENCRYPTION_KEY_LENGTH, value: 16 },
  { type: SRTP_POLICY_PARAM.AUTHENTICATION_ALGORITHM, value: SRTP_AUTH_ALGORITHM.RCCM3 },
  { type: SRTP_POLICY_PARAM.SESSION_SALT_KEY_LENGTH, value: 12 },
  { type: SRTP_POLICY_PARAM.SRTP_PRF, value: 0 },
  { type: SRTP_POLICY_PARAM.KEY_DERIVATION_RATE, value: 0 },
  { type: SRTP_POLICY_PARAM.ROC_TRANSMISSION_RATE, value: 1 },
  { type: SRTP_POLICY_PARAM.SRTP_AUTH_TAG_LENGTH_RCC, value: 4 },
  { type: SRTP_POLICY_PARAM.SRTCP_AUTH_TAG_LENGTH_RCC, value: 0 },
  { type: SRTP_POLICY_PARAM.AEAD_AUTH_TAG_LENGTH, value: 16 },
].map((p) => Object.freeze(p)));

/** TS 33.179 Table E.3-1: the private call (PCK) default profile. */
export const PCK_DEFAULT_SRTP_PROFILE: readonly SrtpPolicyValue[] = Object.freeze([
  { type: SRTP_POLICY_PARAM.ENCRYPTION_ALGORITHM, value: SRTP_ENCRYPTION_ALGORITHM.AES_GCM },
  { type: SRTP_POLICY_PARAM.SESSION_ENCRYPTION_KEY_LENGTH, value: 16 },
  { type: SRTP_POLICY_PARAM.SESSION_SALT_KEY_LENGTH, value: 12 },
  { type: SRTP_POLICY_PARAM.SRTP_PRF, value: 0 },
  { type: SRTP_POLICY_PARAM.KEY_DERIVATION_RATE, value: 0 },
  { type: SRTP_POLICY_PARAM.AEAD_AUTH_TAG_LENGTH, value: 16 },
].map((p) => Object.freeze(p)));

/** An SRTP SP payload from one-octet values (policy number 0 unless given). */
export function srtpSecurityPolicy(values: readonly SrtpPolicyValue[], policyNo = 0): SpPayload {
  const params: SpParam[] = values.map((p) => ({ type: p.type, value: Uint8Array.of(p.value) }));
  return { kind: 'SP', policyNo, protType: PROT_TYPE.SRTP, params };
}

/**
 * Parameters of an SP payload as type → value. A parameter sent twice keeps its last value;
 * values longer than one octet are read big-endian (RFC 3830 §6.10.1 values fit in one
 * octet today, but the codec must not guess); exact up to 6 octets, where a JS number ends.
 * The raw octets stay in `sp.params` for anything longer.
 */
export function spParamMap(sp: SpPayload): ReadonlyMap<number, number> {
  const m = new Map<number, number>();
  for (const p of sp.params) {
    let v = 0;
    for (const b of p.value) v = v * 256 + b;
    m.set(p.type, v);
  }
  return m;
}
