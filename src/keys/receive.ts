/**
 * Receiving a key: processing of a MIKEY-SAKKE I_MESSAGE carrying a GMK (TS 33.179 7.3.1,
 * 7.3.2 step 2), a PCK (7.4.1) or a CSK (9.1.3.3), per Annex E.
 *
 * Checks run in this order and each failure is its own `MikeyError` code; the function is
 * pure (the caller stores the result), so a refused message leaves nothing behind:
 *
 *   parse ─► freshness of T, replay (PCK/CSK) ─► initiator UID (IDRi/IDRuidi, IDRkmsi, period of T)
 *     ─► ECCSI signature ─► initiator authorized for this kind of key ─► receiver is us
 *     (IDRr/IDRuidr, or our own SAKKE-to-self copy) ─► SAKKE decapsulation with the RSK of the
 *     period ─► key ID (GMK-ID = GUK-ID ⊕ User Salt) ─► key parameters decrypt, group matches
 *     ─► revocation ─► duplicate key ID ─► purpose tag fits the kind ─► result
 */
import { createSakkeReceiver, eccsiVerify, gukId, type IdentityCrypto, type SakkeReceiver } from '../crypto/index.js';
import {
  decodeIMessage,
  decodeSakkeToSelf,
  GENERAL_EXTENSION_TYPE,
  ID_ROLE,
  SAKKE_ID_SCHEME,
  SAKKE_PARAMS,
  SIGN_TYPE,
  TS_TYPE,
  type DecodedIMessage,
  type IdrPayload,
  type SakkePayload,
} from '../codec/mikey/index.js';
import { McpttError, MikeyError, type MikeyErrorCode } from '../errors.js';
import { equalBytes, u32be } from '../util/bytes.js';
import {
  periodAt,
  periodEndUnixMs,
  uidOf,
  unixMsOfNtpSeconds,
  type KmsPublicParameters,
  type LocalIdentity,
  type PeriodKeys,
} from './identity.js';
import { NOT_REVOKED_BIT_READING, openKeyParameters, type KeyStatusReading } from './key-parameters.js';
import { checkPurpose, keyProfile, type KeyKind, type KeyProfileName, type KeyPurpose } from './purpose.js';
import type { ReplayCache } from './replay-cache.js';

/** The kinds of key this path receives (Annex E.2, E.3, E.4). */
export type DistributedKeyKind = Extract<KeyKind, 'GMK' | 'PCK' | 'CSK'>;

/** Who sent a key, as far as the message proves it. */
export interface KeyInitiator {
  /** The UID the signature was verified with. */
  readonly uid: Uint8Array;
  /**
   * The initiator's URI when the message named it (IDRi) — then the UID was computed from
   * it, so the URI is authenticated. Undefined under identity hiding (E.7, IDRuidi).
   */
  readonly uri: string | undefined;
  readonly kmsUri: string;
  readonly keyPeriodNo: number;
}

/** A key accepted from an I_MESSAGE: what the key store keeps. */
export interface ReceivedKey {
  readonly kind: DistributedKeyKind;
  /** The GMK, PCK or CSK (16 octets). */
  readonly key: Uint8Array;
  /** GMK-ID, PCK-ID or CSK-ID (4 octets, purpose tag in the top 4 bits). */
  readonly keyId: Uint8Array;
  readonly purpose: KeyPurpose;
  /** The CSB ID of the message: the GUK-ID for a GMK, the key ID otherwise. */
  readonly csbId: Uint8Array;
  /** GUK-ID (GMK only): this user's identifier of the GMK, the MKI half of its own streams. */
  readonly gukId: Uint8Array | undefined;
  /** RAND of the message, input of the SRTP master key derivation. */
  readonly rand: Uint8Array;
  readonly groupIds: readonly string[];
  /** Unix ms from which to send with this key (undefined: at once). */
  readonly activationTime: number | undefined;
  /** Unix ms after which the key is not to be used (undefined: no expiry). */
  readonly expiryTime: number | undefined;
  readonly text: string;
  readonly status: 'active' | 'revoked';
  readonly initiator: KeyInitiator;
  /** Unix ms of the T payload. */
  readonly sentAt: number;
  /** Our key period the key was encrypted for, and when it ends (unix ms). */
  readonly keyPeriodNo: number;
  readonly keyPeriodEndsAt: number;
  /** True when the key came from the initiator's SAKKE-to-self copy (E.5). */
  readonly viaSakkeToSelf: boolean;
}

/** What the authorization policy is asked. */
export interface AuthorizationRequest {
  readonly kind: DistributedKeyKind;
  readonly initiator: KeyInitiator;
}

export interface MikeyReceiverOptions {
  /** The identity this process receives as: a user, the GMS, or the MCPTT domain (MDSI). */
  readonly self: LocalIdentity;
  /** KMS public parameters by KMS URI; default: only `self.kms`. */
  readonly kmsFor?: (kmsUri: string) => KmsPublicParameters | undefined;
  readonly profile?: KeyProfileName;
  /** Clock, unix ms. */
  readonly now?: () => number;
  /**
   * Largest |now − T| accepted, seconds, per kind. Defaults: PCK and CSK 600 s; GMK none,
   * because GMKs are also pulled from the GMS at login long after they were made.
   */
  readonly freshnessSeconds?: Partial<Record<DistributedKeyKind, number>>;
  /** Replay cache for PCK/CSK messages; without one, replays inside the window pass. */
  readonly replayCache?: ReplayCache;
  /** URIs of the group management servers allowed to send GMKs (default policy). */
  readonly gmsUris?: readonly string[];
  /** Authorization policy; default: GMKs only from `gmsUris`, PCKs and CSKs from anyone. */
  readonly authorize?: (request: AuthorizationRequest) => boolean;
  /** A key already held under this ID (duplicate check); default: none. */
  readonly existingKey?: (kind: DistributedKeyKind, keyId: Uint8Array) => { readonly key: Uint8Array } | undefined;
  /** Reading of the TS 33.180 Status field; default: bit 0 set = not revoked. */
  readonly isKeyActive?: KeyStatusReading;
  /** GMKs must carry key parameters (group ID, activation time); default true. */
  readonly requireGmkParameters?: boolean;
  /**
   * Where the ECCSI verification and SAKKE decapsulation run (src/crypto/heavy.ts): a crypto
   * worker in browsers (src/platform/crypto-worker). Default: in this thread, with SAKKE
   * receivers cached per key period.
   */
  readonly identityCrypto?: IdentityCrypto;
}

export interface ReceiveOptions {
  /** The group the notification was about: a GMK naming another group is refused. */
  readonly groupId?: string;
}

export interface MikeyKeyReceiver {
  receive(message: Uint8Array, kind: DistributedKeyKind, options?: ReceiveOptions): Promise<ReceivedKey>;
}

const DEFAULT_FRESHNESS: Readonly<Partial<Record<DistributedKeyKind, number>>> = Object.freeze({ PCK: 600, CSK: 600 });
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

const fail = (code: MikeyErrorCode, message: string, cause?: unknown): MikeyError =>
  new MikeyError(code, message, cause === undefined ? undefined : { cause });

function idrText(idr: IdrPayload, what: string): string {
  try {
    return utf8Decoder.decode(idr.data);
  } catch (e) {
    throw fail('ERR_MIKEY_MALFORMED', `${what} is not valid UTF-8`, e);
  }
}

/** The single IDR of one of `roles`; two of them is ambiguous and refused. */
function oneIdr(msg: DecodedIMessage, roles: readonly number[], what: string): IdrPayload | undefined {
  const found = msg.idrs.filter((i) => roles.includes(i.role));
  if (found.length > 1) throw fail('ERR_MIKEY_MALFORMED', `more than one ${what}`);
  return found[0];
}

/** Structural rules of Annex E beyond what the codec checks. */
function checkStructure(msg: DecodedIMessage): void {
  const count = (kind: string): number => msg.payloads.filter((p) => p.kind === kind).length;
  if (count('T') !== 1 || msg.timestamp?.tsType !== TS_TYPE.NTP_UTC || msg.ntpSeconds === undefined) {
    throw fail('ERR_MIKEY_MALFORMED', 'exactly one T payload of type NTP-UTC is required (E.1.1)');
  }
  if (count('RAND') !== 1 || msg.rand === undefined || msg.rand.length < 16) {
    throw fail('ERR_MIKEY_MALFORMED', 'exactly one RAND payload of at least 16 octets is required');
  }
  if (count('SAKKE') !== 1) throw fail('ERR_MIKEY_MALFORMED', 'exactly one SAKKE payload is required');
  if (msg.signature === undefined || msg.signedBytes === undefined) throw fail('ERR_MIKEY_MALFORMED', 'the SIGN payload is missing');
  if (msg.signature.signType !== SIGN_TYPE.ECCSI) throw fail('ERR_MIKEY_UNSUPPORTED', `signature type ${msg.signature.signType} is not ECCSI`);
}

function checkSakkePayload(p: SakkePayload): void {
  if (p.params !== SAKKE_PARAMS.PARAMETER_SET_1) throw fail('ERR_MIKEY_UNSUPPORTED', `SAKKE parameter set ${p.params} is not supported`);
  if (p.idScheme !== SAKKE_ID_SCHEME.TS33180_UID) throw fail('ERR_MIKEY_UNSUPPORTED', `SAKKE ID scheme ${p.idScheme} is not the TS 33.179 F.2.1 UID`);
}

/** Creates a receiver bound to one local identity. SAKKE receivers are cached per period. */
export function createMikeyKeyReceiver(options: MikeyReceiverOptions): MikeyKeyReceiver {
  const self = options.self;
  const profile = keyProfile(options.profile ?? 'ts33180');
  const now = options.now ?? Date.now;
  const freshness = { ...DEFAULT_FRESHNESS, ...options.freshnessSeconds };
  const kmsFor = options.kmsFor ?? ((uri: string) => (uri === self.kms.kmsUri ? self.kms : undefined));
  const isKeyActive = options.isKeyActive ?? NOT_REVOKED_BIT_READING;
  const requireGmkParameters = options.requireGmkParameters ?? true;
  const sakkeReceivers = new Map<number, SakkeReceiver>();

  function sakkeReceiverFor(keys: PeriodKeys): SakkeReceiver {
    let r = sakkeReceivers.get(keys.keyPeriodNo);
    if (r === undefined) {
      r = createSakkeReceiver({ id: keys.uid, rsk: keys.rsk, z: self.kms.z });
      // Current, next and previous periods at most: the precomputation is per key.
      if (sakkeReceivers.size >= 3) sakkeReceivers.delete(sakkeReceivers.keys().next().value!);
      sakkeReceivers.set(keys.keyPeriodNo, r);
    }
    return r;
  }

  async function receive(message: Uint8Array, kind: DistributedKeyKind, opts: ReceiveOptions = {}): Promise<ReceivedKey> {
    if (kind !== 'GMK' && kind !== 'PCK' && kind !== 'CSK') throw new TypeError(`unknown key kind ${String(kind)}`);
    // 1. parse
    const msg = decodeIMessage(message);
    checkStructure(msg);
    const ntpSeconds = msg.ntpSeconds!;
    const sentAt = unixMsOfNtpSeconds(ntpSeconds);
    const nowMs = now();

    // 2. freshness and replay
    const window = freshness[kind];
    if (window !== undefined && Math.abs(nowMs - sentAt) > window * 1000) {
      throw fail('ERR_MIKEY_STALE', `the message time is ${Math.round((nowMs - sentAt) / 1000)} s from now, outside the ${window} s window`);
    }
    const replayTracked = kind !== 'GMK' && options.replayCache !== undefined;
    if (replayTracked && options.replayCache!.has(message, nowMs)) throw fail('ERR_MIKEY_REPLAY', 'this I_MESSAGE was already accepted');

    // 3. initiator UID for the period of T
    const idri = oneIdr(msg, [ID_ROLE.INITIATOR, ID_ROLE.UID_INITIATOR], 'initiator identity (IDRi/IDRuidi)');
    if (idri === undefined) throw fail('ERR_MIKEY_UNKNOWN_INITIATOR', 'the message names no initiator (IDRi/IDRuidi)');
    const kmsiPayload = oneIdr(msg, [ID_ROLE.KMS_INITIATOR], 'IDRkmsi');
    const kmsiUri = kmsiPayload === undefined ? self.kms.kmsUri : idrText(kmsiPayload, 'IDRkmsi');
    const kmsi = kmsFor(kmsiUri);
    if (kmsi === undefined) throw fail('ERR_MIKEY_UNKNOWN_INITIATOR', "the initiator's KMS is not one we know");
    const initiatorPeriod = periodAt(kmsi, ntpSeconds);
    let initiatorUri: string | undefined;
    let initiatorUid: Uint8Array;
    if (idri.role === ID_ROLE.INITIATOR) {
      initiatorUri = idrText(idri, 'IDRi');
      initiatorUid = uidOf(initiatorUri, kmsi, initiatorPeriod);
    } else {
      if (idri.data.length !== 32) throw fail('ERR_MIKEY_MALFORMED', 'IDRuidi must hold a 32-octet UID');
      initiatorUid = idri.data;
    }
    const initiator: KeyInitiator = { uid: initiatorUid, uri: initiatorUri, kmsUri: kmsi.kmsUri, keyPeriodNo: initiatorPeriod };

    // 4. signature
    const signatureOk =
      options.identityCrypto?.eccsiVerify !== undefined
        ? await options.identityCrypto.eccsiVerify(msg.signedBytes!, msg.signature!.signature, { id: initiatorUid, kpak: kmsi.kpak })
        : eccsiVerify(msg.signedBytes!, msg.signature!.signature, { id: initiatorUid, kpak: kmsi.kpak });
    if (!signatureOk) {
      throw fail('ERR_MIKEY_BAD_SIGNATURE', 'the ECCSI signature does not verify for the initiator');
    }

    // 5. authorization
    const authorize =
      options.authorize ??
      (({ kind: k, initiator: i }: AuthorizationRequest) =>
        k !== 'GMK' || (options.gmsUris ?? []).some((uri) => i.uri === uri || equalBytes(i.uid, uidOf(uri, kmsi, initiatorPeriod))));
    if (!authorize({ kind, initiator })) throw fail('ERR_MIKEY_UNAUTHORIZED_INITIATOR', `the initiator is not authorized to send a ${kind}`);

    // 6. receiver is us (or we are the initiator reading our own SAKKE-to-self copy)
    const kmsrPayload = oneIdr(msg, [ID_ROLE.KMS_RESPONDER], 'IDRkmsr');
    const kmsrUri = kmsrPayload === undefined ? self.kms.kmsUri : idrText(kmsrPayload, 'IDRkmsr');
    const idrr = oneIdr(msg, [ID_ROLE.RESPONDER, ID_ROLE.UID_RESPONDER], 'receiver identity (IDRr/IDRuidr)');
    let sakke: SakkePayload = msg.sakke!;
    let keys: PeriodKeys | undefined;
    let viaSakkeToSelf = false;
    const ourPeriod = periodAt(self.kms, ntpSeconds);
    const ourKeys = self.keysForPeriod(ourPeriod);
    const addressedToUs =
      kmsrUri === self.kms.kmsUri &&
      idrr !== undefined &&
      (idrr.role === ID_ROLE.RESPONDER ? idrText(idrr, 'IDRr') === self.uri : ourKeys !== undefined && equalBytes(idrr.data, ourKeys.uid));
    if (addressedToUs) {
      keys = ourKeys;
    } else {
      const selfCopy = msg.extensions.filter((e) => e.type === GENERAL_EXTENSION_TYPE.SAKKE_TO_SELF);
      const initiatorIsUs = kmsi.kmsUri === self.kms.kmsUri && ourKeys !== undefined && equalBytes(initiatorUid, ourKeys.uid);
      if (!initiatorIsUs || selfCopy.length !== 1) {
        if (ourKeys === undefined && idrr?.role === ID_ROLE.UID_RESPONDER) {
          throw fail('ERR_MIKEY_NO_KEY_FOR_PERIOD', `no key material for our key period ${ourPeriod}`);
        }
        throw fail('ERR_MIKEY_NOT_FOR_US', 'the message is not addressed to this identity');
      }
      sakke = decodeSakkeToSelf(selfCopy[0]!);
      keys = ourKeys;
      viaSakkeToSelf = true;
    }
    if (keys === undefined) throw fail('ERR_MIKEY_NO_KEY_FOR_PERIOD', `no key material for our key period ${ourPeriod}`);
    checkSakkePayload(sakke);

    // 7. SAKKE decapsulation
    let key: Uint8Array;
    try {
      key =
        options.identityCrypto !== undefined
          ? await options.identityCrypto.sakkeDecapsulate(sakke.data, { id: keys.uid, rsk: keys.rsk, z: self.kms.z })
          : sakkeReceiverFor(keys).decapsulate(sakke.data);
    } catch (e) {
      // A worker that failed says nothing about the message: its error passes unchanged.
      if (e instanceof McpttError && e.code !== 'ERR_CRYPTO_WORKER') throw fail('ERR_MIKEY_DECAPSULATION_FAILED', 'the SAKKE payload does not decapsulate with our key', e);
      throw e;
    }

    // 8. key identifiers
    const csbId = u32be(msg.header.csbId);
    const keyId = kind === 'GMK' ? gukId({ gmk: key, gmkId: csbId, mcpttId: viaSakkeToSelf ? receiverUriForSelfCopy(idrr) : self.uri }) : csbId;

    // 9. key parameters
    const params = await openKeyParameters(msg.extensions, key, msg.header.csbId, profile.name, isKeyActive);
    if (params === undefined && kind === 'GMK' && requireGmkParameters) {
      throw fail('ERR_MIKEY_BAD_GMK_PARAMETERS', 'the GMK comes without its parameters (group ID, activation time)');
    }
    if (params?.keyType !== undefined && profile.purposes[params.keyType]?.kind !== kind) {
      throw fail('ERR_MIKEY_WRONG_PURPOSE', `the key parameters announce key type ${params.keyType}, not a ${kind}`);
    }
    const groupIds = params?.groupIds ?? [];
    if (opts.groupId !== undefined && !groupIds.includes(opts.groupId)) {
      throw fail('ERR_MIKEY_GROUP_MISMATCH', 'the GMK belongs to another group than the notification');
    }

    // 10. revocation: the Status field, or a GMK of zero octets (v13 7.3.2)
    const revoked = (params?.revoked ?? false) || (kind === 'GMK' && key.every((b) => b === 0));

    // 11. duplicates: a key ID we hold already may only come back to revoke it
    if (!revoked && options.existingKey?.(kind, keyId) !== undefined) {
      throw fail('ERR_MIKEY_DUPLICATE_KEY', `a ${kind} with this key ID is already held`);
    }

    // 12. purpose tag
    const purpose = checkPurpose(profile, keyId, kind);

    if (replayTracked) options.replayCache!.add(message, sentAt + window! * 1000, nowMs);
    return {
      kind,
      key,
      keyId,
      purpose,
      csbId,
      gukId: kind === 'GMK' ? csbId : undefined,
      rand: msg.rand!.slice(),
      groupIds,
      activationTime: params?.activationTime,
      expiryTime: params?.expiryTime,
      text: params?.text ?? '',
      status: revoked ? 'revoked' : 'active',
      initiator,
      sentAt,
      keyPeriodNo: keys.keyPeriodNo,
      keyPeriodEndsAt: periodEndUnixMs(self.kms, keys.keyPeriodNo),
      viaSakkeToSelf,
    };
  }

  return { receive };
}

/**
 * The GUK-ID of a SAKKE-to-self copy is the receiver's (it is the CSB ID of the message),
 * so the GMK-ID is recovered with the receiver's MCPTT ID, which only IDRr names.
 */
function receiverUriForSelfCopy(idrr: IdrPayload | undefined): string {
  if (idrr === undefined || idrr.role !== ID_ROLE.RESPONDER) {
    throw fail('ERR_MIKEY_UNSUPPORTED', "a GMK copy for the sender needs the receiver's URI (IDRr) to find the GMK-ID");
  }
  return idrText(idrr, 'IDRr');
}
