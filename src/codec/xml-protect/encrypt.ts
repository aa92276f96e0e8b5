/**
 * TS 33.179 clause 9.3.4: confidentiality of XML simple content with XML Encryption 1.1, keyed
 * per 9.3.3 / F.1.4 by the confidentiality key derived from the XPK (the CSK between client and
 * server). The value child of an allowed mcpttinfo container is replaced by
 *
 *   <xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"
 *       xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#Content">
 *     <xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/>
 *     <ds:KeyInfo><ds:KeyName>base64(XPK-ID)</ds:KeyName></ds:KeyInfo>
 *     <xenc:CipherData><xenc:CipherValue>base64(IV ‖ ciphertext ‖ tag)</xenc:CipherValue></xenc:CipherData>
 *   </xenc:EncryptedData>
 *
 * and the container's `type` becomes "Encrypted". The plaintext is the UTF-8 of the value's
 * character data; IV is 12 random octets and the tag 16 (XML Encryption 1.1 section 5.2.4), no
 * AAD. Type, EncryptionMethod and KeyName are optional in 9.3.4, but we always write them and
 * require them when reading: without them we would have to guess the key and algorithm.
 */
import { aesGcmDecrypt, aesGcmEncrypt } from '../../crypto/aead.js';
import { xpkKeys } from '../../crypto/key-ids.js';
import { CryptoError } from '../../errors.js';
import { ALG_AES128_GCM, DSIG_NS, XENC_CONTENT, XENC_NS } from './constants.js';
import { randomBytes } from '../../util/webcrypto.js';
import { XML_INVALID_CHAR_RE } from '../xml/parser.js';
import { serializeXml } from '../xml/serialize.js';
import type { XmlBuildElement } from '../xml/serialize.js';
import { getAttr, isXmlWhitespace, trimXmlWhitespace, walkElements } from '../xml/tree.js';
import type { XmlElement } from '../xml/tree.js';
import {
  base64Field,
  encodeBase64,
  lookupXpk,
  malformed,
  parseProtectedXml,
  protectableEntry,
  toBuild,
  withAttr,
} from './common.js';
import type { XmlElementName, XpkLookup, XpkMaterial } from './common.js';
import { XmlProtectError } from './errors.js';

const IV_LENGTH = 12;
const TAG_LENGTH = 16;

export interface ProtectXmlOptions extends XpkMaterial {
  /** Containers whose value to encrypt; each must be on PROTECTABLE_ELEMENTS (9.3.2). */
  readonly elements: readonly XmlElementName[];
}

export interface UnprotectXmlOptions {
  readonly keyFor: XpkLookup;
}

function notAllowed(msg: string): never {
  throw new XmlProtectError('ERR_XML_PROTECT_NOT_ALLOWED', msg);
}

function prefixed(container: XmlElement, local: string): string {
  // The value child lives in the container's namespace; reuse the container's prefix so it
  // resolves the same way (EncryptedData's own xmlns:* are local to it).
  return container.prefix === '' ? local : `${container.prefix}:${local}`;
}

/** The value child of an allowed container: its only element, text-only, in its namespace. */
function valueOf(container: XmlElement, valueChild: string): XmlElement {
  const [v, ...more] = container.children;
  if (!v || more.length > 0 || !isXmlWhitespace(container.text) || v.ns !== container.ns || v.local !== valueChild) {
    malformed(`<${container.local}> must hold exactly one <${valueChild}>`);
  }
  if (v.children.length > 0) malformed(`<${valueChild}> must hold simple content only (9.3.4 NOTE)`);
  return v;
}

function encryptedDataElement(keyName: string, cipherValue: string): XmlBuildElement {
  return {
    name: 'xenc:EncryptedData',
    attrs: [
      ['xmlns:xenc', XENC_NS],
      ['xmlns:ds', DSIG_NS],
      ['Type', XENC_CONTENT],
    ],
    children: [
      { name: 'xenc:EncryptionMethod', attrs: [['Algorithm', ALG_AES128_GCM]] },
      { name: 'ds:KeyInfo', children: [{ name: 'ds:KeyName', children: [keyName] }] },
      { name: 'xenc:CipherData', children: [{ name: 'xenc:CipherValue', children: [cipherValue] }] },
    ],
  };
}

/**
 * Encrypt the value of every occurrence of the named containers. Naming an element outside the
 * 9.3.2 allow-list is ERR_XML_PROTECT_NOT_ALLOWED; a named container that is absent is skipped
 * (the same call serves documents with and without, e.g., a group ID).
 */
export async function protectXmlElements(xml: string, o: ProtectXmlOptions): Promise<string> {
  if (!Array.isArray(o.elements) || o.elements.length === 0) throw new RangeError('elements must name at least one element');
  for (const e of o.elements) {
    if (protectableEntry(e) === undefined) notAllowed(`{${e.ns}}${e.local} may not be encrypted (TS 33.179 9.3.2)`);
  }
  const { encryptionKey } = xpkKeys(o);
  const keyName = encodeBase64(o.xpkId);
  const doc = parseProtectedXml(xml);

  const replacements = new Map<XmlElement, XmlBuildElement>();
  for (const el of walkElements(doc.root)) {
    if (!o.elements.some((n) => n.ns === el.ns && n.local === el.local)) continue;
    const entry = protectableEntry(el)!;
    const type = getAttr(el, 'type');
    if (type !== undefined && type !== 'Normal') malformed(`<${el.local}> is already of type ${type}`);
    const value = valueOf(el, entry.valueChild);
    const iv = randomBytes(IV_LENGTH);
    const ct = await aesGcmEncrypt({ key: encryptionKey, iv, aad: new Uint8Array(0), plaintext: new TextEncoder().encode(value.text) });
    const cipher = new Uint8Array(IV_LENGTH + ct.length);
    cipher.set(iv);
    cipher.set(ct, IV_LENGTH);
    const base = toBuild(el, (x) => (x === value ? encryptedDataElement(keyName, encodeBase64(cipher)) : undefined));
    replacements.set(el, type === undefined ? base : withAttr(base, 'type', 'Encrypted'));
  }
  return serializeXml(toBuild(doc.root, (x) => replacements.get(x)), { indent: '' });
}

const isX = (el: XmlElement, ns: string, local: string): boolean => el.ns === ns && el.local === local;

function structural(el: XmlElement): void {
  if (!isXmlWhitespace(el.text)) malformed(`<${el.local}> must not contain character data`);
}

/** Reads one EncryptedData strictly; returns the key name and IV ‖ ciphertext ‖ tag. */
function readEncryptedData(ed: XmlElement): { keyName: string; cipher: Uint8Array } {
  structural(ed);
  for (const a of ed.attrs) {
    if (!(a.ns === '' && (a.local === 'Type' || a.local === 'Id'))) malformed(`unexpected attribute ${a.qname} on EncryptedData`);
  }
  if (getAttr(ed, 'Type') !== XENC_CONTENT) notAllowed('only EncryptedData of Type xmlenc#Content is accepted (9.3.4)');
  const [method, keyInfo, cipherData, ...rest] = ed.children;
  if (!method || !isX(method, XENC_NS, 'EncryptionMethod') || !keyInfo || !isX(keyInfo, DSIG_NS, 'KeyInfo') || !cipherData || !isX(cipherData, XENC_NS, 'CipherData') || rest.length > 0) {
    malformed('EncryptedData must hold EncryptionMethod, ds:KeyInfo and CipherData');
  }
  if (getAttr(method, 'Algorithm') !== ALG_AES128_GCM) notAllowed('only aes128-gcm is accepted (9.3.4)');
  if (method.children.length > 0) malformed('unexpected content in EncryptionMethod');
  structural(method);
  structural(keyInfo);
  const [keyNameEl, ...moreKeys] = keyInfo.children;
  if (!keyNameEl || !isX(keyNameEl, DSIG_NS, 'KeyName') || moreKeys.length > 0 || keyNameEl.children.length > 0) {
    malformed('ds:KeyInfo must hold one plain ds:KeyName');
  }
  structural(cipherData);
  const [cv, ...moreCv] = cipherData.children;
  if (!cv || !isX(cv, XENC_NS, 'CipherValue') || moreCv.length > 0 || cv.children.length > 0) {
    malformed('CipherData must hold one CipherValue (CipherReference is not supported)');
  }
  const cipher = base64Field(cv.text, 'CipherValue');
  if (cipher.length < IV_LENGTH + TAG_LENGTH) malformed('CipherValue is shorter than IV and tag');
  return { keyName: trimXmlWhitespace(keyNameEl.text), cipher };
}

/**
 * Decrypt every EncryptedData of the document. Each must sit, as the only content, in a
 * container on the 9.3.2 allow-list; one anywhere else is ERR_XML_PROTECT_NOT_ALLOWED. A
 * container marked type="Encrypted" without EncryptedData is malformed. The result has the
 * value child back and type="Normal", so the ordinary parsers (parseMcpttInfoXml) read it.
 */
export async function unprotectXmlElements(xml: string, o: UnprotectXmlOptions): Promise<string> {
  const doc = parseProtectedXml(xml);
  const found: { container: XmlElement; ed: XmlElement; valueChild: string }[] = [];
  for (const el of walkElements(doc.root)) {
    const entry = protectableEntry(el);
    if (entry !== undefined && getAttr(el, 'type') === 'Encrypted' && !el.children.some((c) => isX(c, XENC_NS, 'EncryptedData'))) {
      malformed(`<${el.local}> is marked Encrypted but holds no EncryptedData`);
    }
    if (!isX(el, XENC_NS, 'EncryptedData')) continue;
    const container = el.parent;
    const c = container === undefined ? undefined : protectableEntry(container);
    if (container === undefined || c === undefined) notAllowed(`EncryptedData inside <${container?.local ?? '(document)'}> is not allowed (TS 33.179 9.3.2)`);
    if (container.children.length !== 1 || !isXmlWhitespace(container.text)) malformed(`<${container.local}> must hold only the EncryptedData`);
    const type = getAttr(container, 'type');
    if (type !== undefined && type !== 'Encrypted') malformed(`<${container.local}> holds EncryptedData but is of type ${type}`);
    found.push({ container, ed: el, valueChild: c.valueChild });
  }

  const replacements = new Map<XmlElement, XmlBuildElement>();
  for (const { container, ed, valueChild } of found) {
    const { keyName, cipher } = readEncryptedData(ed);
    const material = lookupXpk(o.keyFor, keyName);
    const { encryptionKey } = xpkKeys(material);
    let plain: Uint8Array;
    try {
      plain = await aesGcmDecrypt({ key: encryptionKey, iv: cipher.subarray(0, IV_LENGTH), aad: new Uint8Array(0), ciphertext: cipher.subarray(IV_LENGTH) });
    } catch (e) {
      if (e instanceof CryptoError) throw new XmlProtectError('ERR_XML_PROTECT_AUTH_FAILED', 'EncryptedData does not authenticate under the named XPK', { cause: e });
      throw e;
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(plain);
    } catch (cause) {
      throw new XmlProtectError('ERR_XML_PROTECT_MALFORMED', 'decrypted content is not UTF-8', { cause });
    }
    if (XML_INVALID_CHAR_RE.test(text)) malformed('decrypted content holds a character XML cannot carry');
    const base = toBuild(container, (x) => (x === ed ? { name: prefixed(container, valueChild), children: [text] } : undefined));
    replacements.set(container, getAttr(container, 'type') === undefined ? base : withAttr(base, 'type', 'Normal'));
  }
  return serializeXml(toBuild(doc.root, (x) => replacements.get(x)), { indent: '' });
}
