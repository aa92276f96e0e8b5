/**
 * Prearranged group calls at the dev MCPTT server: the controlling MCPTT function of
 * TS 24.379 10.6.2 (call setup by INVITE to the server URI, the group named in mcpttinfo),
 * the media distribution of TS 24.380 4.1.1.3 (./media-focus.ts) and, per call, one floor
 * arbitrator (TS 24.380 6.3) whose holder gates the media. TS 33.179 7.5/7.6: the server
 * forwards the holder's end-to-end encrypted frames untouched and holds no media key; the
 * floor control packets between a member and the arbitrator are protected under that
 * member's CSK (the one its service authorization delivered, 9.1.3).
 *
 * One call per group, created by its first joiner and gone with its last leg:
 *
 * ```
 *            INVITE (first member)                    BYE / leg lost (last member)
 *   (none) ───────────────────────────► active ──────────────────────────────────► (none)
 *                                        │ ▲
 *                     INVITE / BYE ──────┘ └── members join and leave
 * ```
 *
 * A member's leg: INVITE → checks → werift answer → 200 (joined) → BYE or media failure
 * (left). A CANCEL before the answer ends it with 487. Refusals, as SIP statuses:
 *
 * | check | status |
 * |---|---|
 * | addressed to the server URI (To or P-Called-Party-ID) | 404 |
 * | a re-INVITE (To tag present) | 488 (not supported) |
 * | caller (From) has a live service authorization | 403 |
 * | body: multipart SDP + mcptt-info, mcpttinfo readable, request URI and calling user present | 400 |
 * | session-type prearranged | 488 |
 * | calling user ID = the MCPTT ID bound to the caller | 403 |
 * | the group exists | 404 |
 * | the caller is a member (or was admitted by the test-only `admitToMedia`) | 403 |
 * | one Opus sendrecv audio m-line and one data channel m-line, answerable | 488 (400 if not SDP) |
 *
 * Debug lines name statuses and counts, never an MCPTT ID, group ID or key.
 */
import type { Core } from 'sip.js';

import { parseGroupCallOfferBody, parseMcpttInfoXml, SDP_CONTENT_TYPE, type McpttInfo } from '../../../src/codec/sip-bodies.js';
import type { ReceivedKey } from '../../../src/keys/index.js';
import { createMediaLeg, MediaLegError, type MediaLeg } from './media-leg.js';
import { MediaFocus, type MediaFocusCounters } from './media-focus.js';
import { plainSipUri, randomToken, type OutgoingResponse } from './sip-message.js';

/** What the call control needs to know of a caller's live service authorization. */
export interface CallerBinding {
  readonly mcpttId: string;
  /** The caller's CSKs by key ID (hex); more than one while a renewal is under way. */
  readonly cskById: (keyIdHex: string) => ReceivedKey | undefined;
  /** The CSK to protect with now (the latest the member's service authorization brought). */
  readonly currentCsk: () => ReceivedKey | undefined;
}

/**
 * The floor arbitrator of one call as the call control drives it (TS 24.380 6.3). The
 * implementation (src/floor, protection under each member's CSK included) is plugged in by
 * a factory; the call control only moves bytes and asks who holds the floor.
 */
export interface CallFloor {
  /** A participant joined; `send` delivers bytes on its floor channel. */
  join(
    participantId: string,
    p: { readonly mcpttId: string; readonly cskById: CallerBinding['cskById']; readonly currentCsk: CallerBinding['currentCsk']; readonly send: (bytes: Uint8Array) => boolean },
  ): void;
  /** Its floor channel opened (messages to it can flow now). */
  channelOpen?(participantId: string): void;
  leave(participantId: string): void;
  /** A message from the participant's floor channel (protected bytes). */
  receive(participantId: string, bytes: Uint8Array): void;
  holder(): string | undefined;
  /** The holder's media arrived (end-of-media timer). */
  mediaActivity(participantId: string): void;
  close(): void;
}

export type CallFloorFactory = (call: { readonly participants: () => number }) => CallFloor;

export interface GroupCallSummary {
  readonly groupId: string;
  readonly participants: number;
  /** MCPTT ID of the floor holder, if any. */
  readonly holder: string | undefined;
  readonly counters: MediaFocusCounters;
}

export interface GroupCallsOptions {
  readonly serverUri: string;
  /** The live binding of a caller's SIP identity (From), if any. */
  readonly bindingOf: (impu: string) => CallerBinding | undefined;
  /** Members of a group, or undefined for an unknown group. */
  readonly membersOf: (groupId: string) => readonly string[] | undefined;
  readonly floor: CallFloorFactory;
  /**
   * The hook where the mcpttinfo of an INVITE is read. TS 33.179 9.3 lets its values arrive
   * encrypted under the caller's CSK (issue 8): decryption goes here, given the binding.
   */
  readonly readMcpttInfo?: (xml: string, binding: CallerBinding) => McpttInfo | Promise<McpttInfo>;
  readonly iceAdditionalHostAddresses?: readonly string[];
  readonly recordLimit?: number;
  readonly now?: () => number;
  readonly random32?: () => number;
  readonly log?: (line: string) => void;
}

interface Leg {
  readonly id: string;
  readonly groupId: string;
  readonly mcpttId: string;
  readonly callId: string;
  readonly fromTag: string;
  readonly toTag: string;
  readonly media: MediaLeg;
}

interface Call {
  readonly groupId: string;
  readonly focus: MediaFocus;
  readonly floor: CallFloor;
  readonly legs: Map<string, Leg>;
}

interface PendingInvite {
  cancelled: boolean;
}

/** The default reader: plain mcpttinfo (no 9.3 protection yet). */
export const readPlainMcpttInfo = (xml: string): McpttInfo => parseMcpttInfoXml(xml);

const random32 = (): number => globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
const monotonic = (): number => performance.now();

export class GroupCalls {
  readonly #o: GroupCallsOptions;
  readonly #calls = new Map<string, Call>();
  /** The last ended call of each group: its record of forwarded payloads stays readable. */
  readonly #ended = new Map<string, Call>();
  /** Call-ID → leg (each member's leg is its own SIP dialog). */
  readonly #byCallId = new Map<string, Leg>();
  readonly #pending = new Map<string, PendingInvite>();
  /** Test-only: group → MCPTT IDs admitted to its media without being members. */
  readonly #admitted = new Map<string, Set<string>>();
  #closed = false;

  constructor(o: GroupCallsOptions) {
    this.#o = o;
  }

  #log(line: string): void {
    try {
      this.#o.log?.(line);
    } catch {
      /* a logger must not break calls */
    }
  }

  #refuse(status: number, why: string): OutgoingResponse {
    this.#log(`call: INVITE ${status} (${why})`);
    return { status };
  }

  /** Whom the request was addressed to: P-Called-Party-ID when the core retargeted it, else To. */
  #addressedToServer(req: Core.IncomingRequestMessage): boolean {
    const called = req.getHeader('p-called-party-id');
    if (called !== undefined) {
      const m = /^\s*<([^<>]+)>\s*$/.exec(called);
      const u = (m !== null ? m[1]! : called).trim().toLowerCase();
      if (u === this.#o.serverUri.toLowerCase()) return true;
    }
    return plainSipUri(req.to.uri) === this.#o.serverUri;
  }

  async handleInvite(req: Core.IncomingRequestMessage): Promise<OutgoingResponse> {
    if (this.#closed) return { status: 503 };
    if (!this.#addressedToServer(req)) return this.#refuse(404, 'not the server URI');
    // Re-INVITEs (session refresh, codec change) are not needed by the SDK: refused, the
    // dialog stays as it was (RFC 3261 14.2).
    if (req.toTag !== undefined && req.toTag !== '') return this.#refuse(488, 're-INVITE');
    const caller = plainSipUri(req.from.uri);
    const binding = caller === undefined ? undefined : this.#o.bindingOf(caller);
    if (binding === undefined) return this.#refuse(403, 'no service authorization');

    let sdp: string;
    let info: McpttInfo;
    try {
      const body = parseGroupCallOfferBody(req.getHeader('content-type') ?? '', req.body ?? '');
      sdp = body.sdp;
      info = await (this.#o.readMcpttInfo ?? readPlainMcpttInfo)(body.infoXml, binding);
    } catch {
      return this.#refuse(400, 'body');
    }
    if (info.requestUri === undefined || info.callingUserId === undefined || info.sessionType === undefined) return this.#refuse(400, 'mcpttinfo fields');
    if (info.sessionType !== 'prearranged') return this.#refuse(488, 'session type');
    if (info.callingUserId !== binding.mcpttId) return this.#refuse(403, 'calling user');
    const groupId = info.requestUri;
    const members = this.#o.membersOf(groupId);
    if (members === undefined) return this.#refuse(404, 'unknown group');
    const admitted = this.#admitted.get(groupId)?.has(binding.mcpttId) === true;
    if (!members.includes(binding.mcpttId) && !admitted) return this.#refuse(403, 'not a member');

    const key = `${req.callId}|${req.cseq}`;
    const pending: PendingInvite = { cancelled: false };
    this.#pending.set(key, pending);
    let media: MediaLeg;
    try {
      media = await createMediaLeg({ offerSdp: sdp, ...(this.#o.iceAdditionalHostAddresses ? { iceAdditionalHostAddresses: this.#o.iceAdditionalHostAddresses } : {}) });
    } catch (e) {
      this.#pending.delete(key);
      if (e instanceof MediaLegError) return this.#refuse(e.status, `media: ${e.reason}`);
      return this.#refuse(500, 'media');
    }
    this.#pending.delete(key);
    if (pending.cancelled || this.#closed) {
      await media.close();
      return this.#refuse(487, 'cancelled');
    }

    const leg: Leg = { id: randomToken(8), groupId, mcpttId: binding.mcpttId, callId: req.callId, fromTag: req.fromTag, toTag: randomToken(6), media };
    const call = this.#callFor(groupId);
    call.legs.set(leg.id, leg);
    this.#byCallId.set(leg.callId, leg);
    call.focus.add(leg.id, media);
    call.floor.join(leg.id, { mcpttId: binding.mcpttId, cskById: binding.cskById, currentCsk: binding.currentCsk, send: (b) => media.sendFloorMessage(b) });
    media.onFloorMessage((b) => call.floor.receive(leg.id, b));
    media.onFloorChannelOpen(() => call.floor.channelOpen?.(leg.id));
    media.onClosed(() => this.#dropLeg(leg, 'media closed'));
    this.#log(`call: INVITE 200 (${call.legs.size} participant(s)${admitted ? ', admitted outsider' : ''})`);
    return { status: 200, toTag: leg.toTag, body: { contentType: SDP_CONTENT_TYPE, body: media.answerSdp } };
  }

  /** CANCEL of an INVITE still being answered (RFC 3261 9.2): 200 here, 487 to the INVITE. */
  handleCancel(req: Core.IncomingRequestMessage): OutgoingResponse {
    const p = this.#pending.get(`${req.callId}|${req.cseq}`);
    if (p === undefined) return { status: 481 };
    p.cancelled = true;
    this.#log('call: CANCEL 200');
    return { status: 200 };
  }

  /** BYE of a member's leg (RFC 3261 15.1.2). */
  handleBye(req: Core.IncomingRequestMessage): OutgoingResponse {
    const leg = this.#byCallId.get(req.callId);
    // The dialog is ours when the BYE's tags are the leg's, in either direction.
    if (leg === undefined || !((req.fromTag === leg.fromTag && req.toTag === leg.toTag) || (req.fromTag === leg.toTag && req.toTag === leg.fromTag))) {
      this.#log('call: BYE 481');
      return { status: 481 };
    }
    this.#dropLeg(leg, 'BYE');
    return { status: 200 };
  }

  #callFor(groupId: string): Call {
    let call = this.#calls.get(groupId);
    if (call === undefined) {
      const legs = new Map<string, Leg>();
      const floor = this.#o.floor({ participants: () => legs.size });
      const focus = new MediaFocus({
        holder: () => floor.holder(),
        onHolderMedia: (id) => floor.mediaActivity(id),
        now: this.#o.now ?? monotonic,
        random32: this.#o.random32 ?? random32,
        ...(this.#o.recordLimit !== undefined ? { recordLimit: this.#o.recordLimit } : {}),
      });
      call = { groupId, focus, floor, legs };
      this.#calls.set(groupId, call);
      this.#ended.delete(groupId);
      this.#log('call: group call started');
    }
    return call;
  }

  #dropLeg(leg: Leg, why: string): void {
    const call = this.#calls.get(leg.groupId);
    if (call === undefined || !call.legs.delete(leg.id)) return;
    this.#byCallId.delete(leg.callId);
    call.focus.remove(leg.id);
    try {
      call.floor.leave(leg.id);
    } catch {
      /* the arbitrator's failure must not keep a leg alive */
    }
    void leg.media.close();
    this.#log(`call: left (${why}), ${call.legs.size} participant(s)`);
    // With its last leg the call ends; its record stays readable until the group's next call.
    if (call.legs.size === 0) {
      this.#calls.delete(call.groupId);
      this.#ended.set(call.groupId, call);
      try {
        call.floor.close();
      } catch {
        /* nothing left to arbitrate */
      }
      this.#log('call: group call ended');
    }
  }

  /** Test-only (what a compromised server could do): lets a non-member join the group's media. */
  admitToMedia(groupId: string, mcpttId: string): void {
    if (this.#o.membersOf(groupId) === undefined) throw new RangeError('unknown group');
    let s = this.#admitted.get(groupId);
    if (s === undefined) this.#admitted.set(groupId, (s = new Set()));
    s.add(mcpttId);
    this.#log('call: an outsider was admitted to a group call (test-only)');
  }

  /** Group calls with at least one participant. */
  summaries(): GroupCallSummary[] {
    return [...this.#calls.values()].map((c) => {
      const h = c.floor.holder();
      return { groupId: c.groupId, participants: c.legs.size, holder: h === undefined ? undefined : c.legs.get(h)?.mcpttId, counters: c.focus.counters() };
    });
  }

  forwardedPayloads(groupId: string): Uint8Array[] {
    return (this.#calls.get(groupId) ?? this.#ended.get(groupId))?.focus.forwardedPayloads() ?? [];
  }

  /** Participant IDs (leg IDs) of a member in a call: what the floor arbitrator knows it by. */
  participantsOf(groupId: string, mcpttId: string): string[] {
    const c = this.#calls.get(groupId);
    return c === undefined ? [] : [...c.legs.values()].filter((l) => l.mcpttId === mcpttId).map((l) => l.id);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#pending.values()) p.cancelled = true;
    const legs = [...this.#byCallId.values()];
    for (const l of legs) this.#dropLeg(l, 'server closing');
    await Promise.all(legs.map((l) => l.media.close()));
  }
}
