/**
 * Floor control protection (TS 33.179 7.6): the RFC 7714 section 9 core byte-exact against the
 * SRTCP vectors of RFC 7714 section 17, the MKI layout, the SRTCP key derivation (RFC 3711
 * labels 0x03/0x05), purpose checks per profile, replay, tampering, the SSRC rule and index
 * exhaustion.
 */
import { describe, expect, it } from 'vitest';
import { encodeMbcp } from '../../src/codec/mbcp/index.js';
import { aesCmPrf } from '../../src/crypto/srtp-kdf.js';
import { srtpMasterKeys } from '../../src/crypto/mikey-prf.js';
import { FloorError } from '../../src/errors.js';
import {
  createFloorProtection,
  deriveFloorKey,
  FLOOR_PROTECTION_OVERHEAD,
  importFloorKey,
  isFloorSsrcOf,
  newFloorSsrc,
  srtcpAeadOpen,
  srtcpAeadSeal,
  srtcpSessionMaterial,
  type FloorKey,
} from '../../src/floor/protection.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { sharedVector as readVectors } from '../helpers/shared.js';

interface AeadVector {
  section: string;
  input_packet: string;
  key: string;
  salt: string;
  aad: string;
  output_packet: string | null;
}
const aead = readVectors<{ vectors: AeadVector[] }>('rfc7714-aead-aes-gcm.json');
const kdf = readVectors<{ B3: { master_key: string; master_salt: string }; derived_extra_not_in_rfc: Record<string, string> }>('rfc3711-srtp-aes-cm-kdf.json');
const v = (s: string) => aead.vectors.find((x) => x.section === s)!;

const gcmKey = (raw: Uint8Array) => crypto.subtle.importKey('raw', new Uint8Array(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
const INDEX = 0x5d4; // RFC 7714 section 17: SRTCP index 0x000005d4

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (e instanceof FloorError) return e.code;
    throw e;
  }
}

describe('RFC 7714 section 17 SRTCP vectors (core, no MKI)', () => {
  it('17.1 AEAD_AES_128_GCM encryption and tagging, byte for byte', async () => {
    const t = v('17.1');
    const out = await srtcpAeadSeal({ key: await gcmKey(hexToBytes(t.key)), salt: hexToBytes(t.salt), rtcp: hexToBytes(t.input_packet), index: INDEX });
    expect(bytesToHex(out)).toBe(t.output_packet);
  });

  it('17.2 AEAD_AES_256_GCM verification and decryption', async () => {
    const t = v('17.2');
    const r = await srtcpAeadOpen({ key: await gcmKey(hexToBytes(t.key)), salt: hexToBytes(t.salt), srtcp: hexToBytes(t.input_packet) });
    expect(bytesToHex(r.rtcp)).toBe(t.output_packet);
    expect(r.index).toBe(INDEX);
    expect(r.encrypted).toBe(true);
  });

  it('17.3 tagging only and 17.4 tag verification', async () => {
    const t3 = v('17.3');
    const out = await srtcpAeadSeal({ key: await gcmKey(hexToBytes(t3.key)), salt: hexToBytes(t3.salt), rtcp: hexToBytes(t3.input_packet), index: INDEX, encrypted: false });
    expect(bytesToHex(out)).toBe(t3.output_packet);
    const t4 = v('17.4');
    const r = await srtcpAeadOpen({ key: await gcmKey(hexToBytes(t4.key)), salt: hexToBytes(t4.salt), srtcp: hexToBytes(t4.input_packet) });
    expect(bytesToHex(r.rtcp)).toBe(t4.output_packet);
    expect(r.encrypted).toBe(false);
  });

  it('a changed octet anywhere in the 17.1 output fails authentication', async () => {
    const t = v('17.1');
    const key = await gcmKey(hexToBytes(t.key));
    const good = hexToBytes(t.output_packet!);
    for (let i = 0; i < good.length; i++) {
      const bad = good.slice();
      bad[i]! ^= 0x01;
      expect(await codeOf(srtcpAeadOpen({ key, salt: hexToBytes(t.salt), srtcp: bad }))).toBe('ERR_FLOOR_AUTH_FAILED');
    }
  });
});

describe('SRTCP with MKI (TS 33.179 7.6.2)', () => {
  it('the 17.1 packet protected with MKI = key ID is the RFC output followed by the 4-octet MKI', async () => {
    const t = v('17.1');
    const fk = await importFloorKey({ keyId: hexToBytes('2abcdef0'), sessionKey: hexToBytes(t.key), sessionSalt: hexToBytes(t.salt) });
    // The vector's SSRC 0x4d617273 has the top bit clear: a client SSRC under our rule.
    const p = createFloorProtection({ role: 'client', sendKey: () => fk, lookup: () => undefined, startIndex: INDEX });
    const out = await p.protect(hexToBytes(t.input_packet));
    expect(bytesToHex(out)).toBe(t.output_packet + '2abcdef0');
    expect(out.length - hexToBytes(t.input_packet).length).toBe(FLOOR_PROTECTION_OVERHEAD);
  });
});

describe('SRTCP key derivation (RFC 3711 4.3, labels 0x03 / 0x05, kdr 0)', () => {
  it('matches the SRTCP vectors derived from the RFC 3711 B.3 master key', async () => {
    const s = await srtcpSessionMaterial(hexToBytes(kdf.B3.master_key), hexToBytes(kdf.B3.master_salt));
    expect(bytesToHex(s.key)).toBe(kdf.derived_extra_not_in_rfc.srtcp_cipher_key_label_03);
    expect(bytesToHex(s.salt)).toBe(kdf.derived_extra_not_in_rfc.srtcp_salt_label_05_12_octets);
  });

  it('deriveFloorKey = MIKEY PRF (CS-ID 6, CSB-ID = CSK-ID) then labels 0x03/0x05, as a non-extractable key', async () => {
    const tgk = hexToBytes('00112233445566778899aabbccddeeff');
    const rand = hexToBytes('0102030405060708090a0b0c0d0e0f10');
    const keyId = hexToBytes('2a000001'); // purpose tag 2: CSK (ts33180)
    const fk = await deriveFloorKey({ kind: 'CSK', keyId, tgk, rand });
    expect(fk.key.extractable).toBe(false);
    expect(bytesToHex(fk.keyId)).toBe('2a000001');
    // Independent path: the same steps spelled out.
    const m = srtpMasterKeys({ tgk, csId: 6, csbId: keyId, rand });
    const sk = await aesCmPrf({ masterKey: m.masterKey, masterSalt: m.masterSalt, label: 0x03, length: 16 });
    const ss = await aesCmPrf({ masterKey: m.masterKey, masterSalt: m.masterSalt, label: 0x05, length: 12 });
    expect(bytesToHex(fk.salt)).toBe(bytesToHex(ss));
    const rtcp = encodeMbcp(0x01020304, { type: 'floor-request', floorPriority: 1 });
    const a = await srtcpAeadSeal({ key: fk.key, salt: fk.salt, rtcp, index: 9 });
    const b = await srtcpAeadSeal({ key: await gcmKey(sk), salt: ss, rtcp, index: 9 });
    expect(bytesToHex(a)).toBe(bytesToHex(b));
  });

  it('refuses keys whose purpose does not allow floor control, per profile', async () => {
    const tgk = new Uint8Array(16).fill(7);
    const rand = new Uint8Array(16).fill(9);
    const derive = (profile: 'ts33180' | 'ts33179-v13', kind: 'CSK' | 'GMK', id: string) => deriveFloorKey({ profile, kind, keyId: hexToBytes(id), tgk, rand });
    expect(await codeOf(derive('ts33180', 'CSK', '2a000001'))).toBeUndefined();
    expect(await codeOf(derive('ts33180', 'CSK', '0a000001'))).toBe('ERR_FLOOR_WRONG_PURPOSE'); // a GMK tag
    expect(await codeOf(derive('ts33180', 'CSK', '3a000001'))).toBe('ERR_FLOOR_WRONG_PURPOSE'); // SPK
    expect(await codeOf(derive('ts33180', 'GMK', '0a000001'))).toBe('ERR_FLOOR_WRONG_PURPOSE'); // ts33180 uses the CSK
    expect(await codeOf(derive('ts33179-v13', 'GMK', '2a000001'))).toBeUndefined(); // GMK floor only
    expect(await codeOf(derive('ts33179-v13', 'GMK', '0a000001'))).toBeUndefined(); // GMK all
    expect(await codeOf(derive('ts33179-v13', 'GMK', '1a000001'))).toBe('ERR_FLOOR_WRONG_PURPOSE'); // GMK media only
    expect(await codeOf(derive('ts33179-v13', 'CSK', '6a000001'))).toBe('ERR_FLOOR_WRONG_PURPOSE'); // v13 CSK: signalling only
  });
});

describe('createFloorProtection', () => {
  async function keyOf(id: string, seed: number): Promise<FloorKey> {
    return importFloorKey({ keyId: hexToBytes(id), sessionKey: new Uint8Array(16).fill(seed), sessionSalt: new Uint8Array(12).fill(seed + 1) });
  }

  async function pair(opts: { startIndex?: number } = {}) {
    const k1 = await keyOf('2a000001', 1);
    const k2 = await keyOf('2a000002', 2);
    const keys = new Map([
      ['2a000001', k1],
      ['2a000002', k2],
    ]);
    let current = k1;
    const lookup = (mki: Uint8Array) => keys.get(bytesToHex(mki));
    const client = createFloorProtection({ role: 'client', sendKey: () => current, lookup, profile: 'ts33180', ...opts });
    const server = createFloorProtection({ role: 'server', sendKey: () => current, lookup, profile: 'ts33180' });
    return { client, server, keys, use: (k: FloorKey) => (current = k), k1, k2 };
  }
  const clientSsrc = 0x12345678;
  const serverSsrc = 0x87654321;
  const request = encodeMbcp(clientSsrc, { type: 'floor-request', floorPriority: 3 });

  it('client → server round trip; the server answers under its own SSRC', async () => {
    const { client, server } = await pair();
    const r = await server.unprotect(await client.protect(request));
    expect(r.rtcp).toEqual(request);
    expect(r.ssrc).toBe(clientSsrc);
    expect(r.index).toBe(0);
    const idle = encodeMbcp(serverSsrc, { type: 'floor-idle', messageSequenceNumber: 1 });
    expect((await client.unprotect(await server.protect(idle))).rtcp).toEqual(idle);
  });

  it('replay of an accepted packet → ERR_FLOOR_REPLAY; out-of-order inside the window is fine', async () => {
    const { client, server } = await pair();
    const p0 = await client.protect(request);
    const p1 = await client.protect(request);
    await server.unprotect(p1);
    await server.unprotect(p0);
    expect(await codeOf(server.unprotect(p0))).toBe('ERR_FLOOR_REPLAY');
    expect(await codeOf(server.unprotect(p1))).toBe('ERR_FLOOR_REPLAY');
  });

  it('every changed octet is refused with a typed code, nothing is accepted', async () => {
    const { client, server } = await pair();
    const good = await client.protect(request);
    const codes = new Set<string>();
    for (let i = 0; i < good.length; i++) {
      const bad = good.slice();
      bad[i]! ^= 0x04;
      const c = await codeOf(server.unprotect(bad));
      expect(c).toBeDefined();
      codes.add(c!);
    }
    expect(codes.has('ERR_FLOOR_AUTH_FAILED')).toBe(true);
    expect(codes.has('ERR_FLOOR_UNKNOWN_KEY')).toBe(true); // an MKI octet changed
    expect((await server.unprotect(good)).rtcp).toEqual(request); // the original still passes
  });

  it('a packet under a different key with the same MKI fails authentication', async () => {
    const { server } = await pair();
    const impostor = await keyOf('2a000001', 99);
    const attacker = createFloorProtection({ role: 'client', sendKey: () => impostor, lookup: () => undefined });
    expect(await codeOf(server.unprotect(await attacker.protect(request)))).toBe('ERR_FLOOR_AUTH_FAILED');
  });

  it('unknown MKI → ERR_FLOOR_UNKNOWN_KEY; MKI with a non-floor purpose tag → ERR_FLOOR_WRONG_PURPOSE', async () => {
    const { server } = await pair();
    const other = createFloorProtection({ role: 'client', sendKey: () => undefined, lookup: () => undefined });
    const k3 = await keyOf('2a000003', 3);
    const spk = await keyOf('3a000003', 3);
    const p3 = createFloorProtection({ role: 'client', sendKey: () => k3, lookup: () => undefined });
    const pspk = createFloorProtection({ role: 'client', sendKey: () => spk, lookup: () => undefined });
    expect(await codeOf(server.unprotect(await p3.protect(request)))).toBe('ERR_FLOOR_UNKNOWN_KEY');
    expect(await codeOf(server.unprotect(await pspk.protect(request)))).toBe('ERR_FLOOR_WRONG_PURPOSE');
    expect(await codeOf(other.protect(request))).toBe('ERR_FLOOR_UNKNOWN_KEY'); // no key → nothing sent
  });

  it('CSK renewal: packets under the old and the new key are both found by MKI', async () => {
    const { client, server, use, k2 } = await pair();
    const old = await client.protect(request);
    use(k2);
    const fresh = await client.protect(request);
    expect(bytesToHex(fresh.subarray(fresh.length - 4))).toBe('2a000002');
    expect((await server.unprotect(fresh)).keyId).toEqual(k2.keyId);
    expect((await server.unprotect(old)).rtcp).toEqual(request);
  });

  it('SSRC rule: a client may not send with a server SSRC, nor accept a client SSRC (reflection)', async () => {
    const { client, server } = await pair();
    const asServer = encodeMbcp(serverSsrc, { type: 'floor-request' });
    expect(await codeOf(client.protect(asServer))).toBe('ERR_FLOOR_BAD_SSRC');
    const mine = await client.protect(request);
    expect(await codeOf(client.unprotect(mine))).toBe('ERR_FLOOR_BAD_SSRC'); // reflected back to us
    const idle = await server.protect(encodeMbcp(serverSsrc, { type: 'floor-idle' }));
    expect(await codeOf(server.unprotect(idle))).toBe('ERR_FLOOR_BAD_SSRC');
  });

  it('plain MBCP and authentication-only SRTCP are refused as unprotected', async () => {
    const { server, k1 } = await pair();
    expect(await codeOf(server.unprotect(request))).toBe('ERR_FLOOR_UNPROTECTED');
    const tagOnly = await srtcpAeadSeal({ key: k1.key, salt: k1.salt, rtcp: request, index: 5, encrypted: false });
    const withMki = new Uint8Array([...tagOnly, ...k1.keyId]);
    // Authentication-only keeps the whole RTCP packet in clear: the length check already fails,
    // and a packet shaped to pass it still has E = 0.
    expect(['ERR_FLOOR_UNPROTECTED', 'ERR_FLOOR_MALFORMED']).toContain(await codeOf(server.unprotect(withMki)));
    const sealed = await srtcpAeadSeal({ key: k1.key, salt: k1.salt, rtcp: request, index: 5 });
    const eClear = new Uint8Array([...sealed, ...k1.keyId]);
    eClear[eClear.length - 8]! &= 0x7f;
    expect(await codeOf(server.unprotect(eClear))).toBe('ERR_FLOOR_UNPROTECTED');
  });

  it('truncations and garbage are refused, never thrown as anything but FloorError', async () => {
    const { client, server } = await pair();
    const good = await client.protect(request);
    for (let n = 0; n < good.length; n++) expect(await codeOf(server.unprotect(good.subarray(0, n)))).toBeDefined();
    expect(await codeOf(server.unprotect(new Uint8Array(10000)))).toBe('ERR_FLOOR_MALFORMED');
  });

  it('the SRTCP index is never wrapped: 2^31 − 1 is the last one', async () => {
    const { client, server } = await pair({ startIndex: 0x7fffffff });
    const last = await client.protect(request);
    expect((await server.unprotect(last)).index).toBe(0x7fffffff);
    expect(await codeOf(client.protect(request))).toBe('ERR_FLOOR_INDEX_EXHAUSTED');
  });

  it('concurrent protect calls never share an index', async () => {
    const { client, server } = await pair();
    const packets = await Promise.all(Array.from({ length: 20 }, () => client.protect(request)));
    const indices = await Promise.all(packets.map(async (p) => (await server.unprotect(p)).index));
    expect(new Set(indices).size).toBe(20);
  });
});

describe('SSRC allocation', () => {
  it('server SSRCs have the top bit set, client SSRCs clear', () => {
    for (let i = 0; i < 50; i++) {
      expect(isFloorSsrcOf('server', newFloorSsrc('server'))).toBe(true);
      expect(isFloorSsrcOf('client', newFloorSsrc('client'))).toBe(true);
    }
    expect(newFloorSsrc('client', () => new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toBe(0x7fffffff);
    expect(newFloorSsrc('server', () => new Uint8Array([0, 0, 0, 0]))).toBe(0x80000000);
  });
});
