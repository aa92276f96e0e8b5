/**
 * src/floor behind the group call's FloorControl port: TS 24.380 6.2.4 floor participant,
 * MBCP (TS 24.380 8.2) on the `mcptt-floor` data channel, SRTCP-protected per TS 33.179 7.6
 * (RFC 7714 AEAD, MKI = CSK-ID) under the signalling session's CSK (profile ts33180).
 *
 *   participant.send(message) ─► encodeMbcp(our SSRC) ─► protect (CSK) ─► data channel
 *   data channel ─► unprotect (MKI → CSK) ─► decodeMbcp ─► participant.receive(message)
 *
 * Sending is serialized (one chain) so packets leave in the order the participant made them
 * and SRTCP indices grow with them. The floor key is derived from the CSK when first needed
 * and again after a CSK renewal (keys of the previous CSK still open late packets). A packet
 * that fails to unprotect or decode is counted and dropped, never thrown into the page.
 * Without a CSK (only when the deployment allows it) packets are plain MBCP.
 */
import { decodeMbcp, encodeMbcp } from '../../codec/mbcp/index.js';
import { createFloorParticipant, type FloorParticipantConfig } from '../../floor/participant.js';
import { createFloorProtection, deriveFloorKey, newFloorSsrc, type FloorKey, type FloorProtection } from '../../floor/protection.js';
import type { FloorTimers } from '../../floor/events.js';
import type { KeyProfileName } from '../../keys/index.js';
import { bytesToHex } from '../../util/bytes.js';
import type { ClientServerKey } from '../signalling/index.js';
import type { FloorControl, FloorControlFactory, FloorControlInit } from './floor-port.js';

export interface SrcFloorOptions {
  readonly profile?: KeyProfileName;
  readonly timers?: FloorTimers;
  readonly config?: Partial<FloorParticipantConfig>;
  /** Our normal Floor Priority (0–255). */
  readonly priority?: number;
  readonly randomBytes?: (n: number) => Uint8Array;
}

/** Packets refused on the way in, by reason (for diagnostics; nothing else reads them). */
export interface FloorChannelCounters {
  sent: number;
  received: number;
  refused: number;
  sendFailed: number;
}

/** The floor keys derived from the CSKs seen (the current one and up to two before it). */
class FloorKeys {
  readonly #derived = new Map<string, FloorKey>();
  readonly #pending = new Map<string, Promise<void>>();
  #currentId: string | undefined;

  constructor(
    readonly csk: () => ClientServerKey | undefined,
    readonly profile: KeyProfileName | undefined,
  ) {}

  /** Derives the current CSK's floor key once; afterwards sendKey() returns it. */
  async ensure(): Promise<void> {
    const c = this.csk();
    if (c === undefined) {
      this.#currentId = undefined;
      return;
    }
    const id = bytesToHex(c.keyId);
    if (!this.#derived.has(id)) {
      let p = this.#pending.get(id);
      if (p === undefined) {
        p = deriveFloorKey({ kind: 'CSK', keyId: c.keyId, tgk: c.key, rand: c.rand, ...(this.profile ? { profile: this.profile } : {}) })
          .then((k) => {
            this.#derived.set(id, k);
            while (this.#derived.size > 3) this.#derived.delete(this.#derived.keys().next().value!);
          })
          .finally(() => this.#pending.delete(id));
        this.#pending.set(id, p);
      }
      await p;
    }
    this.#currentId = id;
  }

  readonly sendKey = (): FloorKey | undefined => (this.#currentId === undefined ? undefined : this.#derived.get(this.#currentId));

  /** Synchronous, as unprotect needs it: only keys already derived. */
  readonly lookup = (mki: Uint8Array): FloorKey | undefined => this.#derived.get(bytesToHex(mki));
}

/** The FloorControlFactory of src/floor. */
export function srcFloorControl(options: SrcFloorOptions = {}): FloorControlFactory {
  return (init: FloorControlInit): FloorControl & { readonly counters: FloorChannelCounters } => {
    const ssrc = newFloorSsrc('client', options.randomBytes);
    const counters: FloorChannelCounters = { sent: 0, received: 0, refused: 0, sendFailed: 0 };
    const keys = init.csk === undefined ? undefined : new FloorKeys(init.csk, options.profile);
    const protection: FloorProtection | undefined =
      keys === undefined ? undefined : createFloorProtection({ role: 'client', sendKey: keys.sendKey, lookup: keys.lookup, ...(options.profile ? { profile: options.profile } : {}) });
    let chain: Promise<void> = Promise.resolve();
    let inChain: Promise<void> = Promise.resolve();
    let stopped = false;

    const participant = createFloorParticipant({
      send: (message) => {
        chain = chain
          .then(async () => {
            if (stopped) return;
            const plain = encodeMbcp(ssrc, message);
            let out = plain;
            if (protection !== undefined) {
              await keys!.ensure();
              out = await protection.protect(plain);
            }
            init.send(out);
            counters.sent++;
          })
          .catch(() => {
            // No key or a closed channel: the participant's timers retry or time out.
            counters.sendFailed++;
          });
      },
      ...(options.timers ? { timers: options.timers } : {}),
      ...(options.config ? { config: options.config } : {}),
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      userId: init.mcpttId,
    });

    const receive = (packet: Uint8Array): void => {
      // In order, like sending: a Floor Idle must not overtake the Floor Taken before it.
      inChain = inChain
        .then(async () => {
          if (stopped) return;
          let rtcp = packet;
          if (protection !== undefined) {
            await keys!.ensure();
            rtcp = (await protection.unprotect(packet)).rtcp;
          }
          const { message } = decodeMbcp(rtcp);
          counters.received++;
          participant.receive(message);
        })
        .catch(() => {
          counters.refused++;
        });
    };

    return {
      counters,
      get status() {
        return participant.status;
      },
      start: () => {
        // Derive the floor key now, so the first request does not wait for it.
        void keys?.ensure().catch(() => undefined);
        participant.start();
      },
      request: (o) => participant.request(o),
      release: async () => participant.release(),
      receive,
      mediaReceived: () => participant.mediaReceived(),
      stop: () => {
        participant.stop();
        stopped = true;
      },
      on: (event, listener) => participant.on(event, listener),
    };
  };
}
