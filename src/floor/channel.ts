/**
 * The floor channel: typed MBCP messages (TS 24.380 8.2) ⇄ bytes on a WebRTC data channel,
 * SRTCP-protected per TS 33.179 7.6 when a floor key is configured. Browsers cannot send RTCP
 * APP packets, so one data-channel message carries one (protected) MBCP packet; the SDK and
 * the server connect `send` to `RTCDataChannel.send` and `onmessage` to `receive`.
 *
 * Without `protection` the channel speaks plain MBCP — acceptable only where the transport is
 * already protected hop by hop (DTLS) and the server is trusted with floor signalling; the
 * docs say so. With `protection`, a plain packet is refused (ERR_FLOOR_UNPROTECTED).
 *
 * Sends and receives are each handled one at a time in arrival order (the AEAD is async and
 * floor messages must not overtake each other). A refused packet is counted under its code
 * and reported to `onError`; nothing is thrown into the caller's event loop, and a refused
 * packet never reaches `onMessage`.
 */
import { decodeMbcp, encodeMbcp, type MbcpMessage } from '../codec/mbcp/index.js';
import { FloorError, type FloorErrorCode } from '../errors.js';
import { isFloorSsrcOf, newFloorSsrc, type FloorProtection, type FloorRole } from './protection.js';

/** Largest data-channel message looked at; anything bigger is refused unread. */
const MAX_INPUT = 8192;

export interface FloorChannelStats {
  readonly sent: number;
  readonly received: number;
  /** Packets refused on receipt, in total and by FloorError code. */
  readonly refused: number;
  readonly refusedByCode: Readonly<Partial<Record<FloorErrorCode, number>>>;
  /** Messages that could not be sent (no key, index exhausted, transport threw). */
  readonly sendFailures: number;
}

export interface FloorChannelOptions {
  /** 'client' in the SDK, 'server' in the arbitrator's focus: decides the SSRC rule. */
  readonly role: FloorRole;
  /** Puts bytes on the transport (RTCDataChannel.send). */
  readonly send: (bytes: Uint8Array) => void;
  /** A message that decoded (and authenticated); `ssrc` is the sender's. */
  readonly onMessage: (message: MbcpMessage, ssrc: number) => void;
  /** Every refused packet and failed send, as a typed error (for counters and diagnostics). */
  readonly onError?: (error: FloorError) => void;
  /** SRTCP protection (TS 33.179 7.6); absent → plain MBCP. Its role must equal ours. */
  readonly protection?: FloorProtection;
  /** Our SSRC; default: a fresh random one of our role's kind. */
  readonly ssrc?: number;
}

export interface FloorChannel {
  readonly ssrc: number;
  readonly protected: boolean;
  /** Encodes, protects and sends one message; resolves false (and reports) when it could not. */
  send(message: MbcpMessage): Promise<boolean>;
  /** One data-channel message in; resolves true when a message reached `onMessage`. */
  receive(data: unknown): Promise<boolean>;
  stats(): FloorChannelStats;
  /** Stops sending and receiving; queued work is dropped. */
  close(): void;
}

function bytesOfData(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) {
    if (data.byteLength > MAX_INPUT) throw new FloorError('ERR_FLOOR_MALFORMED', 'floor message too large');
    return new Uint8Array(data);
  }
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new FloorError('ERR_FLOOR_MALFORMED', 'floor messages are binary');
}

export function createFloorChannel(options: FloorChannelOptions): FloorChannel {
  const { role, protection } = options;
  if (role !== 'client' && role !== 'server') throw new RangeError("role must be 'client' or 'server'");
  if (typeof options.send !== 'function' || typeof options.onMessage !== 'function') throw new TypeError('send and onMessage must be functions');
  const ssrc = options.ssrc ?? newFloorSsrc(role);
  if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff || !isFloorSsrcOf(role, ssrc)) {
    throw new RangeError(`ssrc must be an unsigned 32-bit integer of the ${role} kind (top bit ${role === 'server' ? 'set' : 'clear'})`);
  }
  const peer: FloorRole = role === 'client' ? 'server' : 'client';
  let closed = false;
  let sendChain: Promise<unknown> = Promise.resolve();
  let receiveChain: Promise<unknown> = Promise.resolve();
  let sent = 0;
  let received = 0;
  let refused = 0;
  let sendFailures = 0;
  const byCode: Partial<Record<FloorErrorCode, number>> = {};

  function report(e: FloorError): void {
    try {
      options.onError?.(e);
    } catch {
      // A diagnostics listener must not break the channel.
    }
  }

  function refuse(e: unknown): false {
    const err = e instanceof FloorError ? e : new FloorError('ERR_FLOOR_MALFORMED', 'floor message refused', { cause: e });
    refused++;
    byCode[err.code] = (byCode[err.code] ?? 0) + 1;
    report(err);
    return false;
  }

  async function sendOne(message: MbcpMessage): Promise<boolean> {
    if (closed) return false;
    try {
      const plain = encodeMbcp(ssrc, message);
      const bytes = protection === undefined ? plain : await protection.protect(plain);
      if (closed) return false;
      options.send(bytes);
      sent++;
      return true;
    } catch (e) {
      sendFailures++;
      report(e instanceof FloorError ? e : new FloorError('ERR_FLOOR_INVALID_STATE', 'floor message could not be sent', { cause: e }));
      return false;
    }
  }

  async function receiveOne(data: unknown): Promise<boolean> {
    if (closed) return false;
    let message: MbcpMessage;
    let from: number;
    try {
      const bytes = bytesOfData(data);
      if (bytes.length > MAX_INPUT) throw new FloorError('ERR_FLOOR_MALFORMED', 'floor message too large');
      if (protection === undefined) {
        const p = decodeMbcp(bytes);
        if (!isFloorSsrcOf(peer, p.ssrc) || p.ssrc === ssrc) throw new FloorError('ERR_FLOOR_BAD_SSRC', `packet claims an SSRC our ${peer} may not send with`);
        message = p.message;
        from = p.ssrc;
      } else {
        const u = await protection.unprotect(bytes);
        const p = decodeMbcp(u.rtcp);
        message = p.message;
        from = p.ssrc;
      }
    } catch (e) {
      return refuse(e);
    }
    if (closed) return false;
    received++;
    try {
      options.onMessage(message, from);
    } catch {
      // The state machine's own failures stay there.
    }
    return true;
  }

  return {
    ssrc,
    protected: protection !== undefined,
    send(message) {
      const p = sendChain.then(() => sendOne(message));
      sendChain = p;
      return p;
    },
    receive(data) {
      const p = receiveChain.then(() => receiveOne(data));
      receiveChain = p;
      return p;
    },
    stats: () => ({ sent, received, refused, refusedByCode: { ...byCode }, sendFailures }),
    close() {
      closed = true;
    },
  };
}
