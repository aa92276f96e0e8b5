/**
 * MBCP codec (TS 24.380 8.2): byte layout of known messages, the acknowledgement-required
 * subtypes, strict refusals, and an encoder/decoder round trip over random messages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMbcp,
  encodeMbcp,
  FLOOR_INDICATOR,
  MBCP_ACKABLE,
  MBCP_SUBTYPE,
  type MbcpMessage,
  type MbcpMessageType,
} from '../../src/codec/mbcp/index.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { errorCode } from '../helpers/errors.js';

describe('MBCP layout', () => {
  it('Floor Request with priority and emergency indicator, byte for byte', () => {
    const bytes = encodeMbcp(0x11223344, { type: 'floor-request', floorPriority: 7, floorIndicator: FLOOR_INDICATOR.EMERGENCY });
    // V=2 P=0 subtype 0 | PT 204 | length 3 words after the first | SSRC | "MCPT" | fields
    expect(bytesToHex(bytes)).toBe('80cc0004' + '11223344' + '4d435054' + '00020700' + '0d021000');
  });

  it('Floor Granted with the acknowledgement bit sets subtype 0x11', () => {
    const bytes = encodeMbcp(1, { type: 'floor-granted', ackRequired: true, duration: 30, floorPriority: 5 });
    expect(bytes[0]).toBe(0x80 | 0x11);
    expect(bytesToHex(bytes.subarray(12))).toBe('0102001e' + '00020500');
    expect(decodeMbcp(bytes).message).toEqual({ type: 'floor-granted', ackRequired: true, duration: 30, floorPriority: 5 });
  });

  it('variable-length fields are padded to 32 bits and the padding is not counted in their length', () => {
    const bytes = encodeMbcp(2, { type: 'floor-taken', grantedPartyId: 'sip:a@x', messageSequenceNumber: 9 });
    // ID 4, length 7, "sip:a@x", 3 octets of padding; then the 4-octet sequence number field
    expect(bytesToHex(bytes.subarray(12))).toBe('0407' + bytesToHex(new TextEncoder().encode('sip:a@x')) + '000000' + '08020009');
    expect(bytes.length % 4).toBe(0);
  });

  it('Reject Cause carries cause and phrase', () => {
    // 2 + 2 + 4 octets: already on 32 bits, no padding
    const bytes = encodeMbcp(3, { type: 'floor-deny', rejectCause: { cause: 1, text: 'busy' } });
    expect(bytesToHex(bytes.subarray(12))).toBe('02060001' + bytesToHex(new TextEncoder().encode('busy')));
    expect(decodeMbcp(bytes).message.rejectCause).toEqual({ cause: 1, text: 'busy' });
  });

  it('Floor Ack names the acknowledged message with its subtype, acknowledgement bit clear', () => {
    const bytes = encodeMbcp(4, { type: 'floor-ack', source: 0, messageType: 'floor-idle' });
    expect(bytes[0]).toBe(0x80 | 0x0a);
    expect(bytesToHex(bytes.subarray(12))).toBe('0a020000' + '0c020500');
  });

  it('every subtype of table 8.2.2-1 decodes to its message, ack variants only where allowed', () => {
    for (const [type, sub] of Object.entries(MBCP_SUBTYPE) as [MbcpMessageType, number][]) {
      for (const ack of [false, true]) {
        const base = sampleMessage(type);
        if (ack && !MBCP_ACKABLE.has(type)) {
          expect(() => encodeMbcp(1, { ...base, ackRequired: true })).toThrow(RangeError);
          const b = encodeMbcp(1, base);
          b[0] = 0x80 | 0x10 | sub;
          expect(errorCode(() => decodeMbcp(b))).toBe('ERR_FLOOR_MALFORMED');
          continue;
        }
        const b = encodeMbcp(1, { ...base, ...(ack ? { ackRequired: true } : {}) });
        expect(b[0]! & 0x1f).toBe(sub | (ack ? 0x10 : 0));
        expect(decodeMbcp(b).message.type).toBe(type);
      }
    }
  });
});

function sampleMessage(type: MbcpMessageType): MbcpMessage {
  switch (type) {
    case 'floor-granted':
      return { type, duration: 30 };
    case 'floor-deny':
    case 'floor-revoke':
      return { type, rejectCause: { cause: 1 } };
    case 'floor-queue-position-info':
      return { type, queueInfo: { position: 1, priority: 0 } };
    case 'floor-ack':
      return { type, source: 0, messageType: 'floor-granted' };
    default:
      return { type };
  }
}

describe('MBCP strict decoding', () => {
  const good = encodeMbcp(0xabcdef01, { type: 'floor-taken', grantedPartyId: 'sip:alice@example.org', permissionToRequest: true, messageSequenceNumber: 1 });

  function mutated(f: (b: Uint8Array) => void): Uint8Array {
    const b = good.slice();
    f(b);
    return b;
  }

  it('decodes the good packet', () => {
    expect(decodeMbcp(good)).toEqual({
      ssrc: 0xabcdef01,
      message: { type: 'floor-taken', grantedPartyId: 'sip:alice@example.org', permissionToRequest: true, messageSequenceNumber: 1 },
    });
  });

  it.each([
    ['version 1', (b: Uint8Array) => (b[0] = (b[0]! & 0x3f) | 0x40)],
    ['padding bit', (b: Uint8Array) => (b[0]! |= 0x20)],
    ['packet type 203', (b: Uint8Array) => (b[1] = 203)],
    ['name MCPC', (b: Uint8Array) => (b[11] = 0x43)],
    ['length one word too long', (b: Uint8Array) => (b[3]! += 1)],
    ['length one word too short', (b: Uint8Array) => (b[3]! -= 1)],
    ['unknown subtype 7', (b: Uint8Array) => (b[0] = 0x87)],
    ['Floor Release Multi Talker (0x0f), not supported', (b: Uint8Array) => (b[0] = 0x8f)],
    ['permission value 2', (b: Uint8Array) => (b[b.length - 5] = 2)],
    ['identity runs past the end', (b: Uint8Array) => (b[13] = 200)],
    ['identity not UTF-8', (b: Uint8Array) => (b[14] = 0xff)],
  ])('refuses %s', (_name, f) => {
    expect(errorCode(() => decodeMbcp(mutated(f)))).toBe('ERR_FLOOR_MALFORMED');
  });

  it('refuses a duplicated field', () => {
    const b = hexToBytes('85cc0004' + '00000001' + '4d435054' + '08020001' + '08020002');
    expect(errorCode(() => decodeMbcp(b))).toBe('ERR_FLOOR_MALFORMED');
  });

  it('refuses messages without their mandatory field', () => {
    const deny = hexToBytes('83cc0002' + '00000001' + '4d435054'); // Floor Deny, no Reject Cause
    expect(errorCode(() => decodeMbcp(deny))).toBe('ERR_FLOOR_MALFORMED');
    const ack = hexToBytes('8acc0003' + '00000001' + '4d435054' + '0a020000'); // Floor Ack, no Message Type
    expect(errorCode(() => decodeMbcp(ack))).toBe('ERR_FLOOR_MALFORMED');
  });

  it('passes over a field it does not know (Track Info, ID 11) and keeps the rest', () => {
    const b = hexToBytes('85cc0004' + '00000001' + '4d435054' + '0b02abcd' + '08020007');
    expect(decodeMbcp(b).message).toEqual({ type: 'floor-idle', messageSequenceNumber: 7 });
  });

  it('refuses a field whose padding is missing at the end of the packet', () => {
    // Granted Party's Identity of 3 octets needs one octet of padding the packet lacks.
    const b = hexToBytes('82cc0003' + '00000001' + '4d435054' + '0403414243');
    expect(errorCode(() => decodeMbcp(b.subarray(0, 16)))).toBe('ERR_FLOOR_MALFORMED');
    expect(errorCode(() => decodeMbcp(b))).toBe('ERR_FLOOR_MALFORMED');
  });

  it('refuses Floor Ack naming a message that cannot ask for an ack', () => {
    const b = hexToBytes('8acc0004' + '00000001' + '4d435054' + '0a020000' + '0c020000'); // acks a Floor Request
    expect(errorCode(() => decodeMbcp(b))).toBe('ERR_FLOOR_MALFORMED');
  });

  it('refuses oversized input unread and non-bytes as misuse', () => {
    const big = new Uint8Array(8192);
    expect(errorCode(() => decodeMbcp(big))).toBe('ERR_FLOOR_MALFORMED');
    expect(() => decodeMbcp('80cc' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('encoder refuses misuse: a field the message does not carry, out-of-range values, long text', () => {
    expect(() => encodeMbcp(1, { type: 'floor-idle', duration: 3 })).toThrow(RangeError);
    expect(() => encodeMbcp(1, { type: 'floor-request', floorPriority: 256 })).toThrow(RangeError);
    expect(() => encodeMbcp(1, { type: 'floor-taken', grantedPartyId: 'x'.repeat(256) })).toThrow(RangeError);
    expect(() => encodeMbcp(1, { type: 'floor-deny', rejectCause: { cause: 1, text: 'x'.repeat(254) } })).toThrow(RangeError);
    expect(() => encodeMbcp(-1, { type: 'floor-idle' })).toThrow(RangeError);
    expect(() => encodeMbcp(1, { type: 'floor-granted' })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------

const id = fc.string({ minLength: 1, maxLength: 60 }).filter((s) => new TextEncoder().encode(s).length <= 255);
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const messageArb: fc.Arbitrary<MbcpMessage> = fc
  .record({
    type: fc.constantFrom(...(Object.keys(MBCP_SUBTYPE) as MbcpMessageType[])),
    ack: fc.boolean(),
    floorPriority: opt(u8),
    duration: u16,
    rejectCause: fc.record({ cause: u16, text: opt(fc.string({ minLength: 1, maxLength: 40 })) }),
    queueInfo: fc.record({ position: u8, priority: u8 }),
    grantedPartyId: opt(id),
    permissionToRequest: opt(fc.boolean()),
    userId: opt(id),
    queueSize: opt(u16),
    messageSequenceNumber: opt(u16),
    queuedUserId: opt(id),
    source: fc.integer({ min: 0, max: 3 }),
    messageType: fc.constantFrom(...[...MBCP_ACKABLE]),
    floorIndicator: opt(u16),
  })
  .map((r) => {
    const all: Record<string, unknown> = { ...r };
    const allowed: Record<MbcpMessageType, string[]> = {
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
    };
    const m: Record<string, unknown> = { type: r.type };
    if (r.ack && MBCP_ACKABLE.has(r.type)) m.ackRequired = true;
    for (const k of allowed[r.type]) if (all[k] !== undefined) m[k] = all[k];
    if (m.rejectCause !== undefined && (m.rejectCause as { text?: string }).text === undefined) m.rejectCause = { cause: r.rejectCause.cause, text: undefined };
    return m as unknown as MbcpMessage;
  });

describe('MBCP round trip', () => {
  it('decode(encode(m)) = m for random messages and SSRCs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), messageArb, (ssrc, m) => {
        const bytes = encodeMbcp(ssrc, m);
        expect(bytes.length % 4).toBe(0);
        const d = decodeMbcp(bytes);
        expect(d.ssrc).toBe(ssrc);
        expect(d.message).toEqual(m);
        expect(encodeMbcp(ssrc, d.message)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});
