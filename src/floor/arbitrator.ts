/**
 * The floor arbitrator of one group call, TS 24.380 6.3 (floor control server: 6.3.4 general
 * floor control operation, 6.3.5 towards each floor participant), pure: messages in and out as
 * typed MBCP, timers injected. The media focus asks `holder()` / `mediaActivity(id)` and
 * forwards only the holder's media (fail closed: while a floor is being revoked, nobody's).
 *
 *                    R: Floor Request (queue empty)                T2 expiry (stop talking):
 *        ┌──────┐  ──────────────────────────────►  ┌───────┐  ───────────────────────────►  ┌──────────┐
 *        │ idle │     Granted → requester,          │ taken │     Revoke (cause 2) → holder  │ revoking │
 *        └──────┘     Taken → everyone else         └───────┘     holder() = undefined, T3   └──────────┘
 *           ▲  ◄────────────────────────────────────  │  ▲  │                                    │
 *           │   R: Release / T1 (end of media) /      │  │  └─ R: pre-emptive request: Revoke    │
 *           │   holder leaves, queue empty: Idle → all│  │     (cause 4) → holder, Granted → new │
 *           │                                         │  └─ queue non-empty: grant the next ◄────┤
 *           └─────────────────────────────────────────┴──── R: Release from revoked / T3 ───────┘
 *
 * Requests while the floor is taken are queued by rank (emergency first, then Floor Priority,
 * then arrival) and answered with Floor Queue Position Info, or refused with Floor Deny when
 * queueing is off (cause 1), the queue is full (7), the participant may only listen (5) or
 * its last talk burst was revoked as too long less than T9 ago (4, retry-after). An
 * emergency request (Floor Indicator bit D, from a participant allowed to make one) or one at
 * or above the configured pre-emptive priority, outranking the holder, pre-empts it. With
 * `ackRequired`, Floor Granted and Floor Idle ask for a Floor Ack and are resent on T20 / T7
 * up to C20 / C7 times; a grant never acknowledged gives the floor back. Messages with no
 * procedure in the current state are discarded (6.3.4.1) and reported as 'ignored'.
 */
import { FLOOR_DENY_CAUSE, FLOOR_INDICATOR, FLOOR_REVOKE_CAUSE, type MbcpMessage, type MbcpMessageType } from '../codec/mbcp/index.js';
import { FloorEmitter, FloorTimer, systemFloorTimers, type FloorTimers } from './events.js';

export type FloorArbitratorState = 'idle' | 'taken' | 'revoking';

/** Legal transitions (CONVENTIONS 5): taken → taken is a change of holder (next in queue, pre-emption). */
export const FLOOR_ARBITRATOR_TRANSITIONS: Readonly<Record<FloorArbitratorState, readonly FloorArbitratorState[]>> = Object.freeze({
  idle: ['taken'],
  taken: ['idle', 'taken', 'revoking'],
  revoking: ['idle', 'taken'],
});

export interface FloorArbitratorConfig {
  /** T1 end of RTP media, ms: the holder's media stopped this long → the floor is released. */
  readonly t1: number;
  /** T2 stop talking, ms: the longest talk burst; sent as Duration (seconds, rounded up). */
  readonly t2: number;
  /** T3 stop-talking grace after a Floor Revoke, ms. */
  readonly t3: number;
  /** T9 retry-after, ms: a member whose talk burst was revoked as too long is denied (cause 4) this long. */
  readonly t9: number;
  /** T7 Floor Idle retransmission, ms, and C7 the most sends (with ackRequired). */
  readonly t7: number;
  readonly c7: number;
  /** T20 Floor Granted retransmission, ms, and C20 the most sends (with ackRequired). */
  readonly t20: number;
  readonly c20: number;
}

/** Defaults of this SDK (TS 24.380 11.2 leaves them to configuration). */
export const FLOOR_ARBITRATOR_DEFAULTS: FloorArbitratorConfig = Object.freeze({
  t1: 4000,
  t2: 30000,
  t3: 1000,
  t9: 2000,
  t7: 1000,
  c7: 3,
  t20: 1000,
  c20: 3,
});

export interface FloorArbitratorOptions {
  /** Hands a message to the participant's floor channel; must not throw. */
  readonly send: (participantId: string, message: MbcpMessage) => void;
  readonly timers?: FloorTimers;
  readonly config?: Partial<FloorArbitratorConfig>;
  /** Queue requests while the floor is taken (TS 24.380 "mc_queueing"); default true. */
  readonly queueing?: boolean;
  /** Longest queue; further requests get Floor Deny cause 7. Default 16. */
  readonly maxQueue?: number;
  /** Ask for Floor Ack on Floor Granted and Floor Idle (and resend until acknowledged). Default false. */
  readonly ackRequired?: boolean;
  /** Requests at or above this Floor Priority pre-empt a lower-ranked holder. Default: only emergency pre-empts. */
  readonly preemptivePriority?: number;
}

export interface FloorMemberInfo {
  /** MCPTT ID, announced as Granted Party's Identity when this member talks. */
  readonly userId: string;
  /** Highest Floor Priority this member may use (0–255); requests above it are capped. */
  readonly priority: number;
  /** May make emergency (pre-emptive) requests. Default false. */
  readonly emergency?: boolean;
  /** May only listen: requests are denied with cause 5. Default false. */
  readonly receiveOnly?: boolean;
}

export interface FloorArbitratorEvents {
  state: [state: FloorArbitratorState, holder: string | undefined];
  granted: [participantId: string];
  idle: [];
  revoked: [participantId: string, cause: number];
  queued: [participantId: string, position: number];
  denied: [participantId: string, cause: number];
  ignored: [participantId: string, type: MbcpMessageType];
}

export interface FloorArbitrator {
  readonly state: FloorArbitratorState;
  /** The member whose media the focus forwards, if any. */
  holder(): string | undefined;
  /** Queued members, next first. */
  queue(): readonly string[];
  /** A member joins the call's floor control; it is told the current floor state. */
  join(participantId: string, info: FloorMemberInfo): void;
  /** A member leaves (BYE, channel closed): releases its floor, leaves the queue. */
  leave(participantId: string): void;
  /** A floor control message from a member (decoded and authenticated by its channel). */
  receive(participantId: string, message: MbcpMessage): void;
  /** Media from a member arrived: restarts T1 when it is the holder. True → forward it. */
  mediaActivity(participantId: string): boolean;
  /** Stops every timer; the arbitrator stays idle and answers nothing. */
  dispose(): void;
  on<E extends keyof FloorArbitratorEvents>(event: E, listener: (...args: FloorArbitratorEvents[E]) => void): () => void;
}

interface Member {
  readonly id: string;
  readonly info: FloorMemberInfo;
  idleAck: { timer: FloorTimer; sends: number; message: MbcpMessage } | undefined;
  /** Running T9 after a stop-talking revoke: requests are denied with cause 4 meanwhile. */
  retryAfter: FloorTimer | undefined;
}

interface Request {
  readonly id: string;
  readonly priority: number;
  readonly emergency: boolean;
  readonly seq: number;
}

const DENY_TEXT: Readonly<Record<number, string>> = Object.freeze({
  [FLOOR_DENY_CAUSE.ANOTHER_HAS_PERMISSION]: 'Another MCPTT client has permission',
  [FLOOR_DENY_CAUSE.RETRY_AFTER_NOT_EXPIRED]: 'Retry-after timer has not expired',
  [FLOOR_DENY_CAUSE.RECEIVE_ONLY]: 'Receive only',
  [FLOOR_DENY_CAUSE.QUEUE_FULL]: 'Queue full',
});
const REVOKE_TEXT: Readonly<Record<number, string>> = Object.freeze({
  [FLOOR_REVOKE_CAUSE.MEDIA_BURST_TOO_LONG]: 'Media burst too long',
  [FLOOR_REVOKE_CAUSE.PREEMPTED]: 'Media Burst pre-empted',
});

function checkConfig(c: FloorArbitratorConfig): FloorArbitratorConfig {
  for (const [k, v] of Object.entries(c)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 86_400_000) throw new RangeError(`floor arbitrator ${k} must be a positive integer`);
  }
  return c;
}

/** Emergency outranks everything, then Floor Priority. */
function outranks(a: Request, b: Request): boolean {
  if (a.emergency !== b.emergency) return a.emergency;
  return a.priority > b.priority;
}

export function createFloorArbitrator(options: FloorArbitratorOptions): FloorArbitrator {
  if (typeof options?.send !== 'function') throw new TypeError('send must be a function');
  const cfg = checkConfig({ ...FLOOR_ARBITRATOR_DEFAULTS, ...options.config });
  const timers = options.timers ?? systemFloorTimers;
  const queueing = options.queueing !== false;
  const maxQueue = options.maxQueue ?? 16;
  if (!Number.isInteger(maxQueue) || maxQueue < 0 || maxQueue > 10_000) throw new RangeError('maxQueue must be an integer 0..10000');
  const ackRequired = options.ackRequired === true;
  const preemptive = options.preemptivePriority;
  const durationSeconds = Math.min(0xffff, Math.ceil(cfg.t2 / 1000));
  const events = new FloorEmitter<FloorArbitratorEvents>();

  const members = new Map<string, Member>();
  let state: FloorArbitratorState = 'idle';
  let current: Request | undefined; // the holder (taken) or the member being revoked (revoking)
  let queue: Request[] = [];
  let seq = 0;
  let messageSeq = 0;
  let disposed = false;
  let grantAck: { id: string; sends: number; message: MbcpMessage } | undefined;

  const send = (id: string, m: MbcpMessage): void => {
    if (disposed || !members.has(id)) return;
    try {
      options.send(id, m);
    } catch {
      // The focus reports channel failures itself.
    }
  };

  const t1 = new FloorTimer(timers, () => {
    if (state === 'taken') floorReleased(); // end of RTP media: the holder is done
  });
  const t2 = new FloorTimer(timers, () => {
    if (state === 'taken' && current !== undefined) revoke(FLOOR_REVOKE_CAUSE.MEDIA_BURST_TOO_LONG, true);
  });
  const t3 = new FloorTimer(timers, () => {
    if (state === 'revoking') floorReleased();
  });
  const t20 = new FloorTimer(timers, () => {
    if (grantAck === undefined || state !== 'taken' || current?.id !== grantAck.id) return;
    if (grantAck.sends < cfg.c20) {
      grantAck.sends++;
      send(grantAck.id, grantAck.message);
      t20.start(cfg.t20);
    } else {
      // Never acknowledged: the holder cannot know it may talk; give the floor on.
      grantAck = undefined;
      floorReleased();
    }
  });

  function go(next: FloorArbitratorState): void {
    if (!FLOOR_ARBITRATOR_TRANSITIONS[state].includes(next)) throw new Error(`floor arbitrator: illegal transition ${state} → ${next}`);
    state = next;
    events.emit('state', state, state === 'taken' ? current?.id : undefined);
  }

  function indicator(emergency: boolean): number {
    return FLOOR_INDICATOR.NORMAL | (queueing ? FLOOR_INDICATOR.QUEUEING_SUPPORTED : 0) | (emergency ? FLOOR_INDICATOR.EMERGENCY : 0);
  }

  function nextSeq(): number {
    messageSeq = (messageSeq + 1) & 0xffff;
    return messageSeq;
  }

  function stopAckTimers(): void {
    t20.stop();
    grantAck = undefined;
  }

  function takenMessage(holder: Member, to: Member, sequence: number): MbcpMessage {
    return {
      type: 'floor-taken',
      grantedPartyId: holder.info.userId,
      permissionToRequest: to.info.receiveOnly !== true,
      messageSequenceNumber: sequence,
      floorIndicator: indicator(current?.emergency ?? false),
    };
  }

  function grant(r: Request): void {
    const holder = members.get(r.id);
    if (holder === undefined) return;
    stopAckTimers();
    t3.stop();
    current = r;
    queue = queue.filter((q) => q.id !== r.id);
    go('taken');
    const granted: MbcpMessage = {
      type: 'floor-granted',
      ...(ackRequired ? { ackRequired: true } : {}),
      duration: durationSeconds,
      floorPriority: r.priority,
      floorIndicator: indicator(r.emergency),
    };
    send(r.id, granted);
    if (ackRequired) {
      grantAck = { id: r.id, sends: 1, message: granted };
      t20.start(cfg.t20);
    }
    const sequence = nextSeq();
    for (const m of members.values()) {
      if (m.id === r.id) continue;
      stopIdleAck(m);
      send(m.id, takenMessage(holder, m, sequence));
    }
    t2.start(cfg.t2);
    t1.start(cfg.t1);
    events.emit('granted', r.id);
  }

  function stopIdleAck(m: Member): void {
    m.idleAck?.timer.stop();
    m.idleAck = undefined;
  }

  function sendIdle(m: Member, sequence: number): void {
    const idle: MbcpMessage = { type: 'floor-idle', ...(ackRequired ? { ackRequired: true } : {}), messageSequenceNumber: sequence, floorIndicator: indicator(false) };
    stopIdleAck(m);
    send(m.id, idle);
    if (!ackRequired) return;
    const entry = {
      sends: 1,
      message: idle,
      timer: new FloorTimer(timers, () => {
        if (m.idleAck !== entry || state !== 'idle') return;
        if (entry.sends < cfg.c7) {
          entry.sends++;
          send(m.id, idle);
          entry.timer.start(cfg.t7);
        } else m.idleAck = undefined;
      }),
    };
    m.idleAck = entry;
    entry.timer.start(cfg.t7);
  }

  /** The holder (or revoked holder) is done: next in queue, or idle. */
  function floorReleased(): void {
    t1.stop();
    t2.stop();
    t3.stop();
    stopAckTimers();
    current = undefined;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (members.has(next.id)) {
        grant(next);
        return;
      }
      queue.shift();
    }
    go('idle');
    const sequence = nextSeq();
    for (const m of members.values()) sendIdle(m, sequence);
    events.emit('idle');
  }

  function revoke(cause: number, wait: boolean): void {
    const r = current;
    if (r === undefined) return;
    t1.stop();
    t2.stop();
    stopAckTimers();
    send(r.id, { type: 'floor-revoke', rejectCause: { cause, text: REVOKE_TEXT[cause] }, floorIndicator: indicator(r.emergency) });
    events.emit('revoked', r.id, cause);
    const m = members.get(r.id);
    if (m !== undefined && cause === FLOOR_REVOKE_CAUSE.MEDIA_BURST_TOO_LONG) {
      m.retryAfter?.stop();
      const t9 = new FloorTimer(timers, () => {
        if (m.retryAfter === t9) m.retryAfter = undefined;
      });
      m.retryAfter = t9;
      t9.start(cfg.t9);
    }
    if (wait) {
      go('revoking');
      t3.start(cfg.t3);
    }
  }

  function deny(id: string, cause: number): void {
    send(id, { type: 'floor-deny', rejectCause: { cause, text: DENY_TEXT[cause] }, floorIndicator: indicator(false) });
    events.emit('denied', id, cause);
  }

  function queuePositionInfo(id: string): void {
    const i = queue.findIndex((q) => q.id === id);
    if (i < 0) return;
    send(id, { type: 'floor-queue-position-info', queueInfo: { position: Math.min(i + 1, 253), priority: queue[i]!.priority }, floorIndicator: indicator(queue[i]!.emergency) });
  }

  function enqueue(r: Request): void {
    let i = queue.findIndex((q) => outranks(r, q));
    if (i < 0) i = queue.length;
    queue.splice(i, 0, r);
    queuePositionInfo(r.id);
    events.emit('queued', r.id, i + 1);
  }

  function onRequest(m: Member, msg: MbcpMessage): void {
    if (current?.id === m.id && state === 'taken') {
      // A retransmitted request from the holder: our Floor Granted was lost.
      send(m.id, grantAck?.message ?? { type: 'floor-granted', duration: durationSeconds, floorPriority: current.priority, floorIndicator: indicator(current.emergency) });
      return;
    }
    if (queue.some((q) => q.id === m.id)) {
      queuePositionInfo(m.id);
      return;
    }
    if (m.info.receiveOnly === true) return deny(m.id, FLOOR_DENY_CAUSE.RECEIVE_ONLY);
    if (m.retryAfter?.running === true) return deny(m.id, FLOOR_DENY_CAUSE.RETRY_AFTER_NOT_EXPIRED);
    const emergency = m.info.emergency === true && ((msg.floorIndicator ?? 0) & FLOOR_INDICATOR.EMERGENCY) !== 0;
    const priority = Math.min(msg.floorPriority ?? m.info.priority, m.info.priority);
    const r: Request = { id: m.id, priority, emergency, seq: ++seq };
    if (state === 'idle') return grant(r);
    if (current !== undefined && current.id !== m.id) {
      const preempting = emergency || (preemptive !== undefined && priority >= preemptive);
      if (preempting && outranks(r, current)) {
        // While revoking, the old holder has been told already and is not forwarded: grant at once.
        if (state === 'taken') revoke(FLOOR_REVOKE_CAUSE.PREEMPTED, false);
        return grant(r);
      }
    }
    if (!queueing) return deny(m.id, FLOOR_DENY_CAUSE.ANOTHER_HAS_PERMISSION);
    if (queue.length >= maxQueue) return deny(m.id, FLOOR_DENY_CAUSE.QUEUE_FULL);
    enqueue(r);
  }

  function onRelease(m: Member): void {
    if (current?.id === m.id) return floorReleased();
    const qi = queue.findIndex((q) => q.id === m.id);
    if (qi >= 0) queue.splice(qi, 1);
    // Not (or no longer) the holder: tell it where the floor stands, which ends its T100.
    const holder = state === 'taken' && current !== undefined ? members.get(current.id) : undefined;
    if (holder !== undefined) send(m.id, takenMessage(holder, m, messageSeq));
    else send(m.id, { type: 'floor-idle', messageSequenceNumber: messageSeq, floorIndicator: indicator(false) });
  }

  function onAck(m: Member, msg: MbcpMessage): void {
    if (msg.messageType === 'floor-granted' && grantAck?.id === m.id) stopAckTimers();
    else if (msg.messageType === 'floor-idle') stopIdleAck(m);
  }

  return {
    get state() {
      return state;
    },
    holder: () => (state === 'taken' ? current?.id : undefined),
    queue: () => queue.map((q) => q.id),
    on: (event, listener) => events.on(event, listener),

    join(id, info) {
      if (typeof id !== 'string' || id.length === 0) throw new TypeError('participantId must be a non-empty string');
      if (info === null || typeof info !== 'object' || typeof info.userId !== 'string' || info.userId.length === 0) throw new TypeError('info.userId must be a non-empty string');
      if (!Number.isInteger(info.priority) || info.priority < 0 || info.priority > 255) throw new RangeError('info.priority must be 0..255');
      if (members.has(id)) throw new RangeError(`participant ${id} has already joined`);
      const m: Member = { id, info: Object.freeze({ ...info }), idleAck: undefined, retryAfter: undefined };
      members.set(id, m);
      // A late joiner learns who talks (or that nobody does).
      const holder = state === 'taken' && current !== undefined ? members.get(current.id) : undefined;
      if (holder !== undefined) send(id, takenMessage(holder, m, messageSeq));
      else send(id, { type: 'floor-idle', messageSequenceNumber: messageSeq, floorIndicator: indicator(false) });
    },

    leave(id) {
      const m = members.get(id);
      if (m === undefined) return;
      stopIdleAck(m);
      m.retryAfter?.stop();
      queue = queue.filter((q) => q.id !== id);
      members.delete(id);
      if (current?.id === id) floorReleased();
    },

    receive(id, message) {
      if (disposed) return;
      const m = members.get(id);
      if (m === undefined || message === null || typeof message !== 'object') return;
      try {
        switch (message.type) {
          case 'floor-request':
            return onRequest(m, message);
          case 'floor-release':
            return onRelease(m);
          case 'floor-queue-position-request':
            if (queue.some((q) => q.id === id)) return queuePositionInfo(id);
            break;
          case 'floor-ack':
            return onAck(m, message);
          default:
            break;
        }
        events.emit('ignored', id, message.type);
      } catch {
        // 6.3.4.1: input with no procedure is discarded; a member's bytes never break the call.
      }
    },

    mediaActivity(id) {
      if (state !== 'taken' || current?.id !== id) return false;
      t1.start(cfg.t1);
      return true;
    },

    dispose() {
      disposed = true;
      t1.stop();
      t2.stop();
      t3.stop();
      stopAckTimers();
      for (const m of members.values()) {
        stopIdleAck(m);
        m.retryAfter?.stop();
      }
    },
  };
}
