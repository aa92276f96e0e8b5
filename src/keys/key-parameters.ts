/**
 * Parameters that travel with a key inside its I_MESSAGE, in the two formats met in practice:
 * - `ts33180`: General Extension type 7, AES-128-GCM under the DPCK = 128 LSBs of
 *   KDF(key, FC 0x53, P0 = CSB ID) (TS 33.180 E.6 successor of TS 33.179 E.6). Every
 *   published interop message uses it (docs/mikey.md). It carries a Status field.
 * - `ts33179-v13`: TS 33.179 V13 E.6, General Extension type 0 (Vendor ID), AES-128-CBC
 *   under the GMK. No Status field: v13 revokes with a GMK "consisting of zero bytes",
 *   which SAKKE (always 16 octets) can only carry as sixteen 0x00 octets.
 * Both are reduced to one `KeyParameterInfo` so that the receive path has one set of rules.
 */
import { kdf33220 } from '../crypto/index.js';
import {
  decodeKeyParametersExtension,
  decryptGmkParameters,
  decryptKeyParameters,
  encryptGmkParameters,
  encryptKeyParameters,
  GENERAL_EXTENSION_TYPE,
  gmkParametersExtension,
  keyParametersExtension,
  KEY_PARAMETER_STATUS,
  type GeneralExtensionPayload,
} from '../codec/mikey/index.js';
import { MikeyError } from '../errors.js';
import { u32be } from '../util/bytes.js';
import { ntpSecondsOfUnixMs, unixMsOfNtpSeconds } from './identity.js';
import type { KeyProfileName } from './purpose.js';

const FC_DPCK = 0x53;
const NTP_FRACTION_BITS = 32n;

export interface KeyParameterInfo {
  readonly format: 'ts33180' | 'ts33180-legacy' | 'ts33179-v13';
  /** TS 33.180 key type (0 GMK, 1 PCK, 2 CSK, …), when the format carries one. */
  readonly keyType: number | undefined;
  /** The Status field as sent (TS 33.180 formats only). */
  readonly rawStatus: number | undefined;
  readonly revoked: boolean;
  /** MCPTT group IDs the key belongs to. */
  readonly groupIds: readonly string[];
  /** Unix ms from which the key is to be used for sending; undefined = from the message time. */
  readonly activationTime: number | undefined;
  /** Unix ms after which the key is not to be used; undefined = no expiry. */
  readonly expiryTime: number | undefined;
  readonly text: string;
}

/** How a TS 33.180 Status value reads: true = the key is in force. */
export type KeyStatusReading = (status: number) => boolean;

/**
 * Default reading: bit 0 set = not revoked, as Streamwide and wolfSSL read TS 33.180 E.6.
 * Alea sends 0 for keys it means to be active; deployments talking to such a peer configure
 * another reading. Failing closed here means an unexpected 0 revokes rather than activates.
 */
export const NOT_REVOKED_BIT_READING: KeyStatusReading = (s) => (s & KEY_PARAMETER_STATUS.NOT_REVOKED) !== 0;

const text = (b: Uint8Array): string => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch (e) {
    throw new MikeyError('ERR_MIKEY_BAD_GMK_PARAMETERS', 'key parameters: text is not valid UTF-8', { cause: e });
  }
};

/** The DPCK that protects TS 33.180 key parameters (16 octets). */
export function dpckOf(key: Uint8Array, csbId: number): Uint8Array {
  return kdf33220(key, FC_DPCK, [u32be(csbId)]).slice(16);
}

/**
 * Finds and opens the key parameters of a message. Returns undefined when there are none;
 * throws `ERR_MIKEY_BAD_GMK_PARAMETERS` when they are present but do not open or parse,
 * or when there is more than one (which one would the sender mean?).
 */
export async function openKeyParameters(
  extensions: readonly GeneralExtensionPayload[],
  key: Uint8Array,
  csbId: number,
  profile: KeyProfileName,
  isActive: KeyStatusReading,
): Promise<KeyParameterInfo | undefined> {
  const type = profile === 'ts33180' ? GENERAL_EXTENSION_TYPE.KEY_PARAMETERS : GENERAL_EXTENSION_TYPE.VENDOR_ID;
  const found = extensions.filter((e) => e.type === type);
  if (found.length === 0) return undefined;
  if (found.length > 1) throw new MikeyError('ERR_MIKEY_BAD_GMK_PARAMETERS', `key parameters: ${found.length} extensions of type ${type}`);
  const ext = found[0]!;
  if (profile === 'ts33179-v13') {
    const p = await decryptGmkParameters(ext.data, key);
    const ntp = Number(p.activationTime >> NTP_FRACTION_BITS);
    return {
      format: 'ts33179-v13',
      keyType: undefined,
      rawStatus: undefined,
      revoked: key.every((b) => b === 0),
      groupIds: [p.groupId],
      activationTime: ntp === 0 ? undefined : unixMsOfNtpSeconds(ntp),
      expiryTime: undefined,
      text: p.text,
    };
  }
  const decoded = decodeKeyParametersExtension(ext.data);
  let legacy = false;
  let p;
  if (decoded.format === 'protected') {
    if (decoded.container.dppkId !== csbId) {
      throw new MikeyError('ERR_MIKEY_BAD_GMK_PARAMETERS', 'key parameters: DPPK-ID is not the CSB ID of the message');
    }
    p = await decryptKeyParameters(decoded.container, dpckOf(key, csbId));
  } else {
    // Streamwide ≤ 1.1.x sent the plaintext in clear (covered by the signature only) and
    // counted key types from 1.
    legacy = true;
    p = decoded.params;
  }
  const seconds = (v: number): number | undefined => (v === 0 ? undefined : v * 1000);
  return {
    format: legacy ? 'ts33180-legacy' : 'ts33180',
    keyType: legacy ? p.keyType - 1 : p.keyType,
    rawStatus: p.status,
    revoked: !isActive(p.status),
    groupIds: p.groupIds.map((g) => text(g.value)),
    activationTime: seconds(p.activationTime),
    expiryTime: seconds(p.expiryTime),
    text: text(p.text),
  };
}

export interface KeyParameterInput {
  readonly keyType: number;
  readonly groupIds?: readonly string[];
  /** Unix ms; undefined = from the message time. */
  readonly activationTime?: number;
  readonly expiryTime?: number;
  readonly text?: string;
  readonly revoked?: boolean;
}

/** TS 24.282 IEI of an MC group ID, as in the published Alea message. */
const GROUP_ID_IEI = 0x7b;

/** Builds the key parameters extension of `profile` for a key being sent. */
export async function sealKeyParameters(
  input: KeyParameterInput,
  key: Uint8Array,
  csbId: number,
  profile: KeyProfileName,
  random?: (n: number) => Uint8Array,
): Promise<GeneralExtensionPayload> {
  const enc = new TextEncoder();
  if (profile === 'ts33179-v13') {
    const groupId = input.groupIds?.[0];
    if (groupId === undefined || (input.groupIds?.length ?? 0) > 1) throw new RangeError('TS 33.179 v13 key parameters carry exactly one group ID');
    const ntp = input.activationTime === undefined ? 0n : BigInt(ntpSecondsOfUnixMs(input.activationTime)) << NTP_FRACTION_BITS;
    const data = await encryptGmkParameters({ groupId, activationTime: ntp, text: input.text ?? '', reserved: new Uint8Array(2) }, key, random ? { random } : {});
    return gmkParametersExtension(data);
  }
  const secs = (ms: number | undefined): number => (ms === undefined ? 0 : Math.floor(ms / 1000));
  const data = await encryptKeyParameters(
    {
      keyType: input.keyType,
      status: input.revoked ? 0 : KEY_PARAMETER_STATUS.NOT_REVOKED,
      activationTime: secs(input.activationTime),
      expiryTime: secs(input.expiryTime),
      text: enc.encode(input.text ?? ''),
      groupIds: (input.groupIds ?? []).map((g) => ({ iei: GROUP_ID_IEI, value: enc.encode(g) })),
      hasGroupIdsElement: true,
    },
    { dpck: dpckOf(key, csbId), dppkId: csbId, ...(random ? { iv: random(16) } : {}) },
  );
  return keyParametersExtension(data);
}
