/**
 * Hostile input on the receive path: arbitrary edits of a valid GMK message (byte changes,
 * truncation, insertion, length fields pushed past the end) end in a typed McpttError, never
 * another exception, and the only accepted input is the original message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMcpttError } from '../../src/errors.js';
import { createKeyDistribution, createMikeyKeyReceiver } from '../../src/keys/index.js';
import { equalBytes, hexToBytes } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const kms = createTestKms('kms.fuzz.example', 3);
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const period = kms.periodAt(NOW);
const gms = kms.identity('sip:gms@fuzz.example', [period]);
const member = kms.identity('sip:member@fuzz.example', [period]);

describe('receive path under fuzzing', () => {
  it('every edited message ends in success (only when unchanged) or a typed error', async () => {
    const original = await createKeyDistribution({
      kind: 'GMK',
      key: hexToBytes('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf'),
      keyId: hexToBytes('01020304'),
      rand: hexToBytes('b0b1b2b3b4b5b6b7b8b9babbbcbdbebf'),
      from: gms,
      to: { uri: member.uri, kms: kms.params },
      time: NOW,
      parameters: { groupIds: ['sip:g@fuzz.example'] },
    });
    const receiver = createMikeyKeyReceiver({ self: member, now: () => NOW, gmsUris: [gms.uri] });
    const edit = fc.oneof(
      fc.record({ op: fc.constant('set' as const), at: fc.nat(original.length - 1), value: fc.nat(255) }),
      fc.record({ op: fc.constant('cut' as const), at: fc.nat(original.length) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(original.length), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
      // Length-ish fields: big-endian 0xffff written at any offset.
      fc.record({ op: fc.constant('max16' as const), at: fc.nat(original.length - 2) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), async (edits) => {
        let m = original.slice();
        for (const e of edits) {
          if (e.op === 'set') m[e.at] = e.value;
          else if (e.op === 'cut') m = m.slice(0, e.at);
          else if (e.op === 'insert') m = new Uint8Array([...m.subarray(0, e.at), ...e.bytes, ...m.subarray(e.at)]);
          else if (e.at + 1 < m.length) (m[e.at] = 0xff), (m[e.at + 1] = 0xff);
        }
        try {
          await receiver.receive(m, 'GMK');
          return equalBytes(m, original);
        } catch (err) {
          return isMcpttError(err);
        }
      }),
      { numRuns: 300, seed: 0x5eed },
    );
  });

  it('random bytes are refused with a typed error', async () => {
    const receiver = createMikeyKeyReceiver({ self: member, now: () => NOW, gmsUris: [gms.uri] });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const outcome = await receiver.receive(bytes, 'GMK').then(
          () => false,
          (e: unknown) => isMcpttError(e),
        );
        expect(outcome).toBe(true);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
