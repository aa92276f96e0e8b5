/**
 * GMK provisioning on the member's side: TS 33.179 7.3.2 step 2 for a 'Notify group
 * configuration request' (a SIP MESSAGE or NOTIFY from the GMS) and 5.6.1 step C-5 for the
 * group configurations pulled at login. Both feed one processor:
 *
 *   body ─parse─► groupId, I_MESSAGE[1..15] ─► receive(m, 'GMK', { groupId }) for EVERY one
 *     (signature, GMS authorization, for us, SAKKE, GMK-ID, parameters decrypt and name the
 *      group, duplicate unless revocation, purpose tag)
 *   ─► all accepted? ─ no ─► nothing stored; error answer (failure-status.ts) + 'group-key-refused'
 *          │ yes
 *          ▼
 *   the store is asked again (another tab may have stored meanwhile) ─► putMediaKey each
 *   ─► 200 ('Notify group configuration response') + one 'group-key' event per key
 *
 * All-or-nothing, because the GMS sends keys that belong together (7.3.2: one GMK for media
 * and one for floor control "in one procedure"): storing half of them would leave the group
 * half keyed while the GMS believes it failed. Batches run one at a time, so two copies of
 * the same GMK arriving together cannot both pass the duplicate check.
 *
 * The pull differs in one rule only: the GMS hands back keys we already hold, so a key held
 * with the same bytes is "unchanged", not a duplicate; a different key under a held GMK-ID
 * is still refused, and a held revocation is never undone.
 */
import { parseGmkNotificationBody, parseMcpttInfoXml } from '../../codec/sip-bodies.js';
import { readMcpttBody, unprotectMcpttInfo, type XpkLookup } from '../../codec/xml-protect/index.js';
import { SipError } from '../../errors.js';
import { MikeyError } from '../../errors.js';
import type { ReceivedKey } from '../../keys/index.js';
import { bytesToHex, equalBytes } from '../../util/bytes.js';
import { yieldToEventLoop } from '../../util/yield.js';
import type { KeyNotificationInfo, SipAnswer } from '../sip/index.js';
import type { GroupKeyFailure, GroupKeyInfo, GroupKeySource, GroupPullSummary } from './events.js';
import { keyFailureOf, type KeyFailure } from './failure-status.js';
import type { GroupConfiguration } from './gms-client.js';
import type { KeyContext } from './key-context.js';

export interface GroupKeyProcessorHooks {
  readonly onKey: (info: GroupKeyInfo) => void;
  readonly onRefused: (failure: GroupKeyFailure) => void;
  /**
   * TS 33.179 9.3 (xmlProtection): our CSK, to read a group ID the GMS encrypted and signed
   * under it. Clear notifications are still read (the GMK's own signature and key parameters
   * authenticate the key and its group); a protected one must verify and decrypt.
   */
  readonly xpkLookup?: () => XpkLookup;
}

/** The result of one batch (one notification, or one pulled group). */
export type GroupBatchResult =
  | { readonly ok: true; readonly stored: readonly GroupKeyInfo[]; readonly unchanged: number }
  | { readonly ok: false; readonly failure: KeyFailure; readonly messageIndex: number | undefined };

class BatchRefused extends Error {
  constructor(
    readonly error: unknown,
    readonly messageIndex: number | undefined,
  ) {
    super('batch refused');
  }
}

export class GroupKeyProcessor {
  readonly #ctx: KeyContext;
  readonly #hooks: GroupKeyProcessorHooks;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: KeyContext, hooks: GroupKeyProcessorHooks) {
    this.#ctx = ctx;
    this.#hooks = hooks;
  }

  /**
   * The `onKeyNotification` delegate of the SIP user agent. The sender (From) is not
   * trusted: the GMS is recognized by the signature of each I_MESSAGE (gmsUris).
   */
  async handleNotification(body: string, contentType: string, _from: string, _info: KeyNotificationInfo): Promise<SipAnswer> {
    let groupId: string;
    let iMessages: readonly Uint8Array[];
    try {
      ({ groupId, iMessages } = this.#hooks.xpkLookup === undefined ? parseGmkNotificationBody(contentType, body) : await this.#readProtected(contentType, body, this.#hooks.xpkLookup()));
    } catch (e) {
      const failure = keyFailureOf(e, 'notification');
      this.#refused('notification', undefined, failure, undefined);
      return { status: failure.status, reason: failure.reason };
    }
    const r = await this.processGroup(groupId, iMessages, 'notification');
    return r.ok ? { status: 200 } : { status: r.failure.status, reason: r.failure.reason };
  }

  async #readProtected(contentType: string, body: string, lookup: XpkLookup): Promise<{ groupId: string; iMessages: readonly Uint8Array[] }> {
    const raw = readMcpttBody(contentType, body, 'gmk-notification');
    if (raw.mcpttInfoXml === undefined) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'GMK notification without a group ID');
    const { groupId } = parseMcpttInfoXml((await unprotectMcpttInfo(raw.mcpttInfoXml, lookup)).xml);
    if (groupId === undefined) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'GMK notification without a group ID');
    if (raw.iMessages.length === 0) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'GMK notification without an I_MESSAGE');
    return { groupId, iMessages: raw.iMessages };
  }

  /** Feeds pulled group configurations through the processor, one group at a time. */
  async processPulled(groups: readonly GroupConfiguration[]): Promise<GroupPullSummary & { ok: true }> {
    const out: { groupId: string; displayName: string; outcome: 'stored' | 'unchanged' | 'refused'; code?: string }[] = [];
    for (const [i, g] of groups.entries()) {
      // 100+ groups at a dispatcher's login: other tasks (the UI, SIP) get a turn between groups.
      if (i > 0) await yieldToEventLoop();
      const r = await this.processGroup(g.groupId, g.iMessages, 'pull');
      if (!r.ok) out.push({ groupId: g.groupId, displayName: g.displayName, outcome: 'refused', code: r.failure.code });
      else out.push({ groupId: g.groupId, displayName: g.displayName, outcome: r.stored.length > 0 ? 'stored' : 'unchanged' });
    }
    return { ok: true, groups: out };
  }

  /** Processes every I_MESSAGE of one group; stores all of them or none. Serialized. */
  processGroup(groupId: string, iMessages: readonly Uint8Array[], source: GroupKeySource): Promise<GroupBatchResult> {
    const run = (): Promise<GroupBatchResult> => this.#process(groupId, iMessages, source);
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => {});
    return p;
  }

  async #process(groupId: string, iMessages: readonly Uint8Array[], source: GroupKeySource): Promise<GroupBatchResult> {
    let toStore: ReceivedKey[];
    let unchanged = 0;
    try {
      const accepted = await this.#receiveAll(groupId, iMessages, source);
      ({ toStore, unchanged } = await this.#againstStore(accepted, source));
    } catch (e) {
      const err = e instanceof BatchRefused ? e.error : e;
      const index = e instanceof BatchRefused ? e.messageIndex : undefined;
      const failure = keyFailureOf(err, 'notification');
      this.#refused(source, groupId, failure, index);
      return { ok: false, failure, messageIndex: index };
    }
    try {
      for (const k of toStore) {
        await this.#ctx.putMediaKey(k);
      }
    } catch (e) {
      // The store failed part-way (quota, closed tab): say so; the GMS may send again, and a
      // key that did get stored will then be refused as a duplicate, which is the truth.
      const failure = keyFailureOf(e, 'notification');
      this.#refused(source, groupId, failure, undefined);
      return { ok: false, failure, messageIndex: undefined };
    }
    const stored = toStore.map((k) => infoOf(k, groupId, source));
    for (const info of stored) this.#hooks.onKey(info);
    return { ok: true, stored, unchanged };
  }

  async #receiveAll(groupId: string, iMessages: readonly Uint8Array[], source: GroupKeySource): Promise<ReceivedKey[]> {
    const receiver = wrap(() => this.#ctx.receiver(source === 'pull' ? 'pull' : 'strict'), undefined);
    const accepted: ReceivedKey[] = [];
    for (const [i, m] of iMessages.entries()) {
      const k = await wrapAsync(() => receiver.receive(m, 'GMK', { groupId }), i);
      // Two messages of one batch under one GMK-ID: which one would the GMS mean?
      if (accepted.some((a) => equalBytes(a.keyId, k.keyId))) {
        throw new BatchRefused(new MikeyError('ERR_MIKEY_DUPLICATE_KEY', 'two I_MESSAGEs of one notification carry the same GMK-ID'), i);
      }
      accepted.push(k);
    }
    return accepted;
  }

  /** The store's word on each accepted key, asked right before writing. */
  async #againstStore(accepted: readonly ReceivedKey[], source: GroupKeySource): Promise<{ toStore: ReceivedKey[]; unchanged: number }> {
    const toStore: ReceivedKey[] = [];
    let unchanged = 0;
    for (const [i, k] of accepted.entries()) {
      const held = await this.#ctx.store.getMediaKey('GMK', k.keyId);
      if (held === undefined) {
        toStore.push(k);
        continue;
      }
      if (k.status === 'revoked') {
        if (held.status === 'revoked') unchanged++;
        else toStore.push(k);
        continue;
      }
      if (source === 'pull' && equalBytes(held.key, k.key)) {
        // Same key again; a revoked one stays revoked.
        unchanged++;
        continue;
      }
      throw new BatchRefused(new MikeyError('ERR_MIKEY_DUPLICATE_KEY', 'a GMK with this GMK-ID is already held'), i);
    }
    return { toStore, unchanged };
  }

  #refused(source: GroupKeySource, groupId: string | undefined, failure: KeyFailure, messageIndex: number | undefined): void {
    this.#hooks.onRefused({
      source,
      groupId,
      code: failure.code,
      failureClass: failure.failureClass,
      sipStatus: source === 'notification' ? failure.status : undefined,
      messageIndex,
    });
  }
}

function wrap<T>(f: () => T, index: number | undefined): T {
  try {
    return f();
  } catch (e) {
    throw new BatchRefused(e, index);
  }
}

async function wrapAsync<T>(f: () => Promise<T>, index: number): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw new BatchRefused(e, index);
  }
}

function infoOf(k: ReceivedKey, groupId: string, source: GroupKeySource): GroupKeyInfo {
  return {
    source,
    groupId,
    gmkId: bytesToHex(k.keyId),
    status: k.status,
    activationTime: k.activationTime,
    expiryTime: k.expiryTime,
    sentAt: k.sentAt,
  };
}
