/**
 * TS 33.179 9.3.5 against an independent XML-DSig implementation: xml-crypto (dev dependency,
 * tests only) checks the HMAC-SHA-256 signatures this SDK writes over a protected mcpttinfo,
 * and the SDK verifies signatures xml-crypto writes. xml-crypto brings the canonicalization,
 * digest and reference resolution; it has no HMAC-SHA-256 with HMACOutputLength, so the one
 * algorithm is registered through its extension point (SignatureAlgorithms): HMAC-SHA-256 of
 * the canonical SignedInfo, truncated to 128 bits, keyed by the F.1.4 integrity key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { describe, expect, it } from 'vitest';
import { xpkKeys } from '../../src/crypto/index.js';
import {
  MCPTT_PARAMS_ID,
  cskXpk,
  isXmlProtectError,
  protectMcpttInfo,
  singleCskLookup,
  unprotectMcpttInfo,
} from '../../src/codec/xml-protect/index.js';
import { buildMcpttInfoXml, parseMcpttInfoXml } from '../../src/codec/sip-bodies.js';

const ALG = 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256';
const csk = { key: Uint8Array.from({ length: 16 }, (_, i) => 0x70 ^ i), keyId: Uint8Array.of(0x21, 0x43, 0x65, 0x87) };
const ALICE = 'sip:alice@example.org';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.aW50ZXJvcA.c2ln';
const integrityKey = Buffer.from(xpkKeys(cskXpk(csk, ALICE)).integrityKey);

/** HMAC-SHA-256 truncated to `bytes` (HMACOutputLength 128, or absent = 256) for xml-crypto. */
class HmacSha256Trunc128 {
  protected readonly bytes: number = 16;

  getSignature(signedInfo: string | Buffer, key: Buffer): string {
    return createHmac('sha256', key).update(signedInfo).digest().subarray(0, this.bytes).toString('base64');
  }

  verifySignature(material: string, key: Buffer, value: string): boolean {
    const mac = createHmac('sha256', key).update(material).digest().subarray(0, this.bytes);
    const got = Buffer.from(value, 'base64');
    return got.length === mac.length && timingSafeEqual(got, mac);
  }

  getAlgorithmName(): string {
    return ALG;
  }
}

/** xml-crypto cannot write HMACOutputLength, so what it signs is the untruncated HMAC. */
class HmacSha256 extends HmacSha256Trunc128 {
  protected override readonly bytes: number = 32;
}

function verifier(): SignedXml {
  const v = new SignedXml({ publicCert: integrityKey, getCertFromKeyInfo: () => null });
  (v.SignatureAlgorithms as Record<string, unknown>)[ALG] = HmacSha256Trunc128;
  return v;
}

describe('XML signature interop with xml-crypto (TS 33.179 9.3.5)', () => {
  it('xml-crypto verifies the signature the SDK puts over a protected mcpttinfo', async () => {
    const prot = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN }), csk, ALICE);
    const v = verifier();
    v.loadSignature(v.findSignatures(new (await import('@xmldom/xmldom')).DOMParser().parseFromString(prot, 'text/xml') as unknown as Node)[0]!);
    expect(v.checkSignature(prot)).toBe(true);
    expect(v.getSignedReferences()).toHaveLength(1);
    expect(v.getSignedReferences()[0]).toContain(`Id="${MCPTT_PARAMS_ID}"`);

    // And it refuses the same document with one ciphertext octet changed.
    const changed = prot.replace(/<xenc:CipherValue>(.)/, (_, c: string) => `<xenc:CipherValue>${c === 'A' ? 'B' : 'A'}`);
    const w = verifier();
    w.loadSignature(w.findSignatures(new (await import('@xmldom/xmldom')).DOMParser().parseFromString(changed, 'text/xml') as unknown as Node)[0]!);
    let ok: boolean;
    try {
      ok = w.checkSignature(changed);
    } catch {
      ok = false;
    }
    expect(ok).toBe(false);
  });

  it('the SDK verifies a signature xml-crypto makes over the encrypted mcptt-Params', async () => {
    const unsigned = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN }), csk, ALICE, { sign: false });
    const withId = unsigned.replace('<mcptt-Params>', `<mcptt-Params Id="${MCPTT_PARAMS_ID}">`);
    const s = new SignedXml({
      privateKey: integrityKey,
      signatureAlgorithm: ALG,
      canonicalizationAlgorithm: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
      getKeyInfoContent: () => `<KeyName>${Buffer.from(csk.keyId).toString('base64')}</KeyName>`,
    });
    (s.SignatureAlgorithms as Record<string, unknown>)[ALG] = HmacSha256;
    s.addReference({ xpath: `//*[@Id='${MCPTT_PARAMS_ID}']`, digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256', transforms: ['http://www.w3.org/TR/2001/REC-xml-c14n-20010315'], uri: `#${MCPTT_PARAMS_ID}` } as never);
    s.computeSignature(withId, { location: { reference: '/*', action: 'append' } });
    const signed = s.getSignedXml();
    expect(signed).toContain('<Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>');
    const r = await unprotectMcpttInfo(signed, singleCskLookup(csk, ALICE), { required: true });
    expect(r.signed).toBe(true);
    expect(parseMcpttInfoXml(r.xml).accessToken).toBe(TOKEN);

    // A signature by xml-crypto under another key is refused with the typed error.
    const bad = signed.replace(/<SignatureValue>[^<]*</, '<SignatureValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=<');
    const e = await unprotectMcpttInfo(bad, singleCskLookup(csk, ALICE)).catch((x: unknown) => x);
    expect(isXmlProtectError(e, 'ERR_XML_PROTECT_BAD_SIGNATURE')).toBe(true);
  });
});
