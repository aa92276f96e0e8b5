/**
 * The security panel (TS 33.179 7.5 media protection): whether end-to-end encryption is on
 * and through which browser API, the MKIs in use (key IDs: not secret), and frame counters
 * from the group calls' `mediaStats()` and the private call's E2EE counters.
 */
import type { McpttClient } from '../../src/client.js';
import { byId } from './dom.js';
import type { GroupCalls } from './group-calls.js';

export interface SecurityPanel {
  refresh(): Promise<void>;
}

const MODE_TEXT: Record<string, string> = {
  'script-transform': 'RTCRtpScriptTransform (worker)',
  'encoded-streams': 'encoded streams (worker)',
};

export function createSecurityPanel(client: McpttClient, calls: GroupCalls, privateMki: () => { send?: string; receive?: string }): SecurityPanel {
  const set = (id: string, text: string): void => {
    const e = byId(id);
    if (e.textContent !== text) e.textContent = text;
  };
  return {
    async refresh() {
      const media = client.media();
      set('e2ee-active', media === undefined ? 'no (not connected, or this browser cannot protect media)' : 'yes (no key: no media)');
      byId('e2ee-active').className = media === undefined ? '' : 'ok';
      set('e2ee-mode', media === undefined ? '–' : (MODE_TEXT[media.mode] ?? media.mode));
      const joined = calls.entries().filter((e) => e.call !== undefined);
      const stats = await Promise.all(joined.map((e) => e.call!.mediaStats().catch(() => undefined)));
      const sum = { enc: 0, dec: 0, drop: 0 };
      for (const s of stats) {
        if (s === undefined) continue;
        sum.enc += s.framesEncrypted;
        sum.dec += s.framesDecrypted;
        sum.drop += s.framesDropped;
      }
      // The private call's tracks through the same E2EE manager.
      const pc = { enc: 0, dec: 0, drop: 0 };
      for (const c of (await media?.counters().catch(() => [])) ?? []) {
        const dropped = c.droppedNoKey + c.droppedUnknownKey + c.droppedAuth + c.droppedReplay + c.droppedMalformed + c.droppedUnencrypted + c.droppedExpired + c.droppedError;
        if (c.direction === 'send') pc.enc += c.framesOut;
        else pc.dec += c.framesOut;
        pc.drop += dropped;
      }
      const talk = calls.talkGroup();
      const talkStats = talk?.call === undefined ? undefined : stats[joined.indexOf(talk)];
      const pm = privateMki();
      set('mki-send', talkStats?.sendMki ?? pm.send ?? 'none (not sending)');
      set('mki-receive', talkStats?.receiveMki ?? stats.find((s) => s?.receiveMki !== undefined)?.receiveMki ?? pm.receive ?? 'none yet');
      set('frames-group', joined.length === 0 ? 'no group call' : `${sum.enc} encrypted, ${sum.dec} decrypted, ${sum.drop} dropped`);
      set('frames-private', `${pc.enc} encrypted, ${pc.dec} decrypted, ${pc.drop} dropped`);
    },
  };
}
