/**
 * The dev MCPTT server's floor control (TS 24.380 6.3 floor control server; TS 33.179 7.6
 * protection): one src/floor arbitrator per group call, and per participant a floor channel
 * whose SRTCP protection uses the keys derived from that member's CSK (profile ts33180: the
 * CSK is the key the client shares with the server, CS-ID 6 "CSK SRTCP", MKI = CSK-ID).
 *
 *   data channel ─► (MKI → member's CSK → floor key) unprotect ─► decodeMbcp ─► arbitrator
 *   arbitrator ─► encodeMbcp (server SSRC) ─► protect (member's current CSK) ─► data channel
 *
 * The floor key derivation is async and the protection's lookup is synchronous, so a packet
 * is held until the key its MKI names is derived (from the member's live binding: a packet
 * under a CSK the binding does not hold is refused by the protection as an unknown key). The
 * arbitrator learns of a member only once its channel is open, because joining sends it the
 * current floor state. Nothing here logs.
 */
import {
  createFloorArbitrator,
  createFloorChannel,
  createFloorProtection,
  deriveFloorKey,
  type FloorArbitrator,
  type FloorArbitratorOptions,
  type FloorChannel,
  type FloorKey,
} from '../../../src/floor/index.js';
import type { ReceivedKey } from '../../../src/keys/index.js';
import { bytesToHex } from '../../../src/util/bytes.js';
import type { CallFloor, CallFloorFactory, CallerBinding } from './group-calls.js';

export interface ServerFloorOptions {
  /** Highest Floor Priority a member may use (TS 24.380 0–255); default 100. */
  readonly priority?: number;
  /** Members may make emergency (pre-emptive) requests; default true. */
  readonly emergency?: boolean;
  /** Passed to every arbitrator (timers, queueing, pre-emption, config). */
  readonly arbitrator?: Omit<FloorArbitratorOptions, 'send'>;
  /** Each call's arbitrator, for tests and the admin view. */
  readonly onArbitrator?: (arbitrator: FloorArbitrator) => void;
}

interface Participant {
  readonly mcpttId: string;
  readonly binding: Pick<CallerBinding, 'cskById' | 'currentCsk'>;
  readonly keys: Map<string, FloorKey>;
  readonly channel: FloorChannel;
  sendKeyId: string | undefined;
  open: boolean;
  /** Receives in arrival order: key derivation is async and must not reorder packets. */
  inbound: Promise<void>;
}

const MKI_LENGTH = 4;

async function keyFor(p: Participant, csk: ReceivedKey): Promise<string> {
  const id = bytesToHex(csk.keyId);
  if (!p.keys.has(id)) {
    p.keys.set(id, await deriveFloorKey({ kind: 'CSK', keyId: csk.keyId, tgk: csk.key, rand: csk.rand }));
    // The current CSK and the two before it are enough for any renewal in flight.
    while (p.keys.size > 3) p.keys.delete(p.keys.keys().next().value!);
  }
  return id;
}

/** The send key follows the member's current CSK (a renewal switches at the next message). */
async function refreshSendKey(p: Participant): Promise<void> {
  const current = p.binding.currentCsk();
  p.sendKeyId = current === undefined ? undefined : await keyFor(p, current);
}

export function serverFloor(options: ServerFloorOptions = {}): CallFloorFactory {
  const priority = options.priority ?? 100;
  const emergency = options.emergency ?? true;
  return (): CallFloor => {
    const participants = new Map<string, Participant>();
    const arbitrator = createFloorArbitrator({
      ...options.arbitrator,
      send: (id, message) => {
        const p = participants.get(id);
        if (p === undefined || !p.open) return;
        void refreshSendKey(p).then(
          () => p.channel.send(message),
          () => undefined,
        );
      },
    });
    options.onArbitrator?.(arbitrator);
    return {
      join(id, m) {
        const keys = new Map<string, FloorKey>();
        const holder: { p?: Participant } = {};
        const protection = createFloorProtection({
          role: 'server',
          sendKey: () => (holder.p?.sendKeyId === undefined ? undefined : keys.get(holder.p.sendKeyId)),
          lookup: (mki) => keys.get(bytesToHex(mki)),
          profile: 'ts33180',
        });
        const channel = createFloorChannel({
          role: 'server',
          protection,
          send: (bytes) => {
            m.send(bytes);
          },
          onMessage: (message) => arbitrator.receive(id, message),
        });
        const p: Participant = { mcpttId: m.mcpttId, binding: m, keys, channel, sendKeyId: undefined, open: false, inbound: Promise.resolve() };
        holder.p = p;
        participants.set(id, p);
      },
      channelOpen(id) {
        const p = participants.get(id);
        if (p === undefined || p.open) return;
        p.open = true;
        arbitrator.join(id, { userId: p.mcpttId, priority, emergency });
      },
      leave(id) {
        const p = participants.get(id);
        if (p === undefined) return;
        participants.delete(id);
        p.channel.close();
        arbitrator.leave(id);
      },
      receive(id, bytes) {
        const p = participants.get(id);
        if (p === undefined) return;
        p.inbound = p.inbound.then(async () => {
          if (bytes.length > MKI_LENGTH) {
            const csk = p.binding.cskById(bytesToHex(bytes.subarray(bytes.length - MKI_LENGTH)));
            if (csk !== undefined) await keyFor(p, csk).catch(() => undefined);
          }
          if (participants.get(id) === p) await p.channel.receive(bytes);
        });
      },
      holder: () => arbitrator.holder(),
      mediaActivity(id) {
        arbitrator.mediaActivity(id);
      },
      close() {
        for (const p of participants.values()) p.channel.close();
        participants.clear();
        arbitrator.dispose();
      },
    };
  };
}
