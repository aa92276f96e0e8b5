/**
 * The dev server's service authorization decision under each XML protection mode (TS 33.179
 * 9.1.3.3, 9.3; demo/server/mcptt-server/service-authorization.ts), with a test KMS and a fake
 * token verifier: which body is accepted where, whose CSK it is, and the typed refusals.
 */
import { describe, expect, it } from 'vitest';

import { authorizeService, type XmlProtectionMode } from '../../demo/server/mcptt-server/service-authorization.js';
import { normalizeSipUri } from '../../demo/server/mcptt-server/sip-message.js';
import { buildMcpttInfoXml, buildServiceAuthorizationBody } from '../../src/codec/sip-bodies.js';
import { buildServiceAuthorizationBodyXml, protectMcpttInfo } from '../../src/codec/xml-protect/index.js';
import { createKeyDistribution, createMemoryReplayCache, createMikeyKeyReceiver, newKeyId, uidOf } from '../../src/keys/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const ALICE = 'sip:alice@mcptt.example';
const MDSI = 'sip:mcptt-server@mcptt.example';
const AOR = 'sip:ue-abcdefghijklmnop@mcptt.example';
const kms = createTestKms('kms.mcptt.example', 7);
const T0 = Date.UTC(2025, 4, 1, 12);
const P0 = kms.periodAt(T0);
const alice = kms.identity(ALICE, [P0]);
const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.YWxpY2U.c2ln';

async function body(o: { protect: boolean; hide: boolean; owner?: string }): Promise<{ contentType: string; body: string }> {
  const csk = { key: rnd(16), keyId: newKeyId(2, rnd) };
  const message = await createKeyDistribution({ kind: 'CSK', ...csk, rand: rnd(16), from: alice, to: { uri: MDSI, kms: kms.params }, time: T0, hideIdentities: o.hide });
  if (!o.protect) return buildServiceAuthorizationBody({ accessToken: TOKEN, cskIMessage: message });
  const info = await protectMcpttInfo(buildMcpttInfoXml({ accessToken: TOKEN }), csk, o.owner ?? ALICE);
  return buildServiceAuthorizationBodyXml({ cskIMessage: message, mcpttInfoXml: info });
}

function decide(mode: XmlProtectionMode, user: string, b: { contentType: string; body: string }, directory: readonly string[] = [ALICE]) {
  const index = new Map(directory.map((u) => [bytesToHex(uidOf(u, kms.params, P0)), u]));
  return authorizeService(
    {
      verifyToken: async (authorization) => {
        if (authorization !== `Bearer ${TOKEN}`) throw new Error('bad token');
        return { mcpttId: ALICE };
      },
      cskReceiver: createMikeyKeyReceiver({ self: kms.identity(MDSI, [P0]), replayCache: createMemoryReplayCache(), now: () => T0 }),
      userKms: kms.params,
      normalize: normalizeSipUri,
      xmlProtection: mode,
      resolveUid: (uid) => index.get(bytesToHex(uid)),
    },
    { user, contentType: b.contentType, body: b.body },
  );
}

describe('service authorization under xmlProtection', () => {
  it("'optional' takes a clear body (AOR = MCPTT ID) and a protected one (opaque AOR)", async () => {
    expect(await decide('optional', ALICE, await body({ protect: false, hide: false }))).toMatchObject({ ok: true, mcpttId: ALICE, protected: false });
    expect(await decide('optional', AOR, await body({ protect: true, hide: true }))).toMatchObject({ ok: true, mcpttId: ALICE, protected: true });
    // A clear body still has to come from the MCPTT ID's own AOR.
    expect(await decide('optional', AOR, await body({ protect: false, hide: false }))).toMatchObject({ ok: false, status: 403, failure: 'identity-mismatch' });
  });

  it("'required' refuses a clear body and a protected one whose CSK names its initiator in clear", async () => {
    expect(await decide('required', ALICE, await body({ protect: false, hide: false }))).toMatchObject({ ok: false, status: 403, failure: 'clear-body', code: 'ERR_XML_PROTECT_REQUIRED' });
    expect(await decide('required', AOR, await body({ protect: true, hide: false }))).toMatchObject({ ok: false, status: 403, failure: 'clear-body' });
    expect(await decide('required', AOR, await body({ protect: true, hide: true }))).toMatchObject({ ok: true, protected: true });
  });

  it('a hidden initiator outside the directory, or a token protected under another owner, is refused', async () => {
    expect(await decide('required', AOR, await body({ protect: true, hide: true }), ['sip:bob@mcptt.example'])).toMatchObject({ ok: false, failure: 'csk-initiator' });
    // P0 = someone else's MCPTT ID: the keys differ, the signature fails.
    expect(await decide('required', AOR, await body({ protect: true, hide: true, owner: 'sip:bob@mcptt.example' }))).toMatchObject({
      ok: false,
      failure: 'xml-protect',
      code: 'ERR_XML_PROTECT_BAD_SIGNATURE',
    });
  });

  it("'off' reads clear bodies only: a protected one does not parse (400)", async () => {
    expect(await decide('off', ALICE, await body({ protect: false, hide: false }))).toMatchObject({ ok: true, protected: false });
    expect(await decide('off', AOR, await body({ protect: true, hide: true }))).toMatchObject({ ok: false, status: 400, failure: 'body' });
  });
});
