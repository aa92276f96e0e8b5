/**
 * The talk groups (TS 33.179 7.3 GMKs; monitoring several groups at once): per group its GMK
 * state, a "monitor" switch (join/leave the group call), "talk on this group", a volume
 * slider, a level meter and who is talking. Element IDs are stable (`group-<slug>`,
 * `monitor-<slug>`, `talk-<slug>`, `volume-<slug>`, `level-<slug>`, `talker-<slug>`,
 * `gmk-<slug>`, `call-<slug>`) so tests can drive and screenshot each state.
 */
import type { KeyStore } from '../../src/platform/key-store/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { byId, el, slugOf, time } from './dom.js';
import { gmkText, summarizeGmks, talkerText, type NameOf } from './floor-text.js';
import type { GroupCalls, GroupEntry } from './group-calls.js';

export interface GroupsPanel {
  /** Re-reads a group's GMKs from the store and renders them. */
  refreshKeys(groupId: string): Promise<void>;
  /** Updates the level meters (called on a timer). */
  tickLevels(): void;
}

const PHASE_TEXT: Record<GroupEntry['phase'], string> = {
  idle: 'Not monitored.',
  joining: 'Joining…',
  joined: 'Monitoring.',
  leaving: 'Leaving…',
  failed: 'Could not join',
};

export function createGroupsPanel(calls: GroupCalls, store: () => KeyStore | undefined, nameOf: NameOf, log: (text: string) => void): GroupsPanel {
  const list = byId<HTMLUListElement>('groups');
  const activationTimers = new Map<string, ReturnType<typeof setTimeout>>();

  function row(e: GroupEntry): HTMLLIElement {
    const s = slugOf(e.groupId);
    const monitor = el('input', { id: `monitor-${s}` });
    monitor.type = 'checkbox';
    monitor.disabled = !calls.available;
    monitor.addEventListener('change', () => {
      log(`${monitor.checked ? 'Joining' : 'Leaving'} ${e.displayName}.`);
      void (monitor.checked ? calls.join(e.groupId) : calls.leave(e.groupId));
    });
    const talk = el('input', { id: `talk-${s}` });
    talk.type = 'radio';
    talk.name = 'talk-group';
    talk.addEventListener('change', () => talk.checked && calls.setTalkGroup(e.groupId));
    const volume = el('input', { id: `volume-${s}` });
    volume.type = 'range';
    volume.min = '0';
    volume.max = '100';
    volume.value = String(Math.round(e.volume * 100));
    volume.addEventListener('input', () => {
      calls.setVolume(e.groupId, Number(volume.value) / 100);
      volume.setAttribute('aria-valuetext', `${volume.value} percent`);
    });
    const level = el('meter', { id: `level-${s}` });
    level.min = 0;
    level.max = 1;
    level.value = 0;
    level.low = 0.05;
    level.high = 0.6;
    level.optimum = 0.3;
    return el(
      'li',
      { id: `group-${s}`, className: 'group' },
      el('h4', { textContent: e.displayName }),
      el('p', { id: `gmk-${s}`, className: 'gmk', textContent: 'GMK: checking…' }),
      el('div', { className: 'controls' },
        el('label', { htmlFor: monitor.id }, monitor, ` Monitor ${e.displayName}`),
        el('label', { htmlFor: talk.id }, talk, ` Talk on ${e.displayName}`),
        el('label', { htmlFor: volume.id, className: 'slider' }, `Volume, ${e.displayName} `, volume),
        el('label', { htmlFor: level.id, className: 'slider' }, `Level, ${e.displayName} `, level),
      ),
      el('p', { id: `call-${s}`, className: 'call', textContent: calls.available ? PHASE_TEXT.idle : 'Group calls are not available in this build.' }),
      el('p', { id: `talker-${s}`, className: 'talker', textContent: talkerText(undefined, nameOf) }),
    );
  }

  function render(e: GroupEntry): void {
    const s = slugOf(e.groupId);
    const li = document.getElementById(`group-${s}`);
    if (li === null) return;
    const joined = e.phase === 'joined';
    (byId<HTMLInputElement>(`monitor-${s}`)).checked = e.phase === 'joining' || joined;
    (byId<HTMLInputElement>(`talk-${s}`)).checked = calls.talkGroup()?.groupId === e.groupId;
    li.classList.toggle('joined', joined);
    li.classList.toggle('talk', calls.talkGroup()?.groupId === e.groupId);
    if (calls.available) byId(`call-${s}`).textContent = e.phase === 'failed' ? `${PHASE_TEXT.failed} (${e.failure ?? 'error'}).` : PHASE_TEXT[e.phase];
    const talker = byId(`talker-${s}`);
    talker.textContent = joined ? talkerText(e.floor, nameOf) : '';
    talker.classList.toggle('emergency', e.floor?.talker?.emergency === true);
  }

  calls.onChange((c) => {
    const e = calls.get(c.groupId);
    if (e === undefined) return;
    if (c.what === 'added') {
      list.append(row(e));
      void api.refreshKeys(e.groupId);
    }
    if (c.what === 'talk-group') for (const other of calls.entries()) render(other);
    else render(e);
    if (c.what === 'phase') {
      if (e.phase === 'joined') log(`Monitoring ${e.displayName}.`);
      else if (e.phase === 'failed') log(`${e.displayName}: the call failed (${e.failure ?? 'error'}).`);
      else if (e.phase === 'idle') log(`Left ${e.displayName}.`);
    }
  });

  const api: GroupsPanel = {
    async refreshKeys(groupId) {
      const s = store();
      const target = document.getElementById(`gmk-${slugOf(groupId)}`);
      if (s === undefined || target === null) return;
      const keys = (await s.mediaKeys({ kind: 'GMK', groupId })).map((k) => ({
        keyId: bytesToHex(k.keyId),
        status: k.status,
        activationTime: k.activationTime,
        expiryTime: k.expiryTime,
        sentAt: k.sentAt,
      }));
      const now = Date.now();
      const summary = summarizeGmks(keys, now);
      target.textContent = gmkText(summary, time);
      target.classList.toggle('bad', summary.active === undefined);
      // Show the next key taking over when its time comes.
      clearTimeout(activationTimers.get(groupId));
      const at = summary.next?.activationTime;
      if (at !== undefined && at - now < 2 ** 31 - 1) activationTimers.set(groupId, setTimeout(() => void api.refreshKeys(groupId), at - now + 50));
    },
    tickLevels() {
      for (const e of calls.entries()) {
        const m = document.getElementById(`level-${slugOf(e.groupId)}`) as HTMLMeterElement | null;
        if (m !== null) m.value = e.call?.outputLevel() ?? 0;
      }
    },
  };
  return api;
}
