/**
 * What a group call needs from floor control (TS 24.380 6.2.4 on-network floor participant;
 * TS 33.179 7.6 protection of floor control messages): a participant that turns
 * `request`/`release` into MBCP packets for the data channel and packets from the arbitrator
 * into `FloorStatus` changes. The pure implementation lives in src/floor; a group call only
 * sees this port, so unit tests drive it with a fake and the wiring to src/floor stays in one
 * adapter (floor-adapter.ts).
 *
 * Packets are opaque bytes here: the participant protects and unprotects them (SRTCP-style,
 * RFC 7714 AEAD under the CSK in profile ts33180) before they reach the channel.
 */
import type { ClientServerKey } from '../signalling/index.js';
import type { FloorRefusal, FloorRequestOptions, FloorStatus } from './types.js';

export interface FloorControlEvents {
  status: [status: FloorStatus];
  /** Our request was refused (Floor Deny). */
  denied: [refusal: FloorRefusal];
  /** The floor was taken away from us (Floor Revoke). */
  revoked: [refusal: FloorRefusal];
}

export interface FloorControl {
  readonly status: FloorStatus;
  /** The call is joined: 'start-stop' → 'has-no-permission'. */
  start(): void;
  /**
   * Sends a Floor Request; resolves 'granted' or 'queued', rejects with a typed error when
   * denied (ERR_FLOOR_DENIED), unanswered (ERR_FLOOR_TIMEOUT) or stopped.
   */
  request(options?: FloorRequestOptions): Promise<'granted' | 'queued'>;
  /** Sends a Floor Release (or cancels a pending/queued request). */
  release(): Promise<void>;
  /** A binary message from the data channel. Never throws: refused packets are counted. */
  receive(packet: Uint8Array): void;
  /** Media of the current talker arrived (restarts T103, the end-of-media timer). */
  mediaReceived?(): void;
  /** The call ends: back to 'start-stop', pending requests fail, timers stop. */
  stop(): void;
  on<E extends keyof FloorControlEvents>(event: E, listener: (...args: FloorControlEvents[E]) => void): () => void;
}

export interface FloorControlInit {
  /** Sends one packet on the `mcptt-floor` data channel. */
  readonly send: (packet: Uint8Array) => void;
  /**
   * The CSK that protects floor control (profile ts33180); undefined only when the deployment
   * allows unprotected floor control (`unprotectedFloor`). Read at each packet: the CSK is
   * renewed with each key period.
   */
  readonly csk: (() => ClientServerKey | undefined) | undefined;
  /** Our MCPTT ID (Floor Request's User ID field). */
  readonly mcpttId: string;
}

export type FloorControlFactory = (init: FloorControlInit) => FloorControl;

/** The status before floor control has started (and after it stopped). */
export const FLOOR_START_STOP: FloorStatus = Object.freeze({ state: 'start-stop', talker: undefined, queuePosition: undefined });
