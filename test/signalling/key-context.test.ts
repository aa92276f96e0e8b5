/**
 * The held-key mirror of the signalling key context (src/platform/signalling/key-context.ts;
 * TS 33.179 7.3.2 "check that the GMK-ID is not a duplicate"): writes made through the context
 * update the mirror without re-reading the store (a dispatcher's 100+ GMKs at login made
 * that quadratic), while another tab's writes are still read, once per burst of changes.
 */
import { describe, expect, it } from 'vitest';
import { createKeyDistribution, newKeyId, type DistributedKeyKind, type ReceivedKey } from '../../src/keys/index.js';
import { GroupKeyProcessor, KeyContext, type MediaKeyStore } from '../../src/platform/signalling/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const BOB = 'sip:bob@mcptt.example';
const GMS = 'sip:gms@mcptt.example';
const kms = createTestKms('kms.mcptt.example', 12);
const P = kms.periodAt(Date.now());
const bob = kms.identity(BOB, [P]);
const gms = kms.identity(GMS, [P]);
const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const group = (i: number): string => `sip:g${i}@mcptt.example`;

/** A store that tells listeners of its own writes ('local', before the write resolves) as the IndexedDB store does. */
function eventfulStore() {
  const keys = new Map<string, ReceivedKey>();
  const listeners = new Set<(what: string, origin?: 'local' | 'remote') => void>();
  const k = (kind: DistributedKeyKind, id: Uint8Array): string => `${kind}:${bytesToHex(id)}`;
  let reads = 0;
  let gate: Promise<void> | undefined;
  const store: MediaKeyStore = {
    async putMediaKey(r) {
      keys.set(k(r.kind, r.keyId), r);
      for (const l of listeners) l('mediaKey', 'local');
    },
    async getMediaKey(kind, id) {
      return keys.get(k(kind, id));
    },
    async mediaKeys(f = {}) {
      reads++;
      await gate;
      return [...keys.values()].filter((r) => f.kind === undefined || r.kind === f.kind);
    },
    on(_event, listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    store,
    reads: () => reads,
    /** Another tab stored a key. */
    remotePut(r: ReceivedKey): void {
      keys.set(k(r.kind, r.keyId), r);
      for (const l of listeners) l('mediaKey', 'remote');
    },
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

const gmkMessage = (groupId: string, g = { key: rnd(16), keyId: newKeyId(0, rnd), rand: rnd(16) }): Promise<Uint8Array> =>
  createKeyDistribution({ kind: 'GMK', ...g, from: gms, to: { uri: BOB, kms: kms.params }, time: Date.now(), parameters: { groupIds: [groupId] } });

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
};

describe('key context mirror', () => {
  it("this tab's own GMK writes are not re-read, and the mirror still refuses their duplicates", async () => {
    const s = eventfulStore();
    const ctx = new KeyContext({ identity: () => bob, store: s.store, gmsUris: [GMS] });
    await ctx.open();
    const afterOpen = s.reads();
    const processor = new GroupKeyProcessor(ctx, { onKey: () => {}, onRefused: () => {} });
    const messages: Uint8Array[] = [];
    for (let i = 0; i < 12; i++) messages.push(await gmkMessage(group(i)));
    for (let i = 0; i < 12; i++) expect((await processor.processGroup(group(i), [messages[i]!], 'notification')).ok).toBe(true);
    await flush();
    expect(s.reads()).toBe(afterOpen);
    // The mirror knows them: the receiver itself refuses one again.
    await expect(ctx.receiver('strict').receive(messages[3]!, 'GMK', { groupId: group(3) })).rejects.toMatchObject({ code: 'ERR_MIKEY_DUPLICATE_KEY' });
    ctx.close();
  });

  it("another tab's write is read, and changes heard during a reload cause one more reload, not one each", async () => {
    const s = eventfulStore();
    const ctx = new KeyContext({ identity: () => bob, store: s.store, gmsUris: [GMS] });
    await ctx.open();
    const m = await gmkMessage(group(1));
    const key = await ctx.receiver('pull').receive(m, 'GMK', { groupId: group(1) });
    const release = s.hold();
    const before = s.reads();
    s.remotePut(key);
    for (let i = 0; i < 5; i++) s.remotePut(key);
    release();
    await flush();
    // One reload (two kinds read) for the first change, one more for the five heard meanwhile.
    expect(s.reads() - before).toBe(4);
    await expect(ctx.receiver('strict').receive(m, 'GMK', { groupId: group(1) })).rejects.toMatchObject({ code: 'ERR_MIKEY_DUPLICATE_KEY' });
    ctx.close();
  });
});
