/**
 * Fuzzing the MBCP decoder: whatever the bytes, decodeMbcp returns a packet or throws a
 * FloorError (ERR_FLOOR_MALFORMED) — never another exception, never a hang. Every truncation
 * and every single-octet change of valid packets is tried.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMbcp, encodeMbcp, type MbcpMessage } from '../../src/codec/mbcp/index.js';
import { FloorError } from '../../src/errors.js';

function decodesOrFloorError(bytes: Uint8Array): 'ok' | 'refused' {
  try {
    const p = decodeMbcp(bytes);
    expect(p.ssrc).toBeGreaterThanOrEqual(0);
    expect(typeof p.message.type).toBe('string');
    return 'ok';
  } catch (e) {
    if (!(e instanceof FloorError) || e.code !== 'ERR_FLOOR_MALFORMED') throw e;
    return 'refused';
  }
}

const samples: MbcpMessage[] = [
  { type: 'floor-request', floorPriority: 200, floorIndicator: 0x9000 },
  { type: 'floor-granted', ackRequired: true, duration: 30, floorPriority: 4, floorIndicator: 0x8000 },
  { type: 'floor-taken', grantedPartyId: 'sip:carol@fire.example', permissionToRequest: true, messageSequenceNumber: 65535, floorIndicator: 0x8000 },
  { type: 'floor-deny', rejectCause: { cause: 7, text: 'Queue full' } },
  { type: 'floor-revoke', rejectCause: { cause: 2, text: 'Media burst too long' } },
  { type: 'floor-queue-position-info', ackRequired: true, queueInfo: { position: 3, priority: 100 }, queuedUserId: 'sip:bob@x' },
  { type: 'floor-ack', source: 0, messageType: 'floor-taken' },
  { type: 'floor-idle', messageSequenceNumber: 0 },
];

describe('MBCP decoder fuzz', () => {
  it('every truncation of valid packets is refused (one packet per message: no prefix is valid)', () => {
    for (const m of samples) {
      const b = encodeMbcp(0x01020304, m);
      for (let n = 0; n < b.length; n++) expect(decodesOrFloorError(b.subarray(0, n))).toBe('refused');
      expect(decodesOrFloorError(b)).toBe('ok');
    }
  });

  it('every single-octet change to every position decodes consistently or is refused', () => {
    for (const m of samples) {
      const b = encodeMbcp(0x01020304, m);
      for (let i = 0; i < b.length; i++) {
        for (const v of [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, b[i]! ^ 0x01, b[i]! ^ 0x10]) {
          const c = b.slice();
          c[i] = v;
          decodesOrFloorError(c);
        }
      }
    }
  });

  it('random bytes, and random bytes behind a valid header: a packet or a FloorError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void decodesOrFloorError(b)), { numRuns: 5000 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x1f }), fc.uint8Array({ maxLength: 120 }), (subtype, tail) => {
        const len = 12 + ((tail.length + 3) & ~3);
        const b = new Uint8Array(len);
        b[0] = 0x80 | subtype;
        b[1] = 204;
        b[2] = (len / 4 - 1) >> 8;
        b[3] = (len / 4 - 1) & 0xff;
        b.set([0x4d, 0x43, 0x50, 0x54], 8);
        b.set(tail, 12);
        decodesOrFloorError(b);
      }),
      { numRuns: 5000 },
    );
  });
});
