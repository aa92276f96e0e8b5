/**
 * The REGISTER body of TS 33.179 5.6.2.1 / 9.1.3.2 (ServiceAuthorization), with a test KMS
 * and a fake clock: token + CSK I_MESSAGE for the MDSI, the same CSK re-sent, re-encapsulated
 * when its message ages, replaced when the key period changes or on demand; a missing or
 * unusable token never takes the CSK down with it (5.6.2.0).
 */
import { describe, expect, it } from 'vitest';

import { parseServiceAuthorizationBody } from '../../src/codec/sip-bodies.js';
import { createMikeyKeyReceiver, periodEndUnixMs, type LocalIdentity } from '../../src/keys/index.js';
import { ServiceAuthorization, type AuthorizationDegraded, type CskInfo } from '../../src/platform/signalling/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { createTestKms } from '../helpers/test-kms.js';

const ALICE = 'sip:alice@mcptt.example';
const MDSI = 'sip:mcptt-server@mcptt.example';
const kms = createTestKms('kms.mcptt.example', 7);
const T0 = Date.UTC(2025, 4, 1, 12);
const P0 = kms.periodAt(T0);
const alice = kms.identity(ALICE, [P0, P0 + 1]);
const mdsi = createMikeyKeyReceiver({ self: kms.identity(MDSI, [P0, P0 + 1]), now: () => clock });
let clock = T0;

function make(o: { token?: () => Promise<string>; identity?: () => LocalIdentity | undefined } = {}) {
  const csk: CskInfo[] = [];
  const degraded: AuthorizationDegraded[] = [];
  const auth = new ServiceAuthorization({
    identity: o.identity ?? (() => alice),
    accessToken: o.token ?? (async () => 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln'),
    mdsi: MDSI,
    now: () => clock,
    onCsk: (i) => csk.push(i),
    onDegraded: (d) => degraded.push(d),
  });
  return { auth, csk, degraded };
}

async function bodyOf(auth: ServiceAuthorization) {
  const b = await auth.body();
  expect(b).toBeDefined();
  return parseServiceAuthorizationBody(b!.contentType, b!.body);
}

describe('ServiceAuthorization (TS 33.179 5.6.2.1, 9.1.2, 9.1.3.2)', () => {
  it('puts the token and a CSK for the MDSI in the body, and re-sends the same message', async () => {
    clock = T0;
    const { auth, csk } = make();
    const first = await bodyOf(auth);
    expect(first.accessToken).toBe('eyJhbGciOiJFUzI1NiJ9.e30.c2ln');
    const k = await mdsi.receive(first.cskIMessage!, 'CSK');
    expect(k.initiator.uri).toBe(ALICE);
    expect(bytesToHex(k.key)).toBe(bytesToHex(auth.current()!.key));
    expect(k.keyId[0]! >> 4).toBe(2);
    expect(csk).toEqual([{ cskId: bytesToHex(k.keyId), keyPeriodNo: P0, reason: 'new-session' }]);
    clock += 60_000;
    const again = await bodyOf(auth);
    expect(bytesToHex(again.cskIMessage!)).toBe(bytesToHex(first.cskIMessage!));
    expect(csk).toHaveLength(1);
  });

  it('encapsulates the same CSK again once its message is older than 300 s', async () => {
    clock = T0;
    const { auth, csk } = make();
    const first = await bodyOf(auth);
    clock += 301_000;
    const later = await bodyOf(auth);
    expect(bytesToHex(later.cskIMessage!)).not.toBe(bytesToHex(first.cskIMessage!));
    const k = await mdsi.receive(later.cskIMessage!, 'CSK');
    expect(bytesToHex(k.key)).toBe(bytesToHex(auth.current()!.key));
    expect(bytesToHex(k.keyId)).toBe(bytesToHex(auth.current()!.keyId));
    expect(csk).toHaveLength(1);
  });

  it('makes a new CSK when the key period changes, and when asked', async () => {
    clock = periodEndUnixMs(kms.params, P0) - 10_000;
    const { auth, csk } = make();
    await bodyOf(auth);
    const first = auth.current()!;
    expect(auth.periodEndsAt()).toBe(periodEndUnixMs(kms.params, P0));
    clock = periodEndUnixMs(kms.params, P0) + 1_000;
    const next = await bodyOf(auth);
    const k = await mdsi.receive(next.cskIMessage!, 'CSK');
    expect(k.keyPeriodNo).toBe(P0 + 1);
    expect(bytesToHex(k.keyId)).not.toBe(bytesToHex(first.keyId));
    expect(csk.map((c) => c.reason)).toEqual(['new-session', 'period-change']);
    auth.renew();
    await bodyOf(auth);
    expect(csk.map((c) => c.reason)).toEqual(['new-session', 'period-change', 'renewed']);
    expect(csk[2]!.cskId).toBe(bytesToHex(auth.current()!.keyId));
  });

  it('sends the CSK alone when the token fails or is not a bearer token, the token alone without keys', async () => {
    clock = T0;
    const failing = make({ token: async () => Promise.reject(new Error('offline')) });
    const b1 = await bodyOf(failing.auth);
    expect(b1.accessToken).toBeUndefined();
    expect(b1.cskIMessage).toBeDefined();
    expect(failing.degraded).toEqual([{ part: 'token', code: 'ERR_UNKNOWN' }]);

    const odd = make({ token: async () => 'sip:alice@mcptt.example' });
    const b2 = await bodyOf(odd.auth);
    expect(b2.accessToken).toBeUndefined();
    expect(b2.cskIMessage).toBeDefined();
    expect(odd.degraded).toEqual([{ part: 'token', code: 'ERR_AUTH_INVALID_TOKEN' }]);

    const keyless = make({ identity: () => undefined });
    const b3 = await bodyOf(keyless.auth);
    expect(b3.accessToken).toBeDefined();
    expect(b3.cskIMessage).toBeUndefined();
    expect(keyless.degraded).toEqual([{ part: 'csk', code: 'ERR_SIGNALLING_NO_IDENTITY' }]);

    const nothing = make({ identity: () => undefined, token: async () => '' });
    expect(await nothing.auth.body()).toBeUndefined();
    expect(nothing.degraded.map((d) => d.part)).toEqual(['token', 'csk']);
  });

  it('checks its options', () => {
    expect(() => new ServiceAuthorization({ identity: () => alice, accessToken: async () => 't', mdsi: 'mcptt-server' })).toThrow(TypeError);
    expect(() => new ServiceAuthorization({ identity: () => alice, accessToken: async () => 't', mdsi: MDSI, maxMessageAgeMs: 0 })).toThrow(RangeError);
  });
});
