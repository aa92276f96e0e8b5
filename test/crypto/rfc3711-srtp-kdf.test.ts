/**
 * RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key derivation, kdr 0), the values derived
 * from B.3 for AEAD and SRTCP, and the 96-bit master salt rule of RFC 7714 11 (erratum 4938).
 */
import { describe, expect, it } from 'vitest';
import { aesCmKeystreamBlock, aesCmPrf, srtpSessionKeys } from '../../src/crypto/srtp-kdf.js';
import { CryptoError } from '../../src/errors.js';
import { bytesToHex, concatBytes, hexToBytes } from '../../src/util/bytes.js';
import { sharedVector } from '../helpers/shared.js';

const v = sharedVector('rfc3711-srtp-aes-cm-kdf');
const B3 = v.B3;
const extra = v.derived_extra_not_in_rfc;
const masterKey = hexToBytes(B3.master_key);
const masterSalt = hexToBytes(B3.master_salt);

describe('RFC 3711 B.2 AES-CM keystream', () => {
  it('each listed block is AES_k(counter)', async () => {
    for (const b of v.B2.blocks) {
      expect(bytesToHex(await aesCmKeystreamBlock(hexToBytes(v.B2.session_key), hexToBytes(b.counter)))).toBe(b.keystream);
    }
  });

  it('the whole 1044512-octet segment from IV = salt · 2^16 holds the listed blocks at their offsets', async () => {
    const salt = hexToBytes(v.B2.session_salt_already_shifted).subarray(0, 14);
    const ks = await aesCmPrf({
      masterKey: hexToBytes(v.B2.session_key),
      masterSalt: salt,
      label: 0,
      length: v.B2.keystream_segment_length_octets,
    });
    expect(ks.length).toBe(1044512);
    const base = parseInt(v.B2.offset.slice(-4), 16);
    for (const b of v.B2.blocks) {
      const i = parseInt(b.counter.slice(-4), 16) - base;
      expect(bytesToHex(ks.subarray(i * 16, i * 16 + 16))).toBe(b.keystream);
    }
  });
});

describe('RFC 3711 B.3 key derivation (kdr = 0)', () => {
  it('session keys and 14-octet salts from the 14-octet master salt', async () => {
    const k = await srtpSessionKeys({ masterKey, masterSalt });
    expect(bytesToHex(k.srtp.key)).toBe(B3.cipher_key.value);
    expect(bytesToHex(k.srtp.salt)).toBe(B3.cipher_salt.value);
    expect(bytesToHex(k.srtcp.key)).toBe(extra.srtcp_cipher_key_label_03);
    expect(bytesToHex(k.srtcp.salt)).toBe(extra.srtcp_salt_label_05_14_octets);
  });

  it('the 12-octet (AEAD) salts of the derived values are the first 96 PRF output bits', async () => {
    const k = await srtpSessionKeys({ masterKey, masterSalt });
    expect(bytesToHex(k.srtp.salt.subarray(0, 12))).toBe(extra.aead_aes_128_gcm_session_salt_12_octets_from_B3_master);
    expect(bytesToHex(k.srtcp.salt.subarray(0, 12))).toBe(extra.srtcp_salt_label_05_12_octets);
    const salt12 = await aesCmPrf({ masterKey, masterSalt, label: 2, length: 12 });
    expect(bytesToHex(salt12)).toBe(extra.aead_aes_128_gcm_session_salt_12_octets_from_B3_master);
  });

  it('full salt block and the 94-octet authentication key', async () => {
    expect(bytesToHex(await aesCmPrf({ masterKey, masterSalt, label: 2, length: 16 }))).toBe(B3.cipher_salt.aes_cm_output);
    expect(bytesToHex(await aesCmPrf({ masterKey, masterSalt, label: 1, length: 94 }))).toBe(B3.auth_key.value);
  });
});

describe('96-bit master salt (RFC 7714 11, erratum 4938: salt · 2^16)', () => {
  it('a 12-octet master salt acts as itself followed by two zero octets; salts come out 12 octets', async () => {
    const salt12 = masterSalt.subarray(0, 12);
    const padded = concatBytes(salt12, new Uint8Array(2));
    const a = await srtpSessionKeys({ masterKey, masterSalt: salt12 });
    const b = await srtpSessionKeys({ masterKey, masterSalt: padded });
    expect(a.srtp.key.length).toBe(16);
    expect(a.srtp.salt.length).toBe(12);
    expect(a.srtcp.salt.length).toBe(12);
    expect(bytesToHex(a.srtp.key)).toBe(bytesToHex(b.srtp.key));
    expect(bytesToHex(a.srtp.salt)).toBe(bytesToHex(b.srtp.salt.subarray(0, 12)));
    expect(bytesToHex(a.srtcp.key)).toBe(bytesToHex(b.srtcp.key));
    expect(bytesToHex(a.srtcp.salt)).toBe(bytesToHex(b.srtcp.salt.subarray(0, 12)));
    // …and differs from the 14-octet B.3 salt whose last two octets are not zero.
    expect(bytesToHex(a.srtp.key)).not.toBe(B3.cipher_key.value);
  });

  it('AES_256_CM_PRF (RFC 6188): a 32-octet master key gives 32-octet session keys', async () => {
    const k = await srtpSessionKeys({ masterKey: new Uint8Array(32).fill(1), masterSalt: new Uint8Array(12) });
    expect(k.srtp.key.length).toBe(32);
    expect(k.srtcp.key.length).toBe(32);
  });

  it('refuses other sizes with typed errors', async () => {
    await expect(srtpSessionKeys({ masterKey: new Uint8Array(24), masterSalt: new Uint8Array(12) })).rejects.toBeInstanceOf(CryptoError);
    await expect(srtpSessionKeys({ masterKey, masterSalt: new Uint8Array(13) })).rejects.toMatchObject({ code: 'ERR_CRYPTO_BAD_LENGTH' });
    await expect(aesCmPrf({ masterKey, masterSalt, label: 256, length: 16 })).rejects.toBeInstanceOf(RangeError);
    await expect(aesCmPrf({ masterKey, masterSalt, label: 0, length: 0x100001 })).rejects.toBeInstanceOf(RangeError);
    await expect(srtpSessionKeys({ masterKey: 'k' as never, masterSalt })).rejects.toBeInstanceOf(TypeError);
  });
});
