/**
 * TS 33.179 clause 9.3.5: integrity of XML with an XML-DSig HMAC signature keyed per 9.3.3 /
 * F.1.4 by the integrity key derived from the XPK. The profile is the one of the 9.3.5 example
 * and the same one the KMS security extension uses, so the KMS signing and verification core
 * (src/codec/kms/dsig.ts) is reused rather than duplicated:
 *   CanonicalizationMethod  Canonical XML 1.0 (REC-xml-c14n-20010315)
 *   SignatureMethod         xmldsig-more#hmac-sha256, HMACOutputLength 128 (refused below 128)
 *   Reference URI="#id"     exactly one, SHA-256 digest, no transforms
 *   KeyInfo/KeyName         base64 XPK-ID
 * The ds:Signature is appended as the last child of the document element and signs a
 * descendant carrying `Id` (the shape of the 9.3.5 example: <SignedXMLDoc><XMLDoc Id=…/>
 * <Signature/></SignedXMLDoc>). Signing the document element itself would need the
 * enveloped-signature transform; it is refused for now.
 *
 * Against signature wrapping, verification answers with the element the application must read,
 * found by name and Id, and refuses unless: exactly one ds:Signature (a child of the root),
 * every Id value in the document is unique, exactly one element has the expected name (so an
 * unsigned copy cannot sit where a positional reader looks while the signed one hides
 * elsewhere), that element has the expected Id, and the single Reference resolves to it.
 */
import { xpkKeys } from '../../crypto/key-ids.js';
import { signHmacEnvelope, verifyHmacEnvelope } from '../kms/dsig.js';
import type { XmlBuildElement } from '../xml/serialize.js';
import { getAttr, walkElements } from '../xml/tree.js';
import type { XmlElement } from '../xml/tree.js';
import { DSIG_NS } from './constants.js';
import { encodeBase64, lookupXpk, malformed, parseProtectedXml, toBuild } from './common.js';
import type { XmlElementName, XpkLookup, XpkMaterial } from './common.js';
import { XmlProtectError, fromKmsError } from './errors.js';

/** What 9.3.5's example uses; the least XML-DSig 1.1 allows for HMAC-SHA-256. */
const HMAC_OUTPUT_BITS = 128;
const ID_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export interface SignXmlOptions extends XpkMaterial {
  /** Value of the `Id` attribute of the element to sign. */
  readonly id: string;
}

export interface VerifyXmlOptions {
  readonly keyFor: XpkLookup;
  /** The `Id` the signed element must carry. */
  readonly expectedId: string;
  /** The element the application is going to read. */
  readonly expectedElement: XmlElementName;
}

function badSignature(msg: string): never {
  throw new XmlProtectError('ERR_XML_PROTECT_BAD_SIGNATURE', msg);
}

const isSignature = (el: XmlElement): boolean => el.ns === DSIG_NS && el.local === 'Signature';

/** Sign the element with `Id=id`; returns the document with ds:Signature appended to its root. */
export function signXmlElement(xml: string, o: SignXmlOptions): string {
  if (typeof o.id !== 'string' || !ID_RE.test(o.id)) throw new RangeError('id must be an XML NCName usable in "#id"');
  const { integrityKey } = xpkKeys(o);
  const doc = parseProtectedXml(xml);
  const targets = [...walkElements(doc.root)].filter((e) => getAttr(e, 'Id') === o.id);
  if (targets.length !== 1) throw new RangeError('exactly one element must carry the Id to sign');
  if (targets[0] === doc.root) throw new RangeError('the document element cannot be signed (wrap it, as in the 9.3.5 example)');
  if ([...walkElements(doc.root)].some(isSignature)) throw new RangeError('the document already holds a ds:Signature');
  const base = toBuild(doc.root);
  const makeDocument = (signature: XmlBuildElement): XmlBuildElement => ({ ...base, children: [...(base.children ?? []), signature] });
  return signHmacEnvelope(makeDocument, o.id, { keyId: encodeBase64(o.xpkId), key: integrityKey, hmacOutputBits: HMAC_OUTPUT_BITS }, { indent: '' });
}

/** Verify and return the signed element the application should read; throws on anything else. */
export function verifyXmlElement(xml: string, o: VerifyXmlOptions): XmlElement {
  const doc = parseProtectedXml(xml);
  const all = [...walkElements(doc.root)];
  const signatures = all.filter(isSignature);
  if (signatures.length !== 1) malformed('the document must hold exactly one ds:Signature');
  const signature = signatures[0]!;
  if (signature.parent !== doc.root) malformed('ds:Signature must be a child of the document element');

  const ids = new Set<string>();
  for (const e of all) {
    const id = getAttr(e, 'Id');
    if (id === undefined) continue;
    if (ids.has(id)) badSignature('an Id value appears twice in the document');
    ids.add(id);
  }
  const named = all.filter((e) => e.ns === o.expectedElement.ns && e.local === o.expectedElement.local);
  if (named.length === 0) malformed(`no <${o.expectedElement.local}> in the document`);
  if (named.length > 1) badSignature(`<${o.expectedElement.local}> appears more than once`);
  const message = named[0]!;
  if (getAttr(message, 'Id') !== o.expectedId) badSignature(`<${o.expectedElement.local}> does not carry the expected Id`);

  let reference: string;
  try {
    reference = verifyHmacEnvelope({
      doc,
      message,
      signature,
      declaredKeyId: undefined,
      getKey: (keyName) => xpkKeys(lookupXpk(o.keyFor, keyName)).integrityKey,
      quirk: () => undefined,
    }).reference;
  } catch (e) {
    throw fromKmsError(e);
  }
  // The KMS core also accepts a reference to the whole document; our signer never makes one,
  // and the brief of 9.3.5 here is "the Reference is the element read", nothing wider.
  if (reference !== 'message') badSignature('the signature reference does not point at the element read');
  return message;
}
