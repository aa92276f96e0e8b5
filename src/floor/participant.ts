/**
 * The on-network floor participant, TS 24.380 6.2.4 ("floor participant state transition
 * diagram for basic operation"), as the SDK's group call drives it: one instance per call.
 *
 *                 start()                 request()
 *   start-stop ───────────► has-no-permission ─────────► pending-request ──┐ T101 expiry:
 *       ▲   stop() from any     ▲  ▲  ▲    R: Deny / C101 exhausted │  │ ◄──┘ resend (C101)
 *       │                       │  │  └────────────────────────────┘  │
 *       │                       │  │ R: Idle / Taken / C100 exhausted │ R: Granted
 *       │                       │  └──────────────── pending-release ◄┼──── release()
 *       │                       │ R: Deny (queued)   ▲   ▲  T100: resend (C100)
 *       │                       │                    │   │ release() / R: Revoke
 *       │                  queued ◄── R: Queue Position Info ── pending-request
 *       │                    │  R: Granted                     │
 *       │                    └────────────► has-permission ◄───┘
 *
 * Timers (TS 24.380 11.1.1; defaults and their sources in docs/floor-control.md): T100/C100
 * Floor Release retransmission, T101/C101 Floor Request retransmission, T103 end of RTP media
 * (the talker indication is cleared when the talker's media stops), T104/C104 Floor Queue
 * Position Request retransmission. A received message whose subtype asks for an
 * acknowledgement is answered with Floor Ack in every state but start-stop.
 *
 * Messages that arrive in a state with no transition for them are ignored (6.2.4: "discard");
 * `receive` never throws. Two choices beyond the letter of 6.2.4, both fail-closed: a Floor Idle
 * or a Floor Taken while we hold the floor means the arbitrator no longer counts our media, so
 * we drop to has-no-permission; a Floor Taken while our request is pending only updates the
 * talker (T101 keeps running), because our request may still be queued or denied after it.
 */
import { FLOOR_INDICATOR, FLOOR_SOURCE, type MbcpMessage } from '../codec/mbcp/index.js';
import { FloorError } from '../errors.js';
import type { FloorParticipantState, FloorRefusal, FloorRequestOptions, FloorStatus, Talker } from '../platform/group-calls/types.js';
import { FloorEmitter, FloorTimer, systemFloorTimers, type FloorTimers } from './events.js';

/** Legal transitions (CONVENTIONS 5); every state change is checked against this table. */
export const FLOOR_PARTICIPANT_TRANSITIONS: Readonly<Record<FloorParticipantState, readonly FloorParticipantState[]>> = Object.freeze({
  'start-stop': ['has-no-permission'],
  'has-no-permission': ['pending-request', 'start-stop'],
  'pending-request': ['has-permission', 'queued', 'has-no-permission', 'pending-release', 'start-stop'],
  queued: ['has-permission', 'has-no-permission', 'pending-release', 'start-stop'],
  'has-permission': ['pending-release', 'has-no-permission', 'start-stop'],
  'pending-release': ['has-no-permission', 'pending-request', 'start-stop'],
});

export interface FloorParticipantConfig {
  /** T100 Floor Release retransmission interval, ms. */
  readonly t100: number;
  /** C100: Floor Release transmissions at most (the first included). */
  readonly c100: number;
  /** T101 Floor Request retransmission interval, ms. */
  readonly t101: number;
  /** C101: Floor Request transmissions at most (the first included); then ERR_FLOOR_TIMEOUT. */
  readonly c101: number;
  /** T103 end of RTP media, ms (should equal the arbitrator's T1). */
  readonly t103: number;
  /** T104 Floor Queue Position Request retransmission interval, ms. */
  readonly t104: number;
  /** C104: Floor Queue Position Request transmissions at most. */
  readonly c104: number;
}

/** Defaults of this SDK (TS 24.380 11.1.1 leaves them to configuration, TS 24.483). */
export const FLOOR_PARTICIPANT_DEFAULTS: FloorParticipantConfig = Object.freeze({
  t100: 500,
  c100: 3,
  t101: 500,
  c101: 3,
  t103: 4000,
  t104: 1000,
  c104: 3,
});

export interface FloorParticipantEvents {
  /** Any change of state, talker or queue position. */
  status: [status: FloorStatus];
  /** The arbitrator refused our request (Floor Deny), pending or queued. */
  denied: [refusal: FloorRefusal];
  /** The arbitrator took the floor from us (Floor Revoke). */
  revoked: [refusal: FloorRefusal];
}

export interface FloorParticipantOptions {
  /** Hands a message to the floor channel; must not throw (the channel counts its failures). */
  readonly send: (message: MbcpMessage) => void;
  readonly timers?: FloorTimers;
  readonly config?: Partial<FloorParticipantConfig>;
  /** Our MCPTT ID: shown as the talker while we hold the floor (never logged). */
  readonly userId?: string;
  /** Floor Priority sent when a request names none (0–255). */
  readonly priority?: number;
}

export interface FloorParticipant {
  readonly state: FloorParticipantState;
  readonly status: FloorStatus;
  /** The call's floor control starts (start-stop → has-no-permission). */
  start(): void;
  /** The call ended: timers stop, a pending request fails with ERR_FLOOR_CANCELLED. */
  stop(): void;
  /**
   * Asks for the floor: resolves 'granted' or 'queued'; rejects with FloorError
   * ERR_FLOOR_DENIED (with the Reject Cause), ERR_FLOOR_TIMEOUT (T101 expired C101 times),
   * ERR_FLOOR_CANCELLED (released or stopped first) or ERR_FLOOR_INVALID_STATE (not started).
   */
  request(options?: FloorRequestOptions): Promise<'granted' | 'queued'>;
  /** Releases the floor, or withdraws a pending or queued request. No-op otherwise. */
  release(): void;
  /** Asks the arbitrator for our queue position (Floor Queue Position Request, T104/C104). */
  requestQueuePosition(): void;
  /** A message from the arbitrator (decoded and, when configured, authenticated by the channel). */
  receive(message: MbcpMessage): void;
  /** RTP media of the current talker arrived (restarts T103). */
  mediaReceived(): void;
  on<E extends keyof FloorParticipantEvents>(event: E, listener: (...args: FloorParticipantEvents[E]) => void): () => void;
}

function checkConfig(c: FloorParticipantConfig): FloorParticipantConfig {
  for (const [k, v] of Object.entries(c)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 3_600_000) throw new RangeError(`floor participant ${k} must be a positive integer`);
  }
  return c;
}

function refusalOf(m: MbcpMessage): FloorRefusal {
  return { cause: m.rejectCause?.cause ?? 255, text: m.rejectCause?.text };
}

export function createFloorParticipant(options: FloorParticipantOptions): FloorParticipant {
  if (typeof options?.send !== 'function') throw new TypeError('send must be a function');
  const cfg = checkConfig({ ...FLOOR_PARTICIPANT_DEFAULTS, ...options.config });
  const timers = options.timers ?? systemFloorTimers;
  const defaultPriority = options.priority;
  if (defaultPriority !== undefined && (!Number.isInteger(defaultPriority) || defaultPriority < 0 || defaultPriority > 255)) throw new RangeError('priority must be 0..255');
  const events = new FloorEmitter<FloorParticipantEvents>();

  let state: FloorParticipantState = 'start-stop';
  let talker: Talker | undefined;
  let queuePosition: number | undefined;
  let status: FloorStatus = Object.freeze({ state, talker, queuePosition });
  let pending: { resolve: (v: 'granted' | 'queued') => void; reject: (e: FloorError) => void; promise: Promise<'granted' | 'queued'> } | undefined;
  let lastRequest: MbcpMessage | undefined;
  let emergency = false;
  let c100 = 0;
  let c101 = 0;
  let c104 = 0;

  const send = (m: MbcpMessage): void => {
    try {
      options.send(m);
    } catch {
      // The channel reports its own failures; a throwing sender must not break the state machine.
    }
  };

  const t100 = new FloorTimer(timers, () => {
    if (state !== 'pending-release') return;
    if (c100 < cfg.c100) {
      c100++;
      send({ type: 'floor-release' });
      t100.start(cfg.t100);
    } else {
      // 11.1.1: at the C100 limit the participant stops sending Floor Release.
      go('has-no-permission');
    }
  });
  const t101 = new FloorTimer(timers, () => {
    if (state !== 'pending-request' || lastRequest === undefined) return;
    if (c101 < cfg.c101) {
      c101++;
      send(lastRequest);
      t101.start(cfg.t101);
    } else {
      go('has-no-permission');
      settle(new FloorError('ERR_FLOOR_TIMEOUT', `no answer to Floor Request after ${cfg.c101} attempts`));
    }
  });
  const t103 = new FloorTimer(timers, () => {
    // End of RTP media: the talker has stopped (unless it is us).
    if (talker !== undefined && !talker.self) {
      talker = undefined;
      publish();
    }
  });
  const t104 = new FloorTimer(timers, () => {
    if (state !== 'queued') return;
    if (c104 < cfg.c104) {
      c104++;
      send({ type: 'floor-queue-position-request' });
      t104.start(cfg.t104);
    }
  });

  function publish(): void {
    const next = { state, talker, queuePosition };
    if (next.state === status.state && next.talker === status.talker && next.queuePosition === status.queuePosition) return;
    status = Object.freeze(next);
    events.emit('status', status);
  }

  function go(next: FloorParticipantState): void {
    if (next !== state) {
      if (!FLOOR_PARTICIPANT_TRANSITIONS[state].includes(next)) throw new Error(`floor participant: illegal transition ${state} → ${next}`);
      state = next;
    }
    if (state !== 'pending-request') t101.stop();
    if (state !== 'pending-release') t100.stop();
    if (state !== 'queued') {
      t104.stop();
      queuePosition = undefined;
    }
    if (state === 'start-stop') {
      t103.stop();
      talker = undefined;
    }
    publish();
  }

  /** Resolves or rejects the pending request, once. */
  function settle(result: 'granted' | 'queued' | FloorError): void {
    const p = pending;
    pending = undefined;
    if (p === undefined) return;
    if (result instanceof FloorError) p.reject(result);
    else p.resolve(result);
  }

  function sendRelease(): void {
    c100 = 1;
    send({ type: 'floor-release' });
    go('pending-release');
    t100.start(cfg.t100);
  }

  function selfTalker(indicator: number | undefined): Talker {
    return Object.freeze({ mcpttId: options.userId, self: true, emergency: emergency || ((indicator ?? 0) & FLOOR_INDICATOR.EMERGENCY) !== 0 });
  }

  function otherTalker(m: MbcpMessage): Talker {
    return Object.freeze({ mcpttId: m.grantedPartyId, self: false, emergency: ((m.floorIndicator ?? 0) & FLOOR_INDICATOR.EMERGENCY) !== 0 });
  }

  function granted(m: MbcpMessage): void {
    talker = selfTalker(m.floorIndicator);
    t103.stop();
    go('has-permission');
    settle('granted');
  }

  function handle(m: MbcpMessage): void {
    if (state === 'start-stop') return;
    if (m.ackRequired === true) send({ type: 'floor-ack', source: FLOOR_SOURCE.FLOOR_PARTICIPANT, messageType: m.type });
    switch (m.type) {
      case 'floor-granted':
        if (state === 'pending-request' || state === 'queued') granted(m);
        return;
      case 'floor-deny':
        if (state === 'pending-request' || state === 'queued') {
          const refusal = refusalOf(m);
          go('has-no-permission');
          events.emit('denied', refusal);
          settle(new FloorError('ERR_FLOOR_DENIED', `floor denied (cause ${refusal.cause})`, { refusal }));
        }
        return;
      case 'floor-taken':
        talker = otherTalker(m);
        t103.start(cfg.t103);
        if (state === 'pending-release' || state === 'has-permission') go('has-no-permission');
        else publish();
        return;
      case 'floor-idle':
        talker = undefined;
        t103.stop();
        if (state === 'pending-release' || state === 'has-permission') go('has-no-permission');
        else publish();
        return;
      case 'floor-revoke':
        if (state === 'has-permission') {
          const refusal = refusalOf(m);
          talker = undefined;
          events.emit('revoked', refusal);
          // 6.2.4: stop sending media, answer with Floor Release, wait for Idle/Taken.
          sendRelease();
        }
        return;
      case 'floor-queue-position-info':
        if (state === 'pending-request' || state === 'queued') {
          // 8.2.3.5: 254 = not queued, 255 = queued at a position the server does not disclose.
          const pos = m.queueInfo?.position;
          queuePosition = pos === undefined || pos >= 254 ? undefined : pos;
          t104.stop();
          if (state === 'pending-request') {
            go('queued');
            settle('queued');
          } else publish();
        }
        return;
      default:
        // Floor Request / Release / Queue Position Request / Ack are not for a participant.
        return;
    }
  }

  return {
    get state() {
      return state;
    },
    get status() {
      return status;
    },
    on: (event, listener) => events.on(event, listener),

    start() {
      if (state === 'start-stop') go('has-no-permission');
    },

    stop() {
      if (state === 'start-stop') return;
      go('start-stop');
      settle(new FloorError('ERR_FLOOR_CANCELLED', 'floor control stopped (call ended)'));
    },

    request(opts = {}) {
      if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
      const priority = opts.priority ?? defaultPriority;
      if (priority !== undefined && (!Number.isInteger(priority) || priority < 0 || priority > 255)) throw new RangeError('priority must be 0..255');
      switch (state) {
        case 'start-stop':
          return Promise.reject(new FloorError('ERR_FLOOR_INVALID_STATE', 'floor control has not started'));
        case 'has-permission':
          return Promise.resolve('granted');
        case 'queued':
          return Promise.resolve('queued');
        case 'pending-request':
          return pending!.promise;
        case 'has-no-permission':
        case 'pending-release': {
          emergency = opts.emergency === true;
          lastRequest = {
            type: 'floor-request',
            ...(priority === undefined ? {} : { floorPriority: priority }),
            floorIndicator: FLOOR_INDICATOR.NORMAL | (emergency ? FLOOR_INDICATOR.EMERGENCY : 0),
          };
          let resolve!: (v: 'granted' | 'queued') => void;
          let reject!: (e: FloorError) => void;
          const promise = new Promise<'granted' | 'queued'>((res, rej) => {
            resolve = res;
            reject = rej;
          });
          pending = { resolve, reject, promise };
          c101 = 1;
          send(lastRequest);
          go('pending-request');
          t101.start(cfg.t101);
          return promise;
        }
      }
    },

    release() {
      switch (state) {
        case 'has-permission':
          talker = undefined;
          sendRelease();
          return;
        case 'pending-request':
        case 'queued':
          sendRelease();
          settle(new FloorError('ERR_FLOOR_CANCELLED', 'floor request withdrawn'));
          return;
        default:
          return;
      }
    },

    requestQueuePosition() {
      if (state !== 'queued') return;
      c104 = 1;
      send({ type: 'floor-queue-position-request' });
      t104.start(cfg.t104);
    },

    receive(message) {
      try {
        if (message === null || typeof message !== 'object' || typeof message.type !== 'string') return;
        handle(message);
      } catch {
        // 6.2.4: unexpected input is discarded; nothing escapes into the caller's event loop.
      }
    },

    mediaReceived() {
      if (state === 'start-stop' || state === 'has-permission') return;
      if (talker !== undefined && !talker.self) t103.start(cfg.t103);
    },
  };
}
