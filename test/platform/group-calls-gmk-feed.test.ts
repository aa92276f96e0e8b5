/**
 * GMKs to the E2EE manager (src/platform/group-calls/gmk-feed.ts; TS 33.179 7.3.2, 7.5): keys
 * stored before connect and keys notified during the session become group contexts; a
 * revocation is applied and never overtaken by an older copy of the key; the group call is
 * told after each change; a key the media ring refuses does not stop the others.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { gukId } from '../../src/crypto/index.js';
import type { ReceivedKey } from '../../src/keys/receive.js';
import { createGmkFeed, type GmkFeedStore } from '../../src/platform/group-calls/index.js';
import { createE2eeManager, type E2eeManager } from '../../src/platform/media/index.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { fakeHost, fakeTaps, InProcessWorker } from '../media/helpers.js';

const FIRE = 'sip:fire-ops@mcptt.example';
const EMS = 'sip:ems@mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const RAND = hexToBytes('00112233445566778899aabbccddeeff');

function gmk(idHex: string, groupId: string, status: 'active' | 'revoked' = 'active'): ReceivedKey {
  const key = new Uint8Array(16).fill(parseInt(idHex.slice(-2), 16));
  const keyId = hexToBytes(idHex);
  return { kind: 'GMK', key, keyId, gukId: gukId({ gmk: key, gmkId: keyId, mcpttId: ALICE }), rand: RAND, groupIds: [groupId], status, activationTime: undefined, expiryTime: undefined } as unknown as ReceivedKey;
}

/** A key store whose reads return what was stored when they were made, released by gates. */
class SlowStore implements GmkFeedStore {
  readonly keys = new Map<string, ReceivedKey>();
  listGate: Promise<void> = Promise.resolve();
  getGate: Promise<void> = Promise.resolve();
  put(k: ReceivedKey): void {
    this.keys.set(bytesToHex(k.keyId), k);
  }
  async mediaKeys(): Promise<ReceivedKey[]> {
    const snapshot = [...this.keys.values()];
    await this.listGate;
    return snapshot;
  }
  async getMediaKey(_kind: 'GMK', keyId: Uint8Array): Promise<ReceivedKey | undefined> {
    const snapshot = this.keys.get(bytesToHex(keyId));
    await this.getGate;
    return snapshot;
  }
}

const managers: E2eeManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.dispose();
});

async function manager(): Promise<E2eeManager> {
  const m = await createE2eeManager({ taps: fakeTaps(), createWorker: () => new InProcessWorker(fakeHost(Date.now())), requestTimeoutMs: 1000 });
  managers.push(m);
  return m;
}

const sendKeyIds = async (m: E2eeManager, groupId: string): Promise<string[]> =>
  (await m.keyRing.sendKeys({ kind: 'group', groupId })).map((k) => bytesToHex(k.mki.slice(0, 4)));

describe('GMKs to the E2EE manager', () => {
  it('stored keys become group contexts at connect; each change is announced for its group', async () => {
    const store = new SlowStore();
    store.put(gmk('0a000001', FIRE));
    store.put(gmk('0a000002', EMS));
    const media = await manager();
    const changed: string[] = [];
    const feed = createGmkFeed({ store, media, onChanged: (g) => void changed.push(g) });
    await feed.loadStored();
    expect(await sendKeyIds(media, FIRE)).toEqual(['0a000001']);
    expect(await sendKeyIds(media, EMS)).toEqual(['0a000002']);
    expect(changed.sort()).toEqual([EMS, FIRE]);
  });

  it('a revocation is never overtaken by an older copy read before it was stored', async () => {
    const store = new SlowStore();
    store.put(gmk('0a000003', FIRE));
    const media = await manager();
    const feed = createGmkFeed({ store, media, onChanged: () => undefined });
    let openList!: () => void;
    store.listGate = new Promise((r) => (openList = r));
    // The load at connect has read the active copy but not applied it when the GMS revokes
    // the key; the revocation's own read comes back first.
    const load = feed.loadStored();
    await new Promise((r) => setTimeout(r, 0)); // the load has read the store
    store.put(gmk('0a000003', FIRE, 'revoked'));
    const revoke = feed.changed(FIRE, '0a000003');
    await new Promise((r) => setTimeout(r, 10));
    openList();
    await Promise.all([load, revoke]);
    expect(await sendKeyIds(media, FIRE)).toEqual([]);
    expect(media.keyRing.contexts()).toEqual([]);
  });

  it('a key the media ring refuses (a CSK-tagged ID) is skipped; the others still arrive', async () => {
    const store = new SlowStore();
    store.put(gmk('2a000004', FIRE)); // purpose tag 2: a CSK's, not a GMK's (profile ts33180)
    store.put(gmk('0a000005', EMS));
    const media = await manager();
    const feed = createGmkFeed({ store, media, onChanged: () => undefined });
    await feed.loadStored();
    expect(await sendKeyIds(media, FIRE)).toEqual([]);
    expect(await sendKeyIds(media, EMS)).toEqual(['0a000005']);
  });

  it('a notified key for an unknown ID (nothing stored) changes nothing', async () => {
    const store = new SlowStore();
    const media = await manager();
    const changed: string[] = [];
    const feed = createGmkFeed({ store, media, onChanged: (g) => void changed.push(g) });
    await feed.changed(FIRE, '0a0000ff');
    expect(changed).toEqual([]);
    expect(media.keyRing.contexts()).toEqual([]);
  });
});
