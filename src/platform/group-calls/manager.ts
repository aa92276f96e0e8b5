/**
 * Several group calls at once (dispatcher monitoring, TS 24.379 prearranged group calls; TS
 * 33.179 7.3 keys per group): at most one call per group, each with its own volume, talker and
 * floor; the app talks on whichever it requests the floor in. The manager also routes GMK
 * changes of a group to its call (a revoked GMK mutes the call's microphone at once).
 */
import type { E2eeManager } from '../media/index.js';
import { SignallingError, type ClientServerKey } from '../signalling/index.js';
import type { SipUserAgent } from '../sip/index.js';
import type { FloorControlFactory } from './floor-port.js';
import { GroupCallImpl } from './group-call.js';
import type { GroupCallSessions } from './group-call-sdh.js';
import { webAudioPlayback, type CallAudioFactory } from './playback.js';
import type { GroupCall, JoinGroupOptions } from './types.js';

export interface GroupCallManagerOptions {
  readonly ua: () => SipUserAgent | undefined;
  /** Our MCPTT ID (the calling user of the INVITE). */
  readonly mcpttId: () => string | undefined;
  /** Where group call INVITEs go (the MCPTT server's URI). */
  readonly mcpttServerUri: string;
  /** The E2EE manager; without one no group call is joined (its media would be in clear). */
  readonly media: E2eeManager | undefined;
  /** Registry shared with the session description handler factory. */
  readonly sessions: GroupCallSessions;
  /** The session's CSK (floor control protection). */
  readonly csk: () => ClientServerKey | undefined;
  /** Floor control (src/floor through floor-adapter.ts); none → requestFloor fails. */
  readonly floor?: FloorControlFactory;
  /** Playback; Web Audio by default. */
  readonly audio?: CallAudioFactory;
  /** TS 33.179 9.3 hook: the mcptt-info XML of the INVITE (identity by default). */
  readonly protectInfo?: (xml: string) => Promise<string>;
  /** Allow unprotected floor control when there is no CSK (default false: fail closed). */
  readonly unprotectedFloor?: boolean;
  /** Floor channel open timeout after the 200 OK (default 10 s). */
  readonly channelTimeoutMs?: number;
  readonly now?: () => number;
}

const SIP_URI = /^sips?:[^\s<>"]{1,256}$/;

export class GroupCallManager {
  readonly #o: GroupCallManagerOptions;
  readonly #calls = new Map<string, { readonly call: GroupCallImpl; readonly joined: Promise<GroupCall> }>();
  #audio: CallAudioFactory | undefined;
  #stopped = false;

  constructor(o: GroupCallManagerOptions) {
    this.#o = o;
  }

  /** Joins `groupId`'s call, or returns the call already joined (or joining) for it. */
  join(groupId: string, options: JoinGroupOptions = {}): Promise<GroupCall> {
    if (typeof groupId !== 'string' || !SIP_URI.test(groupId)) return Promise.reject(new TypeError('groupId must be an MCPTT group ID (a SIP URI)'));
    const existing = this.#calls.get(groupId);
    if (existing !== undefined) return existing.joined;
    const o = this.#o;
    const ua = o.ua();
    const mcpttId = o.mcpttId();
    if (this.#stopped || ua === undefined || mcpttId === undefined) return Promise.reject(new SignallingError('ERR_SIGNALLING_INVALID_STATE', 'connect() before joinGroup()'));
    if (o.media === undefined) return Promise.reject(new SignallingError('ERR_GROUP_CALL_NO_E2EE', 'group calls need end-to-end media protection, which is off'));
    const call = new GroupCallImpl({
      groupId,
      mcpttId,
      serverUri: o.mcpttServerUri,
      ua,
      sessions: o.sessions,
      media: o.media,
      protectInfo: o.protectInfo ?? ((xml) => Promise.resolve(xml)),
      floor: o.floor,
      floorKey: o.csk,
      unprotectedFloor: o.unprotectedFloor ?? false,
      audio: o.audio ?? (this.#audio ??= webAudioPlayback()),
      volume: options.muted ? 0 : 1,
      channelTimeoutMs: o.channelTimeoutMs ?? 10_000,
      now: o.now ?? Date.now,
      onGone: (c) => {
        if (this.#calls.get(groupId)?.call === c) this.#calls.delete(groupId);
      },
    });
    const joined = call.join().then(() => call as GroupCall);
    joined.catch(() => undefined);
    this.#calls.set(groupId, { call, joined });
    return joined;
  }

  /** Calls joining or joined, in the order they were started. */
  calls(): readonly GroupCall[] {
    return Object.freeze([...this.#calls.values()].map((c) => c.call));
  }

  /** A GMK of `groupId` arrived or was revoked. */
  keysChanged(groupId: string): Promise<void> {
    return this.#calls.get(groupId)?.call.keysChanged() ?? Promise.resolve();
  }

  /** Leaves every call (disconnect). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#calls.values()].map((c) => c.call.leave().catch(() => undefined)));
    this.#calls.clear();
  }
}
