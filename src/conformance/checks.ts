/**
 * Conformance checks over vector files (issue: `mcptt-sdk vectors`).
 *
 * A check names the fields it needs; the runner walks every object of a JSON document and
 * applies each check whose fields are all present, so any file in the shapes of
 * `../shared/vectors/*.json` is checked for every relation its fields allow, whatever its
 * name. Values are hex strings (either case). Pure: the caller reads the files.
 */
import * as c from '../crypto/index.js';
import { aesCmKeystreamBlock } from '../crypto/srtp-kdf.js';
import { sakkePairing } from '../crypto/sakke/sakke.js';
import { sakkeParameterSetChecks } from '../crypto/sakke/params.js';
import { bytesToHex, equalBytes, hexToBytes, readU32be } from '../util/bytes.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface CheckContext {
  /** Ancestors from the document root down to (not including) the object checked. */
  readonly ancestors: readonly JsonObject[];
}

export interface VectorCheck {
  readonly name: string;
  readonly needs: readonly string[];
  /** Resolves true when the relation holds; false or a throw is a failure. */
  run(o: JsonObject, ctx: CheckContext): boolean | Promise<boolean>;
}

export interface CheckResult {
  readonly path: string;
  readonly check: string;
  readonly ok: boolean;
  readonly detail?: string;
}

const hx = (v: Json | undefined): Uint8Array => {
  if (typeof v !== 'string') throw new TypeError('expected a hex string');
  return hexToBytes(v.replace(/\s+/g, ''));
};
const str = (v: Json | undefined): string => {
  if (typeof v !== 'string') throw new TypeError('expected a string');
  return v;
};
const num = (v: Json | undefined): number => {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError('expected a number');
  return n;
};
const same = (a: Uint8Array, b: Uint8Array): boolean => equalBytes(a, b);
const hexNum = (v: Json | undefined): number => {
  if (typeof v === 'number') return v;
  return parseInt(str(v), 16);
};
/** The nearest ancestor (or self) holding `key`. */
const nearest = (o: JsonObject, ctx: CheckContext, key: string): Json | undefined => {
  if (key in o) return o[key];
  for (let i = ctx.ancestors.length - 1; i >= 0; i--) {
    const a = ctx.ancestors[i]!;
    if (key in a) return a[key];
  }
  return undefined;
};
/** A fixed-output RNG for reproducing a published signature from its ephemeral j. */
const fixedRandom = (value: Uint8Array) => (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  out.set(value, n - value.length);
  return out;
};
const flipLastBit = (b: Uint8Array): Uint8Array => {
  const t = b.slice();
  t[t.length - 1]! ^= 1;
  return t;
};

/** Constants the SDK uses, compared against the descriptive vector files. */
const FC_BY_CLAUSE: Readonly<Record<string, number>> = Object.freeze({
  'F.1.3': 0x50,
  'F.1.4': -1, // 0x51 and 0x52: two keys in one clause, checked by the XPK derivation below
  'F.1.5': 0x53,
  'F.2.1': 0x00,
});
const PRF_LABELS: Readonly<Record<string, string>> = Object.freeze({
  TEK_master_key: '2ad01c64',
  SALT_master_salt: '39a2c14b',
  ENCR_key: '15798cef',
  AUTH_key: '1b5c7973',
});

export const VECTOR_CHECKS: readonly VectorCheck[] = [
  // ---- RFC 6507 ECCSI -------------------------------------------------------------------
  { name: 'eccsi: KPAK = [KSAK]G', needs: ['KSAK', 'KPAK'], run: (o) => same(c.eccsiDeriveKpak(hx(o.KSAK)), hx(o.KPAK)) },
  {
    name: 'eccsi: PVT, HS, SSK issued from v',
    needs: ['KSAK', 'ID', 'v', 'PVT', 'SSK'],
    run: (o) => {
      const k = c.eccsiIssueSigningKey({ ksak: hx(o.KSAK), id: hx(o.ID), v: hx(o.v) });
      return same(k.pvt, hx(o.PVT)) && same(k.ssk, hx(o.SSK)) && (o.HS === undefined || same(k.hs, hx(o.HS)));
    },
  },
  {
    name: 'eccsi: signing key validates (RFC 6507 5.1.2)',
    needs: ['ID', 'KPAK', 'SSK', 'PVT'],
    run: (o) => c.eccsiValidateSigningKey({ id: hx(o.ID), kpak: hx(o.KPAK), ssk: hx(o.SSK), pvt: hx(o.PVT) }),
  },
  {
    name: 'eccsi: signature reproduced from j',
    needs: ['ID', 'KPAK', 'SSK', 'PVT', 'M', 'j', 'signature_r_s_PVT'],
    run: (o) => {
      const keys = { id: hx(o.ID), kpak: hx(o.KPAK), ssk: hx(o.SSK), pvt: hx(o.PVT) };
      return same(c.eccsiSign(hx(o.M), keys, { randomBytes: fixedRandom(hx(o.j)) }), hx(o.signature_r_s_PVT));
    },
  },
  {
    name: 'eccsi: signature verifies, tampered one does not',
    needs: ['ID', 'KPAK', 'M', 'signature_r_s_PVT'],
    run: (o) => {
      const keys = { id: hx(o.ID), kpak: hx(o.KPAK) };
      const sig = hx(o.signature_r_s_PVT);
      return c.eccsiVerify(hx(o.M), sig, keys) && !c.eccsiVerify(flipLastBit(hx(o.M)), sig, keys);
    },
  },
  // ---- RFC 6508 / 6509 SAKKE -----------------------------------------------------------
  { name: 'sakke: parameter set 1 (P on E, [q]P = O, p = 4q - 1, <P,P> = g)', needs: ['p', 'q', 'Px', 'Py', 'g'], run: (o) => sakkeParameterSetChecks({ p: hx(o.p), q: hx(o.q), px: hx(o.Px), py: hx(o.Py), g: hx(o.g) }) },
  { name: 'sakke: Z = [z]P', needs: ['z_S', 'Z_S'], run: (o) => same(c.sakkeDerivePublicKey(hx(o.z_S)), hx(o.Z_S)) },
  { name: 'sakke: RSK = [(b + z)^-1]P', needs: ['z_S', 'b', 'RSK_K_bS'], run: (o) => same(c.sakkeIssueReceiverKey({ zS: hx(o.z_S), id: hx(o.b) }), hx(o.RSK_K_bS)) },
  { name: 'sakke: RSK validates (RFC 6508 6.1.2)', needs: ['Z_S', 'b', 'RSK_K_bS'], run: (o) => c.sakkeValidateReceiverKey({ id: hx(o.b), z: hx(o.Z_S), rsk: hx(o.RSK_K_bS) }) },
  {
    name: 'sakke: encapsulation reproduced',
    needs: ['Z_S', 'b', 'SSV', 'encapsulated_data_R_then_H'],
    run: (o) => same(c.sakkeEncapsulate(hx(o.SSV), { id: hx(o.b), z: hx(o.Z_S) }), hx(o.encapsulated_data_R_then_H)),
  },
  {
    name: 'sakke: decapsulation gives the SSV (direct and via receiver)',
    needs: ['Z_S', 'b', 'RSK_K_bS', 'SSV', 'encapsulated_data_R_then_H'],
    run: (o) => {
      const keys = { id: hx(o.b), z: hx(o.Z_S), rsk: hx(o.RSK_K_bS) };
      const enc = hx(o.encapsulated_data_R_then_H);
      return same(c.sakkeDecapsulate(enc, keys), hx(o.SSV)) && same(c.createSakkeReceiver(keys).decapsulate(enc), hx(o.SSV));
    },
  },
  { name: 'sakke: pairing <R, RSK> = w', needs: ['R_bS', 'RSK_K_bS', 'decapsulation_w'], run: (o) => same(sakkePairing(hx(o.R_bS), hx(o.RSK_K_bS)), hx(o.decapsulation_w)) },
  // ---- TS 33.179 F.2.1 / TS 33.180 UID ----------------------------------------------
  {
    name: 'uid: MIKEY-SAKKE UID (F.2.1)',
    needs: ['identifier', 'kms_uri', 'key_period', 'key_period_offset', 'key_period_no', 'uid'],
    run: (o) =>
      same(
        c.mikeySakkeUid({ identifier: str(o.identifier), kmsUri: str(o.kms_uri), keyPeriod: num(o.key_period), keyPeriodOffset: num(o.key_period_offset), keyPeriodNo: num(o.key_period_no) }),
        hx(o.uid),
      ),
  },
  {
    name: 'uid: user UID from the KMS of its set',
    needs: ['uri', 'uid', 'key_period_no'],
    run: (o, ctx) => {
      const kms = nearest(o, ctx, 'kms') as JsonObject | undefined;
      if (!kms) return false;
      return same(
        c.mikeySakkeUid({ identifier: str(o.uri), kmsUri: str(kms.kms_uri), keyPeriod: num(kms.user_key_period), keyPeriodOffset: num(kms.user_key_offset), keyPeriodNo: num(o.key_period_no) }),
        hx(o.uid),
      );
    },
  },
  {
    name: 'keys: user RSK validates against the KMS Z',
    needs: ['uid', 'RSK'],
    run: (o, ctx) => {
      const kms = nearest(o, ctx, 'kms') as JsonObject | undefined;
      return !!kms && c.sakkeValidateReceiverKey({ id: hx(o.uid), z: hx(kms.Z_PubEncKey), rsk: hx(o.RSK) });
    },
  },
  {
    name: 'keys: user SSK/PVT validate against the KMS KPAK',
    needs: ['uid', 'SSK', 'PVT'],
    run: (o, ctx) => {
      const kms = nearest(o, ctx, 'kms') as JsonObject | undefined;
      return !!kms && c.eccsiValidateSigningKey({ id: hx(o.uid), kpak: hx(kms.KPAK_PubAuthKey), ssk: hx(o.SSK), pvt: hx(o.PVT) });
    },
  },
  // ---- F.1.3 User Salt / GUK-ID and the MIKEY PRF -------------------------------------
  {
    name: 'guk-id: User Salt and GUK-ID (F.1.3, FC 0x50)',
    needs: ['mc_service_id', 'gmk', 'gmk_id', 'guk_id'],
    run: (o) => {
      const id = str(o.mc_service_id);
      const okSalt = o.user_salt_28bit === undefined || c.userSalt({ gmk: hx(o.gmk), mcpttId: id }) === hexNum(o.user_salt_28bit);
      return okSalt && same(c.gukId({ gmk: hx(o.gmk), gmkId: hx(o.gmk_id), mcpttId: id }), hx(o.guk_id));
    },
  },
  {
    name: 'guk-id: interop GUK-ID (F.1.3, FC 0x50)',
    needs: ['mc_service_id', 'tgk_gmk', 'gmk_id', 'guk_id_csb_id'],
    run: (o) => same(c.gukId({ gmk: hx(o.tgk_gmk), gmkId: hx(o.gmk_id), mcpttId: str(o.mc_service_id) }), hx(o.guk_id_csb_id)),
  },
  {
    name: 'mikey-prf: SRTP master key and salt from GMK',
    needs: ['gmk', 'guk_id', 'cs_id', 'rand', 'srtp_master_key', 'srtp_master_salt_12'],
    run: (o) => {
      const m = c.srtpMasterKeys({ tgk: hx(o.gmk), csId: num(o.cs_id), csbId: hx(o.guk_id), rand: hx(o.rand) });
      return same(m.masterKey, hx(o.srtp_master_key)) && same(m.masterSalt, hx(o.srtp_master_salt_12));
    },
  },
  {
    name: 'mikey-prf: interop SRTP master key and salt',
    needs: ['tgk_gmk', 'guk_id_csb_id', 'cs_id', 'rand', 'srtp_master_key', 'srtp_master_salt_12'],
    run: (o) => {
      const m = c.srtpMasterKeys({ tgk: hx(o.tgk_gmk), csId: num(o.cs_id), csbId: hx(o.guk_id_csb_id), rand: hx(o.rand) });
      return same(m.masterKey, hx(o.srtp_master_key)) && same(m.masterSalt, hx(o.srtp_master_salt_12));
    },
  },
  {
    name: 'kdf: TS 33.220 KDF with FC 0x53 (DPCK)',
    needs: ['dppk', 'dppk_id', 'fc', 'kdf_output_256'],
    run: (o) => {
      const out = c.kdf33220(hx(o.dppk), hexNum(o.fc), [hx(o.dppk_id)]);
      return same(out, hx(o.kdf_output_256)) && (o.dpck_lsb128 === undefined || same(out.slice(16), hx(o.dpck_lsb128)));
    },
  },
  {
    name: 'constants: FC value of the clause',
    needs: ['fc', 'clause'],
    run: (o) => {
      const clause = /F\.\d\.\d/.exec(str(o.clause))?.[0];
      const ours = clause === undefined ? undefined : FC_BY_CLAUSE[clause];
      if (ours === undefined) return false;
      return ours === -1 ? [0x51, 0x52].includes(hexNum(o.fc)) : ours === hexNum(o.fc);
    },
  },
  {
    name: 'constants: MIKEY PRF labels (RFC 3830 4.1.3)',
    needs: ['TEK_master_key', 'SALT_master_salt'],
    run: (o) => Object.entries(PRF_LABELS).every(([k, v]) => o[k] === undefined || str(o[k]).toLowerCase() === v),
  },
  // ---- RFC 3711 AES-CM and key derivation ---------------------------------------------
  {
    name: 'srtp: AES-CM keystream blocks (RFC 3711 B.2)',
    needs: ['session_key', 'blocks'],
    run: async (o) => {
      const blocks = o.blocks as JsonObject[];
      for (const b of blocks) {
        if (!same(await aesCmKeystreamBlock(hx(o.session_key), hx(b.counter)), hx(b.keystream))) return false;
      }
      return blocks.length > 0;
    },
  },
  {
    name: 'srtp: session key and salt (RFC 3711 B.3, kdr 0)',
    needs: ['master_key', 'master_salt', 'cipher_key', 'cipher_salt'],
    run: async (o) => {
      const k = await c.srtpSessionKeys({ masterKey: hx(o.master_key), masterSalt: hx(o.master_salt) });
      const key = hx((o.cipher_key as JsonObject).value);
      const salt = hx((o.cipher_salt as JsonObject).value);
      return same(k.srtp.key, key) && same(k.srtp.salt, salt.slice(0, k.srtp.salt.length));
    },
  },
  // ---- RFC 7714 AEAD ------------------------------------------------------------------
  {
    name: 'aead: IV from salt and packet header (RFC 7714 8.1 / 9.1)',
    needs: ['salt', 'iv', 'input_packet', 'section'],
    run: (o) => {
      const pkt = hx(o.input_packet);
      const salt = hx(o.salt);
      if (str(o.section).startsWith('16')) {
        const seq = (pkt[2]! << 8) | pkt[3]!;
        return same(c.srtpAeadIv({ salt, ssrc: readU32be(pkt, 8), roc: 0, seq }), hx(o.iv));
      }
      // SRTCP: the index is the low 31 bits of the ESRTCP word, which ends the AAD.
      const aad = hx(o.aad);
      const index = readU32be(aad, aad.length - 4) & 0x7fffffff;
      return same(c.srtcpAeadIv({ salt, ssrc: readU32be(pkt, 4), index }), hx(o.iv));
    },
  },
  {
    name: 'aead: encryption / tagging output',
    needs: ['key', 'iv', 'aad', 'tag', 'output_packet', 'section'],
    run: async (o) => {
      if (o.cipher_with_tag !== undefined) return true; // decryption cases: next check
      const plaintext = o.plaintext === undefined ? new Uint8Array(0) : hx(o.plaintext);
      const sealed = await c.aesGcmEncrypt({ key: hx(o.key), iv: hx(o.iv), aad: hx(o.aad), plaintext });
      const out = hx(o.output_packet);
      return same(sealed.slice(sealed.length - 16), hx(o.tag)) && bytesToHex(out).includes(bytesToHex(sealed));
    },
  },
  {
    name: 'aead: decryption / verification, and a flipped tag refused',
    needs: ['key', 'iv', 'aad', 'cipher_with_tag'],
    run: async (o) => {
      const args = { key: hx(o.key), iv: hx(o.iv), aad: hx(o.aad) };
      const pt = await c.aesGcmDecrypt({ ...args, ciphertext: hx(o.cipher_with_tag) });
      const expected = o.plaintext === undefined ? pt : hx(o.plaintext);
      if (!same(pt, expected)) return false;
      if (pt.length > 0 && !bytesToHex(hx(o.output_packet)).includes(bytesToHex(pt))) return false;
      try {
        await c.aesGcmDecrypt({ ...args, ciphertext: flipLastBit(hx(o.cipher_with_tag)) });
        return false;
      } catch {
        return true;
      }
    },
  },
];


function* walk(node: Json, path: string, ancestors: JsonObject[]): Generator<[JsonObject, string, JsonObject[]]> {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* walk(node[i]!, `${path}[${i}]`, ancestors);
  } else if (node !== null && typeof node === 'object') {
    yield [node, path, ancestors];
    const next = [...ancestors, node];
    for (const [k, v] of Object.entries(node)) {
      if (v !== null && typeof v === 'object') yield* walk(v, path ? `${path}.${k}` : k, next);
    }
  }
}

/**
 * Runs every applicable check over a parsed vector document. Other layers contribute
 * their own families (the MIKEY layer adds I_MESSAGE checks) through `checks`.
 */
export async function checkVectorDocument(doc: Json, checks: readonly VectorCheck[] = VECTOR_CHECKS): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [o, path, ancestors] of walk(doc, '', [])) {
    for (const check of checks) {
      if (!check.needs.every((k) => o[k] !== undefined)) continue;
      try {
        const ok = await check.run(o, { ancestors });
        results.push({ path: path || '(root)', check: check.name, ok });
      } catch (e) {
        const detail = e instanceof Error ? `${e.name}${'code' in e ? ` ${String((e as { code: unknown }).code)}` : ''}: ${e.message}` : String(e);
        results.push({ path: path || '(root)', check: check.name, ok: false, detail });
      }
    }
  }
  return results;
}
