/**
 * Hostile input for the MIKEY codec (RFC 3830 / RFC 6509 I_MESSAGE, E.5/E.6 extensions, the
 * RFC 4567 SDP attribute): every input must end in a result or a typed `MikeyError`, never
 * another exception; whatever decodes must re-encode to the same octets; and the work done
 * is bounded by the input length (counted, not timed).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sharedVector } from '../helpers/shared.js';
import { MikeyError } from '../../src/errors.js';
import { hexToBytes } from '../../src/util/bytes.js';
import {
  PAYLOAD_TYPE,
  decodeGmkParametersPlaintext,
  decodeIMessage,
  decodeKeyParametersExtension,
  decodeSakkeToSelf,
  describeIMessage,
  encodeIMessageBytes,
  type DecodeStats,
} from '../../src/codec/mikey/index.js';
import { readSdpMikey, sdpMikeyForMedia } from '../../src/codec/sdp-key-mgmt.js';

const vec = sharedVector<{ i_message_sets: Array<{ messages: Array<{ title: string; i_message_hex: string }> }> }>(
  'impl-mikey-sakke-published-interop',
);
const published = vec.i_message_sets.flatMap((s) => s.messages.map((m) => ({ title: m.title, bytes: hexToBytes(m.i_message_hex) })));

type Outcome = 'ok' | 'ERR_MIKEY_MALFORMED' | 'ERR_MIKEY_UNSUPPORTED';

/**
 * Decodes, and on success checks the round trip and the rendering. Any exception that is
 * not a MikeyError fails the test, as does a step count above the input length.
 */
function probe(input: Uint8Array): Outcome {
  const stats: DecodeStats = { steps: 0 };
  try {
    const msg = decodeIMessage(input, { stats });
    const again = encodeIMessageBytes(msg);
    if (again.length !== input.length || again.some((b, i) => b !== input[i])) {
      throw new Error('decoded message does not re-encode to its input');
    }
    describeIMessage(msg);
    for (const e of msg.extensions) {
      softly(() => decodeKeyParametersExtension(e.data));
      softly(() => decodeSakkeToSelf(e));
    }
    return 'ok';
  } catch (e) {
    if (!(e instanceof MikeyError)) throw e;
    if (e.code !== 'ERR_MIKEY_MALFORMED' && e.code !== 'ERR_MIKEY_UNSUPPORTED') throw e;
    return e.code;
  } finally {
    if (stats.steps > input.length) throw new Error(`${stats.steps} steps for ${input.length} octets`);
  }
}

/** For the inner decoders: success or MikeyError only. */
function softly(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof MikeyError)) throw e;
  }
}

describe('I_MESSAGE decoder on hostile input', () => {
  it('random octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        probe(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('random octets behind a valid SAKKE I_MESSAGE header start', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 2),
        fc.constantFrom(...Object.values(PAYLOAD_TYPE)),
        fc.uint8Array({ maxLength: 600 }),
        (mapType, next, rest) => {
          probe(Uint8Array.of(1, 26, next, 1, 1, 2, 3, 4, rest[0] ?? 0, mapType, ...rest));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('every truncation of every published message', () => {
    for (const { bytes } of published) {
      for (let n = 0; n < bytes.length; n++) {
        expect(probe(bytes.subarray(0, n))).not.toBe('ok');
      }
      expect(probe(bytes)).toBe('ok');
    }
  });

  it('every single-octet change of every published message', () => {
    let ok = 0;
    let total = 0;
    for (const { bytes } of published) {
      const b = bytes.slice();
      for (let i = 0; i < b.length; i++) {
        const orig = b[i]!;
        for (const v of new Set([0x00, 0xff, orig ^ 0x01, orig ^ 0x80, (orig + 1) & 0xff])) {
          if (v === orig) continue;
          b[i] = v;
          total++;
          if (probe(b) === 'ok') ok++;
        }
        b[i] = orig;
      }
    }
    // Changes inside values decode fine; changes to structure fail cleanly. Both happen.
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThan(total);
  });

  it('length fields pointing past the end, at every payload', () => {
    for (const { bytes } of published) {
      const msg = decodeIMessage(bytes);
      for (const span of msg.layout) {
        // Every length field of these payloads sits within their first 5 octets.
        for (let k = 1; k < Math.min(span.length, 6); k++) {
          for (const v of [0x7f, 0x80, 0xff]) {
            const b = bytes.slice();
            b[span.offset + k] = v;
            probe(b);
          }
        }
      }
    }
  });

  it('huge counts: #CS of 255 for every map type, with little behind it', () => {
    for (const mapType of [0, 1, 2]) {
      for (const tail of [0, 9, 100, 255 * 9 - 1, 255 * 9]) {
        const b = new Uint8Array(10 + tail);
        b.set([1, 26, 0, 1, 0, 0, 0, 1, 255, mapType]);
        const o = probe(b);
        if (mapType === 0 && tail === 255 * 9) expect(o).toBe('ok');
        if (mapType !== 1 && tail < 255 * 6) expect(o).toBe('ERR_MIKEY_MALFORMED');
      }
    }
  });

  it('does linear work on maximal inputs (payload chains, SP parameter floods)', () => {
    // 16 383 empty General Extensions: the most payloads 64 KiB can hold.
    const n = 16_383;
    const ge = new Uint8Array(10 + 4 * n);
    ge.set([1, 26, PAYLOAD_TYPE.GENERAL_EXTENSION, 1, 0, 0, 0, 1, 0, 1]);
    for (let i = 0; i < n; i++) {
      ge.set([i === n - 1 ? 0 : PAYLOAD_TYPE.GENERAL_EXTENSION, 0xee, 0, 0], 10 + 4 * i);
    }
    const stats: DecodeStats = { steps: 0 };
    expect(decodeIMessage(ge, { stats }).payloads).toHaveLength(n);
    expect(stats.steps).toBe(n);
    expect(probe(ge)).toBe('ok');
    // One SP payload with 32 767 empty parameters.
    const sp = new Uint8Array(10 + 5 + 0xfffe);
    sp.set([1, 26, PAYLOAD_TYPE.SP, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0xff, 0xfe]);
    for (let i = 0; i < 0xfffe; i += 2) sp[15 + i] = 200;
    const s2: DecodeStats = { steps: 0 };
    expect(decodeIMessage(sp, { stats: s2 }).securityPolicies[0]!.params).toHaveLength(0x7fff);
    expect(s2.steps).toBe(1 + 0x7fff);
    // The same floods cut short fail cleanly, still within the bound.
    expect(probe(ge.subarray(0, ge.length - 3))).toBe('ERR_MIKEY_MALFORMED');
    expect(probe(sp.subarray(0, sp.length - 1))).toBe('ERR_MIKEY_MALFORMED');
  });

  it('structured random messages: well-formed ones round-trip, corrupted ones fail cleanly', () => {
    const payload = fc.oneof(
      fc.record({ t: fc.constant(PAYLOAD_TYPE.T), b: fc.uint8Array({ minLength: 9, maxLength: 9 }) }).map(({ b }) => [0, ...b]),
      fc.uint8Array({ maxLength: 40 }).map((r) => [r.length, ...r]),
      fc.uint8Array({ maxLength: 40 }).map((d) => [9, 1, d.length >> 8, d.length & 0xff, ...d]),
    );
    fc.assert(
      fc.property(fc.array(payload, { maxLength: 20 }), fc.nat(), fc.nat(255), (ps, at, v) => {
        // Chain T (type 0 layout), RAND and IDR payloads by their next-payload octets.
        const types = ps.map((p) => (p.length === 10 && p[0] === 0 ? PAYLOAD_TYPE.T : p.length === 1 + (p[0] ?? 0) ? PAYLOAD_TYPE.RAND : PAYLOAD_TYPE.IDR));
        const out: number[] = [1, 26, types[0] ?? 0, 1, 0, 0, 0, 1, 0, 1];
        ps.forEach((p, i) => out.push(types[i + 1] ?? 0, ...p));
        const b = Uint8Array.from(out);
        probe(b);
        if (b.length > 0) {
          b[at % b.length] = v;
          probe(b);
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe('extension and SDP decoders on hostile input', () => {
  it('key parameters, E.6 plaintext and SAKKE-to-self: result or MikeyError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
        softly(() => decodeKeyParametersExtension(b));
        softly(() => decodeGmkParametersPlaintext(b));
        softly(() => decodeSakkeToSelf({ kind: 'GENERAL_EXTENSION', type: 6, data: b }));
      }),
      { numRuns: 3000 },
    );
  });

  it('SDP with arbitrary key-mgmt lines: result or MikeyError', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 30 }).map((s) => `a=key-mgmt:mikey ${s}`),
      fc.string({ maxLength: 30 }).map((s) => `a=key-mgmt:${s}`),
      fc.constantFrom('m=audio 9 RTP/AVP 0', 'v=0', 'a=sendrecv', '', 'a=key-mgmt:mikey AQID'),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.constantFrom('\r\n', '\n'), (lines, eol) => {
        const sdp = lines.join(eol);
        softly(() => readSdpMikey(sdp));
        // Asking for an m= section the SDP lacks is caller misuse (RangeError): ask only for real ones.
        const media = lines.filter((l) => l.startsWith('m=')).length;
        for (let k = 0; k < media; k++) softly(() => sdpMikeyForMedia(sdp, k));
      }),
      { numRuns: 2000 },
    );
  });
});
