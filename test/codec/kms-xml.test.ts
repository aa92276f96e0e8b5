/**
 * KMS messages of TS 33.179 Annex D with the security extension of the change request:
 * the CR's three XML examples (verbatim in test/vectors/kms, with their placeholders filled by
 * our own test keys), documents signed and wrapped by the JDK (oracle/), tampering, missing
 * fields, error responses, request URIs and signed requests, and build → parse round trips.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aesKeyWrap } from '../../src/crypto/index.js';
import {
  buildKmsRequest,
  buildKmsResponse,
  decodeBase64,
  decodeHexBinary,
  encodeBase64,
  isKmsError,
  kmsDateTime,
  kmsRequestPath,
  ntpTimestamp,
  parseKmsDateTime,
  parseKmsRequest,
  parseKmsRequestPath,
  parseKmsResponse,
} from '../../src/codec/kms/index.js';
import type {
  KmsCertificate,
  KmsErrorCode,
  KmsKeySetInput,
  KmsResponseInput,
  KmsResponseSecurity,
  ParseKmsResponseOptions,
} from '../../src/codec/kms/index.js';
import { canonicalize, parseXml, walkElements } from '../../src/codec/xml/index.js';
import type { XmlElement } from '../../src/codec/xml/index.js';
import { hexToBytes } from '../../src/util/bytes.js';

const VECTORS = resolve(fileURLToPath(new URL('.', import.meta.url)), '../vectors/kms');
const vector = (name: string): string => readFileSync(resolve(VECTORS, name), 'utf8');
const javaData = JSON.parse(vector('java-vectors.json')) as { transportKeys: Record<string, string>; rsk: string; ssk: string; pvt: string };

const TRK: Record<string, Uint8Array> = Object.fromEntries(Object.entries(javaData.transportKeys).map(([k, v]) => [k, hexToBytes(v)]));
const lookup = (id: string): Uint8Array | undefined => TRK[id];
const RSK = hexToBytes(javaData.rsk);
const SSK = hexToBytes(javaData.ssk);
const PVT = hexToBytes(javaData.pvt);
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const XENC = 'http://www.w3.org/2001/04/xmlenc#';

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<KmsErrorCode | 'ok' | 'other'> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'ok';
  } catch (e) {
    return isKmsError(e) ? e.code : 'other';
  }
}

const required = (getTransportKey = lookup): ParseKmsResponseOptions => ({ security: 'required', getTransportKey });
const tolerant = (getTransportKey = lookup): ParseKmsResponseOptions => ({ ...required(getTransportKey), tolerateEndTagPrefixTypo: true });

// ---------------------------------------------------------------------------------------------
// The CR examples carry placeholders (DigestValue "nnnn", SignatureValue and CipherValue
// "DEADBEEF") and no keys. We fill them with values computed under our test TrKs, editing
// only those element spans of the verbatim text, so everything else the examples contain
// (typos included) reaches the parser as printed.

function replaceSpans(src: string, edits: { el: XmlElement; text: string }[]): string {
  let out = src;
  for (const e of [...edits].sort((a, b) => b.el.span.start - a.el.span.start)) {
    out = out.slice(0, e.el.span.start) + `<${e.el.qname}>${e.text}</${e.el.qname}>` + out.slice(e.el.span.end);
  }
  return out;
}

const pad8 = (b: Uint8Array): Uint8Array => {
  const o = new Uint8Array(Math.ceil(b.length / 8) * 8);
  o.set(b);
  return o;
};

async function fillCrExample(src: string): Promise<string> {
  const opts = { allowEndTagPrefixMismatch: true };
  // 1. key material and new TrKs, wrapped under the TrK that each EncryptedKey names
  let doc = parseXml(src, opts);
  const edits: { el: XmlElement; text: string }[] = [];
  for (const ek of [...walkElements(doc.root)].filter((e) => e.ns === XENC && e.local === 'EncryptedKey')) {
    const holder = ek.parent!.local;
    const kek = TRK[[...walkElements(ek)].find((e) => e.local === 'KeyName')!.text]!;
    const carried = ek.children.find((c) => c.local === 'CarriedKeyName')?.text;
    const data = holder === 'UserDecryptKey' ? RSK : holder === 'UserSigningKeySSK' ? SSK : holder === 'UserPubTokenPVT' ? PVT : TRK[carried!]!;
    const cv = [...walkElements(ek)].find((e) => e.local === 'CipherValue')!;
    edits.push({ el: cv, text: encodeBase64(await aesKeyWrap(kek, pad8(data))) });
  }
  src = replaceSpans(src, edits);
  // 2. the reference digest: Id="xmldoc" sits on the root, so the root minus the Signature
  doc = parseXml(src, opts);
  const sig = doc.root.children.find((c) => c.ns === DSIG && c.local === 'Signature')!;
  const digestEl = [...walkElements(sig)].find((e) => e.local === 'DigestValue')!;
  src = replaceSpans(src, [{ el: digestEl, text: encodeBase64(sha256(new TextEncoder().encode(canonicalize(doc.root, { exclude: sig })))) }]);
  // 3. HMAC-SHA-256 over the canonical SignedInfo, truncated to HMACOutputLength = 128
  doc = parseXml(src, opts);
  const sig2 = doc.root.children.find((c) => c.ns === DSIG && c.local === 'Signature')!;
  const key = TRK[[...walkElements(sig2)].find((e) => e.local === 'KeyName')!.text]!;
  const mac = hmac(sha256, key, new TextEncoder().encode(canonicalize(sig2.children[0]!))).subarray(0, 16);
  return replaceSpans(src, [{ el: sig2.children.find((c) => c.local === 'SignatureValue')!, text: encodeBase64(mac) }]);
}

const CR_QUIRKS = [
  'namespace name " urn:3gpp:ns:mcsecKMSInterface:1.0" has surrounding white space; read as "urn:3gpp:ns:mcsecKMSInterface:1.0"',
  'Reference to the signed wrapper without the enveloped-signature transform (CR example form); applied implicitly',
];

describe('CR examples D.3.3.1–D.3.3.3 (verbatim)', () => {
  it.each(['cr-d3.3.1-kms-init.xml', 'cr-d3.3.2-kms-keyprov.xml'])('%s is not well-formed: <ds:KeyName>…</KeyName>', async (name) => {
    expect(await codeOf(parseKmsResponse(vector(name), required()))).toBe('ERR_KMS_MALFORMED');
  });

  it('their placeholder signatures do not verify, and unknown keys are reported as such', async () => {
    expect(await codeOf(parseKmsResponse(vector('cr-d3.3.3-kms-certcache.xml'), required()))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await codeOf(parseKmsResponse(vector('cr-d3.3.1-kms-init.xml'), tolerant()))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await codeOf(parseKmsResponse(vector('cr-d3.3.1-kms-init.xml'), tolerant(() => undefined)))).toBe('ERR_KMS_UNKNOWN_TRANSPORT_KEY');
  });

  it('D.3.3.1 KmsInit: root certificate and a new TrK, signed with the bootstrap TrK', async () => {
    const r = await parseKmsResponse(await fillCrExample(vector('cr-d3.3.1-kms-init.xml')), tolerant());
    expect(r).toMatchObject({
      version: '1.0.0',
      kmsUri: 'kms.example.org',
      userUri: 'example:user@example.org',
      time: { text: '2014-01-26T10:05:52', epochMs: Date.UTC(2014, 0, 26, 10, 5, 52) },
      kmsId: 'KMSProvider12345',
      clientReqUrl: 'http://kms.example.org/keymanagement/identity/v1/init',
      signature: { keyId: 'tk.11.user@example.org', hmacOutputBits: 128, reference: 'document' },
    });
    expect(r.message?.kind).toBe('init');
    const cert = (r.message as { certificate: KmsCertificate }).certificate;
    expect(cert).toEqual({
      version: '1.1.0',
      role: 'Root',
      certUri: 'cert1.kms.example.org',
      kmsUri: 'kms.example.org',
      issuer: 'www.example.org',
      validFrom: { text: '2000-01-26T00:00:00', epochMs: Date.UTC(2000, 0, 26) },
      validTo: { text: '2025-01-26T23:59:59', epochMs: Date.UTC(2025, 0, 26, 23, 59, 59) },
      revoked: false,
      userIdFormat: '2',
      userKeyPeriod: 2592000,
      userKeyOffset: 0,
      pubEncKey: new Uint8Array([0x02, 0x9a, 0x2f]),
      pubAuthKey: new Uint8Array([0x02, 0x9a, 0x2f]),
      parameterSet: 1,
      kmsDomainList: ['sec1.example.org', 'sec2.example.org'],
    });
    expect(r.newTransportKeys).toEqual([{ id: 'tk.12.user@example.org', key: TRK['tk.12.user@example.org'] }]);
    expect(r.quirks).toEqual(
      expect.arrayContaining([
        ...CR_QUIRKS,
        'placeholder namespace "TOBEDEFINED" accepted',
        'end tag </KeyName> closes <ds:KeyName> (prefix mismatch tolerated)',
      ]),
    );
  });

  it('D.3.3.2 KmsKeyProv: two key sets (wrapped) and a new TrK', async () => {
    const r = await parseKmsResponse(await fillCrExample(vector('cr-d3.3.2-kms-keyprov.xml')), tolerant());
    expect(r.signature).toEqual({ keyId: 'tk.12.user@example.org', hmacOutputBits: 128, reference: 'document' });
    expect(r.clientReqUrl).toBe('http://kms.example.org/keymanagement/identity/v1/keyprov');
    expect(r.time.text).toBe('2014-01-26T10:07:14');
    if (r.message?.kind !== 'keyprov') throw new Error('keyprov expected');
    const [a, b] = r.message.keySets;
    const common = {
      version: '1.1.0',
      kmsUri: 'kms.example.org',
      certUri: 'cert1.kms.example.org',
      issuer: 'www.example.org',
      validFrom: { text: '2015-12-30T00:00:00', epochMs: Date.UTC(2015, 11, 30) },
      validTo: { text: '2016-03-29T23:59:59', epochMs: Date.UTC(2016, 2, 29, 23, 59, 59) },
      keyPeriodNo: 1514,
      revoked: false,
      userDecryptKey: RSK,
      userSigningKeySSK: SSK,
      userPubTokenPVT: PVT,
      keysWrapped: true,
    };
    expect(a).toEqual({ ...common, userUri: 'example:user@example.org', userId: '0123456789ABCDEF0123456789ABCDEF' });
    // Tracked-change residue and a 17-octet UserID, surfaced as printed for the validator.
    expect(b).toEqual({ ...common, userUri: 'example:user.psuedonympseudonym@example.org', userId: '0011223344556677889900AABBCCDDEEFF' });
    expect(r.message.keySets).toHaveLength(2);
    expect(r.newTransportKeys).toEqual([{ id: 'tk.13.user@example.org', key: TRK['tk.13.user@example.org'] }]);
    expect(r.quirks).toEqual(expect.arrayContaining([...CR_QUIRKS, '<ValidTo> repeated with the same value in <KmsKeySet>; one kept']));
  });

  it('D.3.3.3 KmsCertCache: two external certificates in SignedKmsCertificate wrappers', async () => {
    const r = await parseKmsResponse(await fillCrExample(vector('cr-d3.3.3-kms-certcache.xml')), required());
    expect(r.signature?.keyId).toBe('tk.13.user@example.org');
    if (r.message?.kind !== 'certcache') throw new Error('certcache expected');
    expect(r.message.version).toBe('1.0.0');
    expect(r.message.cacheNum).toBeUndefined();
    const [c1, c2] = r.message.certificates;
    const ecdsa = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
    expect(c1).toMatchObject({
      role: 'External',
      certUri: 'cert2.kms.example.org',
      kmsUri: 'kms.example.org',
      validTo: { text: '2100-01-26T23:59:59' },
      userKeyPeriod: 2592000,
      userKeyOffset: 0,
      kmsDomainList: ['sec3.example.org'],
      wrapper: { id: 'cert1', signatureAlgorithm: ecdsa, signatureKeyName: 'cert1.kms.example.org' },
    });
    expect(c2).toMatchObject({
      certUri: 'cert1.kms.another.example.org',
      kmsUri: 'kms.another.example.org',
      issuer: 'www.another.example.org',
      userKeyPeriod: 604800,
      userKeyOffset: 432000,
      parameterSet: 1,
      kmsDomainList: ['another.example.org'],
      wrapper: { id: 'cert2', signatureAlgorithm: ecdsa },
    });
    expect(r.newTransportKeys).toEqual([]);
  });

  it('refuses the filled examples without the end-tag tolerance, and a wrong TrK', async () => {
    const filled = await fillCrExample(vector('cr-d3.3.1-kms-init.xml'));
    expect(await codeOf(parseKmsResponse(filled, required()))).toBe('ERR_KMS_MALFORMED');
    const wrong = (id: string): Uint8Array | undefined => (id === 'tk.11.user@example.org' ? TRK['tk.13.user@example.org'] : TRK[id]);
    expect(await codeOf(parseKmsResponse(filled, tolerant(wrong)))).toBe('ERR_KMS_BAD_SIGNATURE');
  });
});

describe('documents signed and wrapped by the JDK (oracle/)', () => {
  it('KmsKeyProv referencing KmsResponse, explicit HMACOutputLength 256', async () => {
    const r = await parseKmsResponse(vector('java-keyprov.xml'), required());
    expect(r.signature).toEqual({ keyId: 'tk.12.user@example.org', hmacOutputBits: 256, reference: 'message' });
    expect(r.trkId).toBe('tk.12.user@example.org');
    expect(r.signatureId).toBe('tk.12.user@example.org');
    if (r.message?.kind !== 'keyprov') throw new Error('keyprov expected');
    expect(r.message.keySets[0]).toMatchObject({ userDecryptKey: RSK, userSigningKeySSK: SSK, userPubTokenPVT: PVT, keysWrapped: true, keyPeriodNo: 1514 });
    expect(r.newTransportKeys).toEqual([{ id: 'tk.13.user@example.org', key: TRK['tk.13.user@example.org'] }]);
    expect(r.quirks).toEqual([]);
  });

  it('KmsInit referencing the wrapper with an explicit enveloped-signature transform', async () => {
    const r = await parseKmsResponse(vector('java-init-enveloped.xml'), required());
    expect(r.signature).toEqual({ keyId: 'tk.11.user@example.org', hmacOutputBits: 256, reference: 'document' });
    expect(r.message?.kind).toBe('init');
    expect(r.newTransportKeys[0]?.id).toBe('tk.12.user@example.org');
    expect(r.quirks).toEqual([]);
  });

  it('KmsCertCache with CacheNum and a zoned Time', async () => {
    const r = await parseKmsResponse(vector('java-certcache.xml'), required());
    expect(r.time).toEqual({ text: '2024-02-23T08:39:14+01:00', epochMs: Date.UTC(2024, 1, 23, 7, 39, 14) });
    expect(r.message).toMatchObject({ kind: 'certcache', cacheNum: 8 });
  });

  it('SignedKmsRequest with ClientError', () => {
    const q = parseKmsRequest(vector('java-request.xml'), { getTransportKey: lookup });
    expect(q).toMatchObject({
      userUri: 'sip:alice@example.org',
      kmsUri: 'kms.example.org',
      clientId: 'client-1',
      deviceId: 'device-1',
      clientError: { errorCode: 3, errorMsg: 'previous unwrap failed' },
      trkId: 'tk.12.user@example.org',
      signature: { keyId: 'tk.12.user@example.org', reference: 'message' },
    });
    expect(q.clientReqUrl).toBe(`https://kms.example.org${kmsRequestPath({ kind: 'keyprov', identity: 'sip:alice@example.org', time: 0xd6b4323200000000n })}`);
  });
});

// ---------------------------------------------------------------------------------------------
// Our own messages

const TK1 = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const TK2 = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
const INK = Uint8Array.from({ length: 32 }, (_, i) => 0x40 ^ i);
const ownKeys: Record<string, Uint8Array> = { 'tk.1': TK1, 'ink.1': INK };
const ownLookup = (id: string): Uint8Array | undefined => ownKeys[id];

const CERT: KmsCertificate = {
  version: '1.1.0',
  role: 'Root',
  kmsUri: 'kms.example.org',
  certUri: 'cert1.kms.example.org',
  issuer: 'Example & Co <KMS>',
  validFrom: kmsDateTime(Date.UTC(2024, 0, 1)),
  validTo: kmsDateTime(Date.UTC(2034, 0, 1)),
  revoked: false,
  userIdFormat: '2',
  userKeyPeriod: 2592000,
  userKeyOffset: 0,
  pubEncKey: Uint8Array.from({ length: 257 }, (_, i) => (i * 11) & 0xff),
  pubAuthKey: Uint8Array.from({ length: 65 }, (_, i) => (i * 13) & 0xff),
  parameterSet: 1,
  kmsDomainList: ['example.org', 'sub.example.org'],
};
const KEYSET: KmsKeySetInput = {
  version: '1.1.0',
  kmsUri: 'kms.example.org',
  certUri: 'cert1.kms.example.org',
  userUri: 'sip:alice@example.org',
  userId: 'AA'.repeat(32),
  validFrom: kmsDateTime(Date.UTC(2024, 1, 1)),
  validTo: kmsDateTime(Date.UTC(2024, 2, 1)),
  keyPeriodNo: 1514,
  revoked: false,
  userDecryptKey: RSK,
  userSigningKeySSK: SSK,
  userPubTokenPVT: PVT,
};
const BASE = {
  kmsUri: 'kms.example.org',
  userUri: 'sip:alice@example.org',
  time: kmsDateTime(Date.UTC(2024, 1, 23, 8, 39, 14)),
  kmsId: 'KMSProvider12345',
  clientReqUrl: 'https://kms.example.org/keymanagement/identity/v1/keyprov',
} satisfies Partial<KmsResponseInput>;
const SEC: KmsResponseSecurity = { signingKeyId: 'tk.1', signingKey: TK1, transportKeyId: 'tk.1', transportKey: TK1 };

const signedKeyProv = (sec: KmsResponseSecurity = SEC): Promise<string> =>
  buildKmsResponse({ ...BASE, message: { kind: 'keyprov', version: '1.0.0', keySets: [KEYSET, { ...KEYSET, userUri: 'sip:bob@example.org' }] } }, { security: sec });

describe('round trips: buildKmsResponse → parseKmsResponse', () => {
  const messages = [
    { kind: 'init', version: '1.0.0', certificate: CERT },
    { kind: 'keyprov', version: '1.0.0', keySets: [KEYSET] },
    { kind: 'certcache', version: '1.0.0', cacheNum: 12345, certificates: [CERT, { ...CERT, role: 'External', kmsUri: 'kms.other.org', kmsDomainList: undefined }] },
  ] as const;

  it.each(messages)('without the security extension: $kind', async (message) => {
    const xml = await buildKmsResponse({ ...BASE, message });
    const r = await parseKmsResponse(xml, { security: 'none' });
    expect(r).toMatchObject({ ...BASE, newTransportKeys: [], quirks: [] });
    expect(r.signature).toBeUndefined();
    const expected = message.kind === 'keyprov' ? { ...message, keySets: [{ ...KEYSET, keysWrapped: false }] } : message;
    expect(r.message).toEqual(expected);
    expect(xml).not.toContain('Signature');
  });

  it.each(messages)('with the security extension (HMAC-128, keys wrapped): $kind', async (message) => {
    const newTransportKeys = message.kind === 'certcache' ? [] : [{ id: 'tk.2', key: TK2 }];
    const xml = await buildKmsResponse({ ...BASE, message }, { security: { ...SEC, hmacOutputBits: 128, newTransportKeys } });
    const r = await parseKmsResponse(xml, required(ownLookup));
    expect(r.signature).toEqual({ keyId: 'tk.1', hmacOutputBits: 128, reference: 'message' });
    const expected = message.kind === 'keyprov' ? { ...message, keySets: [{ ...KEYSET, keysWrapped: true }] } : message;
    expect(r.message).toEqual(expected);
    expect(r.newTransportKeys).toEqual(newTransportKeys);
    expect(r.trkId).toBe('tk.1');
    expect(r.signatureId).toBe('tk.1');
    expect(r.quirks).toEqual([]);
    if (message.kind === 'keyprov') {
      expect(xml).not.toContain(encodeHex(SSK)); // never in clear
      expect(xml).toContain('xsi:type="se:EncKeyContentType"');
    }
  });

  it('signs with an InK and wraps with a TrK (D.2.2: the InK signs when present)', async () => {
    const xml = await signedKeyProv({ signingKeyId: 'ink.1', signingKey: INK, transportKeyId: 'tk.1', transportKey: TK1 });
    const r = await parseKmsResponse(xml, required(ownLookup));
    expect(r.signature?.keyId).toBe('ink.1');
    expect(r.trkId).toBe('tk.1');
    expect(r.message?.kind === 'keyprov' && r.message.keySets[1]?.userUri).toBe('sip:bob@example.org');
  });

  it('signed but with key material in clear when no TrK is given', async () => {
    const xml = await signedKeyProv({ signingKeyId: 'ink.1', signingKey: INK });
    const r = await parseKmsResponse(xml, required(ownLookup));
    expect(r.message?.kind === 'keyprov' && r.message.keySets[0]?.keysWrapped).toBe(false);
    expect(r.trkId).toBeUndefined();
  });

  it('builds and verifies the CR form too: any Id, one-line output', async () => {
    const xml = await buildKmsResponse({ ...BASE, id: 'resp-7', message: { kind: 'init', certificate: CERT } }, { security: SEC, indent: '' });
    expect(xml.split('\n')).toHaveLength(1);
    expect((await parseKmsResponse(xml, required(ownLookup))).signature?.reference).toBe('message');
  });
});

function encodeHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}

describe('tampering and key problems (fail closed)', () => {
  const mutate = async (f: (xml: string) => string, opts = required(ownLookup)): Promise<string> => codeOf(parseKmsResponse(f(await signedKeyProv()), opts));

  it('accepts the untouched document and reformatted attribute syntax (canonicalization)', async () => {
    expect(await mutate((x) => x)).toBe('ok');
    expect(await mutate((x) => x.replace('Version="1.0.0"', "Version = '1.0.0'"))).toBe('ok');
  });

  it('any change of signed content or signature fails', async () => {
    expect(await mutate((x) => x.replace('<KmsUri>kms.example.org</KmsUri>', '<KmsUri>kms.evil.org</KmsUri>'))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await mutate((x) => x.replace('<KeyPeriodNo>1514<', '<KeyPeriodNo>1515<'))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await mutate((x) => x.replace('<KmsUri>', '  <KmsUri>'))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await mutate((x) => x.replace(/<SignatureValue>(.)/, (_, c: string) => `<SignatureValue>${c === 'A' ? 'B' : 'A'}`))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await mutate((x) => x.replace(/<DigestValue>(.)/, (_, c: string) => `<DigestValue>${c === 'A' ? 'B' : 'A'}`))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await mutate((x) => x.replace('<CanonicalizationMethod', '<!-- x --><CanonicalizationMethod'))).toBe('ok'); // comments are not signed
  });

  it('wrong TrK, unknown TrK-ID, and Signature-ID / KeyName disagreement', async () => {
    expect(await mutate((x) => x, required(() => TK2))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await mutate((x) => x, required(() => undefined))).toBe('ERR_KMS_UNKNOWN_TRANSPORT_KEY');
    expect(await mutate((x) => x.replace('<Signature-ID>tk.1<', '<Signature-ID>tk.9<'))).toBe('ERR_KMS_MALFORMED');
    expect(await mutate((x) => x.replace('<Signature-ID>tk.1</Signature-ID>', '').replace('<KeyName>tk.1</KeyName>', ''))).toBe('ERR_KMS_MALFORMED');
  });

  it('a key unwrap failure after a valid signature yields nothing', async () => {
    const xml = await signedKeyProv({ signingKeyId: 'ink.1', signingKey: INK, transportKeyId: 'tk.1', transportKey: TK1 });
    const swapped = (id: string): Uint8Array | undefined => (id === 'tk.1' ? TK2 : ownKeys[id]);
    expect(await codeOf(parseKmsResponse(xml, required(swapped)))).toBe('ERR_KMS_MALFORMED');
    const missing = (id: string): Uint8Array | undefined => (id === 'tk.1' ? undefined : ownKeys[id]);
    expect(await codeOf(parseKmsResponse(xml, required(missing)))).toBe('ERR_KMS_UNKNOWN_TRANSPORT_KEY');
  });

  it('missing or misplaced signatures', async () => {
    expect(await mutate((x) => x.replace(/<Signature xmlns[\s\S]*<\/Signature>/, ''))).toBe('ERR_KMS_BAD_SIGNATURE');
    const plain = await buildKmsResponse({ ...BASE, message: { kind: 'init', certificate: CERT } });
    expect(await codeOf(parseKmsResponse(plain, required(ownLookup)))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await codeOf(parseKmsResponse(await signedKeyProv(), { security: 'none' }))).toBe('ERR_KMS_UNSUPPORTED');
  });

  it('signature wrapping: the reference must be the message that is read', async () => {
    // Hide the signed KmsResponse inside a foreign element of an attacker's KmsResponse.
    expect(
      await mutate((x) =>
        x.replace(/(<KmsResponse [^>]*>)([\s\S]*)(<\/KmsResponse>)/, (_, open: string, body: string, close: string) => {
          const evil = body.replace('kms.example.org', 'kms.evil.org');
          return `<KmsResponse xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0">${evil}<x:Hide xmlns:x="urn:evil">${open}${body}${close}</x:Hide>${close}`;
        }),
      ),
    ).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await mutate((x) => x.replace('<KmsKeySet ', '<KmsKeySet Id="xmldoc" '))).toBe('ERR_KMS_MALFORMED');
    expect(await mutate((x) => x.replace('</SignedKmsResponse>', '<KmsResponse/></SignedKmsResponse>'))).toBe('ERR_KMS_MALFORMED');
  });

  it('refuses algorithms and forms outside the profile', async () => {
    const unsupported = [
      (x: string) => x.replace('REC-xml-c14n-20010315"', 'REC-xml-c14n-20010315#WithComments"'),
      (x: string) => x.replace('xmldsig-more#hmac-sha256', 'xmldsig-more#rsa-sha256'),
      (x: string) => x.replace('xmlenc#sha256', 'xmldsig#sha1'),
      (x: string) => x.replace('URI="#xmldoc"', 'URI="#xpointer(/)"'),
      (x: string) => x.replace('URI="#xmldoc"', 'URI=""'),
      (x: string) => x.replace(/(<Reference [\s\S]*?<\/Reference>)/, '$1$1'),
      (x: string) => x.replace('<DigestMethod', '<Transforms><Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/></Transforms><DigestMethod'),
      (x: string) => x.replace('</KeyInfo>', '</KeyInfo><Object/>'),
    ];
    for (const f of unsupported) expect(await mutate(f)).toBe('ERR_KMS_UNSUPPORTED');
    expect(await mutate((x) => x.replace('#hmac-sha256"/>', '#hmac-sha256"><HMACOutputLength>64</HMACOutputLength></SignatureMethod>'))).toBe('ERR_KMS_BAD_SIGNATURE');
  });
});

describe('structure, fields and values', () => {
  const plainInit = (): Promise<string> => buildKmsResponse({ ...BASE, message: { kind: 'init', certificate: CERT } });
  const plainCode = async (f: (xml: string) => string): Promise<string> => codeOf(parseKmsResponse(f(await plainInit()), { security: 'none' }));

  it.each([
    ['KmsUri of the response', (x: string) => x.replace('<KmsUri>kms.example.org</KmsUri>', '')],
    ['Time', (x: string) => x.replace(/<Time>[^<]*<\/Time>/, '')],
    ['ClientReqUrl', (x: string) => x.replace(/<ClientReqUrl>[^<]*<\/ClientReqUrl>/, '')],
    ['UserIdFormat', (x: string) => x.replace('<UserIdFormat>2</UserIdFormat>', '')],
    ['PubEncKey', (x: string) => x.replace(/<PubEncKey>[^<]*<\/PubEncKey>/, '')],
    ['certificate', (x: string) => x.replace(/<KmsCertificate[\s\S]*<\/KmsCertificate>/, '')],
  ])('refuses a missing %s', async (_, f) => {
    expect(await plainCode(f)).toBe('ERR_KMS_MALFORMED');
  });

  it.each([
    ['bad hexBinary', (x: string) => x.replace(/<PubAuthKey>./, '<PubAuthKey>Z')],
    ['odd hexBinary', (x: string) => x.replace(/<PubAuthKey>./, '<PubAuthKey>')],
    ['bad dateTime', (x: string) => x.replace(/<ValidTo>[^<]*</, '<ValidTo>2034-02-30T00:00:00<')],
    ['bad boolean', (x: string) => x.replace('<Revoked>false<', '<Revoked>>false<')],
    ['bad integer', (x: string) => x.replace('<UserKeyPeriod>2592000<', '<UserKeyPeriod>1e6<')],
    ['unknown Role', (x: string) => x.replace('Role="Root"', 'Role="Other"')],
    ['a conflicting duplicate', (x: string) => x.replace('<Revoked>false</Revoked>', '<Revoked>false</Revoked><Revoked>true</Revoked>')],
    ['two messages', (x: string) => x.replace('</KmsInit>', '</KmsInit><KmsCertCache/>')],
    ['text in a structure', (x: string) => x.replace('<KmsMessage>', '<KmsMessage>text')],
    ['elements in a text field', (x: string) => x.replace('<Issuer>', '<Issuer><b/>')],
    ['an unexpected root', () => '<KmsRequest xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0"/>'],
  ])('refuses %s', async (_, f) => {
    expect(await plainCode(f)).toBe('ERR_KMS_MALFORMED');
  });

  it('surfaces a wrong ParameterSet or UserIdFormat for the validator to refuse', async () => {
    const xml = await buildKmsResponse({ ...BASE, message: { kind: 'init', certificate: { ...CERT, parameterSet: 2, userIdFormat: '1' } } });
    const r = await parseKmsResponse(xml, { security: 'none' });
    expect(r.message?.kind === 'init' && [r.message.certificate.parameterSet, r.message.certificate.userIdFormat]).toEqual([2, '1']);
  });

  it('tolerates an identical duplicate and the table spelling UserIDFormat, recording both', async () => {
    const xml = (await plainInit())
      .replace('<Issuer>', '<Issuer>Example &amp; Co &lt;KMS&gt;</Issuer><Issuer>')
      .replace(/UserIdFormat>/g, 'UserIDFormat>');
    const r = await parseKmsResponse(xml, { security: 'none' });
    expect(r.message?.kind === 'init' && r.message.certificate.userIdFormat).toBe('2');
    expect(r.quirks).toHaveLength(2);
  });

  it('ignores foreign-namespace extensions and records unknown KMS elements', async () => {
    const xml = (await plainInit()).replace('<KmsId>', '<x:Ext xmlns:x="urn:vendor">1</x:Ext><Future>1</Future><KmsId>');
    const r = await parseKmsResponse(xml, { security: 'none' });
    expect(r.quirks).toEqual(['unknown element <Future> in <KmsResponse> ignored']);
  });

  it('refuses wrapped key material when the security extension is off, and other wrap algorithms', async () => {
    // The signed KmsResponse taken out of its wrapper, with the prefixes it inherited declared.
    const signed = await signedKeyProv();
    const inner = signed
      .slice(signed.indexOf('<KmsResponse'), signed.indexOf('</KmsResponse>') + 14)
      .replace('<KmsResponse ', `<KmsResponse xmlns:ds="${DSIG}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:se="urn:3gpp:ns:mcsecKMSSecExt:1.0" `);
    expect(await codeOf(parseKmsResponse(inner, { security: 'none' }))).toBe('ERR_KMS_UNSUPPORTED');
    const aes128 = inner.replace('xmlenc#kw-aes256', 'xmlenc#kw-aes128');
    expect(await codeOf(parseKmsResponse(aes128, { security: 'none' }))).toBe('ERR_KMS_UNSUPPORTED');
    expect(await codeOf(parseKmsResponse(inner.replace('<CipherData>', '<CipherData><CipherValue>AAAA</CipherValue>'), { security: 'none' }))).toBe('ERR_KMS_MALFORMED');
  });

  it('accepts the v13 placeholder namespace and an unprefixed/prefixed mix', async () => {
    const xml = (await plainInit()).replace('xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0"', 'xmlns="TOBEDEFINED"');
    expect((await parseKmsResponse(xml, { security: 'none' })).quirks).toEqual(['placeholder namespace "TOBEDEFINED" accepted']);
    const prefixed = (await plainInit()).replace(/<(\/?)([A-Za-z-]+)/g, '<$1k:$2').replace('xmlns=', 'xmlns:k=');
    expect((await parseKmsResponse(prefixed, { security: 'none' })).message?.kind).toBe('init');
  });

  it('misuse is a TypeError, not a KMS error', async () => {
    await expect(parseKmsResponse('<a/>', { security: 'required' } as ParseKmsResponseOptions)).rejects.toThrow(TypeError);
    await expect(parseKmsResponse(await signedKeyProv(), required(() => 'x' as unknown as Uint8Array))).rejects.toThrow(TypeError);
    await expect(buildKmsResponse({ ...BASE, message: { kind: 'certcache', certificates: [] } }, { security: { ...SEC, newTransportKeys: [{ id: 'n', key: TK2 }] } })).rejects.toThrow(TypeError);
  });
});

describe('KmsError responses', () => {
  const error = { errorCode: 12, errorMsg: 'Unknown user' };

  it('throws ERR_KMS_ERROR_RESPONSE with the server code and text', async () => {
    try {
      await parseKmsResponse(await buildKmsResponse({ ...BASE, error }), { security: 'none' });
      expect.unreachable();
    } catch (e) {
      expect(isKmsError(e, 'ERR_KMS_ERROR_RESPONSE')).toBe(true);
      expect(isKmsError(e) && e.serverError).toEqual(error);
    }
  });

  it('under the security extension, only after the error response verified', async () => {
    const xml = await buildKmsResponse({ ...BASE, error }, { security: { signingKeyId: 'tk.1', signingKey: TK1 } });
    expect(await codeOf(parseKmsResponse(xml, required(ownLookup)))).toBe('ERR_KMS_ERROR_RESPONSE');
    expect(await codeOf(parseKmsResponse(xml.replace('>12<', '>13<'), required(ownLookup)))).toBe('ERR_KMS_BAD_SIGNATURE');
  });
});

describe('requests (D.2 resource URIs, D.2.2 SignedKmsRequest)', () => {
  it('builds the CR example paths', () => {
    expect(kmsRequestPath({ kind: 'init' })).toBe('/keymanagement/identity/v1/init');
    expect(kmsRequestPath({ kind: 'keyprov' })).toBe('/keymanagement/identity/v1/keyprov');
    expect(kmsRequestPath({ kind: 'keyprov', identity: 'sip:user@example.org' })).toBe('/keymanagement/identity/v1/keyprov/sip%3Auser%40example.org');
    const t = ntpTimestamp(new Date(Date.UTC(2014, 1, 23, 8, 39, 14)));
    expect(t).toBe(0xd6b4323200000000n);
    expect(kmsRequestPath({ kind: 'keyprov', identity: 'sip:user@example.org', time: t })).toBe(
      '/keymanagement/identity/v1/keyprov/sip%3Auser%40example.org/D6B4323200000000',
    );
    expect(kmsRequestPath({ kind: 'certcache', cacheNum: 12345 })).toBe('/keymanagement/identity/v1/certcache/12345');
    expect(ntpTimestamp(Date.UTC(2014, 1, 23, 8, 39, 14, 500)) & 0xffffffffn).toBe(0x80000000n);
    expect(() => kmsRequestPath({ kind: 'keyprov', time: t })).toThrow(TypeError);
  });

  it('parses request paths for the dev KMS', () => {
    expect(parseKmsRequestPath('/keymanagement/identity/v1/init')).toEqual({ kind: 'init', prefix: '' });
    expect(parseKmsRequestPath('/kms/keymanagement/identity/v1/keyprov/sip%3Auser%40example.org/D6B4323200000000')).toEqual({
      kind: 'keyprov',
      identity: 'sip:user@example.org',
      time: 0xd6b4323200000000n,
      prefix: '/kms',
    });
    expect(parseKmsRequestPath('/keymanagement/identity/v1/keyprov/user%40example.org')).toMatchObject({ identity: 'user@example.org' });
    expect(parseKmsRequestPath('/keymanagement/identity/v1/certcache/12345')).toMatchObject({ kind: 'certcache', cacheNum: 12345 });
  });

  it.each([
    ['/other/path', 'ERR_KMS_MALFORMED'],
    ['/keymanagement/identity/v1/init/x', 'ERR_KMS_MALFORMED'],
    ['/keymanagement/identity/v1/keyprov/%E0%A4%A', 'ERR_KMS_MALFORMED'],
    ['/keymanagement/identity/v1/keyprov/u/XYZ', 'ERR_KMS_MALFORMED'],
    ['/keymanagement/identity/v1/keyprov/u/D6B43232000000001', 'ERR_KMS_MALFORMED'],
    ['/keymanagement/identity/v1/keyprov/u/t/x', 'ERR_KMS_MALFORMED'],
    ['/keymanagement/identity/v1/certcache/abc', 'ERR_KMS_MALFORMED'],
    ['/keymanagement/identity/v1/init?x=1', 'ERR_KMS_MALFORMED'],
    ['/keymanagement/identity/v1/redirect', 'ERR_KMS_UNSUPPORTED'],
  ])('refuses the path %s', async (path, code) => {
    expect(await codeOf(() => parseKmsRequestPath(path))).toBe(code);
  });

  it('without the security extension a request has no body', () => {
    expect(buildKmsRequest({ baseUrl: 'https://kms.example.org/', target: { kind: 'init' } })).toEqual({
      url: 'https://kms.example.org/keymanagement/identity/v1/init',
      path: '/keymanagement/identity/v1/init',
    });
    expect(() => buildKmsRequest({ baseUrl: 'kms.example.org', target: { kind: 'init' } })).toThrow(TypeError);
  });

  it('signed requests round-trip, and tampering or unknown keys fail', async () => {
    const built = buildKmsRequest({
      baseUrl: 'https://kms.example.org',
      target: { kind: 'keyprov', identity: 'sip:alice@example.org' },
      request: { userUri: 'sip:alice@example.org', kmsUri: 'kms.example.org', time: BASE.time, deviceId: 'd1', trkId: 'tk.1', clientError: { errorCode: 2, errorMsg: 'x' } },
      security: { signingKeyId: 'ink.1', signingKey: INK, hmacOutputBits: 128 },
    });
    expect(built.contentType).toBe('application/xml');
    const q = parseKmsRequest(built.body!, { getTransportKey: ownLookup });
    expect(q).toMatchObject({
      version: '1.0.0',
      userUri: 'sip:alice@example.org',
      kmsUri: 'kms.example.org',
      time: BASE.time,
      deviceId: 'd1',
      clientReqUrl: built.url,
      clientError: { errorCode: 2, errorMsg: 'x' },
      trkId: 'tk.1',
      signatureId: 'ink.1',
      signature: { keyId: 'ink.1', hmacOutputBits: 128, reference: 'message' },
    });
    expect(await codeOf(() => parseKmsRequest(built.body!.replace('sip:alice@', 'sip:mallory@'), { getTransportKey: ownLookup }))).toBe('ERR_KMS_BAD_SIGNATURE');
    expect(await codeOf(() => parseKmsRequest(built.body!, { getTransportKey: () => undefined }))).toBe('ERR_KMS_UNKNOWN_TRANSPORT_KEY');
    expect(await codeOf(() => parseKmsRequest(built.body!.replace(/<Signature xmlns[\s\S]*<\/Signature>/, ''), { getTransportKey: ownLookup }))).toBe('ERR_KMS_BAD_SIGNATURE');
  });
});

describe('lexical values', () => {
  it('base64 is strict and canonical', async () => {
    expect(decodeBase64('AAEC\n Aw==', 'v')).toEqual(new Uint8Array([0, 1, 2, 3]));
    expect(encodeBase64(new Uint8Array([0, 1, 2, 3, 4]))).toBe('AAECAwQ=');
    expect(decodeBase64('', 'v')).toEqual(new Uint8Array());
    for (const bad of ['AAE', 'AA=A', 'A===', '====', 'AB==', 'AAB=', 'AA*A', 'AAAA=']) {
      expect(await codeOf(() => decodeBase64(bad, 'v')), bad).toBe('ERR_KMS_MALFORMED');
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        expect(decodeBase64(encodeBase64(b), 'v')).toEqual(b);
      }),
    );
  });

  it('hexBinary accepts both cases and refuses odd lengths', async () => {
    expect(decodeHexBinary(' 029a2F\n', 'v')).toEqual(new Uint8Array([2, 0x9a, 0x2f]));
    expect(await codeOf(() => decodeHexBinary('029', 'v'))).toBe('ERR_KMS_MALFORMED');
    expect(await codeOf(() => decodeHexBinary('0x02', 'v'))).toBe('ERR_KMS_MALFORMED');
  });

  it('xsd:dateTime: zone-less as UTC, offsets applied, impossible dates refused', async () => {
    expect(parseKmsDateTime('2016-02-29T23:59:59').epochMs).toBe(Date.UTC(2016, 1, 29, 23, 59, 59));
    expect(parseKmsDateTime('2014-01-26T10:05:52.25Z').epochMs).toBe(Date.UTC(2014, 0, 26, 10, 5, 52, 250));
    expect(parseKmsDateTime('2014-01-26T10:05:52-05:30').epochMs).toBe(Date.UTC(2014, 0, 26, 15, 35, 52));
    for (const bad of ['2015-02-29T00:00:00', '2014-13-01T00:00:00', '2014-01-01T24:00:00', '2014-01-01', '14-01-01T00:00:00', '2014-01-01T00:00:00+15:00', '2014-01-01T00:00:60']) {
      expect(await codeOf(() => parseKmsDateTime(bad)), bad).toBe('ERR_KMS_MALFORMED');
    }
    expect(kmsDateTime(Date.UTC(2024, 1, 23, 8, 39, 14, 999))).toEqual({ text: '2024-02-23T08:39:14Z', epochMs: Date.UTC(2024, 1, 23, 8, 39, 14) });
  });
});

describe('fuzz: mutated signed responses end in a result or a typed error', () => {
  it('single-character edits and truncations', async () => {
    const xml = await signedKeyProv({ ...SEC, hmacOutputBits: 128 });
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.string({ maxLength: 3 }), fc.boolean(), async (at, ins, truncate) => {
        const p = at % xml.length;
        const m = truncate ? xml.slice(0, p) : xml.slice(0, p) + ins + xml.slice(p + 1);
        try {
          const r = await parseKmsResponse(m, required(ownLookup));
          // Only edits the signature does not cover may pass: none of them changes the message.
          expect(r.message?.kind).toBe('keyprov');
          expect(r.kmsUri).toBe('kms.example.org');
        } catch (e) {
          if (!isKmsError(e)) throw e;
        }
      }),
      { numRuns: 250 },
    );
  });
});
