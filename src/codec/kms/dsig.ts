/**
 * The XML-DSig profile of the KMS security extension (change request to TS 33.179 D.2.2 and
 * D.3.1, examples D.3.3.1–D.3.3.3): a `ds:Signature` beside the signed message inside
 * SignedKmsResponse / SignedKmsRequest, with
 *   CanonicalizationMethod  REC-xml-c14n-20010315 (inclusive, without comments)
 *   SignatureMethod         xmldsig-more#hmac-sha256, optional HMACOutputLength (examples: 128)
 *   Reference URI="#id"     one same-document reference, DigestMethod xmlenc#sha256
 *   KeyInfo/KeyName         the InK or TrK identifier (also in Signature-ID when present)
 *
 * What the HMAC covers, therefore: the HMAC-SHA-256 (key = InK or TrK octets) of the canonical
 * SignedInfo, which holds SHA-256 of the canonical form of the referenced element. With
 * `Id` on KmsResponse (v13 examples, and what we emit) that is the whole KmsResponse element
 * including KmsMessage and the namespace declarations it inherits; with `Id` on the
 * SignedKmsResponse wrapper (the CR examples) it is the whole document minus the Signature
 * (the enveloped-signature transform, which the examples omit but the reference cannot work
 * without). Anything else in the profile is refused (ERR_KMS_UNSUPPORTED) rather than guessed.
 *
 * Against signature-wrapping: the reference must resolve to exactly one element, and that
 * element must be the message the caller then reads (or the document root that contains it).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, utf8 } from '../../util/bytes.js';
import { canonicalize, C14N_10 } from '../xml/c14n.js';
import { parseXml } from '../xml/parser.js';
import { serializeXml } from '../xml/serialize.js';
import type { XmlBuildElement, XmlSerializeOptions } from '../xml/serialize.js';
import { getAttr, isXmlWhitespace, trimXmlWhitespace, walkElements } from '../xml/tree.js';
import type { XmlDocument, XmlElement } from '../xml/tree.js';
import { ALG_ENVELOPED_SIGNATURE, ALG_HMAC_SHA256, ALG_SHA256, DSIG_NS } from './constants.js';
import { decodeBase64, encodeBase64, parseXsdInteger } from './encoding.js';
import { KmsError } from './errors.js';
import type { KmsSignatureInfo } from './types.js';

/** Looks up an InK or TrK by its identifier; undefined when the caller does not hold it. */
export type TransportKeyLookup = (id: string) => Uint8Array | undefined;

const isDs = (el: XmlElement, local: string): boolean => el.ns === DSIG_NS && el.local === local;

function unsupported(msg: string): never {
  throw new KmsError('ERR_KMS_UNSUPPORTED', msg);
}

function malformed(msg: string): never {
  throw new KmsError('ERR_KMS_MALFORMED', msg);
}

function noText(el: XmlElement): void {
  if (!isXmlWhitespace(el.text)) malformed(`<${el.local}> must not contain character data`);
}

/** A key handed back by the caller's lookup: misuse (not bytes, too short) is a TypeError. */
export function checkLookupKey(key: unknown, what: string): Uint8Array {
  if (!(key instanceof Uint8Array)) throw new TypeError(`${what} lookup must return a Uint8Array or undefined`);
  if (key.length < 16) throw new RangeError(`${what} must be at least 16 bytes`);
  return key;
}

export interface VerifyEnvelopeInput {
  readonly doc: XmlDocument;
  /** The signed message element (KmsResponse or KmsRequest), a child of the root. */
  readonly message: XmlElement;
  /** The ds:Signature child of the root. */
  readonly signature: XmlElement;
  /** Signature-ID read from the message, if any (it must then agree with ds:KeyName). */
  readonly declaredKeyId: string | undefined;
  readonly getKey: TransportKeyLookup;
  readonly quirk: (what: string) => void;
}

/**
 * Verify the HMAC signature; returns how it was signed, or throws. Both the reference digest
 * and the HMAC are computed and compared in constant time before either result is looked at,
 * and a failure of either is the same ERR_KMS_BAD_SIGNATURE.
 */
export function verifyHmacEnvelope(input: VerifyEnvelopeInput): KmsSignatureInfo {
  const { doc, message, signature } = input;
  noText(signature);
  const [signedInfo, signatureValue, ...rest] = signature.children;
  if (!signedInfo || !isDs(signedInfo, 'SignedInfo') || !signatureValue || !isDs(signatureValue, 'SignatureValue')) {
    malformed('ds:Signature must start with SignedInfo and SignatureValue');
  }
  let keyInfo: XmlElement | undefined;
  for (const r of rest) {
    if (isDs(r, 'KeyInfo') && keyInfo === undefined) keyInfo = r;
    else if (isDs(r, 'Object')) unsupported('ds:Object is not used by the KMS signature profile');
    else malformed(`unexpected <${r.local}> in ds:Signature`);
  }

  noText(signedInfo);
  const [c14nMethod, sigMethod, ...refs] = signedInfo.children;
  if (!c14nMethod || !isDs(c14nMethod, 'CanonicalizationMethod') || !sigMethod || !isDs(sigMethod, 'SignatureMethod')) {
    malformed('SignedInfo must hold CanonicalizationMethod and SignatureMethod');
  }
  if (getAttr(c14nMethod, 'Algorithm') !== C14N_10 || c14nMethod.children.length > 0) {
    unsupported('only Canonical XML 1.0 (REC-xml-c14n-20010315) is supported');
  }
  if (getAttr(sigMethod, 'Algorithm') !== ALG_HMAC_SHA256) unsupported('only hmac-sha256 signatures are supported');
  let outputBits = 256;
  let lengthSeen = false;
  for (const c of sigMethod.children) {
    if (!isDs(c, 'HMACOutputLength') || lengthSeen) malformed('unexpected content in SignatureMethod');
    lengthSeen = true;
    const bits = parseXsdInteger(c.text, 'HMACOutputLength');
    // XML-DSig 1.1 (after CVE-2009-0217): at least half the hash output, i.e. 128 bits.
    if (bits < 128) throw new KmsError('ERR_KMS_BAD_SIGNATURE', 'HMACOutputLength below 128 bits is refused');
    if (bits > 256 || bits % 8 !== 0) unsupported('HMACOutputLength must be a multiple of 8 up to 256');
    outputBits = bits;
  }
  if (refs.length !== 1 || !isDs(refs[0]!, 'Reference')) unsupported('exactly one ds:Reference is supported');
  const ref = refs[0]!;
  noText(ref);
  const uri = getAttr(ref, 'URI');
  const m = uri === undefined ? null : /^#([A-Za-z_][A-Za-z0-9_.-]*)$/.exec(uri);
  if (!m) unsupported('the Reference URI must be a same-document "#id"');
  const targetId = m[1]!;
  let enveloped = false;
  const refKids = [...ref.children];
  if (refKids[0] && isDs(refKids[0], 'Transforms')) {
    const transforms = refKids.shift()!;
    noText(transforms);
    let c14nSeen = false;
    for (const t of transforms.children) {
      const alg = isDs(t, 'Transform') && t.children.length === 0 ? getAttr(t, 'Algorithm') : undefined;
      if (alg === ALG_ENVELOPED_SIGNATURE && !enveloped && !c14nSeen) enveloped = true;
      else if (alg === C14N_10 && !c14nSeen) c14nSeen = true;
      else unsupported('only the enveloped-signature and c14n transforms are supported');
    }
  }
  const [digestMethod, digestValueEl, ...extra] = refKids;
  if (!digestMethod || !isDs(digestMethod, 'DigestMethod') || !digestValueEl || !isDs(digestValueEl, 'DigestValue') || extra.length > 0) {
    malformed('Reference must hold DigestMethod and DigestValue');
  }
  if (getAttr(digestMethod, 'Algorithm') !== ALG_SHA256) unsupported('only SHA-256 digests are supported');
  const digestValue = decodeBase64(digestValueEl.text, 'DigestValue');
  const signatureBytes = decodeBase64(signatureValue.text, 'SignatureValue');

  // Resolve the reference: exactly one element may carry the Id (no ID-ness from a DTD here;
  // the schemas declare `Id` as a plain attribute, so every `Id` counts).
  let target: XmlElement | undefined;
  let count = 0;
  for (const e of walkElements(doc.root)) {
    if (getAttr(e, 'Id') === targetId) {
      target = e;
      count++;
    }
  }
  if (count > 1) malformed(`Id "${targetId}" is not unique`);
  let reference: KmsSignatureInfo['reference'];
  if (target === message) reference = 'message';
  else if (target === doc.root && signature.parent === doc.root && message.parent === doc.root) {
    reference = 'document';
    if (!enveloped) input.quirk('Reference to the signed wrapper without the enveloped-signature transform (CR example form); applied implicitly');
  } else {
    throw new KmsError('ERR_KMS_BAD_SIGNATURE', 'the signature reference does not cover the message');
  }

  let keyName: string | undefined;
  if (keyInfo) {
    for (const k of keyInfo.children) {
      if (isDs(k, 'KeyName')) {
        if (keyName !== undefined || k.children.length > 0) malformed('ds:KeyInfo must hold one plain KeyName');
        keyName = trimXmlWhitespace(k.text);
      }
    }
  }
  const declared = input.declaredKeyId;
  if (declared !== undefined && keyName !== undefined && declared !== keyName) malformed('Signature-ID and ds:KeyName disagree');
  const keyId = declared ?? keyName;
  if (keyId === undefined || keyId === '') malformed('the signature names no key (Signature-ID or ds:KeyName)');
  const found = input.getKey(keyId);
  if (found === undefined) throw new KmsError('ERR_KMS_UNKNOWN_TRANSPORT_KEY', 'the signing key is not known');
  const key = checkLookupKey(found, 'transport key');

  const subset = canonicalize(target, reference === 'document' ? { exclude: signature } : undefined);
  const digest = sha256(utf8(subset));
  const mac = hmac(sha256, key, utf8(canonicalize(signedInfo))).subarray(0, outputBits / 8);
  const digestOk = equalBytes(digest, digestValue);
  const macOk = equalBytes(mac, signatureBytes);
  if (!(digestOk && macOk)) throw new KmsError('ERR_KMS_BAD_SIGNATURE', 'KMS message signature does not verify');
  return { keyId, hmacOutputBits: outputBits, reference };
}

export interface HmacSignOptions {
  /** Identifier of the InK or TrK, written to ds:KeyName (and Signature-ID by the callers). */
  readonly keyId: string;
  readonly key: Uint8Array;
  /** Truncate the HMAC (HMACOutputLength); default 256 = untruncated, no element written. */
  readonly hmacOutputBits?: number;
}

function signatureElement(targetId: string, digest: string, value: string, opts: HmacSignOptions): XmlBuildElement {
  const bits = opts.hmacOutputBits ?? 256;
  const sigMethodKids = bits === 256 ? [] : [{ name: 'HMACOutputLength', children: [String(bits)] }];
  return {
    name: 'Signature',
    attrs: [['xmlns', DSIG_NS]],
    children: [
      {
        name: 'SignedInfo',
        children: [
          { name: 'CanonicalizationMethod', attrs: [['Algorithm', C14N_10]] },
          { name: 'SignatureMethod', attrs: [['Algorithm', ALG_HMAC_SHA256]], children: sigMethodKids },
          {
            name: 'Reference',
            attrs: [['URI', `#${targetId}`]],
            children: [
              { name: 'DigestMethod', attrs: [['Algorithm', ALG_SHA256]] },
              { name: 'DigestValue', children: digest === '' ? [] : [digest] },
            ],
          },
        ],
      },
      { name: 'SignatureValue', children: value === '' ? [] : [value] },
      { name: 'KeyInfo', children: [{ name: 'KeyName', children: [opts.keyId] }] },
    ],
  };
}

/**
 * Sign a document whose message element carries `Id=targetId` and whose root holds the
 * Signature as a direct child: `makeDocument(signature)` must return the same tree each time
 * apart from the signature it is given. The digest and HMAC are computed over our own parse of
 * our own serialization, i.e. over exactly what a verifier will canonicalize.
 */
export function signHmacEnvelope(
  makeDocument: (signature: XmlBuildElement) => XmlBuildElement,
  targetId: string,
  opts: HmacSignOptions,
  serializeOptions?: XmlSerializeOptions,
): string {
  if (!(opts.key instanceof Uint8Array) || opts.key.length < 16) throw new RangeError('signing key must be at least 16 bytes');
  const bits = opts.hmacOutputBits ?? 256;
  if (!Number.isInteger(bits) || bits < 128 || bits > 256 || bits % 8 !== 0) {
    throw new RangeError('hmacOutputBits must be a multiple of 8 from 128 to 256');
  }
  // Our own output may be larger than what we accept from the network.
  const limits = { maxBytes: 64 * 1024 * 1024, maxElements: 10_000_000 };
  const locate = (xml: string): { target: XmlElement; signature: XmlElement } => {
    const doc = parseXml(xml, limits);
    const targets = [...walkElements(doc.root)].filter((e) => getAttr(e, 'Id') === targetId);
    const signature = doc.root.children.find((c) => isDs(c, 'Signature'));
    if (targets.length !== 1 || !signature) throw new Error('internal: signed document shape');
    return { target: targets[0]!, signature };
  };
  const first = locate(serializeXml(makeDocument(signatureElement(targetId, '', '', opts)), serializeOptions));
  const exclude = first.target === first.signature.parent ? { exclude: first.signature } : undefined;
  const digest = encodeBase64(sha256(utf8(canonicalize(first.target, exclude))));
  const second = locate(serializeXml(makeDocument(signatureElement(targetId, digest, '', opts)), serializeOptions));
  const signedInfo = second.signature.children[0]!;
  const mac = hmac(sha256, opts.key, utf8(canonicalize(signedInfo))).subarray(0, bits / 8);
  return serializeXml(makeDocument(signatureElement(targetId, digest, encodeBase64(mac), opts)), serializeOptions);
}
