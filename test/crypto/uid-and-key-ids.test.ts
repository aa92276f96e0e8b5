/**
 * TS 33.179 F.2.1 MIKEY-SAKKE UID and key period number; F.1.3 User Salt / GUK-ID; F.1.4 XPK
 * keys. Vectors: impl-mikey-sakke-published-interop.json (`uid`, `guk_and_srtp_keys`, the users
 * of `i_message_sets`).
 */
import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { gukId, userSalt, xpkKeys } from '../../src/crypto/key-ids.js';
import { kdf33220 } from '../../src/crypto/kdf.js';
import { keyPeriodNo, mikeySakkeUid, NTP_UNIX_OFFSET } from '../../src/crypto/uid.js';
import { CryptoError } from '../../src/errors.js';
import { bytesToHex, hexToBytes, utf8 } from '../../src/util/bytes.js';
import { sharedVector } from '../helpers/shared.js';

const interop = sharedVector('impl-mikey-sakke-published-interop');

describe('F.2.1 MIKEY-SAKKE UID', () => {
  it('reproduces all 7 published UIDs', () => {
    expect(interop.uid).toHaveLength(7);
    for (const u of interop.uid) {
      const uid = mikeySakkeUid({
        identifier: u.identifier,
        kmsUri: u.kms_uri,
        keyPeriod: u.key_period,
        keyPeriodOffset: u.key_period_offset,
        keyPeriodNo: u.key_period_no,
      });
      expect(bytesToHex(uid)).toBe(u.uid);
    }
  });

  it('is plain SHA-256 of 0x00 ‖ "MIKEY-SAKKE-UID" ‖ 0x000f ‖ … with minimal integers (0 → 0x00)', () => {
    const u = interop.uid[0];
    const s = hexToBytes(
      '00' +
        bytesToHex(utf8('MIKEY-SAKKE-UID')) + '000f' +
        bytesToHex(utf8(u.identifier)) + '0014' +
        bytesToHex(utf8(u.kms_uri)) + '000f' +
        '278d00' + '0003' + // 2592000
        '00' + '0001' + // offset 0
        '01' + '0001', // period number 1
    );
    expect(bytesToHex(sha256(s))).toBe(u.uid);
  });

  it('accepts bytes and bigints alike', () => {
    const u = interop.uid[4];
    const uid = mikeySakkeUid({
      identifier: utf8(u.identifier),
      kmsUri: utf8(u.kms_uri),
      keyPeriod: BigInt(u.key_period),
      keyPeriodOffset: BigInt(u.key_period_offset),
      keyPeriodNo: BigInt(u.key_period_no),
    });
    expect(bytesToHex(uid)).toBe(u.uid);
  });

  it('reproduces the KMS-provisioned UIDs of the interop I_MESSAGE users', () => {
    for (const set of interop.i_message_sets) {
      for (const user of set.users) {
        const uid = mikeySakkeUid({
          identifier: user.uri,
          kmsUri: set.kms.kms_uri,
          keyPeriod: set.kms.user_key_period,
          keyPeriodOffset: set.kms.user_key_offset,
          keyPeriodNo: user.key_period_no,
        });
        expect(bytesToHex(uid)).toBe(user.uid.toLowerCase());
      }
    }
  });

  it('refuses negative or fractional integers and non-bytes identifiers', () => {
    const base = { identifier: 'a', kmsUri: 'k', keyPeriod: 1, keyPeriodOffset: 0, keyPeriodNo: 0 };
    expect(() => mikeySakkeUid({ ...base, keyPeriod: -1 })).toThrow(RangeError);
    expect(() => mikeySakkeUid({ ...base, keyPeriodNo: 1.5 })).toThrow(RangeError);
    expect(() => mikeySakkeUid({ ...base, keyPeriodOffset: -1n })).toThrow(RangeError);
    expect(() => mikeySakkeUid({ ...base, identifier: 5 as never })).toThrow(TypeError);
  });
});

describe('F.2.1 key period number', () => {
  it('floor((NTP − offset) / period), NTP = Unix + 2208988800', () => {
    expect(NTP_UNIX_OFFSET).toBe(2208988800);
    expect(keyPeriodNo({ ntpSeconds: 2592000 * 5 + 7, keyPeriod: 2592000, keyPeriodOffset: 7 })).toBe(5);
    expect(keyPeriodNo({ ntpSeconds: 2592000 * 5 + 6, keyPeriod: 2592000, keyPeriodOffset: 7 })).toBe(4);
    expect(keyPeriodNo({ ntpSeconds: 100n, keyPeriod: 10n, keyPeriodOffset: 0n })).toBe(10);
  });

  it('matches the T payloads of the interop I_MESSAGEs', () => {
    for (const set of interop.i_message_sets) {
      for (const m of set.messages) {
        const n = keyPeriodNo({
          ntpSeconds: m.parsed.ntp_time,
          keyPeriod: set.kms.user_key_period,
          keyPeriodOffset: set.kms.user_key_offset,
        });
        expect(n).toBe(m.parsed.key_period_no);
        // and the UTC time shown for it is the same instant
        expect(m.parsed.ntp_time - NTP_UNIX_OFFSET).toBe(Date.parse(m.parsed.utc) / 1000);
      }
    }
  });

  it('refuses a zero period and a time before the offset', () => {
    expect(() => keyPeriodNo({ ntpSeconds: 10, keyPeriod: 0, keyPeriodOffset: 0 })).toThrow(RangeError);
    expect(() => keyPeriodNo({ ntpSeconds: 10, keyPeriod: 5, keyPeriodOffset: 11 })).toThrow(RangeError);
  });
});

describe('F.1.3 User Salt and GUK-ID (FC 0x50)', () => {
  const entries = interop.guk_and_srtp_keys.filter((e: any) => e.guk_id !== undefined);

  it('reproduces every published User Salt and GUK-ID', () => {
    expect(entries.length).toBe(4);
    for (const e of entries) {
      const gmk = hexToBytes(e.gmk);
      expect(userSalt({ gmk, mcpttId: e.mc_service_id })).toBe(parseInt(e.user_salt_28bit, 16));
      expect(bytesToHex(gukId({ gmk, gmkId: hexToBytes(e.gmk_id), mcpttId: e.mc_service_id }))).toBe(e.guk_id);
    }
  });

  it('GUK-ID → GMK-ID by the same XOR, purpose tag (4 MSBs) untouched', () => {
    for (const e of entries) {
      const gmk = hexToBytes(e.gmk);
      const back = gukId({ gmk, gmkId: hexToBytes(e.guk_id), mcpttId: e.mc_service_id });
      expect(bytesToHex(back)).toBe(e.gmk_id);
      expect(hexToBytes(e.guk_id)[0]! >> 4).toBe(hexToBytes(e.gmk_id)[0]! >> 4);
    }
    const gmk = new Uint8Array(16).fill(7);
    for (const tag of [0x0, 0x1, 0x6, 0xf]) {
      const id = new Uint8Array([(tag << 4) | 0x0a, 0xbb, 0xcc, 0xdd]);
      expect(gukId({ gmk, gmkId: id, mcpttId: 'sip:x@y' })[0]! >> 4).toBe(tag);
    }
  });

  it('salt is below 2^28 and refuses bad sizes', () => {
    expect(userSalt({ gmk: new Uint8Array(16).fill(0xff), mcpttId: 'sip:a@b' })).toBeLessThan(2 ** 28);
    expect(() => userSalt({ gmk: new Uint8Array(15), mcpttId: 'a' })).toThrow(CryptoError);
    expect(() => gukId({ gmk: new Uint8Array(16), gmkId: new Uint8Array(3), mcpttId: 'a' })).toThrow(CryptoError);
    expect(() => userSalt({ gmk: new Uint8Array(16), mcpttId: 7 as never })).toThrow(TypeError);
  });
});

describe('F.1.4 XPK keys (FC 0x51 confidentiality, 0x52 integrity; 128 LSBs)', () => {
  it('are the 128 least significant bits of KDF(XPK, FC, MCPTT ID, XPK-ID)', () => {
    const xpk = hexToBytes('28ba74447f037dcc09ad7f2576dc2def');
    const xpkId = hexToBytes('1c5f7886');
    const mcpttId = 'sip:alice@example.org';
    const k = xpkKeys({ xpk, xpkId, mcpttId });
    expect(k.encryptionKey.length).toBe(16);
    expect(k.integrityKey.length).toBe(16);
    expect(bytesToHex(k.encryptionKey)).toBe(bytesToHex(kdf33220(xpk, 0x51, [utf8(mcpttId), xpkId]).subarray(16)));
    expect(bytesToHex(k.integrityKey)).toBe(bytesToHex(kdf33220(xpk, 0x52, [utf8(mcpttId), xpkId]).subarray(16)));
    expect(bytesToHex(k.encryptionKey)).not.toBe(bytesToHex(k.integrityKey));
  });

  it('refuses other XPK and XPK-ID sizes', () => {
    expect(() => xpkKeys({ xpk: new Uint8Array(32), xpkId: new Uint8Array(4), mcpttId: 'a' })).toThrow(CryptoError);
    expect(() => xpkKeys({ xpk: new Uint8Array(16), xpkId: new Uint8Array(5), mcpttId: 'a' })).toThrow(CryptoError);
  });
});
