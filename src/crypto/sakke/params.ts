/**
 * SAKKE parameter set 1 (RFC 6509 Appendix A; the same values drive the test data of
 * RFC 6508 Appendix A). The curve is the supersingular E: y² = x³ − 3x over F_p
 * (RFC 6508 §2.1, §3.1), the pairing is the Tate–Lichtenbaum pairing of RFC 6508 §3.2
 * reduced to PF_p = F_p²* / F_p*, and Hash is SHA-256 with n = 128 (RFC 6509 §7).
 */

/** One SAKKE parameter set (RFC 6508 §2.3: n, p, q, P, g, Hash). */
export interface SakkeParameterSet {
  /** Identifier of the set in the MIKEY-SAKKE registry (RFC 6509 §7.1). */
  readonly id: number;
  /** Security strength in bits; SSVs and masks are n bits (RFC 6508 §2.1). */
  readonly n: number;
  /** Field prime, p ≡ 3 (mod 4), 1024 bits. */
  readonly p: bigint;
  /** Prime order of P; q = (p + 1) / 4. */
  readonly q: bigint;
  /** Base point P = (Px, Py) of order q in E(F_p). */
  readonly Px: bigint;
  readonly Py: bigint;
  /** g = <P, P> as its PF_p representative x2/x1 (RFC 6508 §3.2, §2.1). */
  readonly g: bigint;
  /** Hash function of HashToIntegerRange (RFC 6508 §5.1). */
  readonly hash: 'SHA-256';
}

/** RFC 6509 Appendix A, "Parameter Set 1". */
export const SAKKE_PARAMETER_SET_1: SakkeParameterSet = Object.freeze({
  id: 1,
  n: 128,
  p: 0x997abb1f0a563fda65c61198dad0657a416c0ce19cb48261be9ae358b3e01a2ef40aab27e2fc0f1b228730d531a59cb0e791b39ff7c88a19356d27f4a666a6d0e26c6487326b4cd4512ac5cd65681ce1b6aff4a831852a82a7cf3c521c3c09aa9f94d6af56971f1ffce3e82389857db080c5df10ac7ace87666d807afea85febn,
  q: 0x265eaec7c2958ff69971846636b4195e905b0338672d20986fa6b8d62cf8068bbd02aac9f8bf03c6c8a1cc354c69672c39e46ce7fdf222864d5b49fd2999a9b4389b1921cc9ad335144ab173595a07386dabfd2a0c614aa0a9f3cf14870f026aa7e535abd5a5c7c7ff38fa08e2615f6c203177c42b1eb3a1d99b601ebfaa17fbn,
  Px: 0x53fc09ee332c29ad0a7990053ed9b52a2b1a2fd60aec69c698b2f204b6ff7cbfb5edb6c0f6ce2308ab10db9030b09e1043d5f22cdb9dfa55718bd9e7406ce8909760af765dd5bccb337c86548b72f2e1a702c3397a60de74a7c1514dba66910dd5cfb4cc80728d87ee9163a5b63f73ec80ec46c4967e0979880dc8abeae63895n,
  Py: 0x0a8249063f6009f1f9f1f0533634a135d3e82016029906963d778d821e141178f5ea69f4654ec2b9e7f7f5e5f0de55f66b598ccf9a140b2e416cff0ca9e032b970dae117ad547c6ccad696b5b7652fe0ac6f1e80164aa989492d979fc5a4d5f213515ad7e9cb99a980bdad5ad5bb4636adb9b5706a67dcde75573fd71bef16d7n,
  g: 0x66fc2a432b6ea392148f15867d623068c6a87bd1fb94c41e27fabe658e015a87371e94744c96feda449ae9563f8bc446cbfda85d5d00ef577072da8f541721beee0faed1828eab90b99dfb0138c7843355df0460b4a9fd74b4f1a32bcafa1ffad682c033a7942bcce3720f20b9b7b0403c8cae87b7a0042acde0fab36461ea46n,
  hash: 'SHA-256',
});

// Module-level copies: the hot loops read these as plain constants.
export const P = SAKKE_PARAMETER_SET_1.p;
export const Q = SAKKE_PARAMETER_SET_1.q;

/** Octets of an element of F_p (and of a PF_p representative): 1024 bits. */
export const FP_BYTES = 128;
/** Uncompressed point 0x04 ‖ x ‖ y (RFC 6508 §2.1, RFC 6509 §4). */
export const POINT_BYTES = 1 + 2 * FP_BYTES;
/** SSV and mask length, n / 8 (RFC 6508 §2.1; n = 128). */
export const SSV_BYTES = SAKKE_PARAMETER_SET_1.n / 8;
/** Encapsulated Data R_(b,S) ‖ H (RFC 6508 §4). */
export const ENCAPSULATED_BYTES = POINT_BYTES + SSV_BYTES;

/** Parameter values as big-endian octet strings, as vector files print them. */
export interface SakkeParameterValues {
  readonly p: Uint8Array;
  readonly q: Uint8Array;
  readonly px: Uint8Array;
  readonly py: Uint8Array;
  readonly g: Uint8Array;
}

/**
 * Conformance check: resolves true when `values` are parameter set 1 and the set satisfies
 * p ≡ 3 (mod 4), p + 1 = 4q, P ∈ E, [q]P = O and <P, P> = g (computed). The arithmetic is
 * imported on call: a static import would make this leaf module part of an import cycle
 * with the modules that read its constants while they load.
 */
export async function sakkeParameterSetChecks(values: SakkeParameterValues): Promise<boolean> {
  const { parameterSetChecks } = await import('./param-checks.js');
  return parameterSetChecks(values);
}
