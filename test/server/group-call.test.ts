/**
 * Group calls at the dev MCPTT server (demo/server/mcptt-server/group-calls.ts) through real
 * parts: the dev IdMS and KMS, Kamailio as the SIP core, the SDK's SIP user agents registered
 * with service authorization (TS 33.179 5.6.2.1, CSK 9.1.3), and a werift peer connection per
 * member as its media and floor channel end. TS 24.379 10.6.2 (prearranged group call setup by
 * INVITE to the server URI, group in mcpttinfo), TS 24.380 4.1.1.3 (only the floor holder's
 * media is distributed), TS 33.179 7.5 (the server relays the payload untouched).
 *
 * The floor arbitrator is a test double here (who holds the floor is set by the test), so the
 * media rules are tested on their own; the floor protocol has its own tests (test/floor).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket, type RTCDataChannel, type RTCRtpTransceiver } from 'werift';
import { WebSocket } from 'ws';
import type { SessionDescriptionHandler, SessionDescriptionHandlerFactory } from 'sip.js';

import { DEMO_GROUPS, DEMO_USERS, DEV_CLIENT_ID, DEV_KMS_URI, DEV_SIP_DOMAIN, DEV_USER_KEY_OFFSET, DEV_USER_KEY_PERIOD, MCPTT_SERVER_URI, SERVER_IDENTITIES } from '../../demo/server/config.js';
import { devLogin } from '../../demo/server/dev-login.js';
import { startIdms, type Idms } from '../../demo/server/idms.js';
import { startKamailio, type RunningKamailio } from '../../demo/server/kamailio.js';
import { startKms, type RunningKms } from '../../demo/server/kms.js';
import { startMcpttServer, type CallFloor, type RunningMcpttServer } from '../../demo/server/mcptt-server/index.js';
import { createTokenVerifier } from '../../demo/server/token-verifier.js';
import { buildGroupCallOfferBody, buildMcpttInfoXml, buildServiceAuthorizationBody, type McpttSessionType } from '../../src/codec/sip-bodies.js';
import { createKeyDistribution, keyProfile, newKeyId, ntpSecondsOfUnixMs, periodAt, staticIdentity } from '../../src/keys/index.js';
import { createSipUserAgent, type SipCall, type SipUserAgent } from '../../src/platform/sip/index.js';
import { bytesToHex } from '../../src/util/bytes.js';
import { sleep, waitFor } from '../signalling/helpers.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const REDIRECT_URI = 'http://127.0.0.1:1/callback';
const FIRE = 'sip:fire-ops@mcptt.example';
const EMS = 'sip:ems@mcptt.example';
const rnd = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

interface Received {
  readonly ssrc: number;
  readonly seq: number;
  readonly ts: number;
  readonly pt: number;
  readonly marker: boolean;
  readonly payload: string;
}

/** A member's media end: werift, offering what the SDK's browser offers (Opus sendrecv + data channel). */
class MediaEnd {
  readonly pc = new RTCPeerConnection({ codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 109 })] } });
  readonly transceiver: RTCRtpTransceiver;
  readonly channel: RTCDataChannel;
  readonly received: Received[] = [];
  readonly floorIn: string[] = [];
  #seq = Math.floor(Math.random() * 60000);
  #ts = Math.floor(Math.random() * 2 ** 31);
  readonly ssrc: number;

  constructor(withDataChannel = true) {
    this.transceiver = this.pc.addTransceiver('audio', { direction: 'sendrecv' });
    this.channel = withDataChannel ? this.pc.createDataChannel('mcptt-floor', { ordered: true }) : (undefined as unknown as RTCDataChannel);
    this.channel?.onMessage.subscribe((m) => this.floorIn.push(typeof m === 'string' ? m : bytesToHex(new Uint8Array(m))));
    this.ssrc = this.transceiver.sender.ssrc;
    this.pc.onTrack.subscribe((t) =>
      t.onReceiveRtp.subscribe((p) =>
        this.received.push({ ssrc: p.header.ssrc, seq: p.header.sequenceNumber, ts: p.header.timestamp, pt: p.header.payloadType, marker: p.header.marker, payload: bytesToHex(new Uint8Array(p.payload)) }),
      ),
    );
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  async connected(): Promise<void> {
    await waitFor('media connected', () => this.pc.connectionState === 'connected' && (this.channel === undefined || this.channel.readyState === 'open'), 10_000);
  }

  /** Sends `n` 20 ms Opus-sized packets with random payloads; returns their payloads (hex). */
  async talk(n: number): Promise<string[]> {
    const sent: string[] = [];
    for (let i = 0; i < n; i++) {
      const payload = rnd(40 + i);
      sent.push(bytesToHex(payload));
      this.#seq = (this.#seq + 1) % 0x10000;
      this.#ts = (this.#ts + 960) % 2 ** 32;
      await this.transceiver.sender.sendRtp(new RtpPacket(new RtpHeader({ payloadType: 109, sequenceNumber: this.#seq, timestamp: this.#ts, ssrc: this.ssrc }), Buffer.from(payload)));
      await sleep(5);
    }
    return sent;
  }
}

interface Member {
  readonly mcpttId: string;
  readonly ua: SipUserAgent;
  token: string;
}

/** A sip.js session description handler over a MediaEnd that sends the group call offer body. */
function groupCallSdh(end: MediaEnd, info: () => string): SessionDescriptionHandlerFactory {
  return (): SessionDescriptionHandler => ({
    close: () => {},
    getDescription: async () => buildGroupCallOfferBody({ sdp: await end.offer(), infoXml: info() }),
    hasDescription: (ct: string) => ct === 'application/sdp' || ct.startsWith('multipart/mixed'),
    setDescription: async (sdp: string) => {
      await end.pc.setRemoteDescription({ type: 'answer', sdp });
    },
    sendDtmf: () => false,
  });
}

describe('group calls at the dev MCPTT server (TS 24.379 10.6.2, TS 24.380 4.1.1.3, TS 33.179 7.5)', () => {
  let idms: Idms;
  let kms: RunningKms;
  let kam: RunningKamailio;
  let server: RunningMcpttServer;
  const debugLines: string[] = [];
  const members = new Map<string, Member>();
  const ends: MediaEnd[] = [];
  /** The test's floor: whom it names holds it; what arrives on floor channels is kept. */
  let floorHolder: string | undefined;
  const floorParticipants = new Map<string, { mcpttId: string; send: (b: Uint8Array) => boolean }>();
  const floorReceived: { mcpttId: string; hex: string }[] = [];
  const mediaActivity: string[] = [];

  const testFloor = (): CallFloor => ({
    join: (id, p) => floorParticipants.set(id, { mcpttId: p.mcpttId, send: p.send }),
    leave: (id) => floorParticipants.delete(id),
    receive: (id, b) => floorReceived.push({ mcpttId: floorParticipants.get(id)!.mcpttId, hex: bytesToHex(b) }),
    holder: () => [...floorParticipants].find(([, p]) => p.mcpttId === floorHolder)?.[0],
    mediaActivity: (id) => mediaActivity.push(floorParticipants.get(id)!.mcpttId),
    close: () => {},
  });

  async function member(username: string): Promise<Member> {
    const user = DEMO_USERS.find((u) => u.username === username)!;
    const { tokens } = await devLogin({ issuer: idms.issuer, clientId: DEV_CLIENT_ID, redirectUri: REDIRECT_URI, username, password: user.password });
    const p = periodAt(kms.params, ntpSecondsOfUnixMs(Date.now()));
    const self = staticIdentity(user.mcpttId, kms.params, [kms.issue(user.mcpttId, p)]);
    const m: Member = {
      mcpttId: user.mcpttId,
      token: tokens.access_token,
      ua: createSipUserAgent({
        server: kam.wsUrl,
        aor: user.mcpttId,
        serviceAuthorization: 'register',
        // Each call gets its own handler (set per call below through the factory's closure).
        sessionDescriptionHandlerFactory: (session, options) => currentSdh!(session, options),
        registerBody: async () =>
          buildServiceAuthorizationBody({
            accessToken: m.token,
            cskIMessage: await createKeyDistribution({
              kind: 'CSK',
              key: rnd(16),
              keyId: newKeyId(keyProfile().defaultTag.CSK!, rnd),
              rand: rnd(16),
              from: self,
              to: { uri: MCPTT_SERVER_URI, kms: kms.params },
              time: Date.now(),
            }),
          }),
      }),
    };
    members.set(username, m);
    return m;
  }

  let currentSdh: SessionDescriptionHandlerFactory | undefined;

  interface JoinOptions {
    readonly groupId?: string;
    readonly callingUserId?: string;
    readonly sessionType?: McpttSessionType;
    readonly withDataChannel?: boolean;
    readonly info?: string;
  }

  /** One member's INVITE to the server URI; resolves with the call and its media end, or the refusal status. */
  async function join(username: string, o: JoinOptions = {}): Promise<{ call: SipCall; end: MediaEnd } | { status: number }> {
    const m = members.get(username)!;
    const end = new MediaEnd(o.withDataChannel ?? true);
    ends.push(end);
    const info =
      o.info ??
      buildMcpttInfoXml({ requestUri: o.groupId ?? FIRE, callingUserId: o.callingUserId ?? m.mcpttId, sessionType: o.sessionType ?? 'prearranged' });
    currentSdh = groupCallSdh(end, () => info);
    try {
      const call = await m.ua.call(MCPTT_SERVER_URI);
      return { call, end };
    } catch (e) {
      return { status: (e as { statusCode?: number }).statusCode ?? -1 };
    }
  }

  async function joined(username: string, o?: JoinOptions): Promise<{ call: SipCall; end: MediaEnd }> {
    const r = await join(username, o);
    if (!('call' in r)) throw new Error(`${username} could not join: ${r.status}`);
    await r.end.connected();
    return r;
  }

  beforeAll(async () => {
    idms = await startIdms({ users: DEMO_USERS, clientId: DEV_CLIENT_ID, redirectUris: [REDIRECT_URI] });
    const verifyToken = createTokenVerifier({ issuer: idms.issuer, jwksUri: idms.jwksUri });
    kms = await startKms({ kmsUri: DEV_KMS_URI, userKeyPeriod: DEV_USER_KEY_PERIOD, userKeyOffset: DEV_USER_KEY_OFFSET, verifyToken });
    kam = await startKamailio({ domain: DEV_SIP_DOMAIN, appServer: { uri: MCPTT_SERVER_URI, routePsis: DEMO_GROUPS.map((g) => g.groupId) } });
    server = await startMcpttServer({
      sipWsUrl: kam.wsUrl,
      domain: DEV_SIP_DOMAIN,
      serverUri: MCPTT_SERVER_URI,
      gmsUri: SERVER_IDENTITIES.gms,
      kmsParams: kms.params,
      keysFor: (id, n) => kms.issue(id, n),
      verifyToken,
      groups: DEMO_GROUPS,
      floor: testFloor,
      debug: (line) => debugLines.push(line),
    });
    for (const u of ['alice', 'bob', 'carol', 'eve']) await member(u);
    await Promise.all([...members.values()].map((m) => m.ua.start()));
    await waitFor('four service authorizations', () => server.authorizedUsers().length === 4);
  }, 40_000);

  afterAll(async () => {
    await Promise.allSettled([...members.values()].map((m) => m.ua.stop()));
    await Promise.allSettled(ends.map((e) => e.pc.close()));
    await server?.close();
    await kam?.close();
    await Promise.allSettled([kms?.close(), idms?.close()]);
  }, 20_000);

  let alice: { call: SipCall; end: MediaEnd };
  let bob: { call: SipCall; end: MediaEnd };
  let carol: { call: SipCall; end: MediaEnd };
  const sentInOrder: string[] = [];

  it('answers a member INVITE to the server URI with 200 and a werift answer; three members join fire-ops', async () => {
    alice = await joined('alice');
    expect(alice.call.remoteSdp).toMatch(/^m=audio [1-9]\d* UDP\/TLS\/RTP\/SAVPF 109\r?$/m); // our PT taken over
    expect(alice.call.remoteSdp).toMatch(/^a=sendrecv\r?$/m);
    expect(alice.call.remoteSdp).toMatch(/webrtc-datachannel/);
    bob = await joined('bob');
    carol = await joined('carol');
    expect(server.groupCalls()).toEqual([{ groupId: FIRE, participants: 3, holder: undefined, counters: { packetsIn: 0, packetsForwarded: 0, copiesSent: 0, droppedNotHolder: 0, droppedDuplicate: 0 } }]);
  });

  it('refuses with typed statuses: non-member 403, other calling user 403, unknown group 404, no data channel 488, wrong session type 488, bad mcptt-info 400', async () => {
    expect(await join('eve')).toEqual({ status: 403 }); // eve is in no group
    expect(await join('alice', { groupId: EMS })).toEqual({ status: 403 }); // alice is not in ems
    expect(await join('bob', { callingUserId: 'sip:alice@mcptt.example' })).toEqual({ status: 403 });
    expect(await join('bob', { groupId: 'sip:nowhere@mcptt.example' })).toEqual({ status: 404 });
    expect(await join('bob', { withDataChannel: false })).toEqual({ status: 488 });
    expect(await join('bob', { sessionType: 'chat' })).toEqual({ status: 488 });
    expect(await join('bob', { info: '<mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0"><oops' })).toEqual({ status: 400 });
    expect(server.groupCalls()[0]!.participants).toBe(3); // nothing half-joined
    expect(debugLines.filter((l) => l.startsWith('call: INVITE 403'))).toHaveLength(3);
  });

  it("forwards the holder's packets to every other member with its own SSRC, continuous numbers and the payload untouched", async () => {
    floorHolder = 'sip:alice@mcptt.example';
    const sent = await alice.end.talk(20);
    sentInOrder.push(...sent);
    for (const r of [bob, carol]) {
      await waitFor('20 packets', () => r.end.received.length >= 20);
      const got = r.end.received;
      expect(got.map((p) => p.payload)).toEqual(sent); // byte for byte, in order
      expect(new Set(got.map((p) => p.ssrc)).size).toBe(1);
      expect(got[0]!.ssrc).not.toBe(alice.end.ssrc);
      expect(got.every((p) => p.pt === 109)).toBe(true);
      for (let i = 1; i < got.length; i++) {
        expect((got[i]!.seq - got[i - 1]!.seq + 0x10000) % 0x10000).toBe(1);
        expect((got[i]!.ts - got[i - 1]!.ts + 2 ** 32) % 2 ** 32).toBe(960);
      }
      expect(got[0]!.marker).toBe(true);
    }
    expect(bob.end.received[0]!.ssrc).not.toBe(carol.end.received[0]!.ssrc); // one SSRC per downlink
    expect(alice.end.received).toEqual([]); // never back to the talker
    expect(mediaActivity.filter((m) => m === 'sip:alice@mcptt.example')).toHaveLength(20);
  });

  it("drops a non-holder's packets", async () => {
    const before = server.groupCalls()[0]!.counters;
    await bob.end.talk(5);
    await sleep(300);
    expect(carol.end.received).toHaveLength(20);
    expect(alice.end.received).toEqual([]);
    const after = server.groupCalls()[0]!.counters;
    expect(after.droppedNotHolder - before.droppedNotHolder).toBe(5);
    expect(after.packetsForwarded).toBe(before.packetsForwarded);
  });

  it('keeps each downlink continuous across a talker change, the timestamp advancing by the pause', async () => {
    const lastCarol = carol.end.received.at(-1)!;
    const pauseMs = 400;
    await sleep(pauseMs);
    floorHolder = 'sip:bob@mcptt.example';
    const sent = await bob.end.talk(10);
    sentInOrder.push(...sent);
    await waitFor('bob heard by carol and alice', () => carol.end.received.length >= 30 && alice.end.received.length >= 10);
    const next = carol.end.received[20]!;
    expect(next.ssrc).toBe(lastCarol.ssrc); // the same stream for carol
    expect((next.seq - lastCarol.seq + 0x10000) % 0x10000).toBe(1);
    const tsGap = (next.ts - lastCarol.ts + 2 ** 32) % 2 ** 32;
    expect(tsGap).toBeGreaterThanOrEqual(pauseMs * 48);
    expect(tsGap).toBeLessThan((pauseMs + 1500) * 48);
    expect(next.marker).toBe(true);
    expect(carol.end.received.slice(20).map((p) => p.payload)).toEqual(sent);
    expect(alice.end.received.map((p) => p.payload)).toEqual(sent);
    expect(server.groupCalls()[0]!.holder).toBe('sip:bob@mcptt.example');
  });

  it('records exactly the forwarded payloads, in order', () => {
    expect(server.forwardedPayloads(FIRE).map(bytesToHex)).toEqual(sentInOrder);
    expect(server.forwardedPayloads(EMS)).toEqual([]);
  });

  it('carries floor channel messages both ways', async () => {
    alice.end.channel.send(Buffer.from([0x80, 0xcc, 0x00, 0x01]));
    await waitFor('floor message at the arbitrator', () => floorReceived.length === 1);
    expect(floorReceived[0]).toEqual({ mcpttId: 'sip:alice@mcptt.example', hex: '80cc0001' });
    const aliceLeg = [...floorParticipants.values()].find((p) => p.mcpttId === 'sip:alice@mcptt.example')!;
    expect(aliceLeg.send(new Uint8Array([0x81, 0xcc, 0x00, 0x02]))).toBe(true);
    await waitFor('floor message at alice', () => alice.end.floorIn.length === 1);
    expect(alice.end.floorIn).toEqual(['81cc0002']);
  });

  it('admitToMedia lets an outsider receive the ciphertext a compromised server could hand her', async () => {
    server.admitToMedia(FIRE, 'sip:eve@mcptt.example');
    const eve = await joined('eve');
    floorHolder = 'sip:alice@mcptt.example';
    const sent = await alice.end.talk(5);
    sentInOrder.push(...sent);
    await waitFor('eve got 5', () => eve.end.received.length >= 5);
    expect(eve.end.received.map((p) => p.payload)).toEqual(sent);
    await eve.call.hangup();
  });

  it('BYE ends the leg: the member gets nothing more and the call shrinks, then ends with its last leg', async () => {
    await waitFor('eve gone', () => server.groupCalls()[0]?.participants === 3);
    await bob.call.hangup();
    await waitFor('bob gone', () => server.groupCalls()[0]?.participants === 2);
    const bobHad = bob.end.received.length;
    const before = server.groupCalls()[0]!.counters;
    await alice.end.talk(3);
    await waitFor('carol got them', () => carol.end.received.length >= 38);
    await sleep(100);
    expect(bob.end.received.length).toBe(bobHad);
    expect(server.groupCalls()[0]!.counters.copiesSent - before.copiesSent).toBe(3); // carol only
    await alice.call.hangup();
    await carol.call.hangup();
    await waitFor('call ended', () => server.groupCalls().length === 0);
    expect(floorParticipants.size).toBe(0);
    // The record outlives the call (until the group's next call).
    expect(server.forwardedPayloads(FIRE).length).toBe(sentInOrder.length + 3);
    for (const l of debugLines) {
      expect(l).not.toMatch(/alice|bob|carol|eve|fire-ops|ems/);
    }
  });
});
