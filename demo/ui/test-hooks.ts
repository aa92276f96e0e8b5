/**
 * `window.mcpttDemo`: hooks the browser tests read. States, key IDs and one-way fingerprints
 * only: never key material, tokens or identities (an MCPTT ID goes in as a test's argument,
 * never comes out).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { McpttClient } from '../../src/client.js';
import { gukId, srtpMasterKeys } from '../../src/crypto/index.js';
import { keyProfile } from '../../src/keys/index.js';
import { bytesToHex, concatBytes, hexToBytes } from '../../src/util/bytes.js';
import { byId, slugOf } from './dom.js';
import type { EventLog } from './event-log.js';
import type { GroupCalls } from './group-calls.js';
import type { PrivateCallPanel } from './private-call.js';
import type { PushToTalk } from './ptt.js';

export interface MediaEventRecord {
  readonly type: string;
  readonly direction?: string;
  readonly mki?: string;
  readonly reason?: string;
}

export interface HookSources {
  readonly client: McpttClient;
  readonly registration: () => string;
  readonly groupKeys: Map<string, { gmkId: string; status: string }>;
  readonly refusals: string[];
  readonly mediaEvents: MediaEventRecord[];
  readonly calls: GroupCalls;
  readonly privateCall: PrivateCallPanel;
  readonly ptt: PushToTalk;
  readonly log: EventLog;
}

const fingerprint = (...parts: Uint8Array[]): string => bytesToHex(sha256(concatBytes(...parts))).slice(0, 32);

export function installTestHooks(h: HookSources): void {
  const { client, groupKeys, calls } = h;
  const existing = (window as unknown as { mcpttDemo?: object }).mcpttDemo;
  const hooks = {
    keyStatus: () => client.keyStatus(),
    heldPeriods: () => {
      const id = client.identity();
      const s = client.keyStatus();
      if (id === undefined || !('currentPeriod' in s)) return [];
      return [s.currentPeriod - 1, s.currentPeriod, s.currentPeriod + 1].filter((n) => id.keysForPeriod(n) !== undefined);
    },
    /** Key sets held in IndexedDB for an identity the test names (the page shows none). */
    storedKeySetCount: async (mcpttId: string) => {
      const store = client.keyStore();
      return store ? (await store.keySets(mcpttId)).length : 0;
    },
    registration: () => h.registration(),
    groupKeys: () => Object.fromEntries(groupKeys),
    storedGmkIds: async (groupId: string) => {
      const store = client.keyStore();
      return store ? (await store.mediaKeys({ kind: 'GMK', groupId })).map((k) => `${bytesToHex(k.keyId)}:${k.status}`) : [];
    },
    refusals: () => [...h.refusals],
    /** Fingerprint of the SRTP master key/salt of `senderMcpttId`'s streams in a group. */
    senderKeyFingerprint: async (groupId: string, senderMcpttId: string) => {
      const store = client.keyStore();
      const held = groupKeys.get(groupId);
      const k = store && held ? await store.getMediaKey('GMK', hexToBytes(held.gmkId)) : undefined;
      if (k === undefined) return undefined;
      const guk = gukId({ gmk: k.key, gmkId: k.keyId, mcpttId: senderMcpttId });
      const m = srtpMasterKeys({ tgk: k.key, csId: keyProfile().csId.group, csbId: guk, rand: k.rand });
      return fingerprint(m.masterKey, m.masterSalt);
    },
    callState: () => h.privateCall.current()?.state ?? (h.privateCall.ringing() ? 'ringing' : 'none'),
    /** E2EE of call media: mode, per-track counters (no keys), events seen (key IDs only). */
    mediaMode: () => client.media()?.mode ?? 'off',
    mediaCounters: async () => (await client.media()?.counters()) ?? [],
    mediaEvents: () => [...h.mediaEvents],
    /** Received audio of the current call (inbound-rtp stats). */
    callInbound: async () => {
      const out = { energy: 0, packets: 0 };
      (await h.privateCall.peerConnection()?.getStats())?.forEach((r: { type: string; kind?: string; totalAudioEnergy?: number; packetsReceived?: number }) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') Object.assign(out, { energy: r.totalAudioEnergy ?? 0, packets: r.packetsReceived ?? 0 });
      });
      return out;
    },
    callKeyFingerprint: () => {
      const c = h.privateCall.current();
      if (c === undefined) return undefined;
      const k = c.keys();
      return fingerprint(k.key, k.keyId, k.rand);
    },
    /**
     * What the page shows now, as stable data, so a test can wait for a state and then
     * screenshot it. `elementIds` lists the IDs worth a locator screenshot.
     */
    screenshotState: () => ({
      signedIn: client.state === 'signed-in',
      keys: client.keyStatus().state,
      registration: h.registration(),
      groupCalls: calls.available,
      talkGroup: calls.talkGroup() === undefined ? undefined : slugOf(calls.talkGroup()!.groupId),
      groups: Object.fromEntries(calls.entries().map((e) => [slugOf(e.groupId), { phase: e.phase, floor: e.floor?.state ?? 'start-stop', talking: e.floor?.talker !== undefined, refusal: e.refusal?.kind }])),
      pttPressed: h.ptt.pressed(),
      floorText: byId('floor-state').textContent ?? '',
      privateCall: h.privateCall.current()?.state ?? (h.privateCall.ringing() ? 'ringing' : 'none'),
      logEntries: h.log.entries().length,
      elementIds: ['login-section', 'keys-section', 'service-section', 'groups-section', 'ptt-section', 'call-section', 'security-section', 'log-section', ...calls.entries().map((e) => `group-${slugOf(e.groupId)}`)],
    }),
    /** The event log's lines, newest first (display text only). */
    eventLog: () => h.log.entries(),
    /** Group call objects for tests that drive them directly (floor, levels, stats). */
    groupCall: (groupId: string) => calls.get(groupId)?.call,
  };
  // Hooks another module installed (demo/test-hooks-group.ts) stay: ours are added beside them.
  Object.assign(window, { mcpttDemo: Object.assign(existing ?? {}, hooks) });
}
