/**
 * Private calls with end-to-end keys: TS 33.179 7.4.1 and 7.4.2 (on-network). The caller
 * makes a PCK, its PCK-ID (purpose tag of a PCK, 28 random bits) and a RAND, encrypts the PCK
 * to the callee's UID in a MIKEY-SAKKE I_MESSAGE signed with its own key (Annex E.3; plus a
 * SAKKE-to-self copy, 7.4.2 note 2 / E.5) and puts it in the SDP offer as
 * `a=key-mgmt:mikey <base64>` (RFC 4567) at session level. The callee checks it BEFORE it
 * answers anything: only an offer whose PCK it accepted rings.
 *
 * Incoming:
 *
 *   INVITE ─► key-mgmt read, receive(m, 'PCK') (signature, for us, SAKKE, replay cache,
 *             PCK-ID not held) ── refused ─► 488 + 'call-failed' (MIKEY code), nothing stored
 *                 │ accepted
 *                 ▼
 *              ringing ──accept()──► accepting ──PCK stored, 200/ACK──► established ──BYE──► ended
 *                 │  │                    │ store failed / caller gone
 *                 │  └─reject()─► rejected ▼
 *                 └──no decision in ringTimeoutMs──► missed      failed
 *
 * Outgoing:
 *
 *   call() ─► calling ──2xx, PCK stored──► established ──BYE──► ended
 *                │ non-2xx / store failed
 *                ▼
 *              failed
 *
 * Every transition is checked against PRIVATE_CALL_TRANSITIONS. Both parties end up with
 * the same `ReceivedKey` values for PCK, PCK-ID and RAND (`PrivateCall.keys()`), which the
 * media layer turns into SRTP master keys (7.4.4). The caller's identity shown to the callee
 * is the one the I_MESSAGE proves (IDRi, whose UID verified the signature), never the SIP
 * From header, which anyone on the path can write.
 *
 * Under TS 33.179 9.3 protection (`protection`): the callee is dialled at the opaque AOR the
 * MCPTT server's directory gives for its MCPTT ID, and the I_MESSAGE names both parties by
 * UID only (E.7), so no MCPTT ID is in the INVITE. The callee resolves the caller's UID
 * through the same directory and re-derives the UID from the answer for the I_MESSAGE's key
 * period: only a match makes the caller `uri` known (verified); otherwise the caller stays
 * hidden. No shared key is needed for this: the UID is a hash of the MCPTT ID, and the
 * signature proves the UID.
 */
import { readSdpMikey, writeSdpMikey, encodeBase64 } from '../../codec/sdp-key-mgmt.js';
import { MikeyError } from '../../errors.js';
import type { DirectoryClient } from './directory-client.js';
import {
  checkPurpose,
  createKeyDistribution,
  keyProfile,
  newKeyId,
  ntpSecondsOfUnixMs,
  periodAt,
  periodEndUnixMs,
  uidOf,
  unixMsOfNtpSeconds,
  type KmsPublicParameters,
  type ReceivedKey,
} from '../../keys/index.js';
import { bytesToHex, equalBytes } from '../../util/bytes.js';
import { randomBytes as webRandomBytes } from '../../util/webcrypto.js';
import { isSipError, type IncomingCallDecision, type IncomingCallOffer, type SipCall, type SipUserAgent } from '../sip/index.js';
import { SignallingError } from './errors.js';
import type { CallFailure } from './events.js';
import { failureCodeOf, keyFailureOf } from './failure-status.js';
import type { KeyContext } from './key-context.js';

export type PrivateCallState = 'calling' | 'ringing' | 'accepting' | 'established' | 'ended' | 'rejected' | 'missed' | 'failed';

/** Allowed next states (the diagrams above). */
export const PRIVATE_CALL_TRANSITIONS: Readonly<Record<PrivateCallState, readonly PrivateCallState[]>> = Object.freeze({
  calling: Object.freeze(['established', 'failed'] as const),
  ringing: Object.freeze(['accepting', 'rejected', 'missed', 'failed'] as const),
  accepting: Object.freeze(['established', 'failed'] as const),
  established: Object.freeze(['ended'] as const),
  ended: Object.freeze([] as const),
  rejected: Object.freeze([] as const),
  missed: Object.freeze([] as const),
  failed: Object.freeze([] as const),
});

export function assertPrivateCallTransition(from: PrivateCallState, to: PrivateCallState): void {
  if (!PRIVATE_CALL_TRANSITIONS[from].includes(to)) throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', `private call: ${from} → ${to} is not allowed`);
}

/** Who calls, as far as the PCK I_MESSAGE proves it. */
export interface CallerIdentity {
  /**
   * The caller's MCPTT ID from IDRi. Authenticated: the UID computed from it verified the
   * ECCSI signature. Undefined when the caller hid its identity (E.7).
   */
  readonly uri: string | undefined;
  /** True under identity hiding (IDRuidi): the caller holds the key of `uid`, but the message does not say whose UID it is. */
  readonly hidden: boolean;
  /** The UID that verified the signature (hex). */
  readonly uid: string;
  readonly kmsUri: string;
  /** The SIP From header: NOT authenticated, shown only to explain a mismatch. */
  readonly sipFrom: string;
  /** True when the SIP From names the verified MCPTT ID. */
  readonly sipFromMatches: boolean;
}

/** The other party of a call. */
export interface CallPeer {
  /** Incoming: the verified caller (undefined when hidden). Outgoing: the MCPTT ID we dialled. */
  readonly uri: string | undefined;
  /**
   * True for an incoming call whose caller the I_MESSAGE named. An outgoing call's callee is
   * not verified by 7.4 (it signs nothing); only the holder of its key can use the PCK.
   */
  readonly verified: boolean;
  readonly hidden: boolean;
}

/** An established private call. */
export interface PrivateCall {
  readonly id: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly peer: CallPeer;
  /** Incoming only: the full caller identity. */
  readonly caller: CallerIdentity | undefined;
  /** PCK-ID, 8 hex digits. */
  readonly pckId: string;
  readonly state: PrivateCallState;
  /** PCK, PCK-ID and RAND for the media layer (7.4.4). Key material: never log it. */
  keys(): ReceivedKey;
  /** The SIP call, for whoever wires media (its session description handler). */
  readonly sip: SipCall;
  readonly ended: Promise<void>;
  hangup(): Promise<void>;
}

/** A verified incoming call, ringing until accepted, rejected or timed out. */
export interface IncomingPrivateCall {
  readonly id: string;
  readonly caller: CallerIdentity;
  readonly pckId: string;
  readonly state: PrivateCallState;
  /** Stores the PCK, answers 200; resolves once the call is established. */
  accept(): Promise<PrivateCall>;
  /** 'declined' → 603 Decline (default), 'busy' → 486 Busy Here, 'unavailable' → 480. */
  reject(reason?: 'declined' | 'busy' | 'unavailable'): void;
}

export interface PrivateCallHooks {
  readonly incoming: (call: IncomingPrivateCall) => void;
  readonly hasIncomingListener: () => boolean;
  readonly keys: (call: PrivateCall) => void;
  readonly failed: (failure: CallFailure) => void;
  readonly ended: (call: PrivateCall) => void;
}

export interface PrivateCallsOptions {
  readonly ctx: KeyContext;
  readonly ua: () => SipUserAgent | undefined;
  readonly hooks: PrivateCallHooks;
  /** How long an incoming call rings before 480 (default 30 s). */
  readonly ringTimeoutMs?: number;
  /** KMS of a callee; default our own. */
  readonly calleeKms?: (mcpttId: string) => KmsPublicParameters | undefined;
  /** Pre-generated offers older than this are made again (default 300 s: half the receiver's 600 s window). */
  readonly maxPreparedAgeMs?: number;
  readonly randomBytes?: (n: number) => Uint8Array;
  /** TS 33.179 9.3: callees by opaque AOR, both parties hidden in the I_MESSAGE (E.7). */
  readonly protection?: { readonly directory: DirectoryClient };
}

interface PreparedOffer {
  readonly callee: string;
  readonly message: Uint8Array;
  readonly record: ReceivedKey;
  readonly createdAt: number;
}

/** How long after accept() we wait for the ACK before giving up on the call. */
const ESTABLISH_TIMEOUT_MS = 32_000;
const SIP_URI = /^sips?:[^\s<>"]+$/;

class CallRecord {
  state: PrivateCallState;

  constructor(initial: PrivateCallState) {
    this.state = initial;
  }

  /** Reads the state without the narrowing a plain comparison would keep across awaits. */
  is(state: PrivateCallState): boolean {
    return this.state === state;
  }

  to(next: PrivateCallState): void {
    assertPrivateCallTransition(this.state, next);
    this.state = next;
  }
}

interface Ringing {
  readonly record: CallRecord;
  readonly key: ReceivedKey;
  readonly caller: CallerIdentity;
  readonly messageB64: string;
  decide: (d: IncomingCallDecision) => void;
  established: ((call: SipCall) => void) | undefined;
  abandon: ((e: unknown) => void) | undefined;
}

export class PrivateCalls {
  readonly #o: PrivateCallsOptions;
  readonly #random: (n: number) => Uint8Array;
  readonly #ringTimeoutMs: number;
  readonly #prepared = new Map<string, PreparedOffer>();
  readonly #ringing = new Map<string, Ringing>();
  #seq = 0;

  constructor(o: PrivateCallsOptions) {
    this.#o = o;
    this.#random = o.randomBytes ?? webRandomBytes;
    this.#ringTimeoutMs = o.ringTimeoutMs ?? 30_000;
    if (!(this.#ringTimeoutMs > 0)) throw new RangeError('ringTimeoutMs must be positive');
  }

  get ringTimeoutMs(): number {
    return this.#ringTimeoutMs;
  }

  // ---------------------------------------------------------------------------------------
  // outgoing
  // ---------------------------------------------------------------------------------------

  /** 7.4.2 note 1: pre-generates the I_MESSAGE for a call to `callee`; the next call() uses it. */
  async prepare(callee: string): Promise<void> {
    checkUri(callee);
    this.#prepared.set(callee, await this.#makeOffer(callee));
  }

  async #makeOffer(callee: string): Promise<PreparedOffer> {
    const ctx = this.#o.ctx;
    const from = ctx.identity();
    const now = ctx.now();
    const profile = keyProfile(ctx.profile);
    const key = this.#random(16).slice(0, 16);
    const keyId = newKeyId(profile.defaultTag.PCK!, this.#random);
    const rand = this.#random(16).slice(0, 16);
    const calleeKms = this.#o.calleeKms?.(callee) ?? from.kms;
    const message = await createKeyDistribution({
      kind: 'PCK',
      key,
      keyId,
      rand,
      from,
      to: { uri: callee, kms: calleeKms },
      time: now,
      profile: profile.name,
      sakkeToSelf: true,
      randomBytes: this.#random,
      ...(this.#o.protection !== undefined ? { hideIdentities: true } : {}),
      ...(ctx.identityCrypto ? { identityCrypto: ctx.identityCrypto } : {}),
    });
    // The caller's record, with the values the callee's receiver will compute.
    const ntp = ntpSecondsOfUnixMs(now);
    const period = periodAt(from.kms, ntp);
    const keys = from.keysForPeriod(period)!; // createKeyDistribution has just used them
    const record: ReceivedKey = {
      kind: 'PCK',
      key,
      keyId,
      purpose: checkPurpose(profile, keyId, 'PCK'),
      csbId: keyId,
      gukId: undefined,
      rand,
      groupIds: [],
      activationTime: undefined,
      expiryTime: undefined,
      text: '',
      status: 'active',
      initiator: { uid: keys.uid, uri: from.uri, kmsUri: from.kms.kmsUri, keyPeriodNo: period },
      sentAt: unixMsOfNtpSeconds(ntp),
      keyPeriodNo: period,
      keyPeriodEndsAt: periodEndUnixMs(from.kms, period),
      viaSakkeToSelf: false,
    };
    return { callee, message, record, createdAt: now };
  }

  #takePrepared(callee: string): PreparedOffer | undefined {
    const p = this.#prepared.get(callee);
    this.#prepared.delete(callee); // one offer, one call: a PCK is never used twice
    if (p === undefined) return undefined;
    const ctx = this.#o.ctx;
    const now = ctx.now();
    const kms = ctx.identity().kms;
    const samePeriod = periodAt(kms, ntpSecondsOfUnixMs(now)) === p.record.keyPeriodNo;
    return samePeriod && now - p.createdAt <= (this.#o.maxPreparedAgeMs ?? 300_000) ? p : undefined;
  }

  /** Calls `callee` (an MCPTT ID); resolves once answered, with the PCK on the call. */
  async call(callee: string): Promise<PrivateCall> {
    checkUri(callee);
    const ua = this.#o.ua();
    if (ua === undefined) throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', 'call() before connect()');
    const record = new CallRecord('calling');
    let offer: PreparedOffer;
    try {
      offer = this.#takePrepared(callee) ?? (await this.#makeOffer(callee));
    } catch (e) {
      record.to('failed');
      this.#failed({ direction: 'outgoing', peer: callee, code: failureCodeOf(e), failureClass: keyFailureOf(e, 'invite').failureClass, sipStatus: undefined });
      throw e;
    }
    let sip: SipCall;
    try {
      const target = this.#o.protection === undefined ? callee : await this.#o.protection.directory.aorOf(callee);
      sip = await ua.call(target, { transformOffer: (sdp) => writeSdpMikey(sdp, offer.message, { level: 'session' }) });
    } catch (e) {
      record.to('failed');
      this.#failed({ direction: 'outgoing', peer: callee, code: failureCodeOf(e), failureClass: 'call', sipStatus: isSipError(e) ? e.statusCode : undefined });
      throw e;
    }
    try {
      await this.#store(offer.record);
    } catch (e) {
      record.to('failed');
      await sip.hangup().catch(() => {});
      this.#failed({ direction: 'outgoing', peer: callee, code: failureCodeOf(e), failureClass: 'internal', sipStatus: undefined });
      throw e;
    }
    record.to('established');
    const call = this.#established(record, 'outgoing', { uri: callee, verified: false, hidden: false }, undefined, offer.record, sip);
    return call;
  }

  // ---------------------------------------------------------------------------------------
  // incoming
  // ---------------------------------------------------------------------------------------

  /** The SIP user agent's `onIncomingCall` delegate: the offer, before anything is answered. */
  async onIncomingCall(offer: IncomingCallOffer): Promise<IncomingCallDecision> {
    if (!this.#o.hooks.hasIncomingListener()) return { accept: false, status: 480, reason: 'Temporarily Unavailable' };
    let message: Uint8Array;
    let key: ReceivedKey;
    try {
      message = onePckMessage(offer.sdp);
      key = await this.#o.ctx.receiver('strict').receive(message, 'PCK');
    } catch (e) {
      const f = keyFailureOf(e, 'invite');
      this.#failed({ direction: 'incoming', peer: undefined, code: f.code, failureClass: f.failureClass, sipStatus: f.status });
      return { accept: false, status: f.status, reason: f.reason };
    }
    const record = new CallRecord('ringing');
    const messageB64 = encodeBase64(message);
    const id = `in-${++this.#seq}`;
    const caller = callerOf(key, offer.from, await this.#resolveHidden(key));
    const decision = new Promise<IncomingCallDecision>((resolve) => {
      const ringing: Ringing = { record, key, caller, messageB64, decide: resolve, established: undefined, abandon: undefined };
      this.#ringing.set(id, ringing);
    });
    const timer = setTimeout(() => {
      const r = this.#ringing.get(id);
      if (r === undefined || r.record.state !== 'ringing') return;
      r.record.to('missed');
      this.#ringing.delete(id);
      r.decide({ accept: false, status: 480, reason: 'No Answer' });
    }, this.#ringTimeoutMs);

    const incoming: IncomingPrivateCall = {
      id,
      caller,
      pckId: bytesToHex(key.keyId),
      get state() {
        return record.state;
      },
      accept: () => this.#accept(id),
      reject: (reason = 'declined') => {
        const r = this.#ringing.get(id);
        if (r === undefined || r.record.state !== 'ringing') return;
        r.record.to('rejected');
        this.#ringing.delete(id);
        r.decide(
          reason === 'busy'
            ? { accept: false, status: 486, reason: 'Busy Here' }
            : reason === 'unavailable'
              ? { accept: false, status: 480, reason: 'Temporarily Unavailable' }
              : { accept: false, status: 603, reason: 'Decline' },
        );
      },
    };
    this.#o.hooks.incoming(incoming);
    try {
      return await decision;
    } finally {
      clearTimeout(timer);
    }
  }

  /** E.7: the hidden caller's MCPTT ID, when the directory names one whose UID matches. */
  async #resolveHidden(key: ReceivedKey): Promise<string | undefined> {
    const dir = this.#o.protection?.directory;
    const i = key.initiator;
    if (dir === undefined || i.uri !== undefined) return undefined;
    const kms = this.#o.ctx.kmsFor(i.kmsUri);
    if (kms === undefined) return undefined;
    try {
      const claimed = await dir.mcpttIdOfUid(i.uid, i.keyPeriodNo);
      return equalBytes(uidOf(claimed, kms, i.keyPeriodNo), i.uid) ? claimed : undefined;
    } catch {
      // Unknown to the directory, or it is unreachable: the call rings as from a hidden caller.
      return undefined;
    }
  }

  async #accept(id: string): Promise<PrivateCall> {
    const r = this.#ringing.get(id);
    if (r === undefined || r.record.state !== 'ringing') {
      throw new SignallingError('ERR_SIGNALLING_INVALID_STATE', `accept() on a call that is ${r?.record.state ?? 'no longer ringing'}`);
    }
    r.record.to('accepting');
    try {
      await this.#store(r.key);
    } catch (e) {
      r.record.to('failed');
      this.#ringing.delete(id);
      r.decide({ accept: false, status: 500, reason: 'Key Processing Failed' });
      throw e;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sipCall = new Promise<SipCall>((resolve, reject) => {
      r.established = resolve;
      r.abandon = reject;
      timer = setTimeout(() => reject(new SignallingError('ERR_CALL_NOT_ESTABLISHED', 'the call was not established after it was accepted')), ESTABLISH_TIMEOUT_MS);
    });
    r.decide({ accept: true });
    let sip: SipCall;
    try {
      sip = await sipCall;
    } catch (e) {
      if (r.record.is('accepting')) r.record.to('failed');
      throw e;
    } finally {
      clearTimeout(timer);
      r.established = undefined;
      r.abandon = undefined;
      this.#ringing.delete(id);
    }
    r.record.to('established');
    const caller = r.caller;
    return this.#established(r.record, 'incoming', { uri: caller.uri, verified: caller.uri !== undefined, hidden: caller.hidden }, caller, r.key, sip);
  }

  /** The SIP user agent's `incomingCall` event: an accepted call is established. */
  onEstablished(sip: SipCall): void {
    let messages: string[];
    try {
      messages = readSdpMikey(sip.remoteSdp ?? '').map((a) => encodeBase64(a.message));
    } catch {
      return;
    }
    for (const r of this.#ringing.values()) {
      if (r.record.state === 'accepting' && r.established !== undefined && messages.includes(r.messageB64)) {
        r.established(sip);
        return;
      }
    }
  }

  /** Ends ringing calls (the session stops) and drops pre-generated offers. */
  stop(): void {
    this.#prepared.clear();
    for (const [id, r] of this.#ringing) {
      if (r.record.state === 'ringing') {
        r.record.to('missed');
        r.decide({ accept: false, status: 480, reason: 'Temporarily Unavailable' });
      } else r.abandon?.(new SignallingError('ERR_CALL_NOT_ESTABLISHED', 'the session stopped before the call was established'));
      this.#ringing.delete(id);
    }
  }

  async #store(k: ReceivedKey): Promise<void> {
    await this.#o.ctx.putMediaKey(k);
  }

  #established(record: CallRecord, direction: 'outgoing' | 'incoming', peer: CallPeer, caller: CallerIdentity | undefined, key: ReceivedKey, sip: SipCall): PrivateCall {
    const call: PrivateCall = {
      id: sip.id,
      direction,
      peer,
      caller,
      pckId: bytesToHex(key.keyId),
      get state() {
        return record.state;
      },
      keys: () => ({ ...key, key: key.key.slice(), keyId: key.keyId.slice(), rand: key.rand.slice(), csbId: key.csbId.slice() }),
      sip,
      ended: sip.ended,
      hangup: () => sip.hangup(),
    };
    void sip.ended.then(() => {
      if (record.state === 'established') {
        record.to('ended');
        this.#o.hooks.ended(call);
      }
    });
    this.#o.hooks.keys(call);
    return call;
  }

  #failed(f: CallFailure): void {
    this.#o.hooks.failed(f);
  }
}

function checkUri(uri: string): void {
  if (typeof uri !== 'string' || !SIP_URI.test(uri)) throw new TypeError('the callee must be an MCPTT ID (a SIP URI)');
}

/** The one PCK I_MESSAGE of an offer: several different ones would be ambiguous. */
function onePckMessage(sdp: string): Uint8Array {
  const found = readSdpMikey(sdp);
  const first = found[0];
  if (first === undefined) throw new MikeyError('ERR_MIKEY_MALFORMED', 'the offer carries no a=key-mgmt:mikey attribute');
  if (found.some((a) => !equalBytes(a.message, first.message))) throw new MikeyError('ERR_MIKEY_MALFORMED', 'the offer carries more than one MIKEY message');
  return first.message;
}

function callerOf(k: ReceivedKey, sipFrom: string, resolved?: string): CallerIdentity {
  const uri = k.initiator.uri ?? resolved;
  return {
    uri,
    hidden: uri === undefined,
    uid: bytesToHex(k.initiator.uid),
    kmsUri: k.initiator.kmsUri,
    sipFrom,
    sipFromMatches: uri !== undefined && uri === sipFrom,
  };
}
