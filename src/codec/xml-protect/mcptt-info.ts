/**
 * TS 33.179 clause 9.3 applied to the mcpttinfo documents of this SDK's SIP bodies (9.1.3.2:
 * "Encrypted Access token, MCPTT ID" beside the CSK I_MESSAGE; 7.3.2 GMK notifications; call
 * setup): one call protects, one call unprotects, on the client and in the dev server alike.
 *
 * Protected form: every container of the 9.3.2 allow-list that is present (access token,
 * group ID, calling/called/request-URI identities) gets its value replaced by an
 * xenc:EncryptedData under the XPK (9.3.4), then `mcptt-Params` gets `Id="mcptt-params"` and
 * a ds:Signature over it is appended to the root (9.3.5). Encrypt-then-sign: the signature
 * covers the ciphertexts, so a changed ciphertext, tag, KeyName or signature is refused before
 * anything is decrypted, and the integrity of the token ↔ CSK binding rests on the XPK.
 *
 * The XPK is the CSK of the user (9.3.3): `mcpttId` is P0 of the F.1.4 derivation, the CSK's
 * owner. A receiver must therefore know whose CSK it is before it can decrypt: the server from
 * the CSK I_MESSAGE's initiator, the client because the CSK is its own.
 */
import { decodeBase64 } from '../kms/encoding.js';
import { MCPTT_INFO_NS } from '../sip-bodies.js';
import { serializeXml } from '../xml/serialize.js';
import { getAttr, walkElements } from '../xml/tree.js';
import type { XmlElement } from '../xml/tree.js';
import { DSIG_NS, XENC_NS } from './constants.js';
import { PROTECTABLE_ELEMENTS, encodeBase64, parseProtectedXml, protectableEntry, toBuild, withAttr } from './common.js';
import type { XpkLookup, XpkMaterial } from './common.js';
import { protectXmlElements, unprotectXmlElements } from './encrypt.js';
import { XmlProtectError } from './errors.js';
import { signXmlElement, verifyXmlElement } from './sign.js';

/** The `Id` of the signed `mcptt-Params` element. */
export const MCPTT_PARAMS_ID = 'mcptt-params';
const PARAMS = Object.freeze({ ns: MCPTT_INFO_NS, local: 'mcptt-Params' });

/** A CSK as the signalling layer holds it (src/platform/signalling ClientServerKey fits). */
export interface CskLike {
  readonly key: Uint8Array;
  /** CSK-ID, the XPK-ID of 9.3.3. */
  readonly keyId: Uint8Array;
}

export interface ProtectMcpttInfoOptions {
  /** Append the 9.3.5 signature over mcptt-Params (default true). */
  readonly sign?: boolean;
}

/** The XPK material of a CSK owned by `mcpttId`. */
export function cskXpk(csk: CskLike, mcpttId: string): XpkMaterial {
  return { xpk: csk.key, xpkId: csk.keyId, mcpttId };
}

/** A lookup that knows exactly one CSK (the usual case on both sides). */
export function singleCskLookup(csk: CskLike, mcpttId: string): XpkLookup {
  const id = encodeBase64(csk.keyId);
  const material = cskXpk(csk, mcpttId);
  return (name) => (name === id ? material : undefined);
}

/**
 * A lookup over several CSKs of one user by CSK-ID in hex (e.g. the current one and the one
 * it replaces while a renewal is under way): how a server reads what a client protected.
 */
export function cskByIdLookup(byId: (keyIdHex: string) => CskLike | undefined, mcpttId: string): XpkLookup {
  return (name) => {
    let hex: string;
    try {
      hex = [...decodeBase64(name, 'ds:KeyName')].map((b) => b.toString(16).padStart(2, '0')).join('');
    } catch {
      return undefined;
    }
    const csk = byId(hex);
    return csk === undefined ? undefined : cskXpk(csk, mcpttId);
  };
}

/**
 * Encrypts every allowed identity and token of an mcpttinfo document under the CSK of
 * `mcpttId` and signs mcptt-Params. A document with nothing to encrypt is still signed.
 */
export async function protectMcpttInfo(xml: string, csk: CskLike, mcpttId: string, o: ProtectMcpttInfoOptions = {}): Promise<string> {
  const material = cskXpk(csk, mcpttId);
  const doc = parseProtectedXml(xml);
  const present = PROTECTABLE_ELEMENTS.filter((p) => [...walkElements(doc.root)].some((e) => e.ns === p.ns && e.local === p.local));
  let out = present.length > 0 ? await protectXmlElements(xml, { ...material, elements: present }) : xml;
  if (o.sign === false) return out;
  const again = parseProtectedXml(out);
  const params = [...walkElements(again.root)].filter((e) => e.ns === PARAMS.ns && e.local === PARAMS.local);
  if (params.length !== 1 || params[0] === again.root) throw new RangeError('an mcpttinfo document has exactly one mcptt-Params under its root');
  out = serializeXml(
    toBuild(again.root, (e) => (e === params[0] ? withAttr(toBuild(e), 'Id', MCPTT_PARAMS_ID) : undefined)),
    { indent: '' },
  );
  return signXmlElement(out, { ...material, id: MCPTT_PARAMS_ID });
}

/** What a document looks like before any key is used. */
export interface McpttInfoProtectionState {
  readonly signed: boolean;
  /** Containers of the allow-list whose value is encrypted. */
  readonly encrypted: number;
  /** Containers of the allow-list whose value is in clear. */
  readonly clear: number;
}

/** Inspects a document without keys (e.g. to refuse a clear one where protection is required). */
export function mcpttInfoProtectionState(xml: string): McpttInfoProtectionState {
  const doc = parseProtectedXml(xml);
  let signed = false;
  let encrypted = 0;
  let clear = 0;
  for (const e of walkElements(doc.root)) {
    if (e.ns === DSIG_NS && e.local === 'Signature') signed = true;
    if (protectableEntry(e) === undefined) continue;
    if (e.children.some((c) => c.ns === XENC_NS && c.local === 'EncryptedData')) encrypted++;
    else clear++;
  }
  return { signed, encrypted, clear };
}

export interface UnprotectMcpttInfoOptions {
  /**
   * Refuse (ERR_XML_PROTECT_REQUIRED) a document that is unsigned or carries any allowed
   * identity or token in clear. Default false: clear and protected documents are both read,
   * but a signature, when present, must verify.
   */
  readonly required?: boolean;
}

export interface UnprotectedMcpttInfo {
  /** The document with every value in clear, readable by parseMcpttInfoXml. */
  readonly xml: string;
  readonly signed: boolean;
  readonly encrypted: number;
}

/**
 * Verifies (when signed, or required) and decrypts an mcpttinfo document. The signature must
 * cover the single mcptt-Params (the only element parseMcpttInfoXml reads values from), and
 * every encrypted value must sit inside it: a value outside the signed element is refused, so
 * nothing unsigned can be read as if it were signed.
 */
export async function unprotectMcpttInfo(xml: string, lookup: XpkLookup, o: UnprotectMcpttInfoOptions = {}): Promise<UnprotectedMcpttInfo> {
  const state = mcpttInfoProtectionState(xml);
  if (o.required === true && (!state.signed || state.clear > 0 || state.encrypted === 0)) {
    throw new XmlProtectError('ERR_XML_PROTECT_REQUIRED', 'the mcpttinfo document is not protected (signed, identities and token encrypted)');
  }
  if (state.signed) {
    const params = verifyXmlElement(xml, { keyFor: lookup, expectedId: MCPTT_PARAMS_ID, expectedElement: PARAMS });
    const doc = parseProtectedXml(xml);
    for (const e of walkElements(doc.root)) {
      if (protectableEntry(e) !== undefined && !within(e, params)) {
        throw new XmlProtectError('ERR_XML_PROTECT_BAD_SIGNATURE', `<${e.local}> lies outside the signed mcptt-Params`);
      }
    }
  }
  const clear = state.encrypted > 0 ? await unprotectXmlElements(xml, { keyFor: lookup }) : xml;
  return { xml: clear, signed: state.signed, encrypted: state.encrypted };
}

/** Compares by position in the source (the two trees come from two parses of one text). */
function within(e: XmlElement, ancestor: XmlElement): boolean {
  const a = ancestor.span;
  return e.span.start > a.start && e.span.end <= a.end && getAttr(ancestor, 'Id') === MCPTT_PARAMS_ID;
}
