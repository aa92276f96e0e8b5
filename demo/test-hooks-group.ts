/**
 * Test hooks of the demo page for group calls (docs/group-calls.md): the browser tests drive
 * joining, floor requests and releases through `window.mcpttDemo` and read floor states and
 * media statistics. Like the other hooks they return states, counters and display names —
 * never key material, tokens or MCPTT IDs.
 */
import type { McpttClient } from '../src/client.js';
import type { GroupCall } from '../src/platform/group-calls/index.js';

interface InboundAudio {
  totalAudioEnergy: number;
  concealedSamples: number;
  totalSamplesReceived: number;
  packetsReceived: number;
}

const codeOf = (e: unknown): string => (e as { code?: string } | null)?.code ?? 'ERR_UNKNOWN';

export function installGroupCallHooks(client: McpttClient, displayName: (mcpttId: string | undefined) => string): void {
  const w = window as unknown as { mcpttDemo?: Record<string, unknown> };
  const hooks = (w.mcpttDemo ??= {});
  /** Floor events per group, in order: what the test checks after the fact. */
  const floorLog = new Map<string, string[]>();
  const callOf = (groupId: string): GroupCall | undefined => client.groupCalls().find((c) => c.groupId === groupId);
  const watch = (c: GroupCall): void => {
    const log: string[] = [];
    floorLog.set(c.groupId, log);
    c.on('floor', (f) => log.push(f.state));
    c.on('floor-denied', (r) => log.push(`denied:${r.cause}`));
    c.on('floor-revoked', (r) => log.push(`revoked:${r.cause}`));
    c.on('ended', (i) => log.push(`ended:${i.code ?? 'normal'}`));
  };

  Object.assign(hooks, {
    /** Joins; resolves with the call state, or `error:<code>`. */
    joinGroup: async (groupId: string, muted = false): Promise<string> => {
      try {
        const known = callOf(groupId);
        const c = await client.joinGroup(groupId, { muted });
        if (known === undefined || !floorLog.has(groupId)) watch(c);
        return c.state;
      } catch (e) {
        return `error:${codeOf(e)}`;
      }
    },
    leaveGroup: async (groupId: string): Promise<void> => callOf(groupId)?.leave(),
    /** 'granted' | 'queued' | `error:<code>`. */
    requestFloor: async (groupId: string, emergency = false): Promise<string> => {
      const c = callOf(groupId);
      if (c === undefined) return 'error:not-joined';
      try {
        return await c.requestFloor(emergency ? { emergency: true } : undefined);
      } catch (e) {
        return `error:${codeOf(e)}`;
      }
    },
    releaseFloor: async (groupId: string): Promise<string> => {
      try {
        await callOf(groupId)?.releaseFloor();
        return 'ok';
      } catch (e) {
        return `error:${codeOf(e)}`;
      }
    },
    /** Floor state and the talker's display name (never the MCPTT ID). */
    floorState: (groupId: string) => {
      const c = callOf(groupId);
      if (c === undefined) return { call: 'none', state: 'start-stop', talker: undefined, self: false, queuePosition: undefined };
      const f = c.floor;
      return { call: c.state, state: f.state, talker: f.talker === undefined ? undefined : displayName(f.talker.mcpttId), self: f.talker?.self ?? false, queuePosition: f.queuePosition };
    },
    floorLog: (groupId: string): string[] => [...(floorLog.get(groupId) ?? [])],
    setGroupVolume: (groupId: string, volume: number): void => {
      const c = callOf(groupId);
      if (c !== undefined) c.volume = volume;
    },
    /** inbound-rtp audio of the call's peer connection, the SDK's frame counters and levels. */
    groupCallStats: async (groupId: string) => {
      const c = callOf(groupId);
      if (c === undefined) return undefined;
      const inbound: InboundAudio = { totalAudioEnergy: 0, concealedSamples: 0, totalSamplesReceived: 0, packetsReceived: 0 };
      let packetsSent = 0;
      (await c.peerConnection?.getStats())?.forEach((r: { type: string; kind?: string } & Partial<InboundAudio> & { packetsSent?: number }) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') {
          inbound.totalAudioEnergy += r.totalAudioEnergy ?? 0;
          inbound.concealedSamples += r.concealedSamples ?? 0;
          inbound.totalSamplesReceived += r.totalSamplesReceived ?? 0;
          inbound.packetsReceived += r.packetsReceived ?? 0;
        }
        if (r.type === 'outbound-rtp' && r.kind === 'audio') packetsSent += r.packetsSent ?? 0;
      });
      const media = await c.mediaStats();
      return { ...inbound, packetsSent, ...media, outputLevel: c.outputLevel(), inputLevel: c.inputLevel(), volume: c.volume };
    },
    groupCallIds: (): string[] => client.groupCalls().map((c) => `${c.groupId}:${c.state}`),
  });
}
