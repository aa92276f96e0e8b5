/**
 * TS 33.220 Annex B KDF: input encoding (B.1) and HMAC-SHA-256 (B.2), checked on the interop
 * example of mikey-prf-and-33220-kdf.json (FC 0x50, User Salt) and the DPCK vector (FC 0x53).
 */
import { describe, expect, it } from 'vitest';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeKdfInput, kdf33220 } from '../../src/crypto/kdf.js';
import { bytesToHex, hexToBytes, utf8 } from '../../src/util/bytes.js';
import { sharedVector } from '../helpers/shared.js';

const kdfVectors = sharedVector('mikey-prf-and-33220-kdf');
const interop = sharedVector('impl-mikey-sakke-published-interop');
const fcValues = sharedVector('ts33180-annex-f-fc-values');

describe('TS 33.220 B.1 input encoding', () => {
  it('S = FC ‖ P0 ‖ L0 ‖ P1 ‖ L1 with 2-octet big-endian lengths', () => {
    const s = encodeKdfInput(0x51, [utf8('abc'), hexToBytes('deadbeef')]);
    expect(bytesToHex(s)).toBe('51' + '616263' + '0003' + 'deadbeef' + '0004');
    expect(bytesToHex(encodeKdfInput(0x00, []))).toBe('00');
    expect(bytesToHex(encodeKdfInput(0x10, [new Uint8Array(0)]))).toBe('100000');
    expect(bytesToHex(encodeKdfInput(0x10, [new Uint8Array(300)]).subarray(-2))).toBe('012c');
  });

  it('refuses FC outside one octet, non-bytes parameters and parameters over 65535 octets', () => {
    expect(() => encodeKdfInput(256, [])).toThrow(RangeError);
    expect(() => encodeKdfInput(-1, [])).toThrow(RangeError);
    expect(() => encodeKdfInput(1.5, [])).toThrow(RangeError);
    expect(() => encodeKdfInput(0x50, ['x' as never])).toThrow(TypeError);
    expect(() => encodeKdfInput(0x50, [new Uint8Array(0x10000)])).toThrow(RangeError);
    expect(() => kdf33220('key' as never, 0x50, [])).toThrow(TypeError);
  });
});

describe('TS 33.220 B.2 KDF = HMAC-SHA-256(Key, S)', () => {
  it('is HMAC-SHA-256 over the B.1 string, 32 octets', () => {
    const key = hexToBytes('000102030405060708090a0b0c0d0e0f');
    const params = [utf8('sip:alice@example.org'), hexToBytes('12345678')];
    const out = kdf33220(key, 0x52, params);
    expect(out.length).toBe(32);
    expect(bytesToHex(out)).toBe(bytesToHex(hmac(sha256, key, encodeKdfInput(0x52, params))));
  });

  it('interop example: User Salt = 28 LSBs of KDF(GMK, 0x50, MCPTT ID), GUK-ID = GMK-ID XOR salt', () => {
    const ex = kdfVectors.example_from_interop;
    const out = kdf33220(hexToBytes(ex.tgk_gmk), 0x50, [utf8(ex.mc_service_id)]);
    const salt = ((out[28]! & 0x0f) << 24) | (out[29]! << 16) | (out[30]! << 8) | out[31]!;
    const gmkId = parseInt(ex.gmk_id, 16);
    expect(((gmkId ^ salt) >>> 0).toString(16).padStart(8, '0')).toBe(ex.guk_id_csb_id);
  });

  it('DPCK vector: KDF(DPPK, FC 0x53, P0 = DPPK-ID), DPCK = 128 LSBs', () => {
    for (const d of interop.dpck_fc_0x53) {
      const out = kdf33220(hexToBytes(d.dppk), parseInt(d.fc, 16), [hexToBytes(d.dppk_id)]);
      expect(bytesToHex(out)).toBe(d.kdf_output_256);
      expect(bytesToHex(out.slice(16))).toBe(d.dpck_lsb128);
    }
  });

  it('the FC values table lists 0x50..0x53 and the dummy 0x00 of F.2.1', () => {
    const fcs = (fcValues.fc_values as { fc: string }[]).map((f) => f.fc).sort();
    expect(fcs).toEqual(['00', '50', '51', '52', '53']);
  });
});
