/**
 * SAKKE (RFC 6508) with parameter set 1 of RFC 6509 Appendix A, as MIKEY-SAKKE and
 * TS 33.179 use it: the KMS side (§2.2: Z_S = [z_S]P, K_(b,S) = [(b + z_S)^-1]P),
 * receiver key validation (§6.1.2), encapsulation (§6.2.1) and decapsulation (§6.2.2).
 *
 * The identifier b is used as an octet string (in SSV ‖ b) and as the big-endian integer
 * of those octets ([b]P, b + z_S), as RFC 6508 Appendix A does.
 *
 * Speed (see pairing.ts and curve.ts): the receiver's pairing runs a Miller loop whose line
 * coefficients were computed once from its RSK; [r]([b]P + Z) uses a window table of
 * [b]P + Z made once per receiver; encapsulation uses window tables of P, of the KMS key Z
 * and of g. Tables of P and g are built on first use and kept; tables of KMS keys are kept
 * in a small cache (4 keys). They hold public values only.
 *
 * Timing. JavaScript BigInt arithmetic is not constant time: the cost of a product or a
 * reduction depends on the operand lengths, so nothing here is constant time in the strict
 * sense. What is done: scalar multiplications and g^r use a regular recoding (one table
 * addition per window, never skipped, no secret-dependent branch except the exceptional
 * cases of an addition, which need special scalars); the Miller loop follows the fixed NAF
 * of q − 1 whatever the RSK, and its per-key line coefficients are computed in a single
 * pass when the receiver is created. What is not: table lookups are indexed by secret
 * digits (cache timing), BigInt operand lengths leak, and secrets held in BigInts cannot be
 * wiped. Decapsulation failures (a public fact) take longer than successes because the
 * failing point is then tested for subgroup membership to name the error.
 */
import { CryptoError } from '../../errors.js';
import { assertBytes, bigIntToBytes, bytesOf, bytesToBigInt, bytesToHex, concatBytes } from '../../util/bytes.js';
import {
  BASE_POINT,
  FixedBaseTable,
  addAffineInPlace,
  decodePoint,
  encodePoint,
  isInSubgroup,
  jacobianEqualsAffine,
  toAffine,
  type AffinePoint,
  type Jacobian,
} from './curve.js';
import { PfpPowerTable, invMod, pfpRepresentative } from './field.js';
import { hashToIntegerRange } from './hash-to-range.js';
import { evaluateMillerLines, pairing, precomputeMillerLines, type MillerLines } from './pairing.js';
import { ENCAPSULATED_BYTES, FP_BYTES, POINT_BYTES, Q, SAKKE_PARAMETER_SET_1, SSV_BYTES } from './params.js';
import { oddRepresentative } from './recode.js';

/** Who an SSV is encapsulated to: identifier b and the KMS public key Z_S (257 octets). */
export interface SakkeRecipient {
  readonly id: Uint8Array;
  readonly z: Uint8Array;
}

/** A receiver's keys: its identifier, its KMS public key and its RSK K_(b,S) (257 octets). */
export interface SakkeReceiverKeys extends SakkeRecipient {
  readonly rsk: Uint8Array;
}

/** A receiver prepared once per key period; `decapsulate` then costs a few milliseconds. */
export interface SakkeReceiver {
  decapsulate(encapsulated: Uint8Array): Uint8Array;
}

/** Encapsulation with its intermediate values (RFC 6508 §6.2.1), for conformance tests. */
export interface SakkeEncapsulationDetails {
  /** R_(b,S) ‖ H, 273 octets. */
  readonly encapsulated: Uint8Array;
  /** r = HashToIntegerRange(SSV ‖ b, q), 128 octets. */
  readonly r: Uint8Array;
  /** R_(b,S) = [r]([b]P + Z_S), 257 octets. */
  readonly R: Uint8Array;
  /** g^r as its PF_p representative, 128 octets. */
  readonly gPowR: Uint8Array;
  /** HashToIntegerRange(g^r, 2^n), 16 octets. */
  readonly mask: Uint8Array;
  /** H = SSV XOR mask, 16 octets. */
  readonly H: Uint8Array;
}

const MASK_MODULUS = 1n << BigInt(SAKKE_PARAMETER_SET_1.n);

// ---------------------------------------------------------------------------------------
// Shared tables (public values only)

let basePointTable: FixedBaseTable | undefined;
function pTable(): FixedBaseTable {
  basePointTable ??= FixedBaseTable.build(BASE_POINT)!;
  return basePointTable;
}

let gPowerTable: PfpPowerTable | undefined;
function gTable(): PfpPowerTable {
  // 5-bit windows: a PF_p product is cheap (two products), so 205 of them instead of 171
  // cost ~0.1 ms while the table is built 40% faster.
  gPowerTable ??= PfpPowerTable.build(SAKKE_PARAMETER_SET_1.g, 5);
  return gPowerTable;
}

interface KmsKey {
  readonly point: AffinePoint;
  readonly table: FixedBaseTable;
}

/** Validated KMS keys with their tables, most recently used last. */
const kmsKeys = new Map<string, KmsKey>();
const KMS_CACHE_SIZE = 4;

/** Z_S decoded, checked to have order q (via its own table) and tabulated, once per key. */
function kmsKey(z: Uint8Array): KmsKey {
  const hex = bytesToHex(z);
  const cached = kmsKeys.get(hex);
  if (cached !== undefined) {
    kmsKeys.delete(hex);
    kmsKeys.set(hex, cached);
    return cached;
  }
  const point = decodePoint(z, 'KMS public key Z');
  const table = point.y === 0n ? undefined : FixedBaseTable.build(point);
  if (table === undefined || !table.hasOrderQ()) {
    throw new CryptoError('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP', 'KMS public key Z is not of order q');
  }
  const key = { point, table };
  kmsKeys.set(hex, key);
  if (kmsKeys.size > KMS_CACHE_SIZE) kmsKeys.delete(kmsKeys.keys().next().value!);
  return key;
}

// ---------------------------------------------------------------------------------------
// Input checks

function checkId(id: unknown): Uint8Array {
  const b = assertBytes(id, 'identifier');
  if (b.length === 0) throw new CryptoError('ERR_CRYPTO_BAD_LENGTH', 'identifier must not be empty');
  return b;
}

function checkObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

/** The KMS master secret z_S: an integer in [2, q − 1] (RFC 6508 §2.2), at most 128 octets. */
function masterSecret(zS: unknown): bigint {
  const b = assertBytes(zS, 'KMS master secret');
  if (b.length === 0 || b.length > FP_BYTES) {
    throw new CryptoError('ERR_CRYPTO_BAD_LENGTH', 'KMS master secret must be 1 to 128 bytes');
  }
  const z = bytesToBigInt(b);
  if (z < 2n || z >= Q) throw new CryptoError('ERR_CRYPTO_SCALAR_OUT_OF_RANGE', 'KMS master secret out of [2, q − 1]');
  return z;
}

function identifierScalar(id: Uint8Array): bigint {
  return bytesToBigInt(id) % Q;
}

function invalidKey(message: string, cause?: unknown): CryptoError {
  return new CryptoError('ERR_SAKKE_INVALID_RECEIVER_KEY', message, cause === undefined ? undefined : { cause });
}

function decodeRsk(rsk: unknown): AffinePoint {
  try {
    return decodePoint(rsk, 'RSK');
  } catch (e) {
    if (e instanceof CryptoError) throw invalidKey('RSK is not a valid point', e);
    throw e;
  }
}

/** Miller lines on the RSK; their computation also proves [q]RSK = O. */
function rskLines(rsk: AffinePoint): MillerLines {
  const lines = rsk.y === 0n ? undefined : precomputeMillerLines(rsk);
  if (lines === undefined) throw invalidKey('RSK is not of order q');
  return lines;
}

/** [b]P + Z in Jacobian coordinates. */
function publicKeyOf(b: bigint, z: AffinePoint): Jacobian {
  const acc = pTable().mul(b);
  addAffineInPlace(acc, z.x, z.y);
  return acc;
}

function fpBytes(v: bigint): Uint8Array {
  return bigIntToBytes(v, FP_BYTES);
}

function xor16(a: Uint8Array, mask: bigint): Uint8Array {
  const m = bigIntToBytes(mask, SSV_BYTES);
  const out = new Uint8Array(SSV_BYTES);
  for (let k = 0; k < SSV_BYTES; k++) out[k] = a[k]! ^ m[k]!;
  return out;
}

// ---------------------------------------------------------------------------------------
// KMS side (RFC 6508 §2.2)

/** KMS public key Z_S = [z_S]P, 257 octets. */
export function sakkeDerivePublicKey(zS: Uint8Array): Uint8Array {
  const z = masterSecret(zS);
  return encodePoint(toAffine(pTable().mul(z))!);
}

/** Receiver Secret Key K_(b,S) = [(b + z_S)^-1]P, 257 octets. */
export function sakkeIssueReceiverKey(args: { zS: Uint8Array; id: Uint8Array }): Uint8Array {
  const a = checkObject(args, 'sakkeIssueReceiverKey arguments');
  const z = masterSecret(a['zS']);
  const b = identifierScalar(checkId(a['id']));
  const s = (b + z) % Q;
  if (s === 0n) throw new CryptoError('ERR_CRYPTO_SCALAR_OUT_OF_RANGE', 'b + z_S ≡ 0 (mod q): no key for this identifier');
  return encodePoint(toAffine(pTable().mul(invMod(s, Q)))!);
}

// ---------------------------------------------------------------------------------------
// Encapsulation (RFC 6508 §6.2.1)

function encapsulate(ssvIn: unknown, to: unknown): SakkeEncapsulationDetails {
  const ssv = bytesOf(ssvIn, SSV_BYTES, 'SSV');
  const recipient = checkObject(to, 'recipient');
  const id = checkId(recipient['id']);
  const zBytes = bytesOf(recipient['z'], POINT_BYTES, 'KMS public key Z');
  const kms = kmsKey(zBytes);
  const b = identifierScalar(id);
  // 1. r = HashToIntegerRange(SSV ‖ b, q, Hash)
  const r = hashToIntegerRange(concatBytes(ssv, id), Q);
  if (r === 0n) throw new CryptoError('ERR_CRYPTO_SCALAR_OUT_OF_RANGE', 'r = 0');
  // 2. R_(b,S) = [r]([b]P + Z_S) = [r·b]P + [r]Z_S, both from fixed-base tables.
  const acc: Jacobian = { X: 1n, Y: 1n, Z: 0n };
  pTable().mulInto(acc, oddRepresentative((r * b) % Q));
  kms.table.mulInto(acc, oddRepresentative(r));
  const R = toAffine(acc);
  if (R === undefined) {
    throw new CryptoError('ERR_CRYPTO_SCALAR_OUT_OF_RANGE', '[b]P + Z is the point at infinity for this identifier');
  }
  // 3. H = SSV XOR HashToIntegerRange(g^r, 2^n, Hash)
  const [ga, gb] = gTable().pow(r);
  const gr = fpBytes(pfpRepresentative(ga, gb)!);
  const mask = hashToIntegerRange(gr, MASK_MODULUS);
  const H = xor16(ssv, mask);
  const Rb = encodePoint(R);
  return {
    encapsulated: concatBytes(Rb, H),
    r: fpBytes(r),
    R: Rb,
    gPowR: gr,
    mask: bigIntToBytes(mask, SSV_BYTES),
    H,
  };
}

/** Encapsulated Data R_(b,S) ‖ H (273 octets) carrying a 16-octet SSV to `to`. */
export function sakkeEncapsulate(ssv: Uint8Array, to: SakkeRecipient): Uint8Array {
  return encapsulate(ssv, to).encapsulated;
}

/** `sakkeEncapsulate` with r, R, g^r, mask and H (conformance runners and tests). */
export function sakkeEncapsulateDetailed(ssv: Uint8Array, to: SakkeRecipient): SakkeEncapsulationDetails {
  return encapsulate(ssv, to);
}

// ---------------------------------------------------------------------------------------
// Decapsulation (RFC 6508 §6.2.2)

interface Parsed {
  readonly R: AffinePoint;
  readonly H: Uint8Array;
}

function parseEncapsulated(encapsulated: unknown): Parsed {
  const e = bytesOf(encapsulated, ENCAPSULATED_BYTES, 'SAKKE encapsulated data');
  const R = decodePoint(e.subarray(0, POINT_BYTES), 'R_(b,S)');
  // Points of order 2 are caught here; other outsiders fail the final check.
  if (R.y === 0n) throw new CryptoError('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP', 'R_(b,S) is not of order q');
  return { R, H: e.slice(POINT_BYTES) };
}

/**
 * Steps 2–4: w = <R, RSK>, SSV = H XOR HashToIntegerRange(w, 2^n), r = HashToIntegerRange(
 * SSV ‖ b, q). Returns the candidate SSV and r; step 5 is the caller's.
 */
function recoverSsv(lines: MillerLines, parsed: Parsed, id: Uint8Array): { ssv: Uint8Array; r: bigint } {
  const w = evaluateMillerLines(lines, parsed.R);
  if (w === undefined) throw new CryptoError('ERR_SAKKE_DECAPSULATION_FAILED', 'SAKKE decapsulation failed');
  const ssv = xor16(parsed.H, hashToIntegerRange(fpBytes(w), MASK_MODULUS));
  const r = hashToIntegerRange(concatBytes(ssv, id), Q);
  return { ssv, r };
}

/** Step 5 failed: name the error, and never let the candidate SSV out. */
function decapsulationFailure(R: AffinePoint, ssv: Uint8Array): CryptoError {
  ssv.fill(0);
  if (!isInSubgroup(R)) return new CryptoError('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP', 'R_(b,S) is not of order q');
  return new CryptoError('ERR_SAKKE_DECAPSULATION_FAILED', 'SAKKE decapsulation failed');
}

class Receiver implements SakkeReceiver {
  readonly #id: Uint8Array;
  readonly #lines: MillerLines;
  readonly #tb: FixedBaseTable;

  constructor(id: Uint8Array, lines: MillerLines, tb: FixedBaseTable) {
    this.#id = id;
    this.#lines = lines;
    this.#tb = tb;
  }

  decapsulate(encapsulated: Uint8Array): Uint8Array {
    const parsed = parseEncapsulated(encapsulated);
    const { ssv, r } = recoverSsv(this.#lines, parsed, this.#id);
    // 5. TEST = [r]([b]P + Z_S) must equal R_(b,S).
    const test = this.#tb.mul(r);
    if (r === 0n || !jacobianEqualsAffine(test, parsed.R)) throw decapsulationFailure(parsed.R, ssv);
    return ssv;
  }
}

interface CheckedKeys {
  readonly id: Uint8Array;
  readonly z: Uint8Array;
  readonly rsk: AffinePoint;
}

function checkReceiverKeys(keys: unknown): CheckedKeys {
  const k = checkObject(keys, 'SAKKE receiver keys');
  const id = checkId(k['id']).slice();
  const z = bytesOf(k['z'], POINT_BYTES, 'KMS public key Z').slice();
  const rsk = decodeRsk(k['rsk']);
  return { id, z, rsk };
}

/**
 * Prepares decapsulation for one key period: checks Z and the RSK (RFC 6508 §6.1.2:
 * <[b]P + Z, RSK> = g), precomputes the Miller lines of the RSK and a window table of
 * [b]P + Z. Throws ERR_SAKKE_INVALID_RECEIVER_KEY for a bad RSK.
 */
export function createSakkeReceiver(keys: SakkeReceiverKeys): SakkeReceiver {
  const { id, z, rsk } = checkReceiverKeys(keys);
  const zPoint = decodePoint(z, 'KMS public key Z');
  const lines = rskLines(rsk);
  const tbJ = publicKeyOf(identifierScalar(id), zPoint);
  const tb = toAffine(tbJ);
  if (tb === undefined) throw invalidKey('[b]P + Z is the point at infinity');
  // Symmetry: <RSK, [b]P + Z> = <[b]P + Z, RSK> for points of order q. Checked before the
  // table is built so that a wrong key fails fast; the pairing only sees the order-q part
  // of [b]P + Z, whose order the table then proves: [q]([b]P + Z) = O iff Z has order q.
  if (evaluateMillerLines(lines, tb) !== SAKKE_PARAMETER_SET_1.g) throw invalidKey('RSK does not match the identifier and Z');
  const table = FixedBaseTable.build(tb);
  if (table === undefined || !table.hasOrderQ()) {
    throw new CryptoError('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP', 'KMS public key Z is not of order q');
  }
  return new Receiver(id, lines, table);
}

/**
 * One-shot decapsulation (RFC 6508 §6.2.2). It precomputes the RSK's lines for this one
 * call and checks R with the tables of P and Z; prefer `createSakkeReceiver` for repeated use.
 */
export function sakkeDecapsulate(encapsulated: Uint8Array, keys: SakkeReceiverKeys): Uint8Array {
  const { id, z, rsk } = checkReceiverKeys(keys);
  const parsed = parseEncapsulated(encapsulated);
  const kms = kmsKey(z);
  const lines = rskLines(rsk);
  const { ssv, r } = recoverSsv(lines, parsed, id);
  const acc: Jacobian = { X: 1n, Y: 1n, Z: 0n };
  pTable().mulInto(acc, oddRepresentative((r * identifierScalar(id)) % Q));
  kms.table.mulInto(acc, oddRepresentative(r));
  if (r === 0n || !jacobianEqualsAffine(acc, parsed.R)) throw decapsulationFailure(parsed.R, ssv);
  return ssv;
}

/**
 * RFC 6508 §6.1.2: true when <[b]P + Z, RSK> = g (and Z, RSK are points of order q).
 * False for any malformed or mismatched key; TypeError only for non-byte arguments.
 */
export function sakkeValidateReceiverKey(keys: SakkeReceiverKeys): boolean {
  const k = checkObject(keys, 'SAKKE receiver keys');
  assertBytes(k['id'], 'identifier');
  assertBytes(k['z'], 'KMS public key Z');
  assertBytes(k['rsk'], 'RSK');
  try {
    const { id, z, rsk } = checkReceiverKeys(keys);
    const kms = kmsKey(z);
    const lines = rskLines(rsk);
    const tb = toAffine(publicKeyOf(identifierScalar(id), kms.point));
    return tb !== undefined && evaluateMillerLines(lines, tb) === SAKKE_PARAMETER_SET_1.g;
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
}

/**
 * The pairing <a, b> of RFC 6508 §3.2 (plain algorithm) as its 128-octet PF_p
 * representative; both points must be encoded points of order q.
 */
export function sakkePairing(a: Uint8Array, b: Uint8Array): Uint8Array {
  const pa = decodePoint(a, 'first point');
  const pb = decodePoint(b, 'second point');
  if (!isInSubgroup(pa) || !isInSubgroup(pb)) {
    throw new CryptoError('ERR_CRYPTO_POINT_NOT_IN_SUBGROUP', 'pairing argument is not of order q');
  }
  return fpBytes(pairing(pa, pb)!);
}

export { hashToIntegerRange } from './hash-to-range.js';
