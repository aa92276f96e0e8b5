/**
 * RFC 4567 `a=key-mgmt:mikey` in SDP: reading at session and media level, strict base64,
 * adding and replacing lines without touching the rest of the SDP.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/errors.js';
import { sharedVector } from '../helpers/shared.js';
import { hexToBytes } from '../../src/util/bytes.js';
import { decodeIMessage } from '../../src/codec/mikey/index.js';
import {
  decodeBase64Strict,
  encodeBase64,
  readSdpMikey,
  removeSdpMikey,
  sdpMikeyForMedia,
  writeSdpMikey,
} from '../../src/codec/sdp-key-mgmt.js';

const vec = sharedVector<{ i_message_sets: Array<{ messages: Array<{ i_message_hex: string; i_message_b64: string }> }> }>(
  'impl-mikey-sakke-published-interop',
);
const pck = vec.i_message_sets[0]!.messages[2]!;
const gmk = vec.i_message_sets[0]!.messages[0]!;

const OFFER = [
  'v=0',
  'o=- 20518 0 IN IP4 203.0.113.1',
  's=-',
  't=0 0',
  `a=key-mgmt:mikey ${pck.i_message_b64}`,
  'm=audio 54400 RTP/SAVP 0',
  'a=sendrecv',
  'm=application 54402 udp MBCP',
  `a=key-mgmt:mikey  \t${gmk.i_message_b64}   `,
  'a=fmtp:MBCP mc_queueing',
  '',
].join('\r\n');

const code = errorCode;

describe('reading a=key-mgmt:mikey', () => {
  it('finds session and media attributes and decodes the published PCK I_MESSAGE', () => {
    const found = readSdpMikey(OFFER);
    expect(found.map((a) => [a.level, a.mediaIndex, a.line])).toEqual([
      ['session', undefined, 4],
      ['media', 1, 8],
    ]);
    expect(found[0]!.message).toEqual(hexToBytes(pck.i_message_hex));
    expect(found[1]!.message).toEqual(hexToBytes(gmk.i_message_hex));
    expect(decodeIMessage(found[0]!.message).header.csbId).toBe(0x16992638);
  });

  it('lets a media-level attribute override the session level (RFC 4567 §3.1)', () => {
    expect(sdpMikeyForMedia(OFFER, 0)).toEqual([hexToBytes(pck.i_message_hex)]);
    expect(sdpMikeyForMedia(OFFER, 1)).toEqual([hexToBytes(gmk.i_message_hex)]);
    expect(() => sdpMikeyForMedia(OFFER, 2)).toThrow(RangeError);
  });

  it('accepts LF line ends, several lines per level and any case of the protocol id', () => {
    const sdp = ['v=0', 'm=audio 1 RTP/SAVP 0', 'a=key-mgmt:MIKEY AQID', 'a=key-mgmt: mikey BAUG', 'a=key-mgmt:other ????'].join('\n');
    expect(sdpMikeyForMedia(sdp, 0)).toEqual([Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5, 6)]);
  });

  it('rejects non-strict base64 and empty data with ERR_MIKEY_MALFORMED', () => {
    for (const bad of ['AQI', 'AQ=D', 'AQ==AQ==', 'AQ#D', 'AR==', 'AQJ=', 'A Q I D', '====', '']) {
      const sdp = `v=0\r\na=key-mgmt:mikey ${bad}\r\n`;
      expect(code(() => readSdpMikey(sdp)), bad).toBe('ERR_MIKEY_MALFORMED');
    }
  });

  it('decodes strict base64 exactly like Buffer for canonical input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (b) => {
        const s = Buffer.from(b).toString('base64');
        expect(encodeBase64(b)).toBe(s);
        expect(decodeBase64Strict(s)).toEqual(b);
      }),
    );
  });
});

describe('writing a=key-mgmt:mikey', () => {
  const base = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0', 'm=audio 9 RTP/SAVP 0', 'a=sendrecv', ''].join('\r\n');
  const m1 = hexToBytes(pck.i_message_hex);
  const m2 = Uint8Array.of(1, 26, 0);

  it('adds at session level before the first m= line and at the end of a media section', () => {
    const s1 = writeSdpMikey(base, m1, { level: 'session' });
    expect(s1.split('\r\n')).toEqual(['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0', `a=key-mgmt:mikey ${pck.i_message_b64}`, 'm=audio 9 RTP/SAVP 0', 'a=sendrecv', '']);
    const s2 = writeSdpMikey(s1, [m2, m2], { level: 'media', mediaIndex: 0 });
    expect(s2.split('\r\n').slice(5)).toEqual(['m=audio 9 RTP/SAVP 0', 'a=sendrecv', 'a=key-mgmt:mikey ARoA', 'a=key-mgmt:mikey ARoA', '']);
    expect(readSdpMikey(s2).map((a) => a.message)).toEqual([m1, m2, m2]);
  });

  it('replaces existing lines of the level in place and leaves other levels alone', () => {
    const s = writeSdpMikey(OFFER, m2, { level: 'session' });
    const lines = s.split('\r\n');
    expect(lines[4]).toBe('a=key-mgmt:mikey ARoA');
    expect(lines.length).toBe(OFFER.split('\r\n').length);
    expect(sdpMikeyForMedia(s, 1)).toEqual([hexToBytes(gmk.i_message_hex)]);
    const r = removeSdpMikey(s, { level: 'media', mediaIndex: 1 });
    expect(readSdpMikey(r).map((a) => a.level)).toEqual(['session']);
    expect(r.split('\r\n')).toContain('a=fmtp:MBCP mc_queueing');
  });

  it('keeps LF-only SDP as LF and works without m= lines', () => {
    const s = writeSdpMikey('v=0\ns=-\n', m2, { level: 'session' });
    expect(s).toBe('v=0\ns=-\na=key-mgmt:mikey ARoA\n');
  });

  it('refuses misuse', () => {
    expect(() => writeSdpMikey(base, new Uint8Array(0), { level: 'session' })).toThrow(TypeError);
    expect(() => writeSdpMikey(base, m2, { level: 'media', mediaIndex: 1 })).toThrow(RangeError);
    expect(() => readSdpMikey(5 as unknown as string)).toThrow(TypeError);
  });
});
