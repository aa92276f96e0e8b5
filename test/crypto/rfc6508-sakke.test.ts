/**
 * RFC 6508 Appendix A (parameter set 1 of RFC 6509): every value of the worked example,
 * intermediate ones included, reproduced by the KMS side, encapsulation and decapsulation.
 */
import { describe, it, expect } from 'vitest';
import { sharedVector } from '../helpers/shared.js';
import { bytesToHex, hexToBytes, concatBytes, bigIntToBytes } from '../../src/util/bytes.js';
import {
  createSakkeReceiver,
  hashToIntegerRange,
  sakkeDecapsulate,
  sakkeDerivePublicKey,
  sakkeEncapsulate,
  sakkeEncapsulateDetailed,
  sakkeIssueReceiverKey,
  sakkePairing,
  sakkeValidateReceiverKey,
} from '../../src/crypto/sakke/sakke.js';
import * as index from '../../src/crypto/index.js';
import { decodePoint, BASE_POINT, addAffineInPlace, jacobianEqualsAffine, mulOdd, toAffine } from '../../src/crypto/sakke/curve.js';
import { oddRepresentative } from '../../src/crypto/sakke/recode.js';
import { pairing, precomputeMillerLines, evaluateMillerLines } from '../../src/crypto/sakke/pairing.js';
import { fp2Pow, pfpRepresentative } from '../../src/crypto/sakke/field.js';
import { SAKKE_PARAMETER_SET_1 as S } from '../../src/crypto/sakke/params.js';

interface SakkeVector {
  z_S: string;
  Z_S: string;
  b: string;
  b_ascii: string;
  RSK_K_bS: string;
  SSV: string;
  r: string;
  R_bS: string;
  g_pow_r: string;
  mask_HashToIntegerRange_gr_2n: string;
  H: string;
  encapsulated_data_R_then_H: string;
  decapsulation_w: string;
}

const v = sharedVector<SakkeVector>('rfc6508-sakke');
const h = hexToBytes;
const id = h(v.b);
const keys = { id, z: h(v.Z_S), rsk: h(v.RSK_K_bS) };

describe('RFC 6508 Appendix A', () => {
  it('identifier b is the ASCII string of the RFC', () => {
    expect(new TextDecoder().decode(id)).toBe('2011-02\0tel:+447700900123\0');
  });

  it('KMS: Z_S = [z_S]P and K_(b,S) = [(b + z_S)^-1]P', () => {
    expect(bytesToHex(sakkeDerivePublicKey(h(v.z_S)))).toBe(v.Z_S);
    expect(bytesToHex(sakkeIssueReceiverKey({ zS: h(v.z_S), id }))).toBe(v.RSK_K_bS);
  });

  it('§6.1.2: the RSK validates', () => {
    expect(sakkeValidateReceiverKey(keys)).toBe(true);
  });

  it('§5.1 HashToIntegerRange gives r and the mask', () => {
    expect(bytesToHex(bigIntToBytes(hashToIntegerRange(concatBytes(h(v.SSV), id), S.q), 128))).toBe(v.r);
    expect(hashToIntegerRange(h(v.g_pow_r), 1n << 128n).toString(16).padStart(32, '0')).toBe(v.mask_HashToIntegerRange_gr_2n);
  });

  it('§6.2.1: encapsulation reproduces r, R, g^r, mask, H and R ‖ H', () => {
    const d = sakkeEncapsulateDetailed(h(v.SSV), { id, z: h(v.Z_S) });
    expect(bytesToHex(d.r)).toBe(v.r);
    expect(bytesToHex(d.R)).toBe(v.R_bS);
    expect(bytesToHex(d.gPowR)).toBe(v.g_pow_r);
    expect(bytesToHex(d.mask)).toBe(v.mask_HashToIntegerRange_gr_2n);
    expect(bytesToHex(d.H)).toBe(v.H);
    expect(bytesToHex(d.encapsulated)).toBe(v.encapsulated_data_R_then_H);
    expect(bytesToHex(sakkeEncapsulate(h(v.SSV), { id, z: h(v.Z_S) }))).toBe(v.encapsulated_data_R_then_H);
    expect(bytesToHex(index.sakkeEncapsulate(h(v.SSV), { id, z: h(v.Z_S) }))).toBe(v.encapsulated_data_R_then_H);
  });

  it('g^r is (1 + g·i)^r read in PF_p', () => {
    const [a, b] = fp2Pow([1n, S.g], BigInt('0x' + v.r));
    expect(pfpRepresentative(a, b)!.toString(16).padStart(256, '0')).toBe(v.g_pow_r);
  });

  it('R = [r]([b]P + Z_S), by a generic scalar multiplication', () => {
    const z = decodePoint(h(v.Z_S), 'Z');
    const tb = mulOdd(BASE_POINT, oddRepresentative(BigInt('0x' + v.b) % S.q));
    addAffineInPlace(tb, z.x, z.y);
    const R = mulOdd(toAffine(tb)!, oddRepresentative(BigInt('0x' + v.r)));
    expect(jacobianEqualsAffine(R, decodePoint(h(v.R_bS), 'R'))).toBe(true);
  });

  it('§6.2.2: decapsulation gives the SSV, one-shot and through a receiver', () => {
    const enc = h(v.encapsulated_data_R_then_H);
    expect(bytesToHex(sakkeDecapsulate(enc, keys))).toBe(v.SSV);
    const receiver = createSakkeReceiver(keys);
    expect(bytesToHex(receiver.decapsulate(enc))).toBe(v.SSV);
    expect(bytesToHex(receiver.decapsulate(enc))).toBe(v.SSV);
    expect(bytesToHex(index.createSakkeReceiver(keys).decapsulate(enc))).toBe(v.SSV);
    expect(bytesToHex(index.sakkeDecapsulate(enc, keys))).toBe(v.SSV);
  });

  it('w = <R, RSK> = g^r, by the plain pairing, the fixed-argument pairing and sakkePairing', () => {
    const R = decodePoint(h(v.R_bS), 'R');
    const K = decodePoint(h(v.RSK_K_bS), 'RSK');
    const w = BigInt('0x' + v.decapsulation_w);
    expect(v.decapsulation_w).toBe(v.g_pow_r);
    expect(pairing(R, K)).toBe(w);
    // Symmetry on the order-q subgroup: the receiver loops on its fixed RSK.
    expect(pairing(K, R)).toBe(w);
    expect(evaluateMillerLines(precomputeMillerLines(K)!, R)).toBe(w);
    expect(bytesToHex(sakkePairing(h(v.R_bS), h(v.RSK_K_bS)))).toBe(v.decapsulation_w);
  });

  it('plain and fixed-argument pairings agree on other points', () => {
    const Z = decodePoint(h(v.Z_S), 'Z');
    const K = decodePoint(h(v.RSK_K_bS), 'RSK');
    const linesZ = precomputeMillerLines(Z)!;
    expect(evaluateMillerLines(linesZ, K)).toBe(pairing(K, Z));
    expect(evaluateMillerLines(linesZ, BASE_POINT)).toBe(pairing(BASE_POINT, Z));
  });
});
