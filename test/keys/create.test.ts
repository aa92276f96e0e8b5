/**
 * What `createKeyDistribution` puts on the wire, field by field, against TS 33.179 Annex E
 * (E.1.1 common fields, E.2 GMK, E.3 PCK, E.4 CSK) and RFC 6509.
 */
import { describe, expect, it } from 'vitest';
import { eccsiVerify, gukId } from '../../src/crypto/index.js';
import { CS_ID_MAP_TYPE, decodeIMessage, GENERAL_EXTENSION_TYPE, ID_ROLE, spParamMap } from '../../src/codec/mikey/index.js';
import { createKeyDistribution, ntpSecondsOfUnixMs, type DistributedKeyKind } from '../../src/keys/index.js';
import { bytesToHex, hexToBytes, utf8 } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const kms = createTestKms('kms.create.example', 4);
const NOW = Date.UTC(2026, 10, 23, 8, 30, 0);
const period = kms.periodAt(NOW);
const gms = kms.identity('sip:gms@create.example', [period]);
const KEY = hexToBytes('101112131415161718191a1b1c1d1e1f');
const RAND = hexToBytes('202122232425262728292a2b2c2d2e2f');
const TO = 'sip:member@create.example';

async function create(kind: DistributedKeyKind, keyId: string, extra = {}) {
  const bytes = await createKeyDistribution({ kind, key: KEY, keyId: hexToBytes(keyId), rand: RAND, from: gms, to: { uri: TO, kms: kms.params }, time: NOW, ...extra });
  return { bytes, msg: decodeIMessage(bytes) };
}

describe('a created GMK distribution (E.2)', () => {
  it('has the common header of E.1.1 and E.2: version 1, SAKKE I_MESSAGE, no V bit, PRF-HMAC-SHA-256, CSB ID = GUK-ID', async () => {
    const { msg } = await create('GMK', '0a0b0c0d', { parameters: { groupIds: ['sip:g@create.example'] } });
    const guk = gukId({ gmk: KEY, gmkId: hexToBytes('0a0b0c0d'), mcpttId: TO });
    expect(msg.header).toMatchObject({ version: 1, dataType: 26, v: false, prfFunc: 1 });
    expect(msg.header.csbId.toString(16).padStart(8, '0')).toBe(bytesToHex(guk));
    expect(msg.header.csIdMap.type).toBe(CS_ID_MAP_TYPE.GENERIC_ID);
    if (msg.header.csIdMap.type !== CS_ID_MAP_TYPE.GENERIC_ID) throw new Error('unreachable');
    expect(msg.header.csIdMap.entries).toHaveLength(1);
    expect(msg.header.csIdMap.entries[0]).toMatchObject({ csId: 4, protType: 0 });
    expect(bytesToHex(msg.header.csIdMap.entries[0]!.spi)).toBe('0a0b0c0d' + bytesToHex(guk));
  });

  it('carries T (NTP-UTC), RAND, IDRi/IDRr/IDRkmsi/IDRkmsr, the default SRTP policy, SAKKE, parameters and an ECCSI SIGN', async () => {
    const { bytes, msg } = await create('GMK', '0a0b0c0d', { parameters: { groupIds: ['sip:g@create.example'] } });
    expect(msg.payloads.map((p) => p.kind)).toEqual(['T', 'RAND', 'IDR', 'IDR', 'IDR', 'IDR', 'SP', 'SAKKE', 'GENERAL_EXTENSION', 'SIGN']);
    expect(msg.timestamp?.tsType).toBe(0);
    expect(msg.ntpSeconds).toBe(ntpSecondsOfUnixMs(NOW));
    expect(bytesToHex(msg.rand!)).toBe(bytesToHex(RAND));
    expect(msg.idrs.map((i) => [i.role, new TextDecoder().decode(i.data)])).toEqual([
      [ID_ROLE.INITIATOR, gms.uri],
      [ID_ROLE.RESPONDER, TO],
      [ID_ROLE.KMS_INITIATOR, kms.params.kmsUri],
      [ID_ROLE.KMS_RESPONDER, kms.params.kmsUri],
    ]);
    // Table E.2-1: AES-GCM, 16-octet key, RCCm3, 12-octet salt, AES-CM PRF, kdr 0, ROC every packet, tags.
    const sp = spParamMap(msg.securityPolicies[0]!);
    expect(Object.fromEntries(sp)).toEqual({ 0: 6, 1: 16, 2: 4, 4: 12, 5: 0, 6: 0, 13: 1, 18: 4, 19: 0, 20: 16 });
    expect(msg.sakke).toMatchObject({ params: 1, idScheme: 2 });
    expect(msg.sakke!.data).toHaveLength(273);
    expect(msg.extensions.map((e) => e.type)).toEqual([GENERAL_EXTENSION_TYPE.KEY_PARAMETERS]);
    expect(msg.signature).toMatchObject({ signType: 2 });
    expect(msg.signature!.signature).toHaveLength(129);
    // The signature covers everything up to and including the SIGN header.
    expect(msg.signedBytes!.length).toBe(bytes.length - 129);
    const keys = gms.keysForPeriod(period)!;
    expect(eccsiVerify(msg.signedBytes!, msg.signature!.signature, { id: keys.uid, kpak: kms.params.kpak })).toBe(true);
  });

  it('hides identities behind UIDs on request (E.7) and adds a SAKKE-to-self copy on request (E.5)', async () => {
    const { msg } = await create('GMK', '0a0b0c0d', { hideIdentities: true, sakkeToSelf: true, parameters: { groupIds: ['sip:g@create.example'] } });
    expect(msg.idrs.map((i) => i.role)).toEqual([ID_ROLE.UID_INITIATOR, ID_ROLE.UID_RESPONDER, ID_ROLE.KMS_INITIATOR, ID_ROLE.KMS_RESPONDER]);
    expect(bytesToHex(msg.idrs[0]!.data)).toBe(bytesToHex(gms.keysForPeriod(period)!.uid));
    expect(msg.idrs.some((i) => bytesToHex(i.data) === bytesToHex(utf8(TO)))).toBe(false);
    expect(msg.extensions.map((e) => e.type)).toEqual([GENERAL_EXTENSION_TYPE.SAKKE_TO_SELF, GENERAL_EXTENSION_TYPE.KEY_PARAMETERS]);
  });
});

describe('created PCK and CSK distributions (E.3, E.4)', () => {
  it('PCK: CSB ID = PCK-ID, GENERIC-ID map with the initiator and receiver CS-IDs, Table E.3-1 policy, no parameters', async () => {
    const { msg } = await create('PCK', '1f2e3d4c');
    expect(msg.header.csbId).toBe(0x1f2e3d4c);
    if (msg.header.csIdMap.type !== CS_ID_MAP_TYPE.GENERIC_ID) throw new Error('expected GENERIC-ID');
    expect(msg.header.csIdMap.entries.map((e) => e.csId)).toEqual([0, 1]);
    expect(Object.fromEntries(spParamMap(msg.securityPolicies[0]!))).toEqual({ 0: 6, 1: 16, 4: 12, 5: 0, 6: 0, 20: 16 });
    expect(msg.extensions).toHaveLength(0);
  });

  it('CSK: CSB ID = CSK-ID, CS-ID 6, no SRTP policy', async () => {
    const { msg } = await create('CSK', '2a2b2c2d');
    expect(msg.header.csbId).toBe(0x2a2b2c2d);
    if (msg.header.csIdMap.type !== CS_ID_MAP_TYPE.GENERIC_ID) throw new Error('expected GENERIC-ID');
    expect(msg.header.csIdMap.entries.map((e) => e.csId)).toEqual([6]);
    expect(msg.securityPolicies).toHaveLength(0);
  });
});
