/**
 * The key management client (TS 33.179 7.2, Annex D, the KMS security extension) against the
 * real dev KMS (demo/server/kms.ts) on 127.0.0.1, over Node's fetch, with a fake token
 * verifier: provisioning of the current and a chosen period, authorization of other
 * identities, signed requests and responses, NewTransportKey handling, and transport failures.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMS_SCOPE, startKms } from '../../demo/server/kms.js';
import type { RunningKms } from '../../demo/server/kms.js';
import { DEMO_USERS, DEV_KMS_URI, DEV_USER_KEY_OFFSET, DEV_USER_KEY_PERIOD, SERVER_IDENTITIES } from '../../demo/server/config.js';
import { buildKmsResponse, parseKmsRequest, parseKmsResponse } from '../../src/codec/kms/index.js';
import type { KmsKeySetInput, KmsMessageInput, KmsResponse, KmsResponseSecurity } from '../../src/codec/kms/index.js';
import { AuthError, isMcpttError, KmsError } from '../../src/errors.js';
import type { McpttErrorCode } from '../../src/errors.js';
import { ntpSecondsOfUnixMs, periodAt } from '../../src/keys/identity.js';
import { createKmsClient } from '../../src/platform/kms/index.js';
import type { KmsClientOptions, KmsTransportKeyStore } from '../../src/platform/kms/index.js';
import { bytesToHex, utf8 } from '../../src/util/bytes.js';

const user = (name: string): string => DEMO_USERS.find((u) => u.username === name)!.mcpttId;
const ALICE = user('alice');
const BOB = user('bob');
const CAROL = user('carol');
const DISPATCH = user('dispatch');
const GMS = SERVER_IDENTITIES.gms;
const DAY = 86_400_000;

/** Tokens are just the MCPTT ID behind a prefix; the real verifier (jose + JWKS) is tested elsewhere. */
const TOKENS: Readonly<Record<string, string>> = { 'tok-alice': ALICE, 'tok-bob': BOB, 'tok-carol': CAROL, 'tok-dispatch': DISPATCH };
const fakeVerifier = async (authorization: string | undefined, requiredScope: string): Promise<{ mcpttId: string }> => {
  const m = /^Bearer (.+)$/.exec(authorization ?? '');
  const mcpttId = m ? TOKENS[m[1]!] : undefined;
  if (mcpttId === undefined || requiredScope !== KMS_SCOPE) throw new AuthError('ERR_AUTH_INVALID_TOKEN', 'invalid token');
  return { mcpttId };
};

const bootstrapKey = (mcpttId: string): Uint8Array => sha256(utf8(`bootstrap TrK of ${mcpttId}`));
const bootstrapId = (mcpttId: string): string => `tk.0.${mcpttId}`;

async function expectCode(p: Promise<unknown>, code: McpttErrorCode): Promise<unknown> {
  let thrown: unknown;
  try {
    await p;
  } catch (e) {
    thrown = e;
  }
  expect(isMcpttError(thrown, code), `expected ${code}, got ${String((thrown as { code?: string })?.code ?? thrown)}`).toBe(true);
  return thrown;
}

/** A key store as the lead's provisioning layer would pass it, recording every put. */
function memoryStore(initial: Record<string, Uint8Array>): KmsTransportKeyStore & { puts: { id: string; kind: string }[]; keys: Map<string, Uint8Array> } {
  const keys = new Map(Object.entries(initial));
  const puts: { id: string; kind: string }[] = [];
  return {
    keys,
    puts,
    get: async (id) => keys.get(id),
    put: async (id, key, kind) => {
      keys.set(id, key);
      puts.push({ id, kind });
    },
  };
}

/** Node's fetch, with the response body passed through `edit` (a man in the middle). */
function editingFetch(edit: (body: string, url: string) => string | Promise<string>): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const text = await res.text();
    return new Response(await edit(text, String(input)), { status: res.status, headers: { 'content-type': 'application/xml' } });
  };
}

describe('KMS client against the dev KMS (security extension off)', () => {
  let kms: RunningKms;
  beforeAll(async () => {
    kms = await startKms({
      kmsUri: DEV_KMS_URI,
      userKeyPeriod: DEV_USER_KEY_PERIOD,
      userKeyOffset: DEV_USER_KEY_OFFSET,
      verifyToken: fakeVerifier,
      serverIdentities: { [DISPATCH]: [GMS] },
      seed: utf8('kms-client test seed, plain'),
    });
  });
  afterAll(() => kms.close());

  const client = (token: string, identity: string, extra: Partial<KmsClientOptions> = {}) =>
    createKmsClient({ baseUrl: kms.url, accessToken: async () => token, identity, kmsUri: DEV_KMS_URI, ...extra });

  it('init returns the validated root certificate, keyprov the current and next periods', async () => {
    const urls: string[] = [];
    const c = client('tok-alice', ALICE, { fetch: (input, init) => (urls.push(String(input)), fetch(input, init)) });
    const { certificate } = await c.init();
    expect(certificate.kmsUri).toBe(DEV_KMS_URI);
    expect(bytesToHex(certificate.z)).toBe(bytesToHex(kms.params.z));
    expect(bytesToHex(certificate.kpak)).toBe(bytesToHex(kms.params.kpak));
    expect(certificate.userKeyPeriod).toBe(DEV_USER_KEY_PERIOD);

    const sets = await c.keyProvision();
    const current = periodAt(kms.params, ntpSecondsOfUnixMs(Date.now()));
    expect(sets.map((s) => s.keyPeriodNo)).toEqual([current, current + 1]);
    for (const s of sets) {
      expect(s.identity).toBe(ALICE);
      const issued = kms.issue(ALICE, s.keyPeriodNo);
      expect(bytesToHex(s.rsk)).toBe(bytesToHex(issued.rsk));
      expect(bytesToHex(s.uid)).toBe(bytesToHex(issued.uid));
    }
    expect(urls).toEqual([`${kms.url}/keymanagement/identity/v1/init`, `${kms.url}/keymanagement/identity/v1/keyprov`]);
  });

  it('keyprov for a chosen time uses /keyprov/{uri}/{NTP hex} and returns that period (init done implicitly)', async () => {
    const urls: string[] = [];
    const c = client('tok-alice', ALICE, { fetch: (input, init) => (urls.push(String(input)), fetch(input, init)) });
    const at = Date.now() - 10 * DAY;
    const sets = await c.keyProvision({ at });
    expect(sets).toHaveLength(1);
    expect(sets[0]!.keyPeriodNo).toBe(periodAt(kms.params, ntpSecondsOfUnixMs(at)));
    expect(urls[0]).toMatch(/\/init$/);
    expect(urls[1]).toMatch(/\/keyprov\/sip%3Aalice%40mcptt\.example\/[0-9A-F]{16}$/);
  });

  it('a time outside the certificate validity gets a KmsError, not keys', async () => {
    const e = (await expectCode(client('tok-alice', ALICE).keyProvision({ at: Date.now() - 800 * DAY }), 'ERR_KMS_ERROR_RESPONSE')) as KmsError;
    expect(e.serverError?.errorCode).toBe(404);
  });

  it('another identity is refused unless the token holder is authorized for it', async () => {
    const alice = client('tok-alice', ALICE);
    const e = (await expectCode(alice.keyProvision({ identity: BOB }), 'ERR_KMS_ERROR_RESPONSE')) as KmsError;
    expect(e.serverError?.errorCode).toBe(403);
    await expectCode(alice.keyProvision({ identity: GMS }), 'ERR_KMS_ERROR_RESPONSE');

    const dispatch = client('tok-dispatch', DISPATCH);
    const sets = await dispatch.keyProvision({ identity: GMS });
    expect(sets.map((s) => s.identity)).toEqual([GMS, GMS]);
  });

  it('a revoked identity gets a KmsError', async () => {
    kms.revoke(CAROL);
    const e = (await expectCode(client('tok-carol', CAROL).keyProvision(), 'ERR_KMS_ERROR_RESPONSE')) as KmsError;
    expect(e.serverError?.errorCode).toBe(410);
  });

  it('certcache returns the validated root, and nothing new for the current version', async () => {
    const c = client('tok-alice', ALICE);
    const all = await c.certCache();
    expect(all.version).toBe(1);
    expect(all.certificates.map((x) => x.kmsUri)).toEqual([DEV_KMS_URI]);
    expect(await c.certCache(1)).toEqual({ certificates: [], version: 1 });
  });

  it('a bad token is HTTP 401 → ERR_KMS_HTTP, without echoing the body', async () => {
    const e = (await expectCode(client('tok-mallory', ALICE).init(), 'ERR_KMS_HTTP')) as Error;
    expect(e.message).toContain('401');
    expect(e.message).not.toMatch(/token/i);
  });

  it('a key set for another identity than asked is refused (a KMS mixing users up)', async () => {
    // Bob's genuine response, handed to a client that asked as Alice.
    const bob = client('tok-bob', BOB);
    await expectCode(client('tok-bob', ALICE).keyProvision(), 'ERR_KMS_WRONG_IDENTITY');
    expect(await bob.keyProvision()).toHaveLength(2);
  });

  it('a certificate for another KMS URI than configured is refused', async () => {
    await expectCode(client('tok-alice', ALICE, { kmsUri: 'kms.elsewhere.example' }).init(), 'ERR_KMS_INVALID_CERTIFICATE');
  });

  it('a response larger than maxResponseBytes is refused', async () => {
    const big: typeof fetch = async () => new Response('<a>' + 'x'.repeat(8000) + '</a>', { status: 200 });
    await expectCode(client('tok-alice', ALICE, { fetch: big, maxResponseBytes: 4096 }).init(), 'ERR_KMS_TOO_LARGE');
  });

  it('a KMS that is down or silent is ERR_KMS_UNREACHABLE', async () => {
    const down = await startKms({ kmsUri: DEV_KMS_URI, userKeyPeriod: DEV_USER_KEY_PERIOD, userKeyOffset: 0, verifyToken: fakeVerifier, seed: utf8('down down down down') });
    const url = down.url;
    await down.close();
    await expectCode(createKmsClient({ baseUrl: url, accessToken: async () => 'tok-alice', identity: ALICE }).init(), 'ERR_KMS_UNREACHABLE');

    const silent = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const { port } = silent.address() as AddressInfo;
      const c = createKmsClient({ baseUrl: `http://127.0.0.1:${port}`, accessToken: async () => 'tok-alice', identity: ALICE, timeoutMs: 150 });
      const e = (await expectCode(c.init(), 'ERR_KMS_UNREACHABLE')) as Error;
      expect(e.message).toMatch(/timed out/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('answers CORS preflights for configured origins only', async () => {
    const withCors = await startKms({
      kmsUri: DEV_KMS_URI,
      userKeyPeriod: DEV_USER_KEY_PERIOD,
      userKeyOffset: 0,
      verifyToken: fakeVerifier,
      seed: utf8('cors cors cors cors'),
      corsOrigins: ['http://127.0.0.1:5173'],
    });
    try {
      const path = `${withCors.url}/keymanagement/identity/v1/init`;
      const pre = (origin: string) =>
        fetch(path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
      const ok = await pre('http://127.0.0.1:5173');
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
      expect(ok.headers.get('access-control-allow-headers')).toContain('authorization');
      const bad = await pre('http://evil.example');
      expect(bad.status).toBe(403);
      expect(bad.headers.get('access-control-allow-origin')).toBeNull();
      const get = await fetch(path);
      expect(get.status).toBe(405);
      const big = await fetch(path, { method: 'POST', headers: { authorization: 'Bearer tok-alice' }, body: 'x'.repeat(70_000) });
      expect(big.status).toBe(413);
    } finally {
      await withCors.close();
    }
  });
});

describe('KMS client against the dev KMS (security extension on)', () => {
  let kms: RunningKms;
  beforeAll(async () => {
    kms = await startKms({
      kmsUri: DEV_KMS_URI,
      userKeyPeriod: DEV_USER_KEY_PERIOD,
      userKeyOffset: DEV_USER_KEY_OFFSET,
      verifyToken: fakeVerifier,
      serverIdentities: { [DISPATCH]: [GMS] },
      security: { mode: 'on', bootstrapTransportKey: (id) => ({ id: bootstrapId(id), key: bootstrapKey(id) }) },
      seed: utf8('kms-client test seed, secured'),
    });
  });
  afterAll(() => kms.close());

  const secured = (mcpttId: string, token: string, store: KmsTransportKeyStore, extra: Partial<KmsClientOptions> = {}) =>
    createKmsClient({
      baseUrl: kms.url,
      accessToken: async () => token,
      identity: mcpttId,
      kmsUri: DEV_KMS_URI,
      security: 'required',
      transportKeys: store,
      transportKeyId: bootstrapId(mcpttId),
      ...extra,
    });

  /** Parse a genuine response with the keys the test knows (it plays the KMS's TrK holder). */
  const open = (xml: string, keys: Map<string, Uint8Array>): Promise<KmsResponse> =>
    parseKmsResponse(xml, { security: 'required', getTransportKey: (id) => keys.get(id) });

  /** Rebuild a response with another message or signature, as an attacker or a faulty KMS would. */
  const rebuild = (r: KmsResponse, message: KmsMessageInput | undefined, sec: KmsResponseSecurity): Promise<string> =>
    buildKmsResponse({ kmsUri: r.kmsUri, userUri: r.userUri, time: r.time, clientReqUrl: r.clientReqUrl, message }, { security: sec });

  it('signs requests, verifies signed responses, stores the rotated TrK and signs with it afterwards', async () => {
    const store = memoryStore({ [bootstrapId(ALICE)]: bootstrapKey(ALICE) });
    const requestKeys: string[] = [];
    const spy: typeof fetch = async (input, init) => {
      const body = String(init?.body ?? '');
      requestKeys.push(parseKmsRequest(body, { getTransportKey: (id) => store.keys.get(id) }).signature.keyId);
      return fetch(input, init);
    };
    const c = secured(ALICE, 'tok-alice', store, { fetch: spy });
    const { certificate } = await c.init();
    expect(certificate.kmsUri).toBe(DEV_KMS_URI);
    expect(store.puts).toHaveLength(1);
    const newId = store.puts[0]!.id;
    expect(store.puts[0]!.kind).toBe('TrK');
    expect(newId).not.toBe(bootstrapId(ALICE));

    const sets = await c.keyProvision();
    expect(sets).toHaveLength(2);
    expect(bytesToHex(sets[0]!.ssk)).toBe(bytesToHex(kms.issue(ALICE, sets[0]!.keyPeriodNo).ssk));
    expect(requestKeys).toEqual([bootstrapId(ALICE), newId]);

    const at = Date.now() - 3 * DAY;
    const past = await c.keyProvision({ at });
    expect(past.map((s) => s.keyPeriodNo)).toEqual([periodAt(kms.params, ntpSecondsOfUnixMs(at))]);
  });

  it('a server identity is provisioned to an authorized token under the security extension', async () => {
    const store = memoryStore({ [bootstrapId(DISPATCH)]: bootstrapKey(DISPATCH) });
    const sets = await secured(DISPATCH, 'tok-dispatch', store).keyProvision({ identity: GMS });
    expect(sets.every((s) => s.identity === GMS)).toBe(true);
    const e = (await expectCode(secured(ALICE, 'tok-alice', memoryStore({ [bootstrapId(ALICE)]: bootstrapKey(ALICE) })).keyProvision({ identity: GMS }), 'ERR_KMS_ERROR_RESPONSE')) as KmsError;
    expect(e.serverError?.errorCode).toBe(403);
  });

  it('a response altered in transit is ERR_KMS_BAD_SIGNATURE and nothing is stored', async () => {
    const store = memoryStore({ [bootstrapId(BOB)]: bootstrapKey(BOB) });
    const c = secured(BOB, 'tok-bob', store, { fetch: editingFetch((xml) => xml.replace('<KmsId>mcptt-dev-kms</KmsId>', '<KmsId>mcptt-dev-kmz</KmsId>')) });
    await expectCode(c.init(), 'ERR_KMS_BAD_SIGNATURE');
    expect(store.puts).toEqual([]);
  });

  it('a response signed with the wrong TrK is refused: wrong key → BAD_SIGNATURE, unknown key → UNKNOWN_TRANSPORT_KEY', async () => {
    const keys = new Map([[bootstrapId(BOB), bootstrapKey(BOB)]]);
    const forged = (signingKeyId: string, signingKey: Uint8Array) =>
      editingFetch(async (xml) => {
        const r = await open(xml, keys);
        return rebuild(r, r.message, {
          signingKeyId,
          signingKey,
          transportKeyId: bootstrapId(BOB),
          transportKey: bootstrapKey(BOB),
          newTransportKeys: [{ id: 'tk.666.attacker', key: new Uint8Array(32).fill(6) }],
        });
      });
    const wrongKey = memoryStore({ [bootstrapId(BOB)]: bootstrapKey(BOB) });
    await expectCode(secured(BOB, 'tok-bob', wrongKey, { fetch: forged(bootstrapId(BOB), new Uint8Array(32).fill(1)) }).init(), 'ERR_KMS_BAD_SIGNATURE');
    expect(wrongKey.puts).toEqual([]);
    const unknownKey = memoryStore({ [bootstrapId(BOB)]: bootstrapKey(BOB) });
    await expectCode(secured(BOB, 'tok-bob', unknownKey, { fetch: forged('tk.999.nobody', new Uint8Array(32).fill(2)) }).init(), 'ERR_KMS_UNKNOWN_TRANSPORT_KEY');
    expect(unknownKey.puts).toEqual([]);
  });

  it('an unsigned response is refused when the extension is required', async () => {
    const store = memoryStore({ [bootstrapId(BOB)]: bootstrapKey(BOB) });
    const keys = new Map([[bootstrapId(BOB), bootstrapKey(BOB)]]);
    const strip = editingFetch(async (xml) => {
      const r = await open(xml, keys);
      return buildKmsResponse({ kmsUri: r.kmsUri, userUri: r.userUri, time: r.time, clientReqUrl: r.clientReqUrl, message: r.message });
    });
    await expectCode(secured(BOB, 'tok-bob', store, { fetch: strip }).init(), 'ERR_KMS_BAD_SIGNATURE');
    expect(store.puts).toEqual([]);
  });

  it('NewTransportKey is stored only after the certificate validated', async () => {
    const keys = new Map([[bootstrapId(BOB), bootstrapKey(BOB)]]);
    const badCert = editingFetch(async (xml) => {
      const r = await open(xml, keys);
      const m = r.message!;
      if (m.kind !== 'init') throw new Error('expected init');
      // Correctly signed with the genuine TrK, but the certificate says UserIdFormat 1.
      return rebuild(r, { kind: 'init', certificate: { ...m.certificate, userIdFormat: '1' } }, {
        signingKeyId: bootstrapId(BOB),
        signingKey: bootstrapKey(BOB),
        transportKeyId: bootstrapId(BOB),
        transportKey: bootstrapKey(BOB),
        newTransportKeys: r.newTransportKeys,
      });
    });
    const store = memoryStore({ [bootstrapId(BOB)]: bootstrapKey(BOB) });
    await expectCode(secured(BOB, 'tok-bob', store, { fetch: badCert }).init(), 'ERR_KMS_INVALID_CERTIFICATE');
    expect(store.puts).toEqual([]);
  });

  it('NewTransportKey is stored only after every key set validated', async () => {
    const keys = new Map([[bootstrapId(BOB), bootstrapKey(BOB)]]);
    const badSet = editingFetch(async (xml, url) => {
      if (url.endsWith('/init')) return xml; // init rotates: keep the genuine one
      const r = await open(xml, keys);
      const m = r.message!;
      if (m.kind !== 'keyprov') throw new Error('expected keyprov');
      const sets: KmsKeySetInput[] = m.keySets.map((k, i) => {
        const pvt = Uint8Array.from(k.userPubTokenPVT);
        if (i === 1) pvt[64] = pvt[64]! ^ 1;
        return { ...k, userPubTokenPVT: pvt };
      });
      return rebuild(r, { kind: 'keyprov', keySets: sets }, {
        signingKeyId: r.signature!.keyId,
        signingKey: keys.get(r.signature!.keyId)!,
        transportKeyId: r.trkId!,
        transportKey: keys.get(r.trkId!)!,
        newTransportKeys: [{ id: 'tk.77.bob', key: new Uint8Array(32).fill(7) }],
      });
    });
    const store = memoryStore({ [bootstrapId(BOB)]: bootstrapKey(BOB) });
    const c = secured(BOB, 'tok-bob', store, {
      fetch: async (input, init) => {
        const res = await badSet(input, init);
        // Learn the TrK the genuine init delivered, as the attacker-in-the-test holds every key.
        for (const [id, key] of store.keys) keys.set(id, key);
        return res;
      },
    });
    await c.init();
    for (const [id, key] of store.keys) keys.set(id, key);
    const putsAfterInit = store.puts.length;
    await expectCode(c.keyProvision(), 'ERR_KMS_INVALID_KEY_SET');
    expect(store.puts).toHaveLength(putsAfterInit);
    expect(store.keys.has('tk.77.bob')).toBe(false);
  });

  it('a genuine response replayed for another request is refused (ClientReqUrl)', async () => {
    const store = memoryStore({ [bootstrapId(BOB)]: bootstrapKey(BOB) });
    let recorded: string | undefined;
    const c = secured(BOB, 'tok-bob', store, {
      fetch: editingFetch((xml, url) => {
        if (url.endsWith('/keyprov')) recorded = xml;
        else if (url.includes('/keyprov/') && recorded !== undefined) return recorded;
        return xml;
      }),
    });
    await c.keyProvision();
    await expectCode(c.keyProvision({ at: Date.now() }), 'ERR_KMS_MALFORMED');
  });

  it('a client holding a wrong TrK is refused by the KMS (HTTP 401); one holding none sends nothing', async () => {
    const wrong = memoryStore({ [bootstrapId(CAROL)]: new Uint8Array(32).fill(9) });
    const e = (await expectCode(secured(CAROL, 'tok-carol', wrong).init(), 'ERR_KMS_HTTP')) as Error;
    expect(e.message).toContain('401');

    let sent = 0;
    const none = memoryStore({});
    await expectCode(secured(CAROL, 'tok-carol', none, { fetch: async (i, n) => (sent++, fetch(i, n)) }).init(), 'ERR_KMS_UNKNOWN_TRANSPORT_KEY');
    expect(sent).toBe(0);
  });

  it('an unsigned request is refused by a KMS that requires the extension', async () => {
    const plain = createKmsClient({ baseUrl: kms.url, accessToken: async () => 'tok-alice', identity: ALICE });
    await expectCode(plain.init(), 'ERR_KMS_HTTP');
  });

  it('a request whose Time is stale is refused by the KMS', async () => {
    const store = memoryStore({ [bootstrapId(ALICE)]: bootstrapKey(ALICE) });
    const c = secured(ALICE, 'tok-alice', store, { now: () => Date.now() - 10 * 60_000 });
    await expectCode(c.init(), 'ERR_KMS_HTTP');
  });
});
