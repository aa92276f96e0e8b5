/**
 * TS 33.179 clause 9.3 XML protection: 9.3.4 encryption round trips on mcpttinfo documents,
 * tampering and allow-list refusals; 9.3.5 signature round trip, tampering, wrapping and
 * truncation refusals.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { xpkKeys } from '../../src/crypto/index.js';
import {
  isXmlProtectError,
  protectXmlElements,
  signXmlElement,
  unprotectXmlElements,
  verifyXmlElement,
} from '../../src/codec/xml-protect/index.js';
import type { XmlProtectErrorCode, XpkMaterial } from '../../src/codec/xml-protect/index.js';
import { decodeBase64, encodeBase64 } from '../../src/codec/kms/index.js';
import { MCPTT_INFO_NS, buildMcpttInfoXml, parseMcpttInfoXml } from '../../src/codec/sip-bodies.js';
import { canonicalize, parseXml, walkElements } from '../../src/codec/xml/index.js';
import { utf8 } from '../../src/util/bytes.js';

const key: XpkMaterial = {
  xpk: Uint8Array.from({ length: 16 }, (_, i) => i + 1),
  xpkId: Uint8Array.of(0x1a, 0x2b, 0x3c, 0x4d),
  mcpttId: 'sip:alice@example.org',
};
const keyFor = (id: string): XpkMaterial | undefined => (id === encodeBase64(key.xpkId) ? key : undefined);
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.sig-part_42';
const GROUP = 'sip:secret-group@example.org';
const TOKEN_EL = { ns: MCPTT_INFO_NS, local: 'mcptt-access-token' };
const GROUP_EL = { ns: MCPTT_INFO_NS, local: 'mcptt-group-id' };
const PARAMS_EL = { ns: MCPTT_INFO_NS, local: 'mcptt-Params' };

async function expectCode(p: Promise<unknown> | (() => unknown), code: XmlProtectErrorCode): Promise<void> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(isXmlProtectError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
}

/** Rewrite the bytes of the n-th CipherValue of a protected document. */
function editCipher(xml: string, edit: (b: Uint8Array) => void, n = 0): string {
  const values = [...xml.matchAll(/<xenc:CipherValue>([^<]*)<\/xenc:CipherValue>/g)];
  const v = values[n]![1]!;
  const b = decodeBase64(v, 'test');
  edit(b);
  return xml.replace(v, encodeBase64(b));
}

describe('9.3.4 XML encryption', () => {
  const plain = buildMcpttInfoXml({ accessToken: TOKEN, groupId: GROUP });

  it('round-trips access token and group ID of an mcpttinfo document', async () => {
    const prot = await protectXmlElements(plain, { ...key, elements: [TOKEN_EL, GROUP_EL] });
    expect(prot).not.toContain(TOKEN);
    expect(prot).not.toContain('secret-group');
    expect(prot).toContain('Type="http://www.w3.org/2001/04/xmlenc#Content"');
    expect(prot).toContain('Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"');
    expect(prot).toContain(`<ds:KeyName>${encodeBase64(key.xpkId)}</ds:KeyName>`);
    expect(prot.match(/type="Encrypted"/g)).toHaveLength(2);
    // CipherValue = IV(12) ‖ ciphertext ‖ tag(16): the ciphertext is as long as the value.
    const cv = decodeBase64(prot.match(/<xenc:CipherValue>([^<]*)</)![1]!, 'cv');
    expect(cv.length).toBe(12 + utf8(TOKEN).length + 16);
    expect(() => parseMcpttInfoXml(prot)).toThrow(); // an ordinary reader refuses Encrypted
    const back = await unprotectXmlElements(prot, { keyFor });
    expect(parseMcpttInfoXml(back)).toEqual({ accessToken: TOKEN, groupId: GROUP });
  });

  it('encrypts an MCPTT ID and leaves other elements alone', async () => {
    const doc = `<mcpttinfo xmlns="${MCPTT_INFO_NS}"><mcptt-Params><mcptt-calling-user-id type="Normal"><mcpttURI>sip:bob@example.org</mcpttURI></mcptt-calling-user-id><mcptt-group-id type="Normal"><mcpttURI>${GROUP}</mcpttURI></mcptt-group-id></mcptt-Params></mcpttinfo>`;
    const prot = await protectXmlElements(doc, { ...key, elements: [{ ns: MCPTT_INFO_NS, local: 'mcptt-calling-user-id' }] });
    expect(prot).not.toContain('bob@');
    expect(prot).toContain(GROUP);
    const back = await unprotectXmlElements(prot, { keyFor });
    expect(back).toContain('<mcptt-calling-user-id type="Normal"><mcpttURI>sip:bob@example.org</mcpttURI></mcptt-calling-user-id>');
  });

  it('uses a fresh IV each time', async () => {
    const a = await protectXmlElements(plain, { ...key, elements: [TOKEN_EL] });
    const b = await protectXmlElements(plain, { ...key, elements: [TOKEN_EL] });
    expect(a).not.toBe(b);
  });

  it('refuses tampered ciphertext, tag, IV, KeyName, wrong key and wrong algorithm', async () => {
    const prot = await protectXmlElements(plain, { ...key, elements: [TOKEN_EL] });
    await expectCode(unprotectXmlElements(editCipher(prot, (b) => (b[14]! ^= 1)), { keyFor }), 'ERR_XML_PROTECT_AUTH_FAILED');
    await expectCode(unprotectXmlElements(editCipher(prot, (b) => (b[b.length - 1]! ^= 0x80)), { keyFor }), 'ERR_XML_PROTECT_AUTH_FAILED');
    await expectCode(unprotectXmlElements(editCipher(prot, (b) => (b[0]! ^= 1)), { keyFor }), 'ERR_XML_PROTECT_AUTH_FAILED');
    const otherName = prot.replace(encodeBase64(key.xpkId), encodeBase64(Uint8Array.of(9, 9, 9, 9)));
    await expectCode(unprotectXmlElements(otherName, { keyFor }), 'ERR_XML_PROTECT_UNKNOWN_KEY');
    const wrongKey = { ...key, xpk: new Uint8Array(16).fill(7) };
    await expectCode(unprotectXmlElements(prot, { keyFor: () => wrongKey }), 'ERR_XML_PROTECT_AUTH_FAILED');
    const wrongUser = { ...key, mcpttId: 'sip:mallory@example.org' };
    await expectCode(unprotectXmlElements(prot, { keyFor: () => wrongUser }), 'ERR_XML_PROTECT_AUTH_FAILED');
    await expectCode(unprotectXmlElements(prot.replace('aes128-gcm', 'aes256-gcm'), { keyFor }), 'ERR_XML_PROTECT_NOT_ALLOWED');
    await expectCode(unprotectXmlElements(prot.replace('xmlenc#Content', 'xmlenc#Element'), { keyFor }), 'ERR_XML_PROTECT_NOT_ALLOWED');
    await expectCode(unprotectXmlElements(editCipher(prot, () => undefined).replace(/<xenc:CipherValue>[^<]*</, '<xenc:CipherValue>AAAA<'), { keyFor }), 'ERR_XML_PROTECT_MALFORMED');
  });

  it('refuses to protect, or to accept, EncryptedData outside the 9.3.2 allow-list', async () => {
    await expectCode(protectXmlElements(plain, { ...key, elements: [PARAMS_EL] }), 'ERR_XML_PROTECT_NOT_ALLOWED');
    const prot = await protectXmlElements(plain, { ...key, elements: [TOKEN_EL] });
    const ed = prot.match(/<xenc:EncryptedData[\s\S]*?<\/xenc:EncryptedData>/)![0];
    // The same valid EncryptedData moved into mcptt-Params (hiding arbitrary structure).
    const moved = prot.replace('<mcptt-Params>', `<mcptt-Params>${ed}`);
    await expectCode(unprotectXmlElements(moved, { keyFor }), 'ERR_XML_PROTECT_NOT_ALLOWED');
    // Marked Encrypted with the EncryptedData gone.
    await expectCode(unprotectXmlElements(prot.replace(ed, ''), { keyFor }), 'ERR_XML_PROTECT_MALFORMED');
  });
});

describe('9.3.5 XML signature', () => {
  const doc = buildMcpttInfoXml({ accessToken: TOKEN, groupId: GROUP }).replace('<mcptt-Params>', '<mcptt-Params Id="p1">');
  const verifyOpts = { keyFor, expectedId: 'p1', expectedElement: PARAMS_EL };

  it('round-trips and returns the signed element', () => {
    const signed = signXmlElement(doc, { ...key, id: 'p1' });
    expect(signed).toContain('<HMACOutputLength>128</HMACOutputLength>');
    expect(signed).toContain(`<KeyName>${encodeBase64(key.xpkId)}</KeyName>`);
    const el = verifyXmlElement(signed, verifyOpts);
    expect(el.local).toBe('mcptt-Params');
    expect(canonicalize(el)).toContain(TOKEN);
    expect(parseMcpttInfoXml(signed).accessToken).toBe(TOKEN);
  });

  it('signs encrypted content too (encrypt, then sign)', async () => {
    const prot = await protectXmlElements(doc, { ...key, elements: [TOKEN_EL] });
    const signed = signXmlElement(prot, { ...key, id: 'p1' });
    verifyXmlElement(signed, verifyOpts);
    expect(await unprotectXmlElements(signed, { keyFor })).toContain(TOKEN);
  });

  it('refuses tampered content, SignatureValue, unknown key, other algorithms', async () => {
    const signed = signXmlElement(doc, { ...key, id: 'p1' });
    await expectCode(() => verifyXmlElement(signed.replace(TOKEN, TOKEN.replace('42', '43')), verifyOpts), 'ERR_XML_PROTECT_BAD_SIGNATURE');
    const sv = signed.match(/<SignatureValue>([^<]*)</)![1]!;
    const b = decodeBase64(sv, 'sv');
    b[0]! ^= 1;
    await expectCode(() => verifyXmlElement(signed.replace(sv, encodeBase64(b)), verifyOpts), 'ERR_XML_PROTECT_BAD_SIGNATURE');
    await expectCode(() => verifyXmlElement(signed, { ...verifyOpts, keyFor: () => undefined }), 'ERR_XML_PROTECT_UNKNOWN_KEY');
    await expectCode(() => verifyXmlElement(signed, { ...verifyOpts, keyFor: () => ({ ...key, xpk: new Uint8Array(16) }) }), 'ERR_XML_PROTECT_BAD_SIGNATURE');
    await expectCode(() => verifyXmlElement(signed.replace('hmac-sha256', 'hmac-sha1'), verifyOpts), 'ERR_XML_PROTECT_BAD_SIGNATURE');
    await expectCode(() => verifyXmlElement(signed.replace('xmlenc#sha256', 'xmldsig#sha1'), verifyOpts), 'ERR_XML_PROTECT_BAD_SIGNATURE');
  });

  it('refuses duplicate Id values anywhere', async () => {
    const signed = signXmlElement(doc, { ...key, id: 'p1' });
    const dup = signed.replace('<mcptt-access-token ', '<mcptt-access-token Id="p1" ');
    await expectCode(() => verifyXmlElement(dup, verifyOpts), 'ERR_XML_PROTECT_BAD_SIGNATURE');
  });

  it('refuses signature wrapping: signed element moved, unsigned copy where the app reads', async () => {
    const signed = signXmlElement(doc, { ...key, id: 'p1' });
    const original = signed.match(/<mcptt-Params Id="p1">[\s\S]*?<\/mcptt-Params>/)![0];
    const forged = original.replace(' Id="p1"', '').replace(TOKEN, 'forged-token');
    const wrapped = signed.replace(original, `${forged}<hidden>${original}</hidden>`);
    expect(parseMcpttInfoXml(wrapped).accessToken).toBe('forged-token'); // what a naive reader sees
    await expectCode(() => verifyXmlElement(wrapped, verifyOpts), 'ERR_XML_PROTECT_BAD_SIGNATURE');
    // Same, with the copy carrying its own Id and the app told to read that one.
    const wrapped2 = signed.replace(original, `${forged.replace('<mcptt-Params', '<mcptt-Params Id="p2"')}<hidden>${original}</hidden>`);
    await expectCode(() => verifyXmlElement(wrapped2, { ...verifyOpts, expectedId: 'p2' }), 'ERR_XML_PROTECT_BAD_SIGNATURE');
  });

  it('refuses a Reference to an element other than the one read', async () => {
    const twoIds = doc.replace('<mcptt-access-token ', '<mcptt-access-token Id="t1" ');
    const signed = signXmlElement(twoIds, { ...key, id: 't1' });
    verifyXmlElement(signed, { ...verifyOpts, expectedId: 't1', expectedElement: TOKEN_EL });
    await expectCode(() => verifyXmlElement(signed, verifyOpts), 'ERR_XML_PROTECT_BAD_SIGNATURE');
  });

  it('refuses HMACOutputLength below 128 even with a correct truncated MAC', async () => {
    const signed = signXmlElement(doc, { ...key, id: 'p1' }).replace('<HMACOutputLength>128<', '<HMACOutputLength>64<');
    const d = parseXml(signed);
    const signedInfo = [...walkElements(d.root)].find((e) => e.local === 'SignedInfo')!;
    const mac = hmac(sha256, xpkKeys(key).integrityKey, utf8(canonicalize(signedInfo))).subarray(0, 8);
    const forged = signed.replace(/<SignatureValue>[^<]*</, `<SignatureValue>${encodeBase64(mac)}<`);
    await expectCode(() => verifyXmlElement(forged, verifyOpts), 'ERR_XML_PROTECT_BAD_SIGNATURE');
  });

  it('refuses to sign ambiguous input', () => {
    expect(() => signXmlElement(doc, { ...key, id: 'nope' })).toThrow(RangeError);
    expect(() => signXmlElement(doc.replace('<mcpttinfo ', '<mcpttinfo Id="r" '), { ...key, id: 'r' })).toThrow(RangeError);
    expect(() => signXmlElement(signXmlElement(doc, { ...key, id: 'p1' }), { ...key, id: 'p1' })).toThrow(RangeError);
  });
});
