/**
 * MIKEY-SAKKE I_MESSAGE codec against the six published interop messages (Streamwide GMK,
 * CSK, PCK, legacy GMK; Alea GMK, CSK) and messages built from scratch (RFC 3830, RFC 6043,
 * RFC 6509, TS 33.179 Annex E).
 */
import { describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/errors.js';
import { sharedVector } from '../helpers/shared.js';
import { bytesToHex, hexToBytes, utf8 } from '../../src/util/bytes.js';
import {
  CS_ID_MAP_TYPE,
  GENERAL_EXTENSION_TYPE,
  GMK_DEFAULT_SRTP_PROFILE,
  ID_ROLE,
  ID_TYPE,
  PCK_DEFAULT_SRTP_PROFILE,
  PRF_FUNC,
  SAKKE_ID_SCHEME,
  SIGN_TYPE,
  decodeIMessage,
  decodeSakkeToSelf,
  describeIMessage,
  encodeIMessage,
  encodeIMessageBytes,
  findIdr,
  ntpUtcTimestamp,
  sakkeToSelfExtension,
  spParamMap,
  srtpSecurityPolicy,
  type CommonHeader,
  type IMessage,
  type MikeyPayload,
} from '../../src/codec/mikey/index.js';

interface Parsed {
  ntp_time: number;
  key_period_no: number;
  csb_id: string;
  cs_id_map_type: number;
  cs_map?: Array<Record<string, unknown>>;
  idr_roles: number[];
  uid_initiator: string;
  uid_responder: string;
}
interface Msg {
  title: string;
  rand: string;
  key_id: string;
  i_message_hex: string;
  i_message_b64: string;
  parsed: Parsed;
}
interface MsgSet {
  origin: string;
  kms: { kms_uri: string; user_key_period: number | string; user_key_offset: number | string };
  messages: Msg[];
}

const vec = sharedVector<{ i_message_sets: MsgSet[] }>('impl-mikey-sakke-published-interop');
const all = vec.i_message_sets.flatMap((s) => s.messages.map((m) => ({ set: s, m })));

/** Payload sequence of each published message, as this codec reads it. */
const SEQUENCES: Record<string, string> = {
  '1: GMK': 'T RAND IDR8 IDR9 IDR6 IDR7 SP SAKKE GE7 SIGN',
  '2: CSK': 'T RAND IDR8 IDR9 IDR6 IDR7 SP SAKKE GE7 SIGN',
  '3: PCK': 'T RAND IDR8 IDR9 IDR6 IDR7 SP SAKKE GE7 SIGN',
  '4: GMK (legacy format for IWF)': 'T RAND IDR8 IDR9 IDR6 IDR7 SP SAKKE GE7 SIGN',
  'GMK gms->alice': 'T RAND IDR8 IDR9 IDR6 IDR7 SP GE7 SAKKE SIGN',
  'CSK alice->gms2': 'T RAND IDR8 IDR9 IDR6 IDR7 SP SAKKE SIGN',
};

function sequence(payloads: readonly MikeyPayload[]): string {
  return payloads
    .map((p) => (p.kind === 'IDR' ? `IDR${p.role}` : p.kind === 'GENERAL_EXTENSION' ? `GE${p.type}` : p.kind))
    .join(' ');
}

const code = errorCode;

describe('published interop I_MESSAGEs', () => {
  it('has the six messages', () => {
    expect(all).toHaveLength(6);
  });

  for (const { set, m } of all) {
    describe(`${set.origin.split(' ')[0]} ${m.title}`, () => {
      const bytes = hexToBytes(m.i_message_hex);
      const msg = decodeIMessage(bytes);

      it('hex and base64 forms agree', () => {
        expect(Buffer.from(m.i_message_b64, 'base64').toString('hex')).toBe(m.i_message_hex);
      });

      it('decodes the header to the parsed values', () => {
        const p = m.parsed;
        expect(msg.header.version).toBe(1);
        expect(msg.header.dataType).toBe(26);
        expect(msg.header.v).toBe(false);
        expect(msg.header.prfFunc).toBe(PRF_FUNC.PRF_HMAC_SHA_256);
        expect(msg.header.csbId.toString(16).padStart(8, '0')).toBe(p.csb_id);
        expect(msg.header.csIdMap.type).toBe(p.cs_id_map_type);
        const map = msg.header.csIdMap;
        if (map.type === CS_ID_MAP_TYPE.GENERIC_ID) {
          expect(map.entries.map((e) => ({
            cs_id: e.csId,
            prot_type: e.protType,
            S: e.s ? 1 : 0,
            n_p: e.policies.length,
            policies: [...e.policies],
            session_data: bytesToHex(e.sessionData),
            spi: bytesToHex(e.spi),
          }))).toEqual(p.cs_map);
        } else if (map.type === CS_ID_MAP_TYPE.SRTP_ID) {
          expect(map.entries.map((e) => ({
            policy_no: e.policyNo,
            ssrc: e.ssrc.toString(16).padStart(8, '0'),
            roc: e.roc.toString(16).padStart(8, '0'),
          }))).toEqual(p.cs_map);
        } else {
          expect(p.cs_map).toBeUndefined();
          expect(map.csCount).toBe(0);
        }
      });

      it('decodes T, RAND, IDRs, SAKKE and SIGN', () => {
        const p = m.parsed;
        expect(msg.ntpSeconds).toBe(p.ntp_time);
        expect(msg.ntpTime).toBe(BigInt(p.ntp_time) << 32n);
        const period = Number(set.kms.user_key_period);
        const offset = Number(set.kms.user_key_offset);
        expect(Math.floor((msg.ntpSeconds! - offset) / period)).toBe(p.key_period_no);
        expect(bytesToHex(msg.rand!)).toBe(m.rand.toLowerCase());
        expect(msg.idrs.map((i) => i.role)).toEqual(p.idr_roles);
        for (const i of msg.idrs) expect(i.idType).toBe(ID_TYPE.URI);
        expect(bytesToHex(findIdr(msg, ID_ROLE.UID_INITIATOR)!.data)).toBe(p.uid_initiator);
        expect(bytesToHex(findIdr(msg, ID_ROLE.UID_RESPONDER)!.data)).toBe(p.uid_responder);
        expect(findIdr(msg, ID_ROLE.KMS_INITIATOR)!.data).toEqual(utf8(set.kms.kms_uri));
        expect(findIdr(msg, ID_ROLE.KMS_RESPONDER)!.data).toEqual(utf8(set.kms.kms_uri));
        expect(msg.sakke?.params).toBe(1);
        expect(msg.sakke?.idScheme).toBe(SAKKE_ID_SCHEME.TS33180_UID);
        expect(msg.sakke?.data.length).toBe(273);
        expect(msg.sakke?.data[0]).toBe(0x04);
        expect(msg.signature?.signType).toBe(SIGN_TYPE.ECCSI);
        expect(msg.signature?.signature.length).toBe(129);
        expect(sequence(msg.payloads)).toBe(SEQUENCES[m.title]);
      });

      it('exposes the signed range: all but the 129-octet signature value', () => {
        expect(msg.signedBytes).toBeDefined();
        expect(msg.signedBytes!.length).toBe(bytes.length - 129);
        expect(msg.signedBytes).toEqual(bytes.subarray(0, bytes.length - 129));
        expect(bytesToHex(msg.signedBytes!.subarray(-2))).toBe('2081');
        expect(msg.signature!.signature).toEqual(bytes.subarray(bytes.length - 129));
      });

      it('re-encodes byte-identically', () => {
        expect(bytesToHex(encodeIMessageBytes(msg))).toBe(m.i_message_hex);
      });

      it('re-signs: encodeIMessage(toSign) equals signedBytes, finish() the message', () => {
        const unsigned: IMessage = { header: msg.header, payloads: msg.payloads.filter((q) => q.kind !== 'SIGN') };
        const pending = encodeIMessage(unsigned);
        expect(pending.toSign).toEqual(msg.signedBytes);
        expect(bytesToHex(pending.finish(msg.signature!.signature))).toBe(m.i_message_hex);
      });

      it('keeps the decoded views stable when the caller reuses its buffer', () => {
        const copy = bytes.slice();
        const d = decodeIMessage(copy);
        copy.fill(0);
        expect(bytesToHex(encodeIMessageBytes(d))).toBe(m.i_message_hex);
        const buf = Buffer.from(m.i_message_hex, 'hex'); // Buffer#slice would be a view
        const fromBuf = decodeIMessage(buf);
        buf.fill(0);
        expect(bytesToHex(fromBuf.signedBytes!)).toBe(m.i_message_hex.slice(0, -258));
      });

      it('describes every payload with its offset', () => {
        const lines = describeIMessage(msg);
        expect(lines[0]).toContain(`${bytes.length} octets`);
        expect(lines.filter((l) => /^[A-Z_]+ @\d+ \(\d+ octets\)$/.test(l))).toHaveLength(msg.payloads.length + 1);
        expect(lines.some((l) => l.includes(`${p2(m.parsed.uid_initiator)}`))).toBe(true);
        const redacted = describeIMessage(msg, { redactIdentities: true });
        expect(redacted.some((l) => l.includes(m.parsed.uid_initiator))).toBe(false);
        expect(redacted.some((l) => l.includes(set.kms.kms_uri))).toBe(true);
      });
    });
  }
});

function p2(hex: string): string {
  return hex.toLowerCase();
}

describe('the E.2 layout of the published GMK', () => {
  it('places each payload at the documented offset (docs/mikey.md)', () => {
    const msg = decodeIMessage(hexToBytes(all[0]!.m.i_message_hex));
    expect(msg.layout.map((s) => `${s.kind}@${s.offset}+${s.length}`).join(' ')).toBe(
      'HDR@0+25 T@25+10 RAND@35+18 IDR@53+37 IDR@90+37 IDR@127+29 IDR@156+29 SP@185+32 ' +
        'SAKKE@217+278 GENERAL_EXTENSION@495+75 SIGN@570+131',
    );
  });

  it('carries the streamwide SP values of Table E.2-1 except ROC transmission rate', () => {
    const msg = decodeIMessage(hexToBytes(all[0]!.m.i_message_hex));
    const sp = spParamMap(msg.securityPolicies[0]!);
    for (const d of GMK_DEFAULT_SRTP_PROFILE) {
      if (d.type === 13) expect(sp.has(13)).toBe(false);
      else expect(sp.get(d.type)).toBe(d.value);
    }
    const alea = decodeIMessage(hexToBytes(all[4]!.m.i_message_hex));
    const aleaSp = spParamMap(alea.securityPolicies[0]!);
    for (const d of GMK_DEFAULT_SRTP_PROFILE) expect(aleaSp.get(d.type)).toBe(d.value);
  });
});

const KMS = utf8('kms.example.org');
const UID_I = new Uint8Array(32).fill(0x11);
const UID_R = new Uint8Array(32).fill(0x22);
const SAKKE_DATA = Uint8Array.from({ length: 273 }, (_, i) => (i === 0 ? 4 : i & 0xff));

function basePayloads(extra: MikeyPayload[] = []): MikeyPayload[] {
  return [
    ntpUtcTimestamp(3968437672n),
    { kind: 'RAND', rand: new Uint8Array(16).fill(0xab) },
    { kind: 'IDR', role: ID_ROLE.UID_INITIATOR, idType: ID_TYPE.URI, data: UID_I },
    { kind: 'IDR', role: ID_ROLE.UID_RESPONDER, idType: ID_TYPE.URI, data: UID_R },
    { kind: 'IDR', role: ID_ROLE.KMS_INITIATOR, idType: ID_TYPE.URI, data: KMS },
    { kind: 'IDR', role: ID_ROLE.KMS_RESPONDER, idType: ID_TYPE.URI, data: KMS },
    srtpSecurityPolicy(GMK_DEFAULT_SRTP_PROFILE),
    { kind: 'SAKKE', params: 1, idScheme: SAKKE_ID_SCHEME.TS33180_UID, data: SAKKE_DATA },
    ...extra,
  ];
}

const HEADERS: Record<string, CommonHeader> = {
  'GENERIC-ID (GMK)': {
    version: 1,
    dataType: 26,
    v: false,
    prfFunc: 1,
    csbId: 0x06a12aea,
    csIdMap: {
      type: CS_ID_MAP_TYPE.GENERIC_ID,
      entries: [{ csId: 4, protType: 0, s: false, policies: [0], sessionData: new Uint8Array(0), spi: hexToBytes('0df9bc3906a12aea') }],
    },
  },
  'EMPTY (PCK)': { version: 1, dataType: 26, v: true, prfFunc: 1, csbId: 0x16992638, csIdMap: { type: CS_ID_MAP_TYPE.EMPTY, csCount: 0 } },
  'SRTP-ID': {
    version: 1,
    dataType: 26,
    v: false,
    prfFunc: 0,
    csbId: 0xffffffff,
    csIdMap: {
      type: CS_ID_MAP_TYPE.SRTP_ID,
      entries: [
        { policyNo: 0, ssrc: 0xcafebabe, roc: 0 },
        { policyNo: 7, ssrc: 0, roc: 0xffffffff },
      ],
    },
  },
};

describe('messages built from scratch', () => {
  for (const [name, header] of Object.entries(HEADERS)) {
    it(`round-trips a signed message with a ${name} header`, () => {
      const ext = { kind: 'GENERAL_EXTENSION' as const, type: 0xee, data: hexToBytes('deadbeef') };
      const msg: IMessage = { header, payloads: basePayloads([ext]) };
      const pending = encodeIMessage(msg);
      const sig = Uint8Array.from({ length: 129 }, (_, i) => i);
      const bytes = pending.finish(sig);
      const d = decodeIMessage(bytes);
      expect(d.header).toEqual(header);
      expect(d.payloads.slice(0, -1)).toEqual(msg.payloads);
      expect(d.signedBytes).toEqual(pending.toSign);
      expect(d.signature).toEqual({ kind: 'SIGN', signType: 2, signature: sig });
      expect(d.extensions).toEqual([ext]);
      expect(encodeIMessageBytes(d)).toEqual(bytes);
    });
  }

  it('round-trips an unsigned message (last next payload = 0) and an empty one', () => {
    const msg: IMessage = { header: HEADERS['EMPTY (PCK)']!, payloads: basePayloads() };
    const bytes = encodeIMessageBytes(msg);
    const d = decodeIMessage(bytes);
    expect(d.signature).toBeUndefined();
    expect(d.signedBytes).toBeUndefined();
    expect(d.payloads).toEqual(msg.payloads);
    const empty = encodeIMessageBytes({ header: HEADERS['EMPTY (PCK)']!, payloads: [] });
    expect(bytesToHex(empty)).toBe('011a0081' + '16992638' + '0001');
    expect(decodeIMessage(empty).payloads).toEqual([]);
  });

  it('keeps unknown SP parameters and General Extension types as raw octets', () => {
    const sp = { kind: 'SP' as const, policyNo: 3, protType: 9, params: [{ type: 200, value: hexToBytes('0102030405') }, { type: 0, value: new Uint8Array(0) }] };
    const msg: IMessage = {
      header: HEADERS['GENERIC-ID (GMK)']!,
      payloads: [sp, { kind: 'GENERAL_EXTENSION', type: 250, data: new Uint8Array(300).fill(7) }, { kind: 'ID', idType: 1, data: utf8('sip:a@b') }, { kind: 'CERT', certType: 0, data: hexToBytes('3082') }],
    };
    const bytes = encodeIMessageBytes(msg);
    const d = decodeIMessage(bytes);
    expect(d.payloads).toEqual(msg.payloads);
    expect(encodeIMessageBytes(d)).toEqual(bytes);
  });

  it('builds the PCK default profile of Table E.3-1', () => {
    const sp = srtpSecurityPolicy(PCK_DEFAULT_SRTP_PROFILE);
    expect(sp.params.map((p) => `${p.type}=${p.value[0]}`).join(' ')).toBe('0=6 1=16 4=12 5=0 6=0 20=16');
  });

  it('carries a SAKKE-to-self extension (E.5)', () => {
    const self = { kind: 'SAKKE' as const, params: 1, idScheme: 2, data: SAKKE_DATA.slice().reverse() };
    const ext = sakkeToSelfExtension(self);
    expect(ext.type).toBe(GENERAL_EXTENSION_TYPE.SAKKE_TO_SELF);
    expect(ext.data.length).toBe(5 + 273);
    const d = decodeIMessage(encodeIMessage({ header: HEADERS['EMPTY (PCK)']!, payloads: basePayloads([ext]) }).finish(new Uint8Array(129)));
    expect(decodeSakkeToSelf(d.extensions[0]!)).toEqual(self);
    const truncated = { ...ext, data: ext.data.subarray(0, 100) };
    expect(code(() => decodeSakkeToSelf(truncated))).toBe('ERR_MIKEY_MALFORMED');
    const trailing = { ...ext, data: Uint8Array.of(...ext.data, 0) };
    expect(code(() => decodeSakkeToSelf(trailing))).toBe('ERR_MIKEY_MALFORMED');
  });

  it('refuses misuse with TypeError/RangeError', () => {
    const h = HEADERS['EMPTY (PCK)']!;
    const sign = { kind: 'SIGN' as const, signType: 2, signature: new Uint8Array(129) };
    expect(() => encodeIMessage({ header: h, payloads: [sign] })).toThrow(TypeError);
    expect(() => encodeIMessageBytes({ header: h, payloads: [sign, ntpUtcTimestamp(1)] })).toThrow(TypeError);
    expect(() => encodeIMessage({ header: h, payloads: [] }).finish(new Uint8Array(128))).toThrow(RangeError);
    expect(() => encodeIMessageBytes({ header: h, payloads: [{ kind: 'RAND', rand: new Uint8Array(256) }] })).toThrow(RangeError);
    expect(() => encodeIMessageBytes({ header: { ...h, csbId: 2 ** 32 }, payloads: [] })).toThrow(RangeError);
    expect(() => encodeIMessageBytes({ header: { ...h, prfFunc: 128 }, payloads: [] })).toThrow(RangeError);
    expect(() => ntpUtcTimestamp(-1)).toThrow(RangeError);
    expect(() => decodeIMessage('011a' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('rejections', () => {
  const gmk = hexToBytes(all[0]!.m.i_message_hex);
  const pck = hexToBytes(all[2]!.m.i_message_hex);

  it('another version or data type is ERR_MIKEY_UNSUPPORTED', () => {
    const v2 = gmk.slice();
    v2[0] = 2;
    expect(code(() => decodeIMessage(v2))).toBe('ERR_MIKEY_UNSUPPORTED');
    const psk = gmk.slice();
    psk[1] = 0;
    expect(code(() => decodeIMessage(psk))).toBe('ERR_MIKEY_UNSUPPORTED');
  });

  it('an unknown CS ID map type, TS type or payload type is ERR_MIKEY_UNSUPPORTED', () => {
    const map = gmk.slice();
    map[9] = 3;
    expect(code(() => decodeIMessage(map))).toBe('ERR_MIKEY_UNSUPPORTED');
    const ts = pck.slice();
    ts[11] = 7; // T payload at 10: next, TS type
    expect(code(() => decodeIMessage(ts))).toBe('ERR_MIKEY_UNSUPPORTED');
    const kemac = pck.slice();
    kemac[10] = 1; // T's next payload → KEMAC, which has no generic length
    expect(code(() => decodeIMessage(kemac))).toBe('ERR_MIKEY_UNSUPPORTED');
    const unknown = pck.slice();
    unknown[2] = 99;
    expect(code(() => decodeIMessage(unknown))).toBe('ERR_MIKEY_UNSUPPORTED');
  });

  it('trailing octets, truncation and lengths past the end are ERR_MIKEY_MALFORMED', () => {
    expect(code(() => decodeIMessage(Uint8Array.of(...gmk, 0)))).toBe('ERR_MIKEY_MALFORMED');
    expect(code(() => decodeIMessage(gmk.subarray(0, gmk.length - 1)))).toBe('ERR_MIKEY_MALFORMED');
    expect(code(() => decodeIMessage(new Uint8Array(0)))).toBe('ERR_MIKEY_MALFORMED');
    const longSign = gmk.slice();
    longSign[gmk.length - 130] = 0x82; // SIGN length 0x282
    expect(code(() => decodeIMessage(longSign))).toBe('ERR_MIKEY_MALFORMED');
    const manyCs = pck.slice();
    manyCs[8] = 255;
    manyCs[9] = CS_ID_MAP_TYPE.SRTP_ID;
    expect(code(() => decodeIMessage(manyCs))).toBe('ERR_MIKEY_MALFORMED');
  });
});
