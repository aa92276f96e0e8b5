/**
 * Group calls as the page sees them (TS 33.179 7.3, 7.5, 7.6; TS 24.380): the calls the
 * dispatcher monitors, which one the push-to-talk button talks on, and change notifications
 * for the panels. Joining goes through `McpttClient.joinGroup` (src/platform/group-calls);
 * the feature check keeps the page working with a client that has no group calls yet.
 */
import type { McpttClient } from '../../src/client.js';
import type { FloorRefusal, FloorStatus, GroupCall, JoinGroupOptions } from '../../src/platform/group-calls/types.js';

type GroupCapable = { joinGroup?(groupId: string, options?: JoinGroupOptions): Promise<GroupCall> };

export interface GroupEntry {
  readonly groupId: string;
  displayName: string;
  call: GroupCall | undefined;
  /** 'idle' (not monitored), 'joining', 'joined', 'leaving', or 'failed' with `failure`. */
  phase: 'idle' | 'joining' | 'joined' | 'leaving' | 'failed';
  failure: string | undefined;
  floor: FloorStatus | undefined;
  /** The last denial or revocation, until the next request. */
  refusal: { readonly kind: 'denied' | 'revoked'; readonly refusal: FloorRefusal } | undefined;
  volume: number;
}

export type GroupChange = { readonly groupId: string; readonly what: 'added' | 'phase' | 'floor' | 'refusal' | 'talk-group' };

export interface GroupCalls {
  readonly available: boolean;
  entries(): GroupEntry[];
  get(groupId: string): GroupEntry | undefined;
  ensure(groupId: string, displayName: string): GroupEntry;
  join(groupId: string): Promise<void>;
  leave(groupId: string): Promise<void>;
  setVolume(groupId: string, volume: number): void;
  /** The group the push-to-talk button talks on. */
  talkGroup(): GroupEntry | undefined;
  setTalkGroup(groupId: string): void;
  onChange(listener: (c: GroupChange) => void): () => void;
  markRefusal(groupId: string, refusal: GroupEntry['refusal']): void;
  /** Leaves every call (logout). */
  leaveAll(): Promise<void>;
}

const codeOf = (e: unknown): string => (e as { code?: string } | undefined)?.code ?? 'error';

export function createGroupCalls(client: McpttClient): GroupCalls {
  const capable = client as McpttClient & GroupCapable;
  const groups = new Map<string, GroupEntry>();
  const listeners = new Set<(c: GroupChange) => void>();
  let talk: string | undefined;
  const offs = new Map<string, (() => void)[]>();

  const emit = (groupId: string, what: GroupChange['what']): void => {
    for (const l of [...listeners]) {
      try {
        l({ groupId, what });
      } catch {
        // One panel's failure must not stop the others.
      }
    }
  };

  function detach(e: GroupEntry): void {
    for (const off of offs.get(e.groupId) ?? []) off();
    offs.delete(e.groupId);
    e.call = undefined;
    e.floor = undefined;
  }

  function attach(e: GroupEntry, call: GroupCall): void {
    e.call = call;
    e.floor = call.floor;
    offs.set(e.groupId, [
      call.on('floor', (s) => {
        e.floor = s;
        emit(e.groupId, 'floor');
      }),
      call.on('floor-denied', (r) => api.markRefusal(e.groupId, { kind: 'denied', refusal: r })),
      call.on('floor-revoked', (r) => api.markRefusal(e.groupId, { kind: 'revoked', refusal: r })),
      call.on('ended', (info) => {
        if (e.call !== call) return;
        detach(e);
        e.phase = info.code === undefined ? 'idle' : 'failed';
        e.failure = info.code;
        emit(e.groupId, 'phase');
      }),
    ]);
  }

  const api: GroupCalls = {
    available: typeof capable.joinGroup === 'function',
    entries: () => [...groups.values()],
    get: (id) => groups.get(id),
    ensure(groupId, displayName) {
      let e = groups.get(groupId);
      if (e === undefined) {
        e = { groupId, displayName, call: undefined, phase: 'idle', failure: undefined, floor: undefined, refusal: undefined, volume: 0.8 };
        groups.set(groupId, e);
        emit(groupId, 'added');
        if (talk === undefined) api.setTalkGroup(groupId);
      } else if (displayName !== e.displayName) {
        e.displayName = displayName;
      }
      return e;
    },
    async join(groupId) {
      const e = groups.get(groupId);
      if (e === undefined || e.phase === 'joining' || e.phase === 'joined') return;
      if (typeof capable.joinGroup !== 'function') {
        e.phase = 'failed';
        e.failure = 'ERR_GROUP_CALLS_UNAVAILABLE';
        emit(groupId, 'phase');
        return;
      }
      e.phase = 'joining';
      e.failure = undefined;
      emit(groupId, 'phase');
      try {
        const call = await capable.joinGroup(groupId, { muted: e.volume === 0 });
        if (e.phase !== 'joining') {
          // Left while joining.
          await call.leave().catch(() => undefined);
          return;
        }
        call.volume = e.volume;
        attach(e, call);
        e.phase = 'joined';
      } catch (err) {
        e.phase = 'failed';
        e.failure = codeOf(err);
      }
      emit(groupId, 'phase');
    },
    async leave(groupId) {
      const e = groups.get(groupId);
      if (e === undefined) return;
      const call = e.call;
      e.phase = call === undefined ? 'idle' : 'leaving';
      emit(groupId, 'phase');
      if (call !== undefined) {
        await call.leave().catch(() => undefined);
        detach(e);
        e.phase = 'idle';
        emit(groupId, 'phase');
      }
    },
    setVolume(groupId, volume) {
      const e = groups.get(groupId);
      if (e === undefined) return;
      e.volume = Math.min(1, Math.max(0, volume));
      if (e.call !== undefined) e.call.volume = e.volume;
    },
    talkGroup: () => (talk === undefined ? undefined : groups.get(talk)),
    setTalkGroup(groupId) {
      if (!groups.has(groupId) || talk === groupId) return;
      talk = groupId;
      emit(groupId, 'talk-group');
    },
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    markRefusal(groupId, refusal) {
      const e = groups.get(groupId);
      if (e === undefined) return;
      e.refusal = refusal;
      emit(groupId, 'refusal');
    },
    async leaveAll() {
      await Promise.all([...groups.keys()].map((id) => api.leave(id)));
    },
  };
  return api;
}
