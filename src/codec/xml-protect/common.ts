/**
 * Shared pieces of TS 33.179 clause 9.3 XML protection: the 9.3.2 allow-list of elements whose
 * content may be encrypted, the 9.3.3 key lookup (XPK-ID as base64 in ds:KeyName), parsing
 * with translated errors, and rebuilding a parsed tree for the serializer.
 */
import { MCPTT_INFO_NS } from '../sip-bodies.js';
import { decodeBase64, encodeBase64 } from '../kms/encoding.js';
import { parseXml } from '../xml/parser.js';
import type { XmlBuildElement, XmlBuildNode } from '../xml/serialize.js';
import type { XmlDocument, XmlElement } from '../xml/tree.js';
import { XmlProtectError, fromKmsError } from './errors.js';

export { MCPTT_INFO_NS };

/** The XPK material of 9.3.3 / F.1.4: the CSK (or SPK), its ID, and the user it belongs to. */
export interface XpkMaterial {
  readonly xpk: Uint8Array;
  readonly xpkId: Uint8Array;
  /** P0 of F.1.4: the MCPTT ID of the user whose CSK this is. */
  readonly mcpttId: string;
}

/** Looks an XPK up by its XPK-ID in canonical base64 (as ds:KeyName carries it). */
export type XpkLookup = (xpkIdBase64: string) => XpkMaterial | undefined;

export interface XmlElementName {
  readonly ns: string;
  readonly local: string;
}

/**
 * An element whose value may be encrypted. mcpttinfo elements (TS 24.379) are containers of
 * `contentType`: one value child (`mcpttString`, `mcpttURI`) and a `type` attribute
 * (Normal | Encrypted). The value child is what the schema's `##other` choice lets an
 * xenc:EncryptedData replace, so `valueChild` names the element whose simple content is
 * encrypted, and the one restored on decryption (never taken from the wire).
 */
export interface ProtectableElement extends XmlElementName {
  readonly valueChild: string;
  /** Which 9.3.2 item this is, for documentation and error messages. */
  readonly carries: 'access token' | 'MCPTT ID' | 'MCPTT group ID' | 'MCPTT ID or group ID';
}

/**
 * 9.3.2: confidentiality only for MCPTT ID, MCPTT group ID, location, alerts, access token.
 * Only the mcpttinfo elements this SDK reads or writes are listed (location and alerts have no
 * encoder here yet). Anything else is refused both when protecting and when unprotecting, so a
 * peer cannot hide arbitrary content from intermediaries by encrypting it.
 */
export const PROTECTABLE_ELEMENTS: readonly ProtectableElement[] = Object.freeze([
  { ns: MCPTT_INFO_NS, local: 'mcptt-access-token', valueChild: 'mcpttString', carries: 'access token' },
  { ns: MCPTT_INFO_NS, local: 'mcptt-group-id', valueChild: 'mcpttURI', carries: 'MCPTT group ID' },
  { ns: MCPTT_INFO_NS, local: 'mcptt-calling-user-id', valueChild: 'mcpttURI', carries: 'MCPTT ID' },
  { ns: MCPTT_INFO_NS, local: 'mcptt-called-party-id', valueChild: 'mcpttURI', carries: 'MCPTT ID' },
  { ns: MCPTT_INFO_NS, local: 'mcptt-request-uri', valueChild: 'mcpttURI', carries: 'MCPTT ID or group ID' },
] as const);

export function protectableEntry(el: XmlElementName): ProtectableElement | undefined {
  return PROTECTABLE_ELEMENTS.find((p) => p.ns === el.ns && p.local === el.local);
}

export function malformed(msg: string): never {
  throw new XmlProtectError('ERR_XML_PROTECT_MALFORMED', msg);
}

/** Strict parse (no DTD, bounded); parser failures become ERR_XML_PROTECT_MALFORMED. */
export function parseProtectedXml(xml: string): XmlDocument {
  if (typeof xml !== 'string') throw new TypeError('xml must be a string');
  try {
    return parseXml(xml);
  } catch (e) {
    throw fromKmsError(e);
  }
}

/** ds:KeyName / CipherValue text: strict base64, failures typed as ours. */
export function base64Field(text: string, what: string): Uint8Array {
  try {
    return decodeBase64(text, what);
  } catch (e) {
    throw fromKmsError(e);
  }
}

export { encodeBase64 };

/**
 * Resolve ds:KeyName through the caller's lookup. The name is re-encoded canonically before the
 * lookup so one key has one name, and the returned material must carry that very XPK-ID: the
 * derived keys depend on it (F.1.4), and a lookup that answers for the wrong ID is a bug that
 * must not turn into decrypting under a key the sender never named.
 */
export function lookupXpk(keyFor: XpkLookup, keyNameText: string): XpkMaterial {
  if (typeof keyFor !== 'function') throw new TypeError('keyFor must be a function');
  const id = encodeBase64(base64Field(keyNameText, 'ds:KeyName'));
  const found = keyFor(id);
  if (found === undefined) throw new XmlProtectError('ERR_XML_PROTECT_UNKNOWN_KEY', 'the XPK named by ds:KeyName is not known');
  if (!(found.xpkId instanceof Uint8Array) || encodeBase64(found.xpkId) !== id) {
    throw new XmlProtectError('ERR_XML_PROTECT_UNKNOWN_KEY', 'the key lookup returned material for another XPK-ID');
  }
  return found;
}

/**
 * A parsed element back as a builder tree, so edits can be serialized by the one serializer
 * that escapes everything. Namespace declarations are kept where they were written; comments
 * are already gone (the parser drops them, and C14N without comments ignores them anyway).
 * Processing instructions inside the document have no builder form: refused, not dropped.
 * Recursion depth is bounded by the parser's maxDepth.
 */
export function toBuild(el: XmlElement, edit?: (el: XmlElement) => XmlBuildElement | undefined): XmlBuildElement {
  const replaced = edit?.(el);
  if (replaced !== undefined) return replaced;
  const attrs: (readonly [string, string])[] = [
    ...el.nsDecls.map((d) => [d.prefix === '' ? 'xmlns' : `xmlns:${d.prefix}`, d.uri] as const),
    ...el.attrs.map((a) => [a.qname, a.value] as const),
  ];
  const children: XmlBuildNode[] = [];
  for (const n of el.nodes) {
    if (n.kind === 'text') children.push(n.value);
    else if (n.kind === 'element') children.push(toBuild(n, edit));
    else malformed('processing instructions inside the document are not supported');
  }
  return { name: el.qname, attrs, children };
}

/** Same attributes, with `name` set to `value` (added when absent). */
export function withAttr(b: XmlBuildElement, name: string, value: string): XmlBuildElement {
  const attrs = b.attrs ?? [];
  const has = attrs.some(([k]) => k === name);
  return { ...b, attrs: has ? attrs.map(([k, v]) => [k, k === name ? value : v] as const) : [...attrs, [name, value] as const] };
}
