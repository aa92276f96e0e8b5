/**
 * The group key side of the dev GMS: TS 33.179 7.3.1 (GMK, GMK-ID, one RAND per GMK, the
 * I_MESSAGE to each member signed as the GMS), 7.3.2 (provisioning and revocation of a
 * security context) with the group key lifecycle of RFC 5275 mapped onto GMKs:
 *
 * | RFC 5275                         | here                                                        |
 * |----------------------------------|-------------------------------------------------------------|
 * | 4.1 assign KEK to GL             | every group gets its first GMK when the manager is created  |
 * | 4.3 glAddMember (no rekey)       | `addMember`: the newcomer gets the current GMK              |
 * | 4.4 glDeleteMember, closed GL    | `removeMember`: a new GMK for the remaining members only     |
 * | 4.5 glRekey                      | `rekey`: a new GMK for every member                          |
 * | 4.7 glkCompromise                | `revoke`: the current GMK goes out again with Status revoked |
 * | 4.8 glkRefresh                   | `iMessage` for one member with the current GMK (pull, login) |
 *
 * MCPTT groups are closed lists (a group's membership is configured, 4.4 "closed"), so a
 * removal always rekeys: otherwise the removed member could keep decrypting the group.
 *
 * Pure: no I/O, no Node APIs (the benchmark runs it in a browser worker too). The server
 * (./index.ts) decides whom to notify and sends the SIP MESSAGEs.
 */
import { createKeyDistribution, keyProfile, newKeyId, type KmsPublicParameters, type LocalIdentity } from '../../../src/keys/index.js';
import { bytesToHex } from '../../../src/util/bytes.js';

export interface GroupDefinition {
  /** MCPTT group ID, also the group's PSI. */
  readonly groupId: string;
  readonly displayName?: string;
  /** MCPTT IDs of the members. */
  readonly members: readonly string[];
}

/** One GMK of a group with what every member's I_MESSAGE repeats. */
export interface GroupKey {
  readonly groupId: string;
  /** The GMK (16 octets). */
  readonly key: Uint8Array;
  /** GMK-ID: purpose tag 0 (TS 33.180 profile: GMK) and 28 random bits. */
  readonly keyId: Uint8Array;
  /** The RAND of every member's I_MESSAGE: all derive the same SRTP key per sender (7.3.6). */
  readonly rand: Uint8Array;
  /** Unix ms from which members send with it (7.3.1). */
  readonly activationTime: number;
  readonly createdAt: number;
  /** 1 for the group's first GMK, counting up with every rekey. */
  readonly generation: number;
}

export type GmsErrorCode = 'ERR_GMS_UNKNOWN_GROUP' | 'ERR_GMS_ALREADY_A_MEMBER' | 'ERR_GMS_NOT_A_MEMBER' | 'ERR_GMS_BAD_IDENTITY';

/** A refused group administration request (RFC 5275 SKDFailInfo: invalidGLName, alreadyAMember, notAMember). */
export class GmsError extends Error {
  readonly code: GmsErrorCode;

  constructor(code: GmsErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'GmsError';
  }
}

export interface GroupKeyManagerOptions {
  /** The GMS identity that signs every I_MESSAGE (7.3.1: IDRi = the GMS URI). */
  readonly gms: LocalIdentity;
  /** The KMS the members' identities belong to (IDRkmsr, their UIDs). */
  readonly memberKms: KmsPublicParameters;
  readonly groups: readonly GroupDefinition[];
  /** Unix ms; default Date.now. */
  readonly now?: () => number;
  readonly randomBytes?: (n: number) => Uint8Array;
  /**
   * How far in the future a replacing GMK becomes active, so members have it before senders
   * switch (default 5 s). A group's first key, or one after a revocation, is active at once.
   */
  readonly rekeyActivationDelayMs?: number;
}

export interface IMessageOptions {
  /** Announce the key as revoked (TS 33.180 Status field; the same GMK-ID). */
  readonly revoked?: boolean;
  /** Unix ms of the T payload; default now. */
  readonly time?: number;
  /** Name GMS and member by UID only (IDRuidi/IDRuidr, E.7): TS 33.179 9.3 protection on. */
  readonly hideIdentities?: boolean;
}

export interface GroupKeyManager {
  groupIds(): readonly string[];
  displayName(groupId: string): string;
  members(groupId: string): readonly string[];
  /** The groups `mcpttId` belongs to, in configuration order. */
  groupsOf(mcpttId: string): readonly string[];
  isMember(groupId: string, mcpttId: string): boolean;
  /** The group's GMK in force; undefined after a revocation until the next rekey. */
  current(groupId: string): GroupKey | undefined;
  /** Adds a member without rekeying; returns the GMK the newcomer needs, if any. */
  addMember(groupId: string, mcpttId: string): GroupKey | undefined;
  /** Removes a member and, if the group had a GMK, replaces it; returns the new GMK. */
  removeMember(groupId: string, mcpttId: string): GroupKey | undefined;
  /** Replaces the group's GMK (new key, GMK-ID and RAND). */
  rekey(groupId: string): GroupKey;
  /** Withdraws the group's GMK; returns it (to announce it revoked), undefined if there was none. */
  revoke(groupId: string): GroupKey | undefined;
  /** The I_MESSAGE carrying `key` to one member (E.2), signed as the GMS for the period of its T. */
  iMessage(key: GroupKey, mcpttId: string, options?: IMessageOptions): Promise<Uint8Array>;
  /** The same for several members, one after the other; same order as `mcpttIds`. */
  iMessages(key: GroupKey, mcpttIds: readonly string[], options?: IMessageOptions): Promise<Uint8Array[]>;
}

export const DEFAULT_REKEY_ACTIVATION_DELAY_MS = 5_000;

// MCPTT IDs and group IDs: a plain sip:/sips: URI (TS 23.179 uses SIP URIs for both).
const SIP_ID = /^sips?:[A-Za-z0-9._~+%!$&'()*,;=:-]{1,64}@[A-Za-z0-9.-]{1,253}$/;
// TS 33.180 profile, the one every interop message uses: purpose tag 0 = GMK.
const PROFILE = keyProfile('ts33180');
const GMK_TAG = PROFILE.defaultTag.GMK!;

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !SIP_ID.test(id)) throw new GmsError('ERR_GMS_BAD_IDENTITY', `${what} must be a plain sip:user@host URI`);
  return id;
}

interface GroupState {
  readonly groupId: string;
  readonly displayName: string;
  readonly members: Set<string>;
  current: GroupKey | undefined;
  generation: number;
  /** Every GMK-ID the group ever had: a new one must differ (7.3.1 "unique", 7.3.2 duplicate check). */
  readonly usedIds: Set<string>;
}

export function createGroupKeyManager(o: GroupKeyManagerOptions): GroupKeyManager {
  const now = o.now ?? Date.now;
  const randomBytes = o.randomBytes ?? ((n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
  const delay = o.rekeyActivationDelayMs ?? DEFAULT_REKEY_ACTIVATION_DELAY_MS;
  if (!Number.isSafeInteger(delay) || delay < 0) throw new RangeError('rekeyActivationDelayMs must be a non-negative integer');
  checkId(o.gms.uri, 'the GMS URI');

  const groups = new Map<string, GroupState>();
  for (const g of o.groups) {
    const groupId = checkId(g.groupId, 'a group ID');
    if (groups.has(groupId)) throw new RangeError('duplicate group ID in the configuration');
    const members = new Set(g.members.map((m) => checkId(m, 'a member MCPTT ID')));
    groups.set(groupId, { groupId, displayName: g.displayName ?? groupId, members, current: undefined, generation: 0, usedIds: new Set() });
  }

  function group(groupId: string): GroupState {
    const g = groups.get(groupId);
    if (g === undefined) throw new GmsError('ERR_GMS_UNKNOWN_GROUP', 'no such group');
    return g;
  }

  function newKey(g: GroupState): GroupKey {
    const t = now();
    let keyId: Uint8Array;
    do keyId = newKeyId(GMK_TAG, randomBytes);
    while (g.usedIds.has(bytesToHex(keyId)));
    g.usedIds.add(bytesToHex(keyId));
    const key: GroupKey = Object.freeze({
      groupId: g.groupId,
      key: randomBytes(16).slice(0, 16),
      keyId,
      rand: randomBytes(16).slice(0, 16),
      // A replacing key waits a little so that every member holds it before anyone sends with it.
      activationTime: g.current === undefined ? t : t + delay,
      createdAt: t,
      generation: ++g.generation,
    });
    if (key.key.length !== 16 || key.rand.length !== 16) throw new RangeError('randomBytes returned too few bytes');
    g.current = key;
    return key;
  }

  for (const g of groups.values()) newKey(g);

  const manager: GroupKeyManager = {
    groupIds: () => [...groups.keys()],
    displayName: (groupId) => group(groupId).displayName,
    members: (groupId) => [...group(groupId).members],
    groupsOf: (mcpttId) => [...groups.values()].filter((g) => g.members.has(mcpttId)).map((g) => g.groupId),
    isMember: (groupId, mcpttId) => group(groupId).members.has(mcpttId),
    current: (groupId) => group(groupId).current,

    addMember(groupId, mcpttId) {
      const g = group(groupId);
      checkId(mcpttId, 'the member MCPTT ID');
      if (g.members.has(mcpttId)) throw new GmsError('ERR_GMS_ALREADY_A_MEMBER', 'already a member of the group');
      g.members.add(mcpttId);
      return g.current;
    },

    removeMember(groupId, mcpttId) {
      const g = group(groupId);
      if (!g.members.delete(mcpttId)) throw new GmsError('ERR_GMS_NOT_A_MEMBER', 'not a member of the group');
      // Closed list: the leaver still holds the old GMK, so the others move to a new one.
      return g.current === undefined ? undefined : newKey(g);
    },

    rekey: (groupId) => newKey(group(groupId)),

    revoke(groupId) {
      const g = group(groupId);
      const k = g.current;
      g.current = undefined;
      return k;
    },

    async iMessage(key, mcpttId, options = {}) {
      return await createKeyDistribution({
        kind: 'GMK',
        key: key.key,
        keyId: key.keyId,
        rand: key.rand,
        from: o.gms,
        to: { uri: mcpttId, kms: o.memberKms },
        time: options.time ?? now(),
        profile: PROFILE.name,
        ...(options.hideIdentities === true ? { hideIdentities: true } : {}),
        parameters: options.revoked ? { groupIds: [key.groupId], revoked: true } : { groupIds: [key.groupId], activationTime: key.activationTime },
      });
    },

    async iMessages(key, mcpttIds, options = {}) {
      const out: Uint8Array[] = [];
      for (const m of mcpttIds) out.push(await manager.iMessage(key, m, options));
      return out;
    },
  };
  return manager;
}
