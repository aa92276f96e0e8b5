/**
 * The SDK's SIP user agent (RFC 3261 over RFC 7118 WebSocket, sip.js) against a real SIP
 * core: Kamailio 5.6 started by demo/server/kamailio.ts on a free loopback port.
 *
 * Covers TS 33.179 5.6.2 (token + CSK in the REGISTER body, or a PUBLISH to the MCPTT
 * server), 7.3.2 (GMK notification MESSAGE/NOTIFY answered by the app's handler), 7.4 (PCK
 * I_MESSAGE in the INVITE's SDP offer seen by the callee before it answers; 488 on refusal),
 * reconnection after the SIP core restarts, unregistration on stop().
 *
 * Node 20 has no global WebSocket: sip.js gets the `ws` package's. Media is a stub session
 * description handler producing a fixed SDP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Core, UserAgent, Web } from 'sip.js';

import { startKamailio, type RunningKamailio } from '../../demo/server/kamailio.js';
import {
  buildGmkNotificationBody,
  buildServiceAuthorizationBody,
  parseGmkNotificationBody,
  parseServiceAuthorizationBody,
} from '../../src/codec/sip-bodies.js';
import { encodeBase64, readSdpMikey, writeSdpMikey } from '../../src/codec/sdp-key-mgmt.js';
import {
  SIP_UA_TRANSITIONS,
  assertSipUaTransition,
  createSipUserAgent,
  type SipUaState,
  type SipUserAgent,
  type SipUserAgentOptions,
} from '../../src/platform/sip/index.js';
import { isSipError } from '../../src/platform/sip/errors.js';
import { sharedVector } from '../helpers/shared.js';
import { STUB_SDP, stubSdhFactory } from '../signalling/helpers.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const DOMAIN = 'mcptt.example';
const AS_URI = `sip:mcptt-server@${DOMAIN}`;
const GROUP = `sip:fire-ops@${DOMAIN}`;

const interop = sharedVector<{ i_message_sets: { messages: { title: string; i_message_b64: string }[] }[] }>('impl-mikey-sakke-published-interop')
  .i_message_sets.flatMap((s) => s.messages);
const imsg = (title: string): Uint8Array => new Uint8Array(Buffer.from(interop.find((m) => m.title === title)!.i_message_b64, 'base64'));
const GMK_A = imsg('1: GMK');
const GMK_B = imsg('4: GMK (legacy format for IWF)');
const CSK = imsg('2: CSK');
const PCK = imsg('3: PCK');
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJtY3B0dF9pZCI6InNpcDphbGljZUBtY3B0dC5leGFtcGxlIn0.c2ln';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, f: () => boolean, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function sipCode(e: unknown): { code: string | undefined; status: number | undefined } {
  return isSipError(e) ? { code: e.code, status: e.statusCode } : { code: undefined, status: undefined };
}

/**
 * A bare SIP-over-WebSocket endpoint standing in for the MCPTT server: sip.js cannot receive
 * PUBLISH, and here we want to see exactly what arrives. Answers every request with `answer`.
 */
class RawSipEndpoint {
  readonly received: Core.IncomingRequestMessage[] = [];
  answer: (m: Core.IncomingRequestMessage) => number = () => 200;
  #ws: WebSocket | undefined;
  #responses = new Map<string, (m: Core.IncomingResponseMessage) => void>();
  readonly #logger = (() => {
    const f = new Core.LoggerFactory();
    f.builtinEnabled = false;
    return f.getLogger('raw');
  })();

  async connect(url: string): Promise<void> {
    const ws = new WebSocket(url, 'sip');
    this.#ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data) => this.#onMessage(String(data)));
  }

  #onMessage(text: string): void {
    const m = Core.Parser.parseMessage(text, this.#logger);
    if (m instanceof Core.IncomingResponseMessage) {
      this.#responses.get(m.callId)?.(m);
      return;
    }
    if (!(m instanceof Core.IncomingRequestMessage) || m.method === 'ACK') return;
    this.received.push(m);
    const status = this.answer(m);
    const lines = [`SIP/2.0 ${status} ${status === 200 ? 'OK' : 'Refused'}`];
    for (const v of m.getHeaders('via')) lines.push(`Via: ${v}`);
    const to = m.getHeader('to')!;
    lines.push(`From: ${m.getHeader('from')}`, `To: ${/;tag=/.test(to) ? to : `${to};tag=as${Date.now()}`}`, `Call-ID: ${m.callId}`, `CSeq: ${m.getHeader('cseq')}`, 'Content-Length: 0', '', '');
    this.#ws!.send(lines.join('\r\n'));
  }

  async register(aor: string): Promise<number> {
    const callId = `raw-${Math.random().toString(36).slice(2)}`;
    const text = [
      `REGISTER sip:${DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/WS as.invalid;branch=z9hG4bK${callId}`,
      'Max-Forwards: 70',
      `From: <${aor}>;tag=raw1`,
      `To: <${aor}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 REGISTER',
      'Contact: <sip:as@as.invalid;transport=ws>;expires=600',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const r = new Promise<Core.IncomingResponseMessage>((resolve) => this.#responses.set(callId, resolve));
    this.#ws!.send(text);
    return (await r).statusCode!;
  }

  close(): void {
    this.#ws?.close();
  }
}

describe('SIP user agent through Kamailio (TS 33.179 5.6.2, 7.3.2, 7.4)', () => {
  let kam: RunningKamailio | undefined;
  const agents: SipUserAgent[] = [];
  const raws: RawSipEndpoint[] = [];
  let alice: SipUserAgent;
  let bob: SipUserAgent;
  const aliceStates: SipUaState[] = [];
  const bobStates: SipUaState[] = [];
  let aliceBodies = 0;

  function agent(name: string, extra?: Partial<SipUserAgentOptions>): SipUserAgent {
    const ua = createSipUserAgent({
      server: kam!.wsUrl,
      aor: `sip:${name}@${DOMAIN}`,
      displayName: name,
      serviceAuthorization: 'register',
      sessionDescriptionHandlerFactory: stubSdhFactory(),
      reconnect: { initialMs: 100, maxMs: 800 },
      ...extra,
    });
    agents.push(ua);
    return ua;
  }

  beforeAll(async () => {
    kam = await startKamailio({ domain: DOMAIN, appServer: { uri: AS_URI, routePsis: [AS_URI, GROUP] } });
    alice = agent('alice', {
      registerBody: async () => {
        aliceBodies++;
        return buildServiceAuthorizationBody({ accessToken: TOKEN, cskIMessage: CSK });
      },
    });
    bob = agent('bob');
    alice.on('stateChange', (s) => aliceStates.push(s));
    bob.on('stateChange', (s) => bobStates.push(s));
    await Promise.all([alice.start(), bob.start()]);
  }, 20_000);

  afterAll(async () => {
    for (const r of raws) r.close();
    await Promise.allSettled(agents.map((a) => a.stop()));
    await kam?.close();
  }, 20_000);

  it('registers both agents through the registrar, the token and CSK riding in the REGISTER', () => {
    expect(alice.state).toBe('registered');
    expect(bob.state).toBe('registered');
    expect(aliceStates).toEqual(['connecting', 'registering', 'registered']);
    expect(aliceBodies).toBe(1);
  });

  it('delivers a GMK notification MESSAGE; the handler answers 200, then 488 and 403 reach the sender', async () => {
    const seen: { groupId: string; n: number; from: string; method: string }[] = [];
    const answers = [{ status: 200 as const }, { status: 488, reason: 'Not Acceptable Here' }, { status: 403, reason: 'Forbidden' }];
    bob.delegate = {
      onKeyNotification: async (body, contentType, from, info) => {
        const n = parseGmkNotificationBody(contentType, body);
        expect(n.iMessages).toEqual([GMK_A, GMK_B]);
        seen.push({ groupId: n.groupId, n: n.iMessages.length, from, method: info.method });
        return answers[seen.length - 1]!;
      },
    };
    const body = buildGmkNotificationBody({ groupId: GROUP, iMessages: [GMK_A, GMK_B] });
    await expect(alice.sendMessage(`sip:bob@${DOMAIN}`, body)).resolves.toMatchObject({ status: 200 });
    expect(seen[0]).toEqual({ groupId: GROUP, n: 2, from: `sip:alice@${DOMAIN}`, method: 'MESSAGE' });

    const e488 = await alice.sendMessage(`sip:bob@${DOMAIN}`, body).catch((e: unknown) => e);
    expect(sipCode(e488)).toEqual({ code: 'ERR_SIP_REQUEST_FAILED', status: 488 });

    // The same body as an out-of-dialog NOTIFY (TS 24.481 style), refused with 403.
    const e403 = await alice.sendMessage(`sip:bob@${DOMAIN}`, body, { method: 'NOTIFY' }).catch((e: unknown) => e);
    expect(sipCode(e403)).toEqual({ code: 'ERR_SIP_REQUEST_FAILED', status: 403 });
    expect(seen.map((s) => s.method)).toEqual(['MESSAGE', 'MESSAGE', 'NOTIFY']);
  });

  it('carries a body of several KB (8 I_MESSAGEs) through Kamailio', async () => {
    const many = Array.from({ length: 8 }, (_, i) => (i % 2 ? GMK_B : GMK_A));
    let got: Uint8Array[] = [];
    bob.delegate = {
      onKeyNotification: async (body, contentType) => {
        got = [...parseGmkNotificationBody(contentType, body).iMessages];
        return { status: 200 };
      },
    };
    const body = buildGmkNotificationBody({ groupId: GROUP, iMessages: many });
    expect(body.body.length).toBeGreaterThan(4096);
    await alice.sendMessage(`sip:bob@${DOMAIN}`, body);
    expect(got).toEqual(many);
  });

  it('answers 500 without leaking the error when the handler throws, and sends no unsafe reason phrase', async () => {
    const errors: unknown[] = [];
    const off = bob.on('handlerError', (_w, e) => errors.push(e));
    bob.delegate = {
      onKeyNotification: async () => {
        throw new Error('secret-key-material');
      },
    };
    const body = buildGmkNotificationBody({ groupId: GROUP, iMessages: [GMK_A] });
    expect(sipCode(await alice.sendMessage(`sip:bob@${DOMAIN}`, body).catch((e: unknown) => e)).status).toBe(500);
    expect(errors).toHaveLength(1);
    off();
  });

  it('gets 404 from the SIP core for an unknown user', async () => {
    const e = await alice.sendMessage(`sip:nobody@${DOMAIN}`, { contentType: 'text/plain', body: 'x' }).catch((x: unknown) => x);
    expect(sipCode(e)).toEqual({ code: 'ERR_SIP_REQUEST_FAILED', status: 404 });
  });

  it('puts the PCK I_MESSAGE in the INVITE offer; the callee sees exactly that a=key-mgmt line before answering', async () => {
    const offers: string[] = [];
    bob.delegate = {
      onIncomingCall: async (offer) => {
        offers.push(offer.sdp);
        expect(readSdpMikey(offer.sdp).map((a) => a.message)).toEqual([PCK]);
        return { accept: true };
      },
    };
    const incoming = new Promise<unknown>((resolve) => {
      const off = bob.on('incomingCall', (c) => {
        off();
        resolve(c);
      });
    });
    const call = await alice.call(`sip:bob@${DOMAIN}`, { transformOffer: (sdp) => writeSdpMikey(sdp, PCK, { level: 'session' }) });
    const line = `a=key-mgmt:mikey ${encodeBase64(PCK)}`;
    expect(offers).toHaveLength(1);
    expect(offers[0]!.split('\r\n')).toContain(line);
    expect(call.localSdp!.split('\r\n')).toContain(line);
    expect(call.remoteSdp).toBe(STUB_SDP); // the answer carries no key
    const bobCall = (await incoming) as { remoteSdp: string; ended: Promise<void> };
    expect(bobCall.remoteSdp.split('\r\n')).toContain(line);
    await call.hangup();
    await bobCall.ended;
  });

  it("routes the callee's BYE back through the Record-Route set", async () => {
    bob.delegate = { onIncomingCall: async () => ({ accept: true }) };
    const incoming = new Promise<{ hangup(): Promise<void> }>((resolve) => {
      const off = bob.on('incomingCall', (c) => {
        off();
        resolve(c);
      });
    });
    const call = await alice.call(`sip:bob@${DOMAIN}`);
    // The callee's Contact came back with Kamailio's alias of its WebSocket connection.
    expect(call.session.dialog?.remoteTarget.hasParam('alias')).toBe(true);
    await (await incoming).hangup();
    await call.ended;
  });

  it('lets the callee reject the offer with 488', async () => {
    bob.delegate = { onIncomingCall: async () => ({ accept: false, status: 488, reason: 'Not Acceptable Here' }) };
    const e = await alice.call(`sip:bob@${DOMAIN}`, { transformOffer: (sdp) => writeSdpMikey(sdp, PCK, { level: 'session' }) }).catch((x: unknown) => x);
    expect(sipCode(e)).toEqual({ code: 'ERR_SIP_REQUEST_FAILED', status: 488 });
  });

  it('re-registers on demand with a fresh body and stays registered', async () => {
    const before = aliceBodies;
    const states = aliceStates.length;
    await alice.refreshRegistration();
    expect(aliceBodies).toBe(before + 1);
    expect(alice.state).toBe('registered');
    expect(aliceStates.length).toBe(states);
  });

  it('reconnects and re-registers by itself when the SIP core restarts on the same port', async () => {
    const { wsPort, udpPort } = kam!;
    const aliceFrom = aliceStates.length;
    const bobFrom = bobStates.length;
    let drops = 0;
    const off = alice.on('disconnected', () => drops++);
    await kam!.close();
    kam = undefined;
    await until('both agents notice the loss', () => alice.state === 'reconnecting' && bob.state === 'reconnecting');
    await sleep(300); // a few refused reconnection attempts while the core is down
    kam = await startKamailio({ domain: DOMAIN, wsPort, udpPort, appServer: { uri: AS_URI, routePsis: [AS_URI, GROUP] } });
    await until('both agents registered again', () => alice.state === 'registered' && bob.state === 'registered');
    expect(aliceStates.slice(aliceFrom)).toEqual(['reconnecting', 'registering', 'registered']);
    expect(bobStates.slice(bobFrom)).toEqual(['reconnecting', 'registering', 'registered']);
    expect(drops).toBe(1);
    off();
    // The fresh Kamailio knows bob again only because bob re-registered.
    bob.delegate = { onKeyNotification: async () => ({ status: 200 }) };
    await expect(alice.sendMessage(`sip:bob@${DOMAIN}`, buildGmkNotificationBody({ groupId: GROUP, iMessages: [GMK_A] }))).resolves.toMatchObject({ status: 200 });
  }, 20_000);

  it('reconnects when its own WebSocket is cut while the SIP core stays up', async () => {
    let raw: UserAgent | undefined;
    const states: SipUaState[] = [];
    const frank = agent('frank', { userAgentFactory: (o) => (raw = new UserAgent(o)) });
    frank.on('stateChange', (s) => states.push(s));
    await frank.start();
    (raw!.transport as Web.Transport).ws!.close();
    await until('frank registered again', () => states.length === 6 && frank.state === 'registered');
    expect(states).toEqual(['connecting', 'registering', 'registered', 'reconnecting', 'registering', 'registered']);
    // Kamailio routes to the new connection (the binding's alias was updated by the REGISTER).
    let got = 0;
    frank.delegate = { onKeyNotification: async () => (got++, { status: 200 }) };
    await bob.sendMessage(`sip:frank@${DOMAIN}`, { contentType: 'text/plain', body: 'x' });
    expect(got).toBe(1);
    await frank.stop();
  });

  it("'publish' mode: REGISTER without body, then PUBLISH with token and CSK routed to the MCPTT server's contact", async () => {
    const as = new RawSipEndpoint();
    raws.push(as);
    await as.connect(kam!.wsUrl);
    expect(await as.register(AS_URI)).toBe(200);
    const carol = agent('carol', {
      serviceAuthorization: 'publish',
      publishTarget: AS_URI,
      registerBody: async () => buildServiceAuthorizationBody({ accessToken: TOKEN, cskIMessage: CSK }),
    });
    await carol.start();
    const pub = as.received.find((m) => m.method === 'PUBLISH');
    expect(pub).toBeDefined();
    expect(pub!.getHeader('event')).toBe('poc.settings');
    expect(pub!.from.uri.user).toBe('carol');
    expect(pub!.getHeader('p-called-party-id')).toBe(`<${AS_URI}>`);
    expect(parseServiceAuthorizationBody(pub!.getHeader('content-type')!, pub!.body)).toEqual({ accessToken: TOKEN, cskIMessage: CSK });

    // A request to a group PSI that nobody registered reaches the server's contact.
    await alice.sendMessage(GROUP, { contentType: 'text/plain', body: 'to the group' });
    const toGroup = as.received.find((m) => m.method === 'MESSAGE');
    expect(toGroup!.getHeader('p-called-party-id')).toBe(`<${GROUP}>`);
    expect(toGroup!.body).toBe('to the group');

    // The server refusing the PUBLISH (e.g. a bad token) is a registration failure.
    as.answer = (m) => (m.method === 'PUBLISH' ? 403 : 200);
    const failures: number[] = [];
    carol.on('registrationFailed', (e) => failures.push(e.statusCode ?? 0));
    expect(sipCode(await carol.refreshRegistration().catch((e: unknown) => e))).toEqual({ code: 'ERR_SIP_REGISTRATION_REJECTED', status: 403 });
    expect(carol.state).toBe('rejected');
    expect(failures).toEqual([403]);
    as.answer = () => 200;
    await carol.refreshRegistration();
    expect(carol.state).toBe('registered');
    await carol.stop();
  });

  it('third-party registration: the SIP core repeats a REGISTER body (token + CSK) towards the MCPTT server', async () => {
    const as = raws[0]!;
    const before = as.received.length;
    await alice.refreshRegistration();
    await until('the third-party REGISTER', () => as.received.slice(before).some((m) => m.method === 'REGISTER'));
    const reg = as.received.slice(before).find((m) => m.method === 'REGISTER')!;
    expect(reg.ruri!.toString()).toBe(AS_URI);
    expect(reg.to.uri.toString()).toBe(`sip:alice@${DOMAIN}`);
    expect(reg.from.uri.toString()).toBe(`sip:registrar@${DOMAIN}`);
    expect(Number(reg.getHeader('expires'))).toBeGreaterThan(0);
    expect(parseServiceAuthorizationBody(reg.getHeader('content-type')!, reg.body)).toEqual({ accessToken: TOKEN, cskIMessage: CSK });
    // A REGISTER without a body (bob) is not repeated.
    const n = as.received.length;
    await bob.refreshRegistration();
    await sleep(100);
    expect(as.received.slice(n).filter((m) => m.method === 'REGISTER')).toHaveLength(0);
  });

  it('throws on illegal transitions and misuse', async () => {
    const idle = agent('dave');
    await expect(idle.refreshRegistration()).rejects.toMatchObject({ code: 'ERR_SIP_INVALID_STATE' });
    await expect(idle.sendMessage(`sip:bob@${DOMAIN}`, { contentType: 'text/plain', body: 'x' })).rejects.toMatchObject({ code: 'ERR_SIP_INVALID_STATE' });
    await idle.stop();
    expect(idle.state).toBe('stopped');
    await expect(idle.start()).rejects.toMatchObject({ code: 'ERR_SIP_INVALID_STATE' });
    const nowhere = createSipUserAgent({ server: 'ws://127.0.0.1:9', aor: `sip:erin@${DOMAIN}`, serviceAuthorization: 'register' });
    await expect(nowhere.start()).rejects.toMatchObject({ code: 'ERR_SIP_TRANSPORT' });
    expect(nowhere.state).toBe('stopped');
  });

  it('unregisters on stop(): the registrar forgets the binding', async () => {
    const from = aliceStates.length;
    await alice.stop();
    expect(aliceStates.slice(from)).toEqual(['unregistering', 'stopped']);
    const e = await bob.sendMessage(`sip:alice@${DOMAIN}`, { contentType: 'text/plain', body: 'x' }).catch((x: unknown) => x);
    expect(sipCode(e)).toEqual({ code: 'ERR_SIP_REQUEST_FAILED', status: 404 });
  });
});

describe('registration state machine (transition table)', () => {
  const states = Object.keys(SIP_UA_TRANSITIONS) as SipUaState[];

  it('allows exactly the listed transitions and throws ERR_SIP_INVALID_STATE on any other', () => {
    for (const from of states) {
      for (const to of states) {
        const allowed = SIP_UA_TRANSITIONS[from].includes(to);
        if (allowed) expect(() => assertSipUaTransition(from, to)).not.toThrow();
        else expect(sipCode((() => { try { assertSipUaTransition(from, to); return undefined; } catch (e) { return e; } })()).code).toBe('ERR_SIP_INVALID_STATE');
      }
    }
  });

  it('has stopped as the only terminal state, reachable from everywhere', () => {
    expect(states.filter((s) => SIP_UA_TRANSITIONS[s].length === 0)).toEqual(['stopped']);
    const reach = (from: SipUaState, seen = new Set<SipUaState>()): Set<SipUaState> => {
      for (const n of SIP_UA_TRANSITIONS[from]) if (!seen.has(n)) (seen.add(n), reach(n, seen));
      return seen;
    };
    for (const s of states.filter((x) => x !== 'stopped')) expect(reach(s).has('stopped')).toBe(true);
  });
});
