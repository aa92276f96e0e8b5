/**
 * src/floor behind the group call's FloorControl port: TS 24.380 6.2.4 floor participant,
 * MBCP (TS 24.380 8.2) on the `mcptt-floor` data channel, SRTCP-protected per TS 33.179 7.6
 * (RFC 7714 AEAD, MKI = CSK-ID) under the signalling session's CSK (profile ts33180).
 *
 *   participant.send(message) ─► encodeMbcp(our SSRC) ─► protect (CSK) ─► data channel
 *   data channel ─► unprotect (MKI → CSK) ─► decodeMbcp ─► participant.receive(message)
 *
 * src/floor's channel keeps sends and receives in order and counts refused packets (by code)
 * without throwing into the page. This adapter adds the keys: the floor key is derived from
 * the CSK when first needed and again after a CSK renewal (the keys of the two CSKs before it
 * still open late packets). Without a CSK (only when the deployment allows it) packets are
 * plain MBCP.
 */
import {
  createFloorChannel,
  createFloorParticipant,
  createFloorProtection,
  deriveFloorKey,
  newFloorSsrc,
  type FloorChannelStats,
  type FloorKey,
  type FloorParticipant,
  type FloorParticipantConfig,
  type FloorProtection,
  type FloorTimers,
} from '../../floor/index.js';
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
  return (init: FloorControlInit): FloorControl & { stats(): FloorChannelStats } => {
    const keys = init.csk === undefined ? undefined : new FloorKeys(init.csk, options.profile);
    let protection: FloorProtection | undefined;
    if (keys !== undefined) {
      const inner = createFloorProtection({ role: 'client', sendKey: keys.sendKey, lookup: keys.lookup, ...(options.profile ? { profile: options.profile } : {}) });
      // The floor key is derived (async) from the current CSK before each packet: after a
      // renewal the new CSK protects what we send, and the server's answers under it open.
      protection = {
        protect: async (rtcp) => (await keys.ensure(), inner.protect(rtcp)),
        unprotect: async (srtcp) => (await keys.ensure(), inner.unprotect(srtcp)),
      };
    }
    let participant: FloorParticipant | undefined;
    const channel = createFloorChannel({
      role: 'client',
      send: init.send,
      onMessage: (message) => participant?.receive(message),
      ...(protection !== undefined ? { protection } : {}),
      ...(options.randomBytes ? { ssrc: newFloorSsrc('client', options.randomBytes) } : {}),
    });
    participant = createFloorParticipant({
      // The channel counts what it could not send; the participant's timers retry or time out.
      send: (message) => void channel.send(message),
      ...(options.timers ? { timers: options.timers } : {}),
      ...(options.config ? { config: options.config } : {}),
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      userId: init.mcpttId,
    });
    const p = participant;
    return {
      stats: () => channel.stats(),
      get status() {
        return p.status;
      },
      start: () => {
        // Derive the floor key now, so the first request does not wait for it.
        void keys?.ensure().catch(() => undefined);
        p.start();
      },
      request: (o) => p.request(o),
      release: async () => p.release(),
      receive: (packet) => void channel.receive(packet),
      mediaReceived: () => p.mediaReceived(),
      stop: () => {
        p.stop();
        channel.close();
      },
      on: (event, listener) => p.on(event, listener),
    };
  };
}
