/**
 * MBCP encoder and strict decoder, TS 24.380 clause 8.2 (on-network floor control messages).
 * Every message is one RTCP APP packet (RFC 3550 6.7, TS 24.380 8.1.2):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P| Subtype |   PT=APP=204  |  length (32-bit words − 1)    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     SSRC of the sender                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     name = "MCPT"                             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Field ID      | Length        | value … (Length octets)       :
 *   :                                               | zero padding  |  → each field ends on 32 bits
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * One data-channel message carries exactly one MBCP packet (no compound RTCP), so the packet
 * length must equal the length field. The decoder checks every length before reading, refuses
 * duplicates, unknown subtypes, the acknowledgement bit where table 8.2.2-1 has no such variant
 * and out-of-range values; it passes over field IDs it does not know (later releases add
 * fields such as Track Info, SSRC, List of Granted Users, Functional Alias, Location — the
 * 32-bit padding makes skipping them safe). Nothing here does I/O or keeps state.
 */
import { FloorError } from '../../errors.js';
import {
  MBCP_ACK_BIT,
  MBCP_ACKABLE,
  MBCP_FIELD,
  MBCP_HEADER_LENGTH,
  MBCP_MAX_LENGTH,
  MBCP_NAME,
  MBCP_SUBTYPE,
  RTCP_APP_PT,
  RTCP_VERSION,
  type MbcpMessageType,
} from './constants.js';

export interface MbcpRejectCause {
  /** TS 24.380 8.2.6.2 (deny) / 8.2.8.2 (revoke) cause value, 16 bits. */
  readonly cause: number;
  /** The reject phrase (UTF-8), when one was sent. */
  readonly text?: string | undefined;
}

export interface MbcpQueueInfo {
  /** Queue position, 8 bits (1 = next). */
  readonly position: number;
  /** Queue priority level, 8 bits. */
  readonly priority: number;
}

/** The floor control specific fields (TS 24.380 8.2.3) this SDK reads and writes. */
export interface MbcpFields {
  /** 8.2.3.2 Floor Priority, 0–255. */
  readonly floorPriority?: number;
  /** 8.2.3.3 Duration in seconds, 16 bits. */
  readonly duration?: number;
  /** 8.2.3.4 Reject Cause (cause and phrase). */
  readonly rejectCause?: MbcpRejectCause;
  /** 8.2.3.5 Queue Info. */
  readonly queueInfo?: MbcpQueueInfo;
  /** 8.2.3.6 Granted Party's Identity: the talker's MCPTT ID. */
  readonly grantedPartyId?: string;
  /** 8.2.3.7 Permission to Request the Floor. */
  readonly permissionToRequest?: boolean;
  /** 8.2.3.8 User ID (MCPTT ID). */
  readonly userId?: string;
  /** 8.2.3.9 Queue Size, 16 bits. */
  readonly queueSize?: number;
  /** 8.2.3.10 Message Sequence Number, 16 bits. */
  readonly messageSequenceNumber?: number;
  /** 8.2.3.11 Queued User ID (MCPTT ID). */
  readonly queuedUserId?: string;
  /** 8.2.3.12 Source (FLOOR_SOURCE). */
  readonly source?: number;
  /** 8.2.3.14 Message Type: in a Floor Ack, the message being acknowledged. */
  readonly messageType?: MbcpMessageType;
  /** 8.2.3.13 Floor Indicator, a 16-bit map (FLOOR_INDICATOR). */
  readonly floorIndicator?: number;
}

export interface MbcpMessage extends MbcpFields {
  readonly type: MbcpMessageType;
  /** The "x" bit of the subtype: the sender asks for a Floor Ack (only where table 8.2.2-1 allows). */
  readonly ackRequired?: boolean;
}

/** A decoded packet: who sent it (the RTCP SSRC) and what it says. */
export interface MbcpPacket {
  readonly ssrc: number;
  readonly message: MbcpMessage;
}

type FieldName = keyof MbcpFields;

/**
 * Fields each message may carry (TS 24.380 8.2.4–8.2.13, the on-network set plus the off-network
 * User ID / queue fields), in the order the encoder writes them. The decoder takes any order.
 */
const MESSAGE_FIELDS: Readonly<Record<MbcpMessageType, readonly FieldName[]>> = Object.freeze({
  'floor-request': ['floorPriority', 'userId', 'floorIndicator'],
  'floor-granted': ['duration', 'floorPriority', 'userId', 'queueSize', 'queuedUserId', 'queueInfo', 'floorIndicator'],
  'floor-taken': ['grantedPartyId', 'permissionToRequest', 'userId', 'messageSequenceNumber', 'floorIndicator'],
  'floor-deny': ['rejectCause', 'userId', 'floorIndicator'],
  'floor-release': ['userId', 'floorIndicator'],
  'floor-idle': ['messageSequenceNumber', 'floorIndicator'],
  'floor-revoke': ['rejectCause', 'floorIndicator'],
  'floor-queue-position-request': ['userId', 'floorIndicator'],
  'floor-queue-position-info': ['userId', 'queuedUserId', 'queueInfo', 'floorIndicator'],
  'floor-ack': ['source', 'messageType'],
});

/** Fields without which a message is meaningless on-network; their absence is refused. */
const REQUIRED_FIELDS: Readonly<Partial<Record<MbcpMessageType, readonly FieldName[]>>> = Object.freeze({
  'floor-granted': ['duration'],
  'floor-deny': ['rejectCause'],
  'floor-revoke': ['rejectCause'],
  'floor-queue-position-info': ['queueInfo'],
  'floor-ack': ['source', 'messageType'],
});

const TYPE_BY_SUBTYPE = new Map<number, MbcpMessageType>(
  (Object.entries(MBCP_SUBTYPE) as [MbcpMessageType, number][]).map(([t, s]) => [s, t]),
);
const NAME_BY_ID = new Map<number, FieldName>((Object.entries(MBCP_FIELD) as [FieldName, number][]).map(([n, id]) => [id, n]));

const MAX_TEXT = 255; // the length octet
const NAME_BYTES = new TextEncoder().encode(MBCP_NAME);
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function malformed(what: string): FloorError {
  return new FloorError('ERR_FLOOR_MALFORMED', `MBCP: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// encoder

function u8(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${what} must be an integer 0..255`);
  return v;
}

function u16(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${what} must be an integer 0..65535`);
  return v;
}

function text(v: unknown, what: string, max: number, allowEmpty: boolean): Uint8Array {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string`);
  const b = utf8Encoder.encode(v);
  if ((!allowEmpty && b.length === 0) || b.length > max) throw new RangeError(`${what} must be ${allowEmpty ? 0 : 1}..${max} UTF-8 octets`);
  return b;
}

function fieldValue(name: FieldName, m: MbcpFields): Uint8Array {
  switch (name) {
    case 'floorPriority':
      return new Uint8Array([u8(m.floorPriority, 'floorPriority'), 0]);
    case 'duration':
    case 'queueSize':
    case 'messageSequenceNumber':
    case 'floorIndicator':
    case 'source': {
      const v = u16(m[name], name);
      if (name === 'source' && v > 3) throw new RangeError('source must be 0..3');
      return new Uint8Array([v >>> 8, v & 0xff]);
    }
    case 'permissionToRequest': {
      if (typeof m.permissionToRequest !== 'boolean') throw new TypeError('permissionToRequest must be a boolean');
      return new Uint8Array([0, m.permissionToRequest ? 1 : 0]);
    }
    case 'rejectCause': {
      const rc = m.rejectCause;
      if (rc === null || typeof rc !== 'object') throw new TypeError('rejectCause must be an object');
      const cause = u16(rc.cause, 'rejectCause.cause');
      const phrase = rc.text === undefined ? new Uint8Array(0) : text(rc.text, 'rejectCause.text', MAX_TEXT - 2, true);
      const out = new Uint8Array(2 + phrase.length);
      out[0] = cause >>> 8;
      out[1] = cause & 0xff;
      out.set(phrase, 2);
      return out;
    }
    case 'queueInfo': {
      const qi = m.queueInfo;
      if (qi === null || typeof qi !== 'object') throw new TypeError('queueInfo must be an object');
      return new Uint8Array([u8(qi.position, 'queueInfo.position'), u8(qi.priority, 'queueInfo.priority')]);
    }
    case 'grantedPartyId':
    case 'userId':
    case 'queuedUserId':
      return text(m[name], name, MAX_TEXT, false);
    case 'messageType': {
      const t = m.messageType;
      if (typeof t !== 'string' || !MBCP_ACKABLE.has(t as MbcpMessageType)) throw new RangeError('messageType must name a message that can ask for a Floor Ack');
      return new Uint8Array([MBCP_SUBTYPE[t], 0]);
    }
  }
}

/** Encodes `message` as one MBCP packet sent by `ssrc`. Misuse (bad values) → TypeError / RangeError. */
export function encodeMbcp(ssrc: number, message: MbcpMessage): Uint8Array {
  if (typeof ssrc !== 'number' || !Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff) throw new RangeError('ssrc must be an unsigned 32-bit integer');
  if (message === null || typeof message !== 'object') throw new TypeError('message must be an object');
  const type = message.type;
  const allowed = MESSAGE_FIELDS[type];
  if (allowed === undefined) throw new RangeError(`unknown MBCP message type ${String(type)}`);
  const ack = message.ackRequired === true;
  if (ack && !MBCP_ACKABLE.has(type)) throw new RangeError(`${type} has no acknowledgement-required variant`);
  for (const key of Object.keys(message)) {
    if (key === 'type' || key === 'ackRequired') continue;
    if ((message as unknown as Record<string, unknown>)[key] === undefined) continue;
    if (!(allowed as readonly string[]).includes(key)) throw new RangeError(`${type} does not carry ${key}`);
  }
  for (const req of REQUIRED_FIELDS[type] ?? []) {
    if (message[req] === undefined) throw new RangeError(`${type} needs ${req}`);
  }
  const parts: Uint8Array[] = [];
  let length = MBCP_HEADER_LENGTH;
  for (const name of allowed) {
    if (message[name] === undefined) continue;
    const value = fieldValue(name, message);
    const padded = (2 + value.length + 3) & ~3;
    const f = new Uint8Array(padded);
    f[0] = MBCP_FIELD[name];
    f[1] = value.length;
    f.set(value, 2);
    parts.push(f);
    length += padded;
  }
  if (length > MBCP_MAX_LENGTH) throw new RangeError('MBCP message too long');
  const out = new Uint8Array(length);
  out[0] = (RTCP_VERSION << 6) | (ack ? MBCP_ACK_BIT : 0) | MBCP_SUBTYPE[type];
  out[1] = RTCP_APP_PT;
  const words = length / 4 - 1;
  out[2] = words >>> 8;
  out[3] = words & 0xff;
  out[4] = ssrc >>> 24;
  out[5] = (ssrc >>> 16) & 0xff;
  out[6] = (ssrc >>> 8) & 0xff;
  out[7] = ssrc & 0xff;
  out.set(NAME_BYTES, 8);
  let o = MBCP_HEADER_LENGTH;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// decoder

function readText(v: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(v);
  } catch {
    throw malformed(`${what} is not valid UTF-8`);
  }
}

function fixed2(name: FieldName, v: Uint8Array): number {
  if (v.length !== 2) throw malformed(`${name} field must have length 2, got ${v.length}`);
  return (v[0]! << 8) | v[1]!;
}

function decodeField(name: FieldName, v: Uint8Array): MbcpFields[FieldName] {
  switch (name) {
    case 'floorPriority':
      if (v.length !== 2) throw malformed(`floorPriority field must have length 2, got ${v.length}`);
      return v[0]!; // the second octet is spare
    case 'duration':
    case 'queueSize':
    case 'messageSequenceNumber':
    case 'floorIndicator':
      return fixed2(name, v);
    case 'source': {
      const s = fixed2(name, v);
      if (s > 3) throw malformed(`unknown Source value ${s}`);
      return s;
    }
    case 'permissionToRequest': {
      const p = fixed2(name, v);
      if (p > 1) throw malformed(`Permission to Request the Floor must be 0 or 1, got ${p}`);
      return p === 1;
    }
    case 'rejectCause': {
      if (v.length < 2) throw malformed('Reject Cause field shorter than its cause value');
      const cause = (v[0]! << 8) | v[1]!;
      const phrase = v.length > 2 ? readText(v.subarray(2), 'reject phrase') : undefined;
      return { cause, text: phrase };
    }
    case 'queueInfo':
      if (v.length !== 2) throw malformed(`Queue Info field must have length 2, got ${v.length}`);
      return { position: v[0]!, priority: v[1]! };
    case 'grantedPartyId':
    case 'userId':
    case 'queuedUserId':
      if (v.length === 0) throw malformed(`${name} field is empty`);
      return readText(v, name);
    case 'messageType': {
      if (v.length !== 2) throw malformed(`Message Type field must have length 2, got ${v.length}`);
      const t = TYPE_BY_SUBTYPE.get(v[0]!);
      if (t === undefined || !MBCP_ACKABLE.has(t)) throw malformed(`Message Type ${v[0]} names no message that can be acknowledged`);
      return t;
    }
  }
}

/**
 * Decodes one MBCP packet. Hostile input → `FloorError('ERR_FLOOR_MALFORMED')`; the work is
 * linear in the (bounded) input and nothing is read past a checked length.
 */
export function decodeMbcp(bytes: Uint8Array): MbcpPacket {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  const n = bytes.length;
  if (n < MBCP_HEADER_LENGTH) throw malformed(`packet of ${n} octets is shorter than the header`);
  if (n > MBCP_MAX_LENGTH) throw malformed(`packet of ${n} octets exceeds ${MBCP_MAX_LENGTH}`);
  if (n % 4 !== 0) throw malformed('packet length is not a multiple of 32 bits');
  const b0 = bytes[0]!;
  if (b0 >>> 6 !== RTCP_VERSION) throw malformed(`RTCP version ${b0 >>> 6}`);
  if ((b0 & 0x20) !== 0) throw malformed('padding bit set (TS 24.380 8.1.2 requires 0)');
  if (bytes[1] !== RTCP_APP_PT) throw malformed(`packet type ${bytes[1]} is not APP (204)`);
  const words = (bytes[2]! << 8) | bytes[3]!;
  if ((words + 1) * 4 !== n) throw malformed(`length field says ${(words + 1) * 4} octets, packet has ${n}`);
  for (let i = 0; i < 4; i++) if (bytes[8 + i] !== NAME_BYTES[i]) throw malformed('name is not "MCPT"');
  const subtype = b0 & 0x1f;
  const type = TYPE_BY_SUBTYPE.get(subtype & 0x0f);
  if (type === undefined) throw malformed(`unknown message subtype ${subtype}`);
  const ackRequired = (subtype & MBCP_ACK_BIT) !== 0;
  if (ackRequired && !MBCP_ACKABLE.has(type)) throw malformed(`${type} has no acknowledgement-required variant`);
  const ssrc = ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0;

  const fields: Record<string, unknown> = {};
  const seen = new Set<number>();
  let o = MBCP_HEADER_LENGTH;
  while (o < n) {
    if (o + 2 > n) throw malformed('truncated field header');
    const id = bytes[o]!;
    const len = bytes[o + 1]!;
    const end = o + 2 + len;
    const paddedEnd = (end + 3) & ~3;
    if (paddedEnd > n) throw malformed(`field ${id} runs past the end of the packet`);
    if (seen.has(id)) throw malformed(`field ${id} appears twice`);
    seen.add(id);
    const name = NAME_BY_ID.get(id);
    if (name !== undefined) fields[name] = decodeField(name, bytes.subarray(o + 2, end));
    o = paddedEnd;
  }
  for (const req of REQUIRED_FIELDS[type] ?? []) {
    if (fields[req] === undefined) throw malformed(`${type} lacks its ${req} field`);
  }
  const message = { type, ...(ackRequired ? { ackRequired: true } : {}), ...fields } as MbcpMessage;
  return { ssrc, message };
}

/** The RTCP header's idea of the packet length, or undefined when `bytes` is no MBCP packet start. */
export function mbcpDeclaredLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 4 || bytes[0]! >>> 6 !== RTCP_VERSION || bytes[1] !== RTCP_APP_PT) return undefined;
  return (((bytes[2]! << 8) | bytes[3]!) + 1) * 4;
}
