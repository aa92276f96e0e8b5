/**
 * TS 33.179 9.3 applied to mcpttinfo (src/codec/xml-protect/mcptt-info.ts, bodies.ts): the
 * 9.1.3.2 service authorization document (token) and the 7.3.2 GMK notification document
 * (group ID) round-trip under a CSK, are signed over mcptt-Params, and every tampering,
 * wrapping, wrong key or clear document where protection is required is a typed refusal.
 */
import { describe, expect, it } from 'vitest';
import {
  buildGmkNotificationBodyXml,
  buildServiceAuthorizationBodyXml,
  isXmlProtectError,
  mcpttInfoProtectionState,
  protectMcpttInfo,
  readMcpttBody,
  singleCskLookup,
  unprotectMcpttInfo,
} from '../../src/codec/xml-protect/index.js';
import type { XmlProtectErrorCode } from '../../src/codec/xml-protect/index.js';
import { decodeBase64, encodeBase64 } from '../../src/codec/kms/index.js';
import { buildMcpttInfoXml, parseMcpttInfoXml } from '../../src/codec/sip-bodies.js';

const csk = { key: Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i), keyId: Uint8Array.of(0x20, 0x01, 0x02, 0x03) };
const ALICE = 'sip:alice@example.org';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.c2ln';
const GROUP = 'sip:fire-ops@example.org';
const lookup = singleCskLookup(csk, ALICE);

async function codeOf(p: Promise<unknown>): Promise<XmlProtectErrorCode | string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isXmlProtectError(e) ? e.code : String(e);
  }
}

describe('protectMcpttInfo / unprotectMcpttInfo', () => {
  it('hides the token and the group ID and reads them back with the CSK of their owner', async () => {
    const prot = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN, groupId: GROUP }), csk, ALICE);
    expect(prot).not.toContain(TOKEN);
    expect(prot).not.toContain('fire-ops');
    expect(prot).toContain('Id="mcptt-params"');
    expect(mcpttInfoProtectionState(prot)).toEqual({ signed: true, encrypted: 2, clear: 0 });
    const r = await unprotectMcpttInfo(prot, lookup, { required: true });
    expect(r.signed).toBe(true);
    expect(parseMcpttInfoXml(r.xml)).toEqual({ accessToken: TOKEN, groupId: GROUP });
  });

  it('a clear document passes when protection is optional and is refused when required', async () => {
    const clear = buildMcpttInfoXml({ accessToken: TOKEN });
    expect(parseMcpttInfoXml((await unprotectMcpttInfo(clear, lookup)).xml).accessToken).toBe(TOKEN);
    expect(await codeOf(unprotectMcpttInfo(clear, lookup, { required: true }))).toBe('ERR_XML_PROTECT_REQUIRED');
    // Encrypted but unsigned is not enough either.
    const unsigned = await protectMcpttInfo(clear, csk, ALICE, { sign: false });
    expect(await codeOf(unprotectMcpttInfo(unsigned, lookup, { required: true }))).toBe('ERR_XML_PROTECT_REQUIRED');
    expect(parseMcpttInfoXml((await unprotectMcpttInfo(unsigned, lookup)).xml).accessToken).toBe(TOKEN);
  });

  it('refuses a changed ciphertext or tag (signature first), a changed KeyName, a changed signature', async () => {
    const prot = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN }), csk, ALICE);
    const cv = /<xenc:CipherValue>([^<]*)</.exec(prot)![1]!;
    for (const at of [0, 20, -1]) {
      const b = decodeBase64(cv, 't');
      b[at < 0 ? b.length - 1 : at]! ^= 1;
      expect(await codeOf(unprotectMcpttInfo(prot.replace(cv, encodeBase64(b)), lookup))).toBe('ERR_XML_PROTECT_BAD_SIGNATURE');
    }
    const otherId = encodeBase64(Uint8Array.of(0x20, 0x01, 0x02, 0x04));
    expect(await codeOf(unprotectMcpttInfo(prot.replaceAll(encodeBase64(csk.keyId), otherId), lookup))).toBe('ERR_XML_PROTECT_UNKNOWN_KEY');
    const sv = /<SignatureValue>([^<]*)</.exec(prot)![1]!;
    const s = decodeBase64(sv, 't');
    s[0]! ^= 0x80;
    expect(await codeOf(unprotectMcpttInfo(prot.replace(sv, encodeBase64(s)), lookup))).toBe('ERR_XML_PROTECT_BAD_SIGNATURE');
    // Unsigned ciphertext changed: the GCM tag refuses it.
    const unsigned = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN }), csk, ALICE, { sign: false });
    const ucv = /<xenc:CipherValue>([^<]*)</.exec(unsigned)![1]!;
    const u = decodeBase64(ucv, 't');
    u[14]! ^= 1;
    expect(await codeOf(unprotectMcpttInfo(unsigned.replace(ucv, encodeBase64(u)), lookup))).toBe('ERR_XML_PROTECT_AUTH_FAILED');
  });

  it('refuses the CSK of another user (P0 of F.1.4) and another CSK', async () => {
    const prot = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN }), csk, ALICE);
    expect(await codeOf(unprotectMcpttInfo(prot, singleCskLookup(csk, 'sip:mallory@example.org')))).toBe('ERR_XML_PROTECT_BAD_SIGNATURE');
    const other = { key: csk.key.map((b) => b ^ 1), keyId: csk.keyId };
    expect(await codeOf(unprotectMcpttInfo(prot, singleCskLookup(other, ALICE)))).toBe('ERR_XML_PROTECT_BAD_SIGNATURE');
  });

  it('refuses signature wrapping: a second mcptt-Params, or a value outside the signed element', async () => {
    const prot = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN }), csk, ALICE);
    const evil = 'eyJldmlsIjp0cnVlfQ.ZXZpbA.c2ln';
    const wrapped = prot.replace('<mcptt-Params', `<mcptt-Params><mcptt-access-token type="Normal"><mcpttString>${evil}</mcpttString></mcptt-access-token></mcptt-Params><mcptt-Params`);
    expect(await codeOf(unprotectMcpttInfo(wrapped, lookup))).toBe('ERR_XML_PROTECT_BAD_SIGNATURE');
    const outside = prot.replace('<Signature ', `<mcptt-access-token type="Normal"><mcpttString>${evil}</mcpttString></mcptt-access-token><Signature `);
    expect(await codeOf(unprotectMcpttInfo(outside, lookup))).toBe('ERR_XML_PROTECT_BAD_SIGNATURE');
    // The signed element moved under a wrapper while a clear copy takes its place.
    const moved = prot.replace('Id="mcptt-params"', 'Id="other"');
    expect(await codeOf(unprotectMcpttInfo(moved, lookup))).toBe('ERR_XML_PROTECT_BAD_SIGNATURE');
  });

  it('a hostile document is a typed refusal, never a crash', async () => {
    for (const x of ['', '<a', '<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>', '<mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></mcpttinfo>']) {
      expect(await codeOf(unprotectMcpttInfo(x, lookup))).toMatch(/^ERR_XML_PROTECT_/);
    }
  });
});

describe('protected SIP bodies', () => {
  it('a service authorization body and a GMK notification carry the protected mcpttinfo unchanged', async () => {
    const info = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN }), csk, ALICE);
    const sa = buildServiceAuthorizationBodyXml({ cskIMessage: Uint8Array.of(1, 2, 3), mcpttInfoXml: info });
    expect(readMcpttBody(sa.contentType, sa.body, 'service-authorization')).toEqual({ mcpttInfoXml: info, iMessages: [Uint8Array.of(1, 2, 3)] });
    const g = await protectMcpttInfo(buildMcpttInfoXml({ groupId: GROUP }), csk, ALICE);
    const n = buildGmkNotificationBodyXml({ mcpttInfoXml: g, iMessages: [Uint8Array.of(9), Uint8Array.of(8)] });
    const back = readMcpttBody(n.contentType, n.body, 'gmk-notification');
    expect(back.iMessages).toHaveLength(2);
    expect(parseMcpttInfoXml((await unprotectMcpttInfo(back.mcpttInfoXml!, lookup, { required: true })).xml).groupId).toBe(GROUP);
    expect(n.body).not.toContain('fire-ops');
  });
});

describe('the leak finder of the capture tests (test/helpers/clear-text.ts)', () => {
  it('finds a secret in clear and in base64 at each of the three alignments, and nothing in ciphertext', async () => {
    const { findLeaks } = await import('../helpers/clear-text.js');
    const secret = 'alice@mcptt.example';
    expect(findLeaks(`To: <sip:${secret}>`, [secret])).toHaveLength(1);
    for (const pad of ['', 'x', 'xy']) {
      const b64 = Buffer.from(`${pad}${secret}!`).toString('base64');
      expect(findLeaks(`a=key-mgmt:mikey ${b64}`, [secret]).map((l) => l.form)).toEqual(['base64']);
    }
    const prot = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN, groupId: GROUP }), csk, ALICE);
    expect(findLeaks(prot, [TOKEN, GROUP.slice(4)])).toEqual([]);
  });
});

describe('group call setup mcpttinfo (the protectInfo / readMcpttInfo hooks)', () => {
  it('request URI and calling user are encrypted, session type stays, and the server side reads them by CSK-ID', async () => {
    const { buildMcpttInfoXml: build } = await import('../../src/codec/sip-bodies.js');
    const { cskByIdLookup } = await import('../../src/codec/xml-protect/index.js');
    const xml = build({ sessionType: 'prearranged', requestUri: GROUP, callingUserId: ALICE });
    const prot = await protectMcpttInfo(xml, csk, ALICE);
    expect(prot).not.toContain('fire-ops');
    expect(prot).not.toContain('alice@');
    expect(prot).toContain('prearranged');
    const older = { key: csk.key.map((b) => b ^ 0xff), keyId: Uint8Array.of(0x20, 9, 9, 9) };
    const byId = (hex: string) => [csk, older].find((k) => [...k.keyId].map((b) => b.toString(16).padStart(2, '0')).join('') === hex);
    const info = parseMcpttInfoXml((await unprotectMcpttInfo(prot, cskByIdLookup(byId, ALICE), { required: true })).xml);
    expect(info).toMatchObject({ sessionType: 'prearranged', requestUri: GROUP, callingUserId: ALICE });
    expect(await codeOf(unprotectMcpttInfo(prot, cskByIdLookup(() => undefined, ALICE)))).toBe('ERR_XML_PROTECT_UNKNOWN_KEY');
  });
});
