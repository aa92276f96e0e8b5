/**
 * GMKs to the media layer (TS 33.179 7.3.2 receipt, 7.5 use): the keys the member holds — in
 * the key store from earlier sessions, pulled at connect (5.6.1 C-5) or notified by the GMS —
 * become group contexts of the E2EE manager; a revocation removes the key at once.
 *
 * One chain of steps, each reading the store's CURRENT record when it runs: a 'group-key'
 * event only names the key (events carry no key material), and reading at run time means a
 * revocation stored after an older copy was read can never be overtaken by that copy.
 */
import type { ReceivedKey } from '../../keys/receive.js';
import { hexToBytes } from '../../util/bytes.js';
import type { E2eeManager } from '../media/index.js';

export interface GmkFeedStore {
  mediaKeys(filter: { readonly kind: 'GMK' }): Promise<ReceivedKey[]>;
  getMediaKey(kind: 'GMK', keyId: Uint8Array): Promise<ReceivedKey | undefined>;
}

export interface GmkFeed {
  /** Every GMK in the store (at connect). */
  loadStored(): Promise<void>;
  /** A GMK was stored or revoked for `groupId` ('group-key' event). */
  changed(groupId: string, gmkIdHex: string): Promise<void>;
}

export function createGmkFeed(o: {
  readonly store: GmkFeedStore;
  readonly media: Pick<E2eeManager, 'setKey'>;
  /** The group's keys changed (the group call re-checks its send key). */
  readonly onChanged: (groupId: string) => Promise<void> | void;
}): GmkFeed {
  let chain: Promise<void> = Promise.resolve();
  const run = (read: () => Promise<{ key: ReceivedKey; groupIds: readonly string[] }[]>): Promise<void> => {
    const step = chain.then(async () => {
      for (const { key, groupIds } of await read()) {
        for (const groupId of groupIds) {
          // A key the media ring refuses (a floor-only GMK of profile ts33179-v13, an expired
          // one) is simply not used for media.
          await o.media.setKey(key, { groupId }).catch(() => undefined);
          await Promise.resolve(o.onChanged(groupId)).catch(() => undefined);
        }
      }
    });
    chain = step.catch(() => undefined);
    return chain;
  };
  return {
    loadStored: () => run(async () => (await o.store.mediaKeys({ kind: 'GMK' })).map((key) => ({ key, groupIds: key.groupIds }))),
    changed: (groupId, gmkIdHex) =>
      run(async () => {
        const key = await o.store.getMediaKey('GMK', hexToBytes(gmkIdHex));
        return key === undefined ? [] : [{ key, groupIds: [groupId] }];
      }),
  };
}
