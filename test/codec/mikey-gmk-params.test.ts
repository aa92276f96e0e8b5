/**
 * GMK associated parameters: the TS 33.179 v13 E.6 layout (AES-128-CBC under the GMK) and the
 * TS 33.180 key parameters (General Extension type 7, AES-128-GCM under the DPCK) that the
 * published interop messages carry.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sharedVector } from '../helpers/shared.js';
import { isMcpttError } from '../../src/errors.js';
import { bytesToHex, concatBytes, hexToBytes, utf8 } from '../../src/util/bytes.js';
import {
  GENERAL_EXTENSION_TYPE,
  KEY_PARAMETER_STATUS,
  KEY_PARAMETER_TYPE,
  decodeGmkParametersPlaintext,
  decodeIMessage,
  decodeKeyParametersExtension,
  decryptGmkParameters,
  decryptKeyParameters,
  encodeGmkParametersPlaintext,
  encodeKeyParametersPlaintext,
  encryptGmkParameters,
  encryptKeyParameters,
  extensionsOfType,
  gmkParametersExtension,
  keyParametersExtension,
  type GmkParameters,
  type KeyParameters,
} from '../../src/codec/mikey/index.js';
import { cbcDecryptRaw, cbcEncryptRaw, importAes128 } from '../../src/codec/mikey/webcrypto.js';

const GMK = hexToBytes('07d1a1677ac36d8e81620484689b3c2d');
const IV = hexToBytes('000102030405060708090a0b0c0d0e0f');
const counter = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => 0xa0 + i);

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (isMcpttError(e)) return e.code;
    throw e;
  }
}

function nodeCbc(dir: 'enc' | 'dec', key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = dir === 'enc' ? createCipheriv('aes-128-cbc', key, iv) : createDecipheriv('aes-128-cbc', key, iv);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

const PARAMS: GmkParameters = {
  groupId: 'sip:group1@example.org',
  activationTime: (3968437672n << 32n) | 0x80000000n,
  text: 'Fire brigade',
  reserved: new Uint8Array(2),
};

describe('TS 33.179 v13 E.6 GMK parameters', () => {
  it('lays out the plaintext with 4-octet elements and pads it to whole AES blocks', () => {
    const pt = encodeGmkParametersPlaintext(PARAMS, { random: counter });
    // group: 2 + 22 = 24 (no pad); time 8; text: 2 + 12 + 2 pad = 16; reserved 2 + 2 = 4 → 52 → pad 12 → 64
    expect(pt.length).toBe(64);
    expect(bytesToHex(pt.subarray(0, 2))).toBe('0016');
    expect(pt.subarray(2, 24)).toEqual(utf8(PARAMS.groupId));
    expect(bytesToHex(pt.subarray(24, 32))).toBe('ec898da880000000');
    expect(bytesToHex(pt.subarray(32, 34))).toBe('000c');
    expect(pt.subarray(34, 46)).toEqual(utf8(PARAMS.text));
    expect(bytesToHex(pt.subarray(46, 48))).toBe('a0a1');
    expect(bytesToHex(pt.subarray(48, 52))).toBe('00020000');
    expect(bytesToHex(pt.subarray(52))).toBe(bytesToHex(counter(12)));
    expect(decodeGmkParametersPlaintext(pt)).toEqual(PARAMS);
  });

  it('encrypts with plain AES-128-CBC (checked against node:crypto) and decrypts back', async () => {
    const data = await encryptGmkParameters(PARAMS, GMK, { iv: IV, random: counter });
    expect(data.subarray(0, 16)).toEqual(IV);
    const pt = encodeGmkParametersPlaintext(PARAMS, { random: counter });
    expect(data.subarray(16)).toEqual(nodeCbc('enc', GMK, IV, pt));
    expect(await decryptGmkParameters(data, GMK)).toEqual(PARAMS);
    const ext = gmkParametersExtension(data);
    expect(ext.type).toBe(GENERAL_EXTENSION_TYPE.VENDOR_ID);
  });

  it('accepts any random padding octets and an empty text', async () => {
    const p = { ...PARAMS, text: '', groupId: 'g' };
    for (const fill of [0x00, 0x10, 0xff]) {
      const data = await encryptGmkParameters(p, GMK, { random: (n) => new Uint8Array(n).fill(fill) });
      expect(await decryptGmkParameters(data, GMK)).toEqual(p);
    }
  });

  it('rejects a wrong GMK, bad lengths, long padding and invalid UTF-8 with ERR_MIKEY_BAD_GMK_PARAMETERS', async () => {
    const data = await encryptGmkParameters(PARAMS, GMK, { iv: IV, random: counter });
    const wrong = hexToBytes('00112233445566778899aabbccddeeff');
    expect(await codeOf(decryptGmkParameters(data, wrong))).toBe('ERR_MIKEY_BAD_GMK_PARAMETERS');
    expect(await codeOf(decryptGmkParameters(data.subarray(0, 31), GMK))).toBe('ERR_MIKEY_BAD_GMK_PARAMETERS');
    expect(await codeOf(decryptGmkParameters(data.subarray(0, 40), GMK))).toBe('ERR_MIKEY_BAD_GMK_PARAMETERS');
    const pt = encodeGmkParametersPlaintext(PARAMS, { random: counter });
    const longPad = concatBytes(IV, nodeCbc('enc', GMK, IV, concatBytes(pt, new Uint8Array(16))));
    expect(await codeOf(decryptGmkParameters(longPad, GMK))).toBe('ERR_MIKEY_BAD_GMK_PARAMETERS');
    const badUtf8 = pt.slice();
    badUtf8[2] = 0xff;
    expect(() => decodeGmkParametersPlaintext(badUtf8)).toThrow(/GMK parameters/);
    const cut = pt.subarray(0, 20);
    expect(() => decodeGmkParametersPlaintext(cut)).toThrowError(expect.objectContaining({ code: 'ERR_MIKEY_BAD_GMK_PARAMETERS' }));
  });

  it('refuses misuse: misaligned reserved, non-bigint time, wrong key length', async () => {
    expect(() => encodeGmkParametersPlaintext({ ...PARAMS, reserved: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => encodeGmkParametersPlaintext({ ...PARAMS, activationTime: 5 as unknown as bigint })).toThrow(TypeError);
    await expect(encryptGmkParameters(PARAMS, new Uint8Array(15))).rejects.toThrow(RangeError);
    await expect(decryptGmkParameters(new Uint8Array(32), new Uint8Array(32))).rejects.toThrow(RangeError);
  });

  it('raw CBC helpers match node:crypto for random keys and block counts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 1, max: 6 }).chain((n) => fc.uint8Array({ minLength: 16 * n, maxLength: 16 * n })),
        async (key, iv, data) => {
          const k = await importAes128(key, 'AES-CBC', 'key');
          expect(await cbcEncryptRaw(k, iv, data)).toEqual(nodeCbc('enc', key, iv, data));
          expect(await cbcDecryptRaw(k, iv, data)).toEqual(nodeCbc('dec', key, iv, data));
        },
      ),
      { numRuns: 40 },
    );
  });
});

interface Msg {
  title: string;
  key: string;
  i_message_hex: string;
}
const vec = sharedVector<{
  i_message_sets: Array<{ messages: Msg[] }>;
  dpck_fc_0x53: Array<{ dppk: string; dppk_id: string; dpck_lsb128: string }>;
}>('impl-mikey-sakke-published-interop');
const messages = vec.i_message_sets.flatMap((s) => s.messages);

/** DPCK: 128 LSB of HMAC-SHA-256(key, FC 0x53 ‖ P0 = DPPK-ID ‖ L0 = 0x0004) (TS 33.220 B.1). */
function dpck(key: Uint8Array, dppkId: Uint8Array): Uint8Array {
  const s = concatBytes(Uint8Array.of(0x53), dppkId, Uint8Array.of(0, dppkId.length));
  return new Uint8Array(createHmac('sha256', key).update(s).digest()).subarray(16);
}

const EXPECTED: Record<string, Partial<KeyParameters> & { format: string }> = {
  '1: GMK': { format: 'protected', keyType: KEY_PARAMETER_TYPE.GMK, status: 1, activationTime: 0, expiryTime: 0 },
  '2: CSK': { format: 'protected', keyType: KEY_PARAMETER_TYPE.CSK, status: 1, activationTime: 0, expiryTime: 0 },
  '3: PCK': { format: 'protected', keyType: KEY_PARAMETER_TYPE.PCK, status: 1, activationTime: 0, expiryTime: 0 },
  '4: GMK (legacy format for IWF)': { format: 'legacy-plain', keyType: 1, status: 1, activationTime: 0, expiryTime: 0 },
  'GMK gms->alice': { format: 'protected', keyType: KEY_PARAMETER_TYPE.GMK, status: 0, activationTime: 0x68d7eafa, expiryTime: 0xffffffff },
};

describe('TS 33.180 key parameters in the published messages (General Extension type 7)', () => {
  it('derives the DPCK as the shared FC 0x53 vector does', () => {
    const v = vec.dpck_fc_0x53[0]!;
    expect(bytesToHex(dpck(hexToBytes(v.dppk), hexToBytes(v.dppk_id)))).toBe(v.dpck_lsb128);
  });

  for (const m of messages) {
    const want = EXPECTED[m.title];
    if (want === undefined) {
      it(`${m.title}: has no key parameters extension`, () => {
        expect(decodeIMessage(hexToBytes(m.i_message_hex)).extensions).toEqual([]);
      });
      continue;
    }
    it(`${m.title}: decrypts, checks and re-encrypts byte-identically`, async () => {
      const msg = decodeIMessage(hexToBytes(m.i_message_hex));
      const [ext] = extensionsOfType(msg.extensions, GENERAL_EXTENSION_TYPE.KEY_PARAMETERS);
      const decoded = decodeKeyParametersExtension(ext!.data);
      expect(decoded.format).toBe(want.format);
      let params: KeyParameters;
      if (decoded.format === 'protected') {
        const c = decoded.container;
        expect(c.dppkId).toBe(msg.header.csbId);
        const key = dpck(hexToBytes(m.key), ext!.data.subarray(28, 32));
        params = await decryptKeyParameters(c, key);
        const again = await encryptKeyParameters(params, {
          dpck: key,
          dppkId: c.dppkId,
          iv: c.iv,
          messageType: c.messageType,
          dateTime: c.dateTime,
        });
        expect(bytesToHex(again)).toBe(bytesToHex(ext!.data));
        const tampered = ext!.data.slice();
        tampered[tampered.length - 1]! ^= 1;
        const t = decodeKeyParametersExtension(tampered);
        if (t.format !== 'protected') throw new Error('expected protected');
        expect(await codeOf(decryptKeyParameters(t.container, key))).toBe('ERR_MIKEY_BAD_GMK_PARAMETERS');
        const otherAd = ext!.data.slice();
        otherAd[1]! ^= 1; // date/time is authenticated
        const o = decodeKeyParametersExtension(otherAd);
        if (o.format !== 'protected') throw new Error('expected protected');
        expect(await codeOf(decryptKeyParameters(o.container, key))).toBe('ERR_MIKEY_BAD_GMK_PARAMETERS');
      } else {
        params = decoded.params;
        expect(params.hasGroupIdsElement).toBe(false);
        expect(encodeKeyParametersPlaintext(params)).toEqual(ext!.data);
      }
      const { format: _format, ...fields } = want;
      expect(params).toMatchObject(fields);
      if (m.title === 'GMK gms->alice') {
        expect(params.groupIds).toEqual([{ iei: 0x7b, value: utf8('sip:g4.chat@veronica-cluster') }]);
        expect((params.status & KEY_PARAMETER_STATUS.NOT_REVOKED) === 0).toBe(true);
      } else {
        expect(params.groupIds).toEqual([]);
      }
    });
  }

  it('round-trips built parameters and refuses broken plaintexts', async () => {
    const p: KeyParameters = {
      keyType: KEY_PARAMETER_TYPE.GMK,
      status: KEY_PARAMETER_STATUS.NOT_REVOKED,
      activationTime: 0xff_ffff_ffff,
      expiryTime: 0,
      text: utf8('Ops'),
      groupIds: [{ iei: 0x7b, value: utf8('sip:g@x') }, { iei: 1, value: new Uint8Array(0) }],
      hasGroupIdsElement: true,
    };
    const key = new Uint8Array(16).fill(9);
    const data = await encryptKeyParameters(p, { dpck: key, dppkId: 0x0c340888 });
    const ext = keyParametersExtension(data);
    const d = decodeKeyParametersExtension(ext.data);
    if (d.format !== 'protected') throw new Error('expected protected');
    expect(await decryptKeyParameters(d.container, key)).toEqual(p);
    const pt = encodeKeyParametersPlaintext(p);
    for (let n = 0; n < pt.length; n++) {
      if (n === 20) continue; // ends exactly after the 3-octet text: the legacy form
      expect(() => encodeKeyParametersPlaintext(decodeKeyParametersExtensionPlain(pt.subarray(0, n)))).toThrowError(
        expect.objectContaining({ code: 'ERR_MIKEY_BAD_GMK_PARAMETERS' }),
      );
    }
  });
});

function decodeKeyParametersExtensionPlain(b: Uint8Array): KeyParameters {
  const d = decodeKeyParametersExtension(b);
  if (d.format !== 'legacy-plain') throw new Error('expected plain');
  return d.params;
}
