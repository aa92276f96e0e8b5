/**
 * KMS responses, TS 33.179 Annex D.3 (KmsResponse with KmsInit / KmsKeyProv / KmsCertCache /
 * KmsError, schema D.3.4.1) and the security extension (SignedKmsResponse, schema D.3.4.2 and
 * the change request's Table D.3.1-1: TrK-ID, Signature-ID; NewTransportKey; key material as
 * XML Encryption EncryptedKey with kw-aes256).
 *
 * Order of work under the security extension, failing closed at each step:
 *   1. strict XML parse (no DTD, bounded);
 *   2. envelope shape: SignedKmsResponse = KmsResponse + ds:Signature;
 *   3. HMAC-SHA-256 verification with the InK/TrK named by Signature-ID / ds:KeyName;
 *   4. only then the message is read, and wrapped keys are unwrapped (RFC 3394) with TrKs
 *      from the caller's lookup. Nothing is returned unless every step succeeded.
 *
 * Key material lengths: kw-aes256 (RFC 3394) wraps whole 64-bit blocks, but the RSK (257
 * octets) and PVT (65) of parameter set 1 are not multiples of 8 and the spec says nothing
 * about padding. We zero-pad to the next multiple of 8 when wrapping, and when unwrapping
 * accept either the exact length or that zero padding, and nothing else (docs/kms-xml.md).
 */
import { aesKeyUnwrap, aesKeyWrap } from '../../crypto/index.js';
import { parseXml } from '../xml/parser.js';
import type { XmlLimits } from '../xml/parser.js';
import { serializeXml } from '../xml/serialize.js';
import type { XmlBuildElement, XmlBuildNode } from '../xml/serialize.js';
import { getAttr, trimXmlWhitespace } from '../xml/tree.js';
import type { XmlElement } from '../xml/tree.js';
import {
  ALG_KW_AES256,
  DSIG_NS,
  KEY_MATERIAL_LENGTHS,
  KMS_CERTIFICATE_VERSION,
  KMS_KEYSET_VERSION,
  KMS_MESSAGE_VERSION,
  KMS_NS,
  KMS_RESPONSE_VERSION,
  KMS_SECEXT_NS,
  TRANSPORT_KEY_LENGTH,
  XENC_NS,
  XSI_NS,
} from './constants.js';
import { checkLookupKey, signHmacEnvelope, verifyHmacEnvelope } from './dsig.js';
import type { TransportKeyLookup } from './dsig.js';
import { decodeBase64, decodeHexBinary, encodeBase64, encodeHexBinary, parseKmsDateTime, parseXsdBoolean, parseXsdInteger } from './encoding.js';
import { KmsError } from './errors.js';
import type { KmsServerError } from './errors.js';
import { KmsReader, malformed, textOnly } from './read.js';
import type { Fields } from './read.js';
import type {
  KmsCertCacheMessage,
  KmsCertificate,
  KmsCertificateRole,
  KmsDateTime,
  KmsInitMessage,
  KmsKeySet,
  KmsMessage,
  KmsResponse,
  KmsSignatureInfo,
  KmsTransportKey,
} from './types.js';

// ---------------------------------------------------------------------------------------------
// Parsing

export interface ParseKmsResponseOptions {
  /**
   * 'none': a plain KmsResponse is expected; a SignedKmsResponse or wrapped key material is
   * refused (ERR_KMS_UNSUPPORTED): this client holds no TrK to check it with.
   * 'required': a SignedKmsResponse with a valid signature is expected; a plain KmsResponse or
   * an unsigned wrapper is refused (ERR_KMS_BAD_SIGNATURE).
   */
  readonly security: 'none' | 'required';
  /** InK/TrK by identifier; required when `security` is 'required'. */
  readonly getTransportKey?: TransportKeyLookup;
  readonly limits?: XmlLimits;
  /**
   * Accept `<ds:KeyName>…</KeyName>` (end tag without the prefix), the typo of every
   * EncryptedKey in the CR examples. Not well-formed XML, so off by default.
   */
  readonly tolerateEndTagPrefixTypo?: boolean;
}

type KeyField = { readonly kind: 'plain'; readonly bytes: Uint8Array } | { readonly kind: 'wrapped'; readonly enc: EncryptedKeyRef };

interface EncryptedKeyRef {
  readonly keyName: string | undefined;
  readonly cipher: Uint8Array;
  readonly carriedKeyName: string | undefined;
}

type RawKeySet = Omit<KmsKeySet, 'userDecryptKey' | 'userSigningKeySSK' | 'userPubTokenPVT' | 'keysWrapped'> & {
  readonly keys: { readonly userDecryptKey: KeyField; readonly userSigningKeySSK: KeyField; readonly userPubTokenPVT: KeyField };
};

type RawMessage = KmsInitMessage | { readonly kind: 'keyprov'; readonly version?: string; readonly keySets: readonly RawKeySet[] } | KmsCertCacheMessage;

const isDsEl = (el: XmlElement, local: string): boolean => el.ns === DSIG_NS && el.local === local;
const isXenc = (el: XmlElement, local: string): boolean => el.ns === XENC_NS && el.local === local;

function optional<T>(v: string | undefined, f: (t: string) => T): T | undefined {
  return v === undefined ? undefined : f(v);
}

function readRole(v: string | undefined): KmsCertificateRole | undefined {
  if (v === undefined) return undefined;
  const t = trimXmlWhitespace(v);
  if (t !== 'Root' && t !== 'External') malformed('KmsCertificate Role must be Root or External');
  return t;
}

const CERT_FIELDS = [
  'KmsUri', 'CertUri', 'Issuer', 'ValidFrom', 'ValidTo', 'Revoked', 'UserIdFormat', 'UserKeyPeriod',
  'UserKeyOffset', 'PubEncKey', 'PubAuthKey', 'ParameterSet', 'KmsDomainList',
] as const;

function readCertificate(r: KmsReader, el: XmlElement, wrapper?: KmsCertificate['wrapper']): KmsCertificate {
  // Table D.3.1.2-1 spells the field UserIDFormat, the schema and examples UserIdFormat.
  const f = r.fields(el, [...CERT_FIELDS, 'UserIDFormat']);
  if (f.element('UserIDFormat') && f.element('UserIdFormat')) malformed('both UserIdFormat and UserIDFormat present');
  if (f.element('UserIDFormat')) r.quirk('UserIDFormat spelling (Table D.3.1.2-1) accepted for UserIdFormat');
  const userIdFormat = f.text('UserIdFormat') ?? f.text('UserIDFormat');
  if (userIdFormat === undefined) malformed('<KmsCertificate> lacks <UserIdFormat>');
  let kmsDomainList: string[] | undefined;
  const list = f.element('KmsDomainList');
  if (list) {
    const lf = r.fields(list, [], ['KmsDomain']);
    kmsDomainList = lf.list('KmsDomain').map(textOnly);
    if (kmsDomainList.length === 0) malformed('<KmsDomainList> is empty');
  }
  return {
    version: getAttr(el, 'Version'),
    role: readRole(getAttr(el, 'Role')),
    id: getAttr(el, 'Id'),
    certUri: f.text('CertUri'),
    kmsUri: f.requiredText('KmsUri'),
    issuer: f.text('Issuer'),
    validFrom: optional(f.text('ValidFrom'), (t) => parseKmsDateTime(t, 'KmsCertificate ValidFrom')),
    validTo: optional(f.text('ValidTo'), (t) => parseKmsDateTime(t, 'KmsCertificate ValidTo')),
    revoked: optional(f.text('Revoked'), (t) => parseXsdBoolean(t, 'KmsCertificate Revoked')),
    userIdFormat,
    userKeyPeriod: parseXsdInteger(f.requiredText('UserKeyPeriod'), 'UserKeyPeriod'),
    userKeyOffset: parseXsdInteger(f.requiredText('UserKeyOffset'), 'UserKeyOffset'),
    pubEncKey: decodeHexBinary(f.requiredText('PubEncKey'), 'PubEncKey'),
    pubAuthKey: decodeHexBinary(f.requiredText('PubAuthKey'), 'PubAuthKey'),
    parameterSet: optional(f.text('ParameterSet'), (t) => parseXsdInteger(t, 'ParameterSet')),
    kmsDomainList,
    wrapper,
  };
}

function readSignedCertificate(r: KmsReader, el: XmlElement): KmsCertificate {
  const f = r.fields(el, ['KmsCertificate']);
  const sigs = el.children.filter((c) => isDsEl(c, 'Signature'));
  if (sigs.length > 1) malformed('<SignedKmsCertificate> has more than one ds:Signature');
  const sig = sigs[0];
  let signatureAlgorithm: string | undefined;
  let signatureKeyName: string | undefined;
  if (sig) {
    const si = sig.children.find((c) => isDsEl(c, 'SignedInfo'));
    const sm = si?.children.find((c) => isDsEl(c, 'SignatureMethod'));
    signatureAlgorithm = sm ? getAttr(sm, 'Algorithm') : undefined;
    const ki = sig.children.find((c) => isDsEl(c, 'KeyInfo'));
    const kn = ki?.children.find((c) => isDsEl(c, 'KeyName'));
    signatureKeyName = kn ? textOnly(kn) : undefined;
  }
  return readCertificate(r, f.requiredElement('KmsCertificate'), { id: getAttr(el, 'Id'), signatureAlgorithm, signatureKeyName });
}

/** xenc:EncryptedKey with kw-aes256, ds:KeyInfo/ds:KeyName, CipherData/CipherValue. */
function readEncryptedKey(el: XmlElement): EncryptedKeyRef {
  let method: string | undefined;
  let keyName: string | undefined;
  let cipher: Uint8Array | undefined;
  let carriedKeyName: string | undefined;
  if (trimXmlWhitespace(el.text) !== '') malformed('<EncryptedKey> must not contain character data');
  for (const c of el.children) {
    if (isXenc(c, 'EncryptionMethod')) {
      if (method !== undefined) malformed('EncryptionMethod repeated');
      method = getAttr(c, 'Algorithm') ?? '';
    } else if (isDsEl(c, 'KeyInfo')) {
      if (keyName !== undefined) malformed('KeyInfo repeated');
      const names = c.children.filter((k) => isDsEl(k, 'KeyName'));
      if (names.length !== 1) malformed('EncryptedKey KeyInfo must hold one KeyName');
      keyName = textOnly(names[0]!);
    } else if (isXenc(c, 'CipherData')) {
      if (cipher !== undefined) malformed('CipherData repeated');
      const values = c.children.filter((k) => isXenc(k, 'CipherValue'));
      if (c.children.some((k) => isXenc(k, 'CipherReference'))) throw new KmsError('ERR_KMS_UNSUPPORTED', 'CipherReference is not supported');
      if (values.length !== 1) malformed('CipherData must hold one CipherValue');
      cipher = decodeBase64(textOnly(values[0]!), 'CipherValue');
    } else if (isXenc(c, 'CarriedKeyName')) {
      if (carriedKeyName !== undefined) malformed('CarriedKeyName repeated');
      carriedKeyName = textOnly(c);
    } else if (isXenc(c, 'EncryptionProperties') || isXenc(c, 'ReferenceList')) {
      // Informational parts of xenc:EncryptedKey: no bearing on the unwrap.
    } else {
      malformed(`unexpected <${c.local}> in EncryptedKey`);
    }
  }
  if (method === undefined) malformed('EncryptedKey lacks EncryptionMethod');
  if (method !== ALG_KW_AES256) throw new KmsError('ERR_KMS_UNSUPPORTED', 'only kw-aes256 key wrapping is supported');
  if (cipher === undefined) malformed('EncryptedKey lacks CipherData');
  return { keyName, cipher, carriedKeyName };
}

/** KeyContentType: hexBinary in clear, or (security extension) one xenc:EncryptedKey. */
function readKeyField(el: XmlElement): KeyField {
  if (el.children.length === 0) return { kind: 'plain', bytes: decodeHexBinary(el.text, el.local) };
  if (trimXmlWhitespace(el.text) !== '') malformed(`<${el.local}> mixes text and elements`);
  const enc = el.children.filter((c) => isXenc(c, 'EncryptedKey'));
  if (enc.length !== 1 || el.children.length !== 1) malformed(`<${el.local}> must hold one EncryptedKey`);
  return { kind: 'wrapped', enc: readEncryptedKey(enc[0]!) };
}

const KEYSET_FIELDS = [
  'KmsUri', 'CertUri', 'Issuer', 'UserUri', 'UserID', 'ValidFrom', 'ValidTo', 'KeyPeriodNo', 'Revoked',
  'UserDecryptKey', 'UserSigningKeySSK', 'UserPubTokenPVT',
] as const;

function readKeySet(r: KmsReader, el: XmlElement): RawKeySet {
  const f = r.fields(el, KEYSET_FIELDS);
  return {
    version: getAttr(el, 'Version'),
    id: getAttr(el, 'Id'),
    kmsUri: f.requiredText('KmsUri'),
    certUri: f.text('CertUri'),
    issuer: f.text('Issuer'),
    userUri: f.requiredText('UserUri'),
    userId: f.requiredText('UserID'),
    validFrom: optional(f.text('ValidFrom'), (t) => parseKmsDateTime(t, 'KmsKeySet ValidFrom')),
    validTo: optional(f.text('ValidTo'), (t) => parseKmsDateTime(t, 'KmsKeySet ValidTo')),
    keyPeriodNo: parseXsdInteger(f.requiredText('KeyPeriodNo'), 'KeyPeriodNo'),
    revoked: optional(f.text('Revoked'), (t) => parseXsdBoolean(t, 'KmsKeySet Revoked')),
    keys: {
      userDecryptKey: readKeyField(f.requiredElement('UserDecryptKey')),
      userSigningKeySSK: readKeyField(f.requiredElement('UserSigningKeySSK')),
      userPubTokenPVT: readKeyField(f.requiredElement('UserPubTokenPVT')),
    },
  };
}

function readNewTransportKeys(f: Fields): EncryptedKeyRef[] {
  return f.list('NewTransportKey').map((el) => {
    const field = readKeyField(el);
    if (field.kind !== 'wrapped') malformed('NewTransportKey must be an EncryptedKey');
    if (field.enc.carriedKeyName === undefined || field.enc.carriedKeyName === '') malformed('NewTransportKey lacks CarriedKeyName');
    return field.enc;
  });
}

interface RawResponse {
  readonly base: Omit<KmsResponse, 'message' | 'newTransportKeys' | 'signature' | 'quirks'>;
  readonly message: RawMessage | undefined;
  readonly newTransportKeys: readonly EncryptedKeyRef[];
  readonly error: KmsServerError | undefined;
}

const RESPONSE_FIELDS = ['KmsUri', 'UserUri', 'Time', 'KmsId', 'ClientReqUrl', 'KmsMessage', 'KmsError', 'TrK-ID', 'Signature-ID'] as const;

export function readServerError(r: KmsReader, el: XmlElement): KmsServerError {
  const f = r.fields(el, ['ErrorCode', 'ErrorMsg']);
  return { errorCode: parseXsdInteger(f.requiredText('ErrorCode'), 'ErrorCode'), errorMsg: f.requiredText('ErrorMsg') };
}

function readResponse(r: KmsReader, el: XmlElement): RawResponse {
  const f = r.fields(el, RESPONSE_FIELDS);
  const base = {
    version: getAttr(el, 'Version'),
    id: getAttr(el, 'Id'),
    kmsUri: f.requiredText('KmsUri'),
    userUri: f.requiredText('UserUri'),
    time: parseKmsDateTime(f.requiredText('Time'), 'KmsResponse Time'),
    kmsId: f.text('KmsId'),
    clientReqUrl: f.requiredText('ClientReqUrl'),
    trkId: f.text('TrK-ID'),
    signatureId: f.text('Signature-ID'),
  };
  const errEl = f.element('KmsError');
  const error = errEl ? readServerError(r, errEl) : undefined;
  let message: RawMessage | undefined;
  let newTransportKeys: EncryptedKeyRef[] = [];
  const msgEl = f.element('KmsMessage');
  if (msgEl) {
    if (trimXmlWhitespace(msgEl.text) !== '') malformed('<KmsMessage> must not contain character data');
    const kinds = msgEl.children.filter((c) => r.isKmsNs(c.ns));
    if (kinds.length > 1) malformed('<KmsMessage> holds more than one message');
    const m = kinds[0];
    if (m === undefined) {
      // Only foreign-namespace content (allowed by the schema): nothing for us.
    } else if (m.local === 'KmsInit') {
      const mf = r.fields(m, ['SignedKmsCertificate', 'KmsCertificate'], ['NewTransportKey']);
      const signed = mf.element('SignedKmsCertificate');
      const plain = mf.element('KmsCertificate');
      if ((signed === undefined) === (plain === undefined)) malformed('<KmsInit> must hold exactly one certificate');
      const certificate = signed ? readSignedCertificate(r, signed) : readCertificate(r, plain!);
      message = { kind: 'init', version: getAttr(m, 'Version'), certificate };
      newTransportKeys = readNewTransportKeys(mf);
    } else if (m.local === 'KmsKeyProv') {
      const mf = r.fields(m, [], ['KmsKeySet', 'NewTransportKey']);
      message = { kind: 'keyprov', version: getAttr(m, 'Version'), keySets: mf.list('KmsKeySet').map((k) => readKeySet(r, k)) };
      newTransportKeys = readNewTransportKeys(mf);
    } else if (m.local === 'KmsCertCache') {
      const certificates: KmsCertificate[] = [];
      if (trimXmlWhitespace(m.text) !== '') malformed('<KmsCertCache> must not contain character data');
      for (const c of m.children) {
        if (!r.isKmsNs(c.ns)) continue;
        if (c.local === 'SignedKmsCertificate') certificates.push(readSignedCertificate(r, c));
        else if (c.local === 'KmsCertificate') certificates.push(readCertificate(r, c));
        else malformed(`unexpected <${c.local}> in <KmsCertCache>`);
      }
      const cacheNum = optional(getAttr(m, 'CacheNum'), (t) => parseXsdInteger(t, 'CacheNum'));
      message = { kind: 'certcache', version: getAttr(m, 'Version'), cacheNum, certificates };
    } else {
      throw new KmsError('ERR_KMS_UNSUPPORTED', `KMS message <${m.local}> is not supported`);
    }
  }
  return { base, message, newTransportKeys, error };
}

function ceil8(n: number): number {
  return Math.max(16, Math.ceil(n / 8) * 8);
}

/** Undo the zero padding described in the file header; anything else is malformed. */
function stripKeyPadding(data: Uint8Array, expected: number, what: string): Uint8Array {
  if (data.length === expected) return data;
  if (data.length === ceil8(expected) && data.subarray(expected).every((b) => b === 0)) return data.slice(0, expected);
  return malformed(`${what} has an unexpected length after unwrapping`);
}

async function unwrap(enc: EncryptedKeyRef, trkId: string | undefined, getKey: TransportKeyLookup, what: string): Promise<Uint8Array> {
  if (enc.keyName !== undefined && trkId !== undefined && enc.keyName !== trkId) malformed(`${what}: KeyName and TrK-ID disagree`);
  const name = enc.keyName ?? trkId;
  if (name === undefined || name === '') malformed(`${what} names no transport key`);
  const found = getKey(name);
  if (found === undefined) throw new KmsError('ERR_KMS_UNKNOWN_TRANSPORT_KEY', `${what}: the transport key is not known`);
  const kek = checkLookupKey(found, 'transport key');
  if (kek.length !== TRANSPORT_KEY_LENGTH) throw new RangeError('a TrK for kw-aes256 must be 32 bytes');
  if (enc.cipher.length < 24 || enc.cipher.length % 8 !== 0) malformed(`${what}: wrapped key has a bad length`);
  try {
    return await aesKeyUnwrap(kek, enc.cipher);
  } catch (cause) {
    // After a valid signature this means the KMS wrapped under another key or the data is
    // corrupt; either way nothing of it may be used.
    throw new KmsError('ERR_KMS_MALFORMED', `${what}: AES key unwrap failed`, { cause });
  }
}

async function resolveKeys(
  raw: RawResponse,
  getKey: TransportKeyLookup | undefined,
): Promise<{ message: KmsMessage | undefined; newTransportKeys: KmsTransportKey[] }> {
  const trkId = raw.base.trkId;
  const needKey = (): TransportKeyLookup => {
    if (!getKey) throw new KmsError('ERR_KMS_UNSUPPORTED', 'wrapped key material requires the security extension');
    return getKey;
  };
  const field = async (k: KeyField, expected: number, what: string): Promise<Uint8Array> =>
    k.kind === 'plain' ? k.bytes : stripKeyPadding(await unwrap(k.enc, trkId, needKey(), what), expected, what);

  let message: KmsMessage | undefined;
  const m = raw.message;
  if (m?.kind === 'keyprov') {
    const keySets: KmsKeySet[] = [];
    for (const ks of m.keySets) {
      const { keys, ...rest } = ks;
      const kinds = [keys.userDecryptKey.kind, keys.userSigningKeySSK.kind, keys.userPubTokenPVT.kind];
      if (new Set(kinds).size !== 1) malformed('KmsKeySet mixes wrapped and clear key material');
      keySets.push({
        ...rest,
        userDecryptKey: await field(keys.userDecryptKey, KEY_MATERIAL_LENGTHS.userDecryptKey, 'UserDecryptKey'),
        userSigningKeySSK: await field(keys.userSigningKeySSK, KEY_MATERIAL_LENGTHS.userSigningKeySSK, 'UserSigningKeySSK'),
        userPubTokenPVT: await field(keys.userPubTokenPVT, KEY_MATERIAL_LENGTHS.userPubTokenPVT, 'UserPubTokenPVT'),
        keysWrapped: kinds[0] === 'wrapped',
      });
    }
    message = { kind: 'keyprov', version: m.version, keySets };
  } else {
    message = m;
  }
  const newTransportKeys: KmsTransportKey[] = [];
  for (const enc of raw.newTransportKeys) {
    const key = await unwrap(enc, trkId, needKey(), 'NewTransportKey');
    if (key.length !== TRANSPORT_KEY_LENGTH) malformed('NewTransportKey is not a 32-byte AES-256 key');
    newTransportKeys.push({ id: enc.carriedKeyName!, key });
  }
  return { message, newTransportKeys };
}

/**
 * Parse a KMS response body. Returns only after the whole message (and, under the security
 * extension, its signature and every unwrap) checked out; throws `KmsError` otherwise, with
 * ERR_KMS_ERROR_RESPONSE when the KMS sent a KmsError (after its signature verified).
 */
export async function parseKmsResponse(xml: string | Uint8Array, opts: ParseKmsResponseOptions): Promise<KmsResponse> {
  if (opts.security !== 'none' && opts.security !== 'required') throw new TypeError("security must be 'none' or 'required'");
  if (opts.security === 'required' && typeof opts.getTransportKey !== 'function') {
    throw new TypeError('getTransportKey is required with the security extension');
  }
  const r = new KmsReader();
  const doc = parseXml(xml, {
    ...opts.limits,
    allowEndTagPrefixMismatch: opts.tolerateEndTagPrefixTypo === true,
    onQuirk: (q) => r.quirk(q),
  });
  const root = doc.root;
  let messageEl: XmlElement;
  let signature: KmsSignatureInfo | undefined;
  if (r.isKms(root, 'SignedKmsResponse')) {
    if (opts.security === 'none') throw new KmsError('ERR_KMS_UNSUPPORTED', 'SignedKmsResponse received but the security extension is off');
    if (trimXmlWhitespace(root.text) !== '') malformed('<SignedKmsResponse> must not contain character data');
    const [inner, sig, ...extra] = root.children;
    if (!inner || !r.isKms(inner, 'KmsResponse') || extra.length > 0 || (sig !== undefined && !isDsEl(sig, 'Signature'))) {
      malformed('SignedKmsResponse must hold KmsResponse then ds:Signature');
    }
    if (!sig) throw new KmsError('ERR_KMS_BAD_SIGNATURE', 'SignedKmsResponse carries no signature');
    messageEl = inner;
    // Signature-ID is read from the still-unverified message only to pick the key; the verify
    // step then requires it to match ds:KeyName and the HMAC to hold.
    const sidEl = inner.children.filter((c) => r.isKms(c, 'Signature-ID'));
    if (sidEl.length > 1) malformed('<Signature-ID> occurs more than once');
    signature = verifyHmacEnvelope({
      doc,
      message: inner,
      signature: sig,
      declaredKeyId: sidEl[0] ? textOnly(sidEl[0]) : undefined,
      getKey: opts.getTransportKey!,
      quirk: (q) => r.quirk(q),
    });
  } else if (r.isKms(root, 'KmsResponse')) {
    if (opts.security === 'required') throw new KmsError('ERR_KMS_BAD_SIGNATURE', 'unsigned KmsResponse refused (security extension required)');
    messageEl = root;
  } else {
    malformed(`unexpected root element <${root.local}>`);
  }

  const raw = readResponse(r, messageEl);
  if (raw.error) {
    throw new KmsError('ERR_KMS_ERROR_RESPONSE', `KMS returned error ${raw.error.errorCode}`, { serverError: raw.error });
  }
  const resolved = await resolveKeys(raw, opts.security === 'required' ? opts.getTransportKey : undefined);
  return {
    ...raw.base,
    message: resolved.message,
    newTransportKeys: resolved.newTransportKeys,
    signature,
    quirks: r.quirks,
  };
}

// ---------------------------------------------------------------------------------------------
// Building (the dev KMS)

export type KmsKeySetInput = Omit<KmsKeySet, 'keysWrapped'>;
export type KmsMessageInput =
  | KmsInitMessage
  | { readonly kind: 'keyprov'; readonly version?: string; readonly keySets: readonly KmsKeySetInput[] }
  | KmsCertCacheMessage;

export interface KmsResponseInput {
  readonly kmsUri: string;
  readonly userUri: string;
  readonly time: KmsDateTime;
  readonly kmsId?: string;
  readonly clientReqUrl: string;
  /** `Id` of KmsResponse; with the security extension it defaults to "xmldoc" (the examples' name). */
  readonly id?: string;
  readonly message?: KmsMessageInput;
  /** A KmsError instead of (or besides) a message. */
  readonly error?: KmsServerError;
}

export interface KmsResponseSecurity {
  /** InK or TrK that signs (Signature-ID, ds:KeyName). */
  readonly signingKeyId: string;
  readonly signingKey: Uint8Array;
  /** HMACOutputLength; default 256 (not truncated). The CR examples use 128. */
  readonly hmacOutputBits?: number;
  /** TrK that wraps key material and new TrKs (TrK-ID). Without it key sets travel in clear. */
  readonly transportKeyId?: string;
  readonly transportKey?: Uint8Array;
  /** New TrKs to deliver (KmsInit or KmsKeyProv only), wrapped under `transportKey`. */
  readonly newTransportKeys?: readonly KmsTransportKey[];
}

export interface BuildKmsResponseOptions {
  readonly security?: KmsResponseSecurity;
  /** Indent unit; '' for one line (default two spaces). */
  readonly indent?: string;
}

const text = (name: string, value: string | undefined): XmlBuildElement[] => (value === undefined ? [] : [{ name, children: [value] }]);
const attrs = (pairs: Record<string, string | undefined>): [string, string][] =>
  Object.entries(pairs).filter((p): p is [string, string] => p[1] !== undefined);

function checkString(v: unknown, what: string): void {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string`);
}

function intText(n: number, what: string): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be a safe integer`);
  return String(n);
}

function certificateElement(c: KmsCertificate): XmlBuildElement {
  checkString(c.kmsUri, 'KmsCertificate kmsUri');
  // Schema order (D.3.4.1), which differs from the table and the examples (CertUri first).
  return {
    name: 'KmsCertificate',
    attrs: attrs({ Id: c.id, Version: c.version ?? KMS_CERTIFICATE_VERSION, Role: c.role }),
    children: [
      ...text('KmsUri', c.kmsUri),
      ...text('CertUri', c.certUri),
      ...text('Issuer', c.issuer),
      ...text('ValidFrom', c.validFrom?.text),
      ...text('ValidTo', c.validTo?.text),
      ...text('Revoked', c.revoked === undefined ? undefined : String(c.revoked)),
      ...text('UserIdFormat', c.userIdFormat),
      ...text('UserKeyPeriod', intText(c.userKeyPeriod, 'userKeyPeriod')),
      ...text('UserKeyOffset', intText(c.userKeyOffset, 'userKeyOffset')),
      ...text('PubEncKey', encodeHexBinary(c.pubEncKey)),
      ...text('PubAuthKey', encodeHexBinary(c.pubAuthKey)),
      ...text('ParameterSet', c.parameterSet === undefined ? undefined : intText(c.parameterSet, 'parameterSet')),
      ...(c.kmsDomainList === undefined ? [] : [{ name: 'KmsDomainList', children: c.kmsDomainList.flatMap((d) => text('KmsDomain', d)) }]),
    ],
  };
}

function padKey(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(ceil8(data.length));
  out.set(data);
  return out;
}

function encryptedKeyElement(keyName: string, wrapped: Uint8Array, carriedKeyName?: string): XmlBuildElement {
  return {
    name: 'EncryptedKey',
    attrs: [['xmlns', XENC_NS], ...(carriedKeyName === undefined ? [] : [['Type', `${XENC_NS}EncryptedKey`] as [string, string]])],
    children: [
      { name: 'EncryptionMethod', attrs: [['Algorithm', ALG_KW_AES256]] },
      { name: 'ds:KeyInfo', children: [{ name: 'ds:KeyName', children: [keyName] }] },
      { name: 'CipherData', children: [{ name: 'CipherValue', children: [encodeBase64(wrapped)] }] },
      ...text('CarriedKeyName', carriedKeyName),
    ],
  };
}

interface Wrapper {
  readonly keyId: string;
  readonly key: Uint8Array;
}

async function keySetElement(k: KmsKeySetInput, wrap: Wrapper | undefined): Promise<XmlBuildElement> {
  const keyEl = async (name: string, data: Uint8Array): Promise<XmlBuildElement> => {
    if (!(data instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
    if (!wrap) return { name, children: [encodeHexBinary(data)] };
    const wrapped = await aesKeyWrap(wrap.key, padKey(data));
    return { name, attrs: [['xsi:type', 'se:EncKeyContentType']], children: [encryptedKeyElement(wrap.keyId, wrapped)] };
  };
  return {
    name: 'KmsKeySet',
    attrs: attrs({ Id: k.id, Version: k.version ?? KMS_KEYSET_VERSION }),
    children: [
      ...text('KmsUri', k.kmsUri),
      ...text('CertUri', k.certUri),
      ...text('Issuer', k.issuer),
      ...text('UserUri', k.userUri),
      ...text('UserID', k.userId),
      ...text('ValidFrom', k.validFrom?.text),
      ...text('ValidTo', k.validTo?.text),
      ...text('KeyPeriodNo', intText(k.keyPeriodNo, 'keyPeriodNo')),
      ...text('Revoked', k.revoked === undefined ? undefined : String(k.revoked)),
      await keyEl('UserDecryptKey', k.userDecryptKey),
      await keyEl('UserSigningKeySSK', k.userSigningKeySSK),
      await keyEl('UserPubTokenPVT', k.userPubTokenPVT),
    ],
  };
}

async function newTransportKeyElements(ntks: readonly KmsTransportKey[], wrap: Wrapper | undefined): Promise<XmlBuildElement[]> {
  if (ntks.length === 0) return [];
  if (!wrap) throw new TypeError('newTransportKeys need transportKeyId/transportKey to wrap them');
  const out: XmlBuildElement[] = [];
  for (const t of ntks) {
    checkString(t.id, 'new transport key id');
    if (!(t.key instanceof Uint8Array) || t.key.length !== TRANSPORT_KEY_LENGTH) throw new RangeError('a new TrK must be 32 bytes');
    const wrapped = await aesKeyWrap(wrap.key, t.key);
    out.push({ name: 'se:NewTransportKey', children: [encryptedKeyElement(wrap.keyId, wrapped, t.id)] });
  }
  return out;
}

async function messageElement(m: KmsMessageInput, sec: KmsResponseSecurity | undefined, wrap: Wrapper | undefined): Promise<XmlBuildElement> {
  const ntks = sec?.newTransportKeys ?? [];
  const tk = (type: string): [string, string][] => (sec ? [['xsi:type', type]] : []);
  let body: XmlBuildElement;
  switch (m.kind) {
    case 'init':
      body = {
        name: 'KmsInit',
        attrs: [['Version', m.version ?? KMS_MESSAGE_VERSION], ...(ntks.length > 0 ? tk('se:KmsInitTkType') : [])],
        children: [certificateElement(m.certificate), ...(await newTransportKeyElements(ntks, wrap))],
      };
      break;
    case 'keyprov': {
      const sets: XmlBuildElement[] = [];
      for (const k of m.keySets) sets.push(await keySetElement(k, wrap));
      body = {
        name: 'KmsKeyProv',
        attrs: [['Version', m.version ?? KMS_MESSAGE_VERSION], ...(wrap || ntks.length > 0 ? tk('se:KmsKeyProvTkType') : [])],
        children: [...sets, ...(await newTransportKeyElements(ntks, wrap))],
      };
      break;
    }
    case 'certcache':
      if (ntks.length > 0) throw new TypeError('KmsCertCache cannot carry new transport keys');
      body = {
        name: 'KmsCertCache',
        attrs: attrs({ Version: m.version ?? KMS_MESSAGE_VERSION, CacheNum: m.cacheNum === undefined ? undefined : intText(m.cacheNum, 'cacheNum') }),
        children: m.certificates.map(certificateElement),
      };
      break;
    default:
      throw new TypeError('unknown KMS message kind');
  }
  return { name: 'KmsMessage', children: [body] };
}

/**
 * Build a KMS response body (dev KMS). With `security`, the result is a SignedKmsResponse whose
 * KmsResponse (Id "xmldoc" unless given) is signed with HMAC-SHA-256 under `signingKey`, and
 * whose key material and new TrKs are wrapped under `transportKey` when one is given.
 */
export async function buildKmsResponse(input: KmsResponseInput, options?: BuildKmsResponseOptions): Promise<string> {
  const sec = options?.security;
  for (const [k, v] of [['kmsUri', input.kmsUri], ['userUri', input.userUri], ['clientReqUrl', input.clientReqUrl]] as const) checkString(v, k);
  if (!input.time || typeof input.time.text !== 'string') throw new TypeError('time must be a KmsDateTime (see kmsDateTime())');
  parseKmsDateTime(input.time.text, 'time'); // refuse a malformed value now rather than at the client
  if (sec && (sec.transportKey === undefined) !== (sec.transportKeyId === undefined)) {
    throw new TypeError('transportKeyId and transportKey go together');
  }
  const wrap: Wrapper | undefined = sec?.transportKey && sec.transportKeyId !== undefined ? { keyId: sec.transportKeyId, key: sec.transportKey } : undefined;
  const indent = options?.indent;
  const id = input.id ?? (sec ? 'xmldoc' : undefined);
  const children: XmlBuildNode[] = [
    ...text('KmsUri', input.kmsUri),
    ...text('UserUri', input.userUri),
    ...text('Time', input.time.text),
    ...text('KmsId', input.kmsId),
    ...text('ClientReqUrl', input.clientReqUrl),
    ...(input.message ? [await messageElement(input.message, sec, wrap)] : []),
    ...(input.error
      ? [
          {
            name: 'KmsError',
            children: [...text('ErrorCode', intText(input.error.errorCode, 'errorCode')), ...text('ErrorMsg', input.error.errorMsg)],
          },
        ]
      : []),
    ...text('TrK-ID', wrap?.keyId),
    ...text('Signature-ID', sec?.signingKeyId),
  ];
  if (!sec) {
    const root: XmlBuildElement = { name: 'KmsResponse', attrs: attrs({ xmlns: KMS_NS, Id: id, Version: KMS_RESPONSE_VERSION }), children };
    return serializeXml(root, { indent });
  }
  if (id === undefined || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(id)) throw new TypeError('id must be an NCName');
  const kmsResponse: XmlBuildElement = { name: 'KmsResponse', attrs: [['xmlns', KMS_NS], ['Id', id], ['Version', KMS_RESPONSE_VERSION]], children };
  return signHmacEnvelope(
    (signature) => ({
      name: 'SignedKmsResponse',
      attrs: [
        ['xmlns', KMS_SECEXT_NS],
        ['xmlns:xsi', XSI_NS],
        ['xmlns:ds', DSIG_NS],
        ['xmlns:se', KMS_SECEXT_NS],
      ],
      children: [kmsResponse, signature],
    }),
    id,
    { keyId: sec.signingKeyId, key: sec.signingKey, hmacOutputBits: sec.hmacOutputBits },
    { indent },
  );
}
