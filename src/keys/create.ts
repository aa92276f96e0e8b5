/**
 * Creating a key distribution: the I_MESSAGE that carries a GMK from the GMS to one member
 * (TS 33.179 7.3.1, Annex E.2), a PCK from a caller to a callee (7.4.1, E.3) or a CSK from a
 * client to its MCPTT domain (9.1.3, E.4). The dev GMS and the SDK share this code, and the
 * receive path (receive.ts) accepts what it creates.
 *
 *   HDR (CSB ID = GUK-ID | PCK-ID | CSK-ID, GENERIC-ID map) ‖ T (NTP-UTC) ‖ RAND ‖
 *   IDRi|IDRuidi ‖ IDRr|IDRuidr ‖ IDRkmsi ‖ IDRkmsr ‖ [SP] ‖ SAKKE ‖ [GE SAKKE-to-self]
 *   ‖ [GE key parameters] ‖ SIGN (ECCSI over all that precedes the signature value)
 *
 * For a GMK, the caller passes the same RAND for every member: all members then derive the
 * same SRTP master key for a given sender (ARCHITECTURE.md, "Keys").
 */
import { eccsiSign, gukId, sakkeEncapsulate, type IdentityCrypto } from '../crypto/index.js';
import {
  CS_ID_MAP_TYPE,
  DATA_TYPE,
  encodeIMessage,
  GMK_DEFAULT_SRTP_PROFILE,
  ID_ROLE,
  ID_TYPE,
  MIKEY_VERSION,
  ntpUtcTimestamp,
  PCK_DEFAULT_SRTP_PROFILE,
  PRF_FUNC,
  PROT_TYPE,
  SAKKE_ID_SCHEME,
  SAKKE_PARAMS,
  sakkeToSelfExtension,
  srtpSecurityPolicy,
  type GenericIdEntry,
  type IdrPayload,
  type MikeyPayload,
  type SakkePayload,
} from '../codec/mikey/index.js';
import { MikeyError } from '../errors.js';
import { bytesOf, concatBytes, readU32be, utf8 } from '../util/bytes.js';
import { ntpSecondsOfUnixMs, periodAt, uidOf, type KmsPublicParameters, type LocalIdentity } from './identity.js';
import { sealKeyParameters } from './key-parameters.js';
import { checkPurpose, keyProfile, type KeyProfileName } from './purpose.js';
import type { DistributedKeyKind } from './receive.js';

export interface KeyDistributionRecipient {
  /** MCPTT ID of the member or callee, or the MDSI for a CSK. */
  readonly uri: string;
  readonly kms: KmsPublicParameters;
}

export interface KeyDistributionInput {
  readonly kind: DistributedKeyKind;
  /** The GMK, PCK or CSK (16 octets). */
  readonly key: Uint8Array;
  /** GMK-ID, PCK-ID or CSK-ID (4 octets, with the purpose tag of the profile). */
  readonly keyId: Uint8Array;
  /** RAND (16 octets); one per GMK, reused for every member. */
  readonly rand: Uint8Array;
  readonly from: LocalIdentity;
  readonly to: KeyDistributionRecipient;
  /** Unix ms for the T payload; it selects both parties' key periods. */
  readonly time: number;
  readonly profile?: KeyProfileName;
  /** Send UIDs instead of URIs (IDRuidi/IDRuidr, E.7). Default false. */
  readonly hideIdentities?: boolean;
  /** Add a SAKKE-to-self copy for the sender's other devices (E.5). Default false. */
  readonly sakkeToSelf?: boolean;
  /** Key parameters: group IDs, activation and expiry, text, revocation. */
  readonly parameters?: {
    readonly groupIds?: readonly string[];
    readonly activationTime?: number;
    readonly expiryTime?: number;
    readonly text?: string;
    readonly revoked?: boolean;
  };
  /** Randomness for signatures and IVs (tests pass a fixed one). */
  readonly randomBytes?: (n: number) => Uint8Array;
  /**
   * Where the SAKKE encapsulation runs (src/crypto/heavy.ts): a crypto worker in browsers.
   * Default: in this thread. The result is the same (RFC 6508 derives r from the SSV).
   */
  readonly identityCrypto?: IdentityCrypto;
}

function idr(role: number, data: Uint8Array): IdrPayload {
  return { kind: 'IDR', role, idType: ID_TYPE.URI, data };
}

function csIdEntries(kind: DistributedKeyKind, keyId: Uint8Array, csbId: Uint8Array, csId: ReturnType<typeof keyProfile>['csId']): GenericIdEntry[] {
  const entry = (id: number, spi: Uint8Array): GenericIdEntry => ({ csId: id, protType: PROT_TYPE.SRTP, s: false, policies: [0], sessionData: new Uint8Array(0), spi });
  switch (kind) {
    case 'GMK':
      // The interop GMK carries GMK-ID ‖ GUK-ID as SPI, the MKI of TS 33.179 7.3.6.
      return [entry(csId.group, concatBytes(keyId, csbId))];
    case 'PCK':
      return [entry(csId.privateInitiator, keyId), entry(csId.privateReceiver, keyId)];
    case 'CSK':
      return [entry(csId.cskSrtcp, keyId)];
  }
}

/** Builds and signs the I_MESSAGE. Throws `MikeyError` when the sender has no key for the period. */
export async function createKeyDistribution(input: KeyDistributionInput): Promise<Uint8Array> {
  const { kind, from, to } = input;
  const profile = keyProfile(input.profile ?? 'ts33180');
  const key = bytesOf(input.key, 16, `${kind}`);
  const keyId = bytesOf(input.keyId, 4, `${kind}-ID`);
  const rand = bytesOf(input.rand, 16, 'RAND');
  checkPurpose(profile, keyId, kind);
  if (!Number.isFinite(input.time)) throw new TypeError('time must be unix milliseconds');

  const ntpSeconds = ntpSecondsOfUnixMs(input.time);
  const senderPeriod = periodAt(from.kms, ntpSeconds);
  const senderKeys = from.keysForPeriod(senderPeriod);
  if (senderKeys === undefined) throw new MikeyError('ERR_MIKEY_NO_KEY_FOR_PERIOD', `the sender has no key material for key period ${senderPeriod}`);
  const recipientUid = uidOf(to.uri, to.kms, periodAt(to.kms, ntpSeconds));
  const csbId = kind === 'GMK' ? gukId({ gmk: key, gmkId: keyId, mcpttId: to.uri }) : keyId;

  const sakkeOf = async (uid: Uint8Array, kms: KmsPublicParameters): Promise<SakkePayload> => ({
    kind: 'SAKKE',
    params: SAKKE_PARAMS.PARAMETER_SET_1,
    idScheme: SAKKE_ID_SCHEME.TS33180_UID,
    data: input.identityCrypto !== undefined ? await input.identityCrypto.sakkeEncapsulate(key, { id: uid, z: kms.z }) : sakkeEncapsulate(key, { id: uid, z: kms.z }),
  });

  const payloads: MikeyPayload[] = [
    ntpUtcTimestamp(ntpSeconds),
    { kind: 'RAND', rand },
    input.hideIdentities ? idr(ID_ROLE.UID_INITIATOR, senderKeys.uid) : idr(ID_ROLE.INITIATOR, utf8(from.uri)),
    input.hideIdentities ? idr(ID_ROLE.UID_RESPONDER, recipientUid) : idr(ID_ROLE.RESPONDER, utf8(to.uri)),
    idr(ID_ROLE.KMS_INITIATOR, utf8(from.kms.kmsUri)),
    idr(ID_ROLE.KMS_RESPONDER, utf8(to.kms.kmsUri)),
  ];
  if (kind === 'GMK') payloads.push(srtpSecurityPolicy(GMK_DEFAULT_SRTP_PROFILE));
  if (kind === 'PCK') payloads.push(srtpSecurityPolicy(PCK_DEFAULT_SRTP_PROFILE));
  payloads.push(await sakkeOf(recipientUid, to.kms));
  if (input.sakkeToSelf) payloads.push(sakkeToSelfExtension(await sakkeOf(senderKeys.uid, from.kms)));
  if (input.parameters !== undefined || kind === 'GMK') {
    const keyType = profile.name === 'ts33180' ? checkPurpose(profile, keyId, kind).tag : 0;
    payloads.push(await sealKeyParameters({ keyType, ...input.parameters }, key, readU32be(csbId, 0), profile.name, input.randomBytes));
  }

  const pending = encodeIMessage({
    header: {
      version: MIKEY_VERSION,
      dataType: DATA_TYPE.SAKKE_I_MSG,
      v: false,
      prfFunc: PRF_FUNC.PRF_HMAC_SHA_256,
      csbId: readU32be(csbId, 0),
      csIdMap: { type: CS_ID_MAP_TYPE.GENERIC_ID, entries: csIdEntries(kind, keyId, csbId, profile.csId) },
    },
    payloads,
  });
  const signature = eccsiSign(
    pending.toSign,
    { id: senderKeys.uid, ssk: senderKeys.ssk, pvt: senderKeys.pvt, kpak: from.kms.kpak },
    input.randomBytes ? { randomBytes: input.randomBytes } : undefined,
  );
  return pending.finish(signature);
}
