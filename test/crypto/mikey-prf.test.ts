/**
 * RFC 3830 4.1.2 / 4.1.3 MIKEY PRF with PRF-HMAC-SHA-256 (RFC 6043 6.1): SRTP master keys and
 * 12-octet master salts of every `guk_and_srtp_keys` entry and of the interop example.
 */
import { describe, expect, it } from 'vitest';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { gukId } from '../../src/crypto/key-ids.js';
import { mikeyPrf, srtpMasterKeys } from '../../src/crypto/mikey-prf.js';
import { CryptoError } from '../../src/errors.js';
import { bytesToHex, concatBytes, hexToBytes } from '../../src/util/bytes.js';
import { sharedVector } from '../helpers/shared.js';

const interop = sharedVector('impl-mikey-sakke-published-interop');
const kdfVectors = sharedVector('mikey-prf-and-33220-kdf');

describe('SRTP master key and salt from the TGK (RFC 3830 4.1.3)', () => {
  const withKeys = interop.guk_and_srtp_keys.filter((e: any) => e.srtp_master_key !== undefined);

  it('reproduces every published entry (GMK with CSB-ID = GUK-ID, SPK with its own ID)', () => {
    expect(withKeys.length).toBe(4);
    for (const e of withKeys) {
      const tgk = hexToBytes(e.gmk ?? e.tgk);
      const csbId = hexToBytes(e.guk_id ?? e.csb_id);
      const m = srtpMasterKeys({ tgk, csId: e.cs_id, csbId, rand: hexToBytes(e.rand) });
      expect(bytesToHex(m.masterKey)).toBe(e.srtp_master_key);
      expect(bytesToHex(m.masterSalt)).toBe(e.srtp_master_salt_12);
    }
  });

  it('reproduces the interop example end to end (GMK → GUK-ID → master key/salt)', () => {
    const ex = kdfVectors.example_from_interop;
    const tgk = hexToBytes(ex.tgk_gmk);
    const csbId = gukId({ gmk: tgk, gmkId: hexToBytes(ex.gmk_id), mcpttId: ex.mc_service_id });
    expect(bytesToHex(csbId)).toBe(ex.guk_id_csb_id);
    const m = srtpMasterKeys({ tgk, csId: ex.cs_id, csbId, rand: hexToBytes(ex.rand) });
    expect(bytesToHex(m.masterKey)).toBe(ex.srtp_master_key);
    expect(bytesToHex(m.masterSalt)).toBe(ex.srtp_master_salt_12);
  });

  it('the label is constant ‖ CS-ID ‖ CSB-ID ‖ RAND (TEK 2ad01c64, SALT 39a2c14b)', () => {
    const e = withKeys[0];
    const label = (c: string) => hexToBytes(c + '04' + e.guk_id + e.rand);
    expect(bytesToHex(mikeyPrf(hexToBytes(e.gmk), label('2ad01c64'), 16))).toBe(e.srtp_master_key);
    expect(bytesToHex(mikeyPrf(hexToBytes(e.gmk), label('39a2c14b'), 12))).toBe(e.srtp_master_salt_12);
  });

  it('refuses bad sizes and ranges', () => {
    const ok = { tgk: new Uint8Array(16), csId: 4, csbId: new Uint8Array(4), rand: new Uint8Array(16) };
    expect(() => srtpMasterKeys({ ...ok, tgk: new Uint8Array(15) })).toThrow(CryptoError);
    expect(() => srtpMasterKeys({ ...ok, csbId: new Uint8Array(5) })).toThrow(CryptoError);
    expect(() => srtpMasterKeys({ ...ok, rand: new Uint8Array(15) })).toThrow(CryptoError);
    expect(() => srtpMasterKeys({ ...ok, csId: 256 })).toThrow(RangeError);
    expect(() => srtpMasterKeys({ ...ok, rand: 'r' as never })).toThrow(TypeError);
  });
});

describe('PRF structure (RFC 3830 4.1.2 with HMAC-SHA-256)', () => {
  const label = hexToBytes('2ad01c6404deadbeef' + '00112233445566778899aabbccddeeff');

  it('P(s, label, m): A_1 = HMAC(s, label), block_i = HMAC(s, A_i ‖ label)', () => {
    const s = hexToBytes('0102030405060708090a0b0c0d0e0f10');
    const a1 = hmac(sha256, s, label);
    const a2 = hmac(sha256, s, a1);
    const expected = concatBytes(hmac(sha256, s, concatBytes(a1, label)), hmac(sha256, s, concatBytes(a2, label)));
    expect(bytesToHex(mikeyPrf(s, label, 64))).toBe(bytesToHex(expected));
    // Shorter outputs are prefixes.
    expect(bytesToHex(mikeyPrf(s, label, 20))).toBe(bytesToHex(expected.subarray(0, 20)));
    expect(bytesToHex(mikeyPrf(s, label, 33))).toBe(bytesToHex(expected.subarray(0, 33)));
  });

  it('inkeys longer than 256 bits are cut into 256-bit pieces whose outputs are XORed', () => {
    const k = new Uint8Array(48).map((_, i) => i * 7 + 1);
    const a = mikeyPrf(k.subarray(0, 32), label, 40);
    const b = mikeyPrf(k.subarray(32), label, 40);
    expect(bytesToHex(mikeyPrf(k, label, 40))).toBe(bytesToHex(a.map((x, i) => x ^ b[i]!)));
  });

  it('refuses an empty inkey and bad output lengths', () => {
    expect(() => mikeyPrf(new Uint8Array(0), label, 16)).toThrow(RangeError);
    expect(() => mikeyPrf(new Uint8Array(16), label, 0)).toThrow(RangeError);
    expect(() => mikeyPrf(new Uint8Array(16), label, 1.5)).toThrow(RangeError);
    expect(() => mikeyPrf('k' as never, label, 16)).toThrow(TypeError);
  });
});
