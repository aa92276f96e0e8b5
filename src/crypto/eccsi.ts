/**
 * ECCSI, RFC 6507, on NIST P-256 with SHA-256 (the parameters RFC 6509 and TS 33.179 fix:
 * N = 32, points as 0x04 ‖ x ‖ y). Signatures are r (32) ‖ s (32) ‖ PVT (65) = 129 octets, the
 * SIGN payload value of RFC 6509 / RFC 6507 section 3.3.
 *
 *   KMS (5.1.1):      KPAK = [KSAK]G;  PVT = [v]G;  HS = hash(G ‖ KPAK ‖ ID ‖ PVT);
 *                     SSK = KSAK + HS·v mod q
 *   User (5.1.2):     valid iff PVT is on E and [SSK]G = [HS]PVT + KPAK
 *   Sign (5.2.1):     J = [j]G, r = Jx; HE = hash(HS ‖ r ‖ M); s' = (HE + r·SSK)⁻¹·j mod q
 *   Verify (5.2.2):   Y = [HS]PVT + KPAK; J = [s]([HE]G + [r]Y); accept iff Jx = r ≠ 0
 *
 * Secret scalars (KSAK, v, SSK, j) only meet noble's constant-time `multiply`; public ones (HS,
 * HE, r, s) use `multiplyUnsafe` / `mulAddUnsafe`. BigInt field arithmetic in JavaScript is not
 * constant-time (the same limit noble documents), so the modular inversion in signing is not
 * either.
 *
 * Verification merges the multiplications: J = [s·HE]G + [s·r·HS]PVT + [s·r]KPAK, the G term
 * from noble's precomputed base table, the other two in one interleaved (Strauss–Shamir) chain.
 * Signers whose signatures verified several times (a GMS distributing GMKs at login) get
 * Y = [HS]PVT + KPAK cached with a window table, so their later signatures need only
 * [s·HE]G + [s·r]Y from two tables. The cache is keyed by HS, which commits to KPAK, ID and
 * PVT; it holds public values only, is bounded, and is filled only after a successful
 * verification, so forged signatures can neither enter nor evict it.
 */
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from '../errors.js';
import { assertBytes, bigIntToBytes, bytesOf, bytesToBigInt, bytesToHex, concatBytes } from '../util/bytes.js';

export interface EccsiPublicKeys {
  /** The signer's identifier: for MCPTT the 32-octet UID of TS 33.179 F.2.1. */
  readonly id: Uint8Array;
  /** KMS Public Authentication Key, 65-octet uncompressed point. */
  readonly kpak: Uint8Array;
}

export interface EccsiSigningKeys extends EccsiPublicKeys {
  /** Secret Signing Key, 32 octets. */
  readonly ssk: Uint8Array;
  /** Public Validation Token, 65-octet uncompressed point. */
  readonly pvt: Uint8Array;
}

export interface EccsiSignOptions {
  /** RNG adapter for the ephemeral j (tests inject the RFC's value); default crypto.getRandomValues. */
  readonly randomBytes?: (n: number) => Uint8Array;
}

export interface EccsiIssuedKey {
  readonly ssk: Uint8Array;
  readonly pvt: Uint8Array;
  /** HS = hash(G ‖ KPAK ‖ ID ‖ PVT), 32 octets. */
  readonly hs: Uint8Array;
}

type Point = typeof p256.Point.BASE;

const Point = p256.Point;
const Fn = Point.Fn;
const q = Fn.ORDER;
const p = Point.Fp.ORDER;
const G = Point.BASE;
const N = 32; // RFC 6507 N: octets of an integer mod p or q on P-256
const POINT_LEN = 1 + 2 * N;
const SIGNATURE_LEN = 2 * N + POINT_LEN;
const G_BYTES = G.toBytes(false);
/** Attempts at a fresh random scalar before giving up (each fails with probability < 2^-32). */
const MAX_ATTEMPTS = 64;

const defaultRandomBytes = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

// ---------------------------------------------------------------------------------------------
// Boundary checks

/** Uncompressed point on P-256 (the only form RFC 6509 carries); infinity has no such form. */
function decodePoint(bytes: unknown, what: string): Point {
  const b = bytesOf(bytes, POINT_LEN, what);
  if (b[0] !== 0x04) {
    throw new CryptoError('ERR_CRYPTO_BAD_POINT_ENCODING', `${what} must be an uncompressed point (0x04 ‖ x ‖ y)`);
  }
  const x = bytesToBigInt(b.subarray(1, 1 + N));
  const y = bytesToBigInt(b.subarray(1 + N));
  if (x >= p || y >= p) {
    throw new CryptoError('ERR_CRYPTO_BAD_POINT_ENCODING', `${what} has a coordinate outside the field`);
  }
  try {
    // fromAffine maps (0, 0) to the identity, which assertValidity refuses like any off-curve point.
    const P = Point.fromAffine({ x, y });
    P.assertValidity();
    return P;
  } catch (cause) {
    throw new CryptoError('ERR_CRYPTO_POINT_NOT_ON_CURVE', `${what} is not a point of P-256`, { cause });
  }
}

/**
 * A KMS-side integer (KSAK, v) as a big-endian octet string of 1..N octets: RFC 6507 Appendix A
 * writes them minimally (0x12345), KMS software usually as N octets; both mean the same integer.
 */
function decodeInteger(bytes: unknown, what: string): bigint {
  const b = assertBytes(bytes, what);
  if (b.length < 1 || b.length > N) {
    throw new CryptoError('ERR_CRYPTO_BAD_LENGTH', `${what} must be 1..${N} bytes, got ${b.length}`);
  }
  return scalarInRange(bytesToBigInt(b), what);
}

function scalarInRange(k: bigint, what: string): bigint {
  if (k === 0n || k >= q) throw new CryptoError('ERR_CRYPTO_SCALAR_OUT_OF_RANGE', `${what} must lie in [1, q-1]`);
  return k;
}

function randomScalar(randomBytes: (n: number) => Uint8Array): bigint | undefined {
  const b = randomBytes(N);
  if (!(b instanceof Uint8Array) || b.length !== N) throw new TypeError(`randomBytes(${N}) must return ${N} bytes`);
  const k = bytesToBigInt(b);
  // Rejection sampling keeps j and v uniform in [1, q−1]; q is within 2^-32 of 2^256.
  return k === 0n || k >= q ? undefined : k;
}

function keysObject(keys: unknown): void {
  if (typeof keys !== 'object' || keys === null) throw new TypeError('keys must be an object');
}

/** HS = hash(G ‖ KPAK ‖ ID ‖ PVT), RFC 6507 5.1.1 step 3 / 5.1.2 step 2 / 5.2.2 step 2. */
function hashHS(kpak: Uint8Array, id: Uint8Array, pvt: Uint8Array): Uint8Array {
  return sha256(concatBytes(G_BYTES, kpak, id, pvt));
}

const toScalar = (hash: Uint8Array): bigint => Fn.create(bytesToBigInt(hash));

// ---------------------------------------------------------------------------------------------
// KMS side (RFC 6507 5.1.1)

/** KPAK = [KSAK]G as a 65-octet point; KSAK is a big-endian integer of 1..32 octets. */
export function eccsiDeriveKpak(ksak: Uint8Array): Uint8Array {
  return G.multiply(decodeInteger(ksak, 'KSAK')).toBytes(false);
}

/**
 * RFC 6507 5.1.1: SSK and PVT for `id` (KSAK and v are big-endian integers of 1..32 octets).
 * With `v` given the result is deterministic (test vectors) and an unusable v is refused; otherwise v is drawn afresh until SSK and HS are
 * non-zero mod q, as the RFC asks.
 */
export function eccsiIssueSigningKey(args: {
  ksak: Uint8Array;
  id: Uint8Array;
  v?: Uint8Array;
  randomBytes?: (n: number) => Uint8Array;
}): EccsiIssuedKey {
  const ksak = decodeInteger(args.ksak, 'KSAK');
  const id = assertBytes(args.id, 'ID');
  const kpak = G.multiply(ksak).toBytes(false);
  const fixedV = args.v === undefined ? undefined : decodeInteger(args.v, 'v');
  const randomBytes = args.randomBytes ?? defaultRandomBytes;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const v = fixedV ?? randomScalar(randomBytes);
    if (v === undefined) continue;
    const pvt = G.multiply(v).toBytes(false);
    const hs = hashHS(kpak, id, pvt);
    const hsScalar = toScalar(hs);
    const ssk = Fn.add(ksak, Fn.mul(hsScalar, v));
    if (ssk !== 0n && hsScalar !== 0n) return { ssk: bigIntToBytes(ssk, N), pvt, hs };
    if (fixedV !== undefined) break;
  }
  throw new CryptoError('ERR_ECCSI_INVALID_SIGNING_KEY', 'no valid signing key results from this v (SSK or HS is 0 mod q)');
}

// ---------------------------------------------------------------------------------------------
// User side: key validation (RFC 6507 5.1.2)

interface ValidatedKeys {
  readonly ssk: bigint;
  readonly hs: Uint8Array;
  readonly pvtBytes: Uint8Array;
}

/**
 * Structural checks throw (wrong types or lengths, malformed KPAK); a key pair that is well
 * formed but not valid for this ID under this KPAK gives `undefined`.
 */
function validate(keys: EccsiSigningKeys): ValidatedKeys | undefined {
  keysObject(keys);
  const id = assertBytes(keys.id, 'ID');
  const kpakBytes = bytesOf(keys.kpak, POINT_LEN, 'KPAK');
  const kpak = decodePoint(kpakBytes, 'KPAK');
  const sskBytes = bytesOf(keys.ssk, N, 'SSK');
  const pvtBytes = bytesOf(keys.pvt, POINT_LEN, 'PVT');
  let pvt: Point;
  try {
    pvt = decodePoint(pvtBytes, 'PVT');
  } catch {
    return undefined; // 5.1.2 step 1: PVT must lie on E
  }
  const ssk = bytesToBigInt(sskBytes);
  if (ssk === 0n || ssk >= q) return undefined;
  const hs = hashHS(kpakBytes, id, pvtBytes);
  // 5.1.2 step 3: [SSK]G = [HS]PVT + KPAK. SSK is secret: constant-time multiply.
  const lhs = G.multiply(ssk);
  const rhs = pvt.multiplyUnsafe(toScalar(hs)).add(kpak);
  return lhs.equals(rhs) ? { ssk, hs, pvtBytes: Uint8Array.from(pvtBytes) } : undefined;
}

/** RFC 6507 5.1.2: true when (SSK, PVT) is a valid signing key pair for `id` under `kpak`. */
export function eccsiValidateSigningKey(keys: EccsiSigningKeys): boolean {
  return validate(keys) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Signing (RFC 6507 5.2.1)

/**
 * RFC 6507 5.2.1. The key pair is validated (5.1.2) first, so a wrong SSK never produces a
 * signature; j is redrawn when r = 0 or HE + r·SSK ≡ 0 (mod q).
 */
export function eccsiSign(message: Uint8Array, keys: EccsiSigningKeys, options?: EccsiSignOptions): Uint8Array {
  assertBytes(message, 'message');
  const k = validate(keys);
  if (k === undefined) {
    throw new CryptoError('ERR_ECCSI_INVALID_SIGNING_KEY', 'the ECCSI signing key (SSK, PVT) is not valid for this ID and KPAK');
  }
  const randomBytes = options?.randomBytes ?? defaultRandomBytes;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // Step 1: ephemeral j in F_q*.
    const j = randomScalar(randomBytes);
    if (j === undefined) continue;
    // Step 2: J = [j]G, r = Jx as an N-octet integer (an element of F_p, not reduced mod q).
    const r = G.multiply(j).toAffine().x;
    if (r === 0n) continue;
    const rBytes = bigIntToBytes(r, N);
    // Step 3: HE = hash(HS ‖ r ‖ M).
    const he = toScalar(sha256(concatBytes(k.hs, rBytes, message)));
    // Step 4: HE + r·SSK must be non-zero mod q.
    const t = Fn.add(he, Fn.mul(Fn.create(r), k.ssk));
    if (t === 0n) continue;
    // Step 5: s' = (HE + r·SSK)⁻¹ · j mod q.
    const sPrime = Fn.mul(Fn.inv(t), j);
    // Step 6: s = q − s' when s' does not fit in N octets. s' < q < 2^(8N) on P-256, so this
    // never triggers here; it is kept so the code reads as the RFC does.
    const s = sPrime >> BigInt(8 * N) !== 0n ? q - sPrime : sPrime;
    return concatBytes(rBytes, bigIntToBytes(s, N), k.pvtBytes);
  }
  throw new CryptoError('ERR_ECCSI_SIGNING_FAILED', 'no usable ephemeral value after repeated attempts (faulty RNG?)');
}

// ---------------------------------------------------------------------------------------------
// Verification (RFC 6507 5.2.2)

interface SignerEntry {
  verified: number;
  /** Y = [HS]PVT + KPAK with a window table, once the signer has verified often enough. */
  y?: Point;
}

const SIGNER_CACHE_SIZE = 16;
/** Successful verifications before a signer's table is built (the table costs ~10 verifications). */
const SIGNER_TABLE_AFTER = 3;
const SIGNER_TABLE_WINDOW = 4;
const signerCache = new Map<string, SignerEntry>();

function noteVerified(key: string, pvt: Point, kpak: Point, hsScalar: bigint): void {
  const entry = signerCache.get(key) ?? { verified: 0 };
  signerCache.delete(key); // re-insert as most recently used
  signerCache.set(key, entry);
  if (signerCache.size > SIGNER_CACHE_SIZE) {
    const oldest = signerCache.keys().next().value;
    if (oldest !== undefined) signerCache.delete(oldest);
  }
  entry.verified++;
  if (entry.y === undefined && entry.verified >= SIGNER_TABLE_AFTER) {
    const y = pvt.multiplyUnsafe(hsScalar).add(kpak);
    // Y = [SSK]G is never the identity for a key that produced a valid signature.
    if (!y.is0()) entry.y = y.precompute(SIGNER_TABLE_WINDOW, false);
  }
}

/**
 * RFC 6507 5.2.2. Any malformed or forged signature (wrong length, r ∉ [1, p−1], s ∉ [1, q−1],
 * PVT not on the curve, Jx ≠ r) gives `false`; only a malformed KPAK (configuration, not
 * message content) throws its typed error, and non-bytes arguments throw TypeError.
 */
export function eccsiVerify(message: Uint8Array, signature: Uint8Array, keys: EccsiPublicKeys): boolean {
  assertBytes(message, 'message');
  assertBytes(signature, 'signature');
  keysObject(keys);
  const id = assertBytes(keys.id, 'ID');
  const kpakBytes = bytesOf(keys.kpak, POINT_LEN, 'KPAK');
  const kpak = decodePoint(kpakBytes, 'KPAK');
  if (signature.length !== SIGNATURE_LEN) return false;

  const rBytes = signature.subarray(0, N);
  const r = bytesToBigInt(rBytes);
  const s = bytesToBigInt(signature.subarray(N, 2 * N));
  // r is an x-coordinate, an element of F_p (it may exceed q); s is an element of F_q*.
  if (r === 0n || r >= p || s === 0n || s >= q) return false;
  const pvtBytes = signature.subarray(2 * N);
  let pvt: Point;
  try {
    pvt = decodePoint(pvtBytes, 'PVT'); // step 1: PVT must lie on E
  } catch {
    return false;
  }
  const hs = hashHS(kpakBytes, id, pvtBytes); // step 2
  const he = toScalar(sha256(concatBytes(hs, rBytes, message))); // step 3
  const hsScalar = toScalar(hs);

  // Steps 4–5: J = [s]([HE]G + [r]Y) = [s·HE]G + [s·r]Y, Y = [HS]PVT + KPAK.
  const sr = Fn.mul(s, Fn.create(r));
  const gTerm = G.multiplyUnsafe(Fn.mul(s, he));
  const key = bytesToHex(hs);
  const cachedY = signerCache.get(key)?.y;
  const J = cachedY
    ? gTerm.add(cachedY.multiplyUnsafe(sr))
    : gTerm.add(pvt.mulAddUnsafe(Fn.mul(sr, hsScalar), kpak, sr));

  // Step 6: Jx = r (mod p) and non-zero; r ∈ [1, p−1] already, so equality suffices.
  if (J.is0() || J.toAffine().x !== r) return false;
  noteVerified(key, pvt, kpak, hsScalar);
  return true;
}
