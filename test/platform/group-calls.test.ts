/**
 * Group calls of the SDK (src/platform/group-calls; TS 24.379 prearranged group call setup,
 * TS 33.179 7.3/7.5 media under the group's GMK, 7.6 floor control on the data channel) in
 * Node: a fake SIP user agent runs each call's session description handler through the real
 * group call wrapper and the real E2EE attach (real manager, real worker core in-process) on a
 * fake peer connection; floor control and audio are fakes the test drives.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { MCPTT_INFO_CONTENT_TYPE, parseGroupCallOfferBody, parseMcpttInfoXml } from '../../src/codec/sip-bodies.js';
import { gukId } from '../../src/crypto/index.js';
import { isMcpttError, SipError } from '../../src/errors.js';
import type { ReceivedKey } from '../../src/keys/receive.js';
import {
  FLOOR_CHANNEL_LABEL,
  GROUP_CALL_TRANSITIONS,
  GroupCallManager,
  assertGroupCallTransition,
  type FloorControlInit,
  type GroupCall,
  type GroupCallState,
} from '../../src/platform/group-calls/index.js';
import { createE2eeManager, type E2eeManager } from '../../src/platform/media/index.js';
import type { ClientServerKey } from '../../src/platform/signalling/index.js';
import { hexToBytes } from '../../src/util/bytes.js';
import { fakeHost, fakeTaps, frameOf, InProcessWorker, settle, until } from '../media/helpers.js';
import { FakeFloor, FakeUa, fakeAudio, type FakeChannel, type FakeTrack } from './group-calls-fakes.js';

const SERVER = 'sip:mcptt-server@mcptt.example';
const GROUP = 'sip:fire-ops@mcptt.example';
const EMS = 'sip:ems@mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const GMK = hexToBytes('5b6e3f0c8a1d4e7f92a3b4c5d6e7f801');
const GMK_ID = hexToBytes('0c3a5e71');
const RAND = hexToBytes('00112233445566778899aabbccddeeff');
const CSK: ClientServerKey = { key: new Uint8Array(16).fill(7), keyId: hexToBytes('2a000001'), rand: RAND, keyPeriodNo: 1, createdAt: 0 };
const OPUS = [0x78, 9, 8, 7, 6];

const gmkRecord = (groupId = GROUP): ReceivedKey =>
  ({
    kind: 'GMK',
    key: GMK,
    keyId: GMK_ID,
    gukId: gukId({ gmk: GMK, gmkId: GMK_ID, mcpttId: ALICE }),
    rand: RAND,
    groupIds: [groupId],
    status: 'active',
    activationTime: undefined,
    expiryTime: undefined,
  }) as unknown as ReceivedKey;

const managers: E2eeManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.dispose();
});

interface Setup {
  readonly media: E2eeManager;
  readonly ua: FakeUa;
  readonly groups: GroupCallManager;
  readonly floors: FakeFloor[];
  readonly audio: ReturnType<typeof fakeAudio>;
}

async function setup(o: { csk?: ClientServerKey | undefined; unprotectedFloor?: boolean; floor?: boolean; channelTimeoutMs?: number; protectInfo?: (xml: string) => Promise<string> } = {}): Promise<Setup> {
  const media = await createE2eeManager({ taps: fakeTaps(), createWorker: () => new InProcessWorker(fakeHost(Date.now())), requestTimeoutMs: 1000 });
  managers.push(media);
  const ua = new FakeUa(media);
  const floors: FakeFloor[] = [];
  const audio = fakeAudio();
  const csk = 'csk' in o ? o.csk : CSK;
  const groups = new GroupCallManager({
    ua: () => ua.asUa(),
    mcpttId: () => ALICE,
    mcpttServerUri: SERVER,
    media,
    sessions: ua.sessions,
    csk: () => csk,
    ...(o.floor === false ? {} : { floor: (init: FloorControlInit) => (floors.push(new FakeFloor(init)), floors.at(-1)!) }),
    audio: audio.factory,
    ...(o.unprotectedFloor !== undefined ? { unprotectedFloor: o.unprotectedFloor } : {}),
    ...(o.protectInfo ? { protectInfo: o.protectInfo } : {}),
    channelTimeoutMs: o.channelTimeoutMs ?? 2000,
  });
  return { media, ua, groups, floors, audio };
}

const mic = (s: Setup, i = 0): FakeTrack => s.ua.invites[i]!.inner.peerConnection.getSenders()[0]!.track;
const channel = (s: Setup, i = 0): FakeChannel => s.ua.invites[i]!.inner.channel!;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (isMcpttError(e)) return e.code;
    throw e;
  }
}

describe('group call state machine', () => {
  it('allows exactly the transitions of the diagram', () => {
    const states = Object.keys(GROUP_CALL_TRANSITIONS) as GroupCallState[];
    const allowed = new Set(['joining>joined', 'joining>leaving', 'joining>failed', 'joined>leaving', 'joined>ended', 'leaving>ended']);
    for (const from of states) {
      for (const to of states) {
        const ok = allowed.has(`${from}>${to}`);
        if (ok) expect(() => assertGroupCallTransition(from, to)).not.toThrow();
        else expect(() => assertGroupCallTransition(from, to), `${from} → ${to}`).toThrow(/not allowed/);
      }
    }
  });
});

describe('joining a group call', () => {
  it('INVITEs the MCPTT server with the SDP offer, the group in mcptt-info and the floor data channel', async () => {
    const s = await setup({ protectInfo: async (xml) => xml.replace('<mcptt-Params>', '<mcptt-Params><!--protected-->') });
    const states: string[] = [];
    const p = s.groups.join(GROUP);
    s.groups.calls()[0]!.on('state', (st) => states.push(st));
    const call = await p;
    expect(call.state).toBe('joined');
    expect(states).toEqual(['joined']);
    const inv = s.ua.invites[0]!;
    expect(inv.target).toBe(SERVER); // not the group: the group goes in mcptt-info
    expect(inv.contentType).toMatch(/^multipart\/mixed;boundary=/);
    const body = parseGroupCallOfferBody(inv.contentType, inv.body);
    expect(body.sdp).toMatch(/^v=0/);
    expect(body.infoXml).toContain('<!--protected-->'); // went through the 9.3 hook
    expect(parseMcpttInfoXml(body.infoXml)).toEqual({ requestUri: GROUP, callingUserId: ALICE, sessionType: 'prearranged' });
    expect(inv.body).toContain(MCPTT_INFO_CONTENT_TYPE);
    // The data channel existed before the offer: ordered and reliable, labelled for the floor.
    expect(channel(s).label).toBe(FLOOR_CHANNEL_LABEL);
    expect(channel(s).init).toEqual({ ordered: true });
    expect(channel(s).binaryType).toBe('arraybuffer');
    // The answer reached the media handler as plain SDP.
    expect(inv.inner.remote).toHaveLength(1);
    // The sender is protected under the group's context, the receiver for decryption.
    const counters = await s.media.counters();
    expect(counters.map((c) => [c.direction, c.context]).sort()).toEqual([
      ['receive', null],
      ['send', `group:${GROUP}`],
    ]);
    expect(s.groups.calls()).toEqual([call]);
    expect(call.floor.state).toBe('has-no-permission');
    // Received audio is played, the microphone metered.
    expect(s.audio.made[0]!.output).toHaveLength(1);
    expect(s.audio.made[0]!.input).toBe(mic(s));
  });

  it('a refused INVITE rejects with ERR_GROUP_CALL_REFUSED and the SIP status; the call is failed and forgotten', async () => {
    const s = await setup();
    s.ua.answer = 403;
    const ended: (string | undefined)[] = [];
    const p = s.groups.join(GROUP);
    const call = s.groups.calls()[0]!;
    call.on('ended', (i) => ended.push(i.code));
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SipError);
    expect((err as SipError).code).toBe('ERR_GROUP_CALL_REFUSED');
    expect((err as SipError).statusCode).toBe(403);
    expect(call.state).toBe('failed');
    expect(ended).toEqual(['ERR_GROUP_CALL_REFUSED']);
    expect(s.groups.calls()).toEqual([]);
    expect(s.audio.made[0]!.closed).toBe(true);
  });

  it('a floor channel that never opens fails the join and hangs up', async () => {
    const s = await setup({ channelTimeoutMs: 30 });
    s.ua.autoOpen = false;
    expect(await codeOf(s.groups.join(GROUP))).toBe('ERR_GROUP_CALL_SETUP');
    expect(s.ua.invites[0]!.hangups).toBe(1);
    expect(s.groups.calls()).toEqual([]);
  });

  it('the server hanging up before the floor channel opens fails the join at once', async () => {
    const s = await setup({ channelTimeoutMs: 60_000 });
    s.ua.autoOpen = false;
    const p = s.groups.join(GROUP);
    await until(() => s.ua.invites.length === 1 && s.groups.calls()[0]?.id !== '', 'INVITE answered');
    await settle(5);
    s.ua.invites[0]!.end(); // BYE from the server
    expect(await codeOf(p)).toBe('ERR_GROUP_CALL_ENDED');
    expect(s.groups.calls()).toEqual([]);
  });

  it('one call per group: joining again returns the same call; other groups get their own', async () => {
    const s = await setup();
    const [a, b, c] = await Promise.all([s.groups.join(GROUP), s.groups.join(GROUP), s.groups.join(EMS, { muted: true })]);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(s.ua.invites).toHaveLength(2);
    expect(s.groups.calls().map((x) => x.groupId)).toEqual([GROUP, EMS]);
    // Per-group volume: the monitored group starts muted.
    expect(a.volume).toBe(1);
    expect(c.volume).toBe(0);
    c.volume = 0.4;
    expect(s.audio.made[1]!.volume).toBe(0.4);
    expect(() => (c.volume = 1.5)).toThrow(RangeError);
    expect(() => (c.volume = Number.NaN)).toThrow(RangeError);
  });

  it('refuses a group ID that is not a SIP URI, and joining without E2EE', async () => {
    const s = await setup();
    await expect(s.groups.join('fire-ops')).rejects.toThrow(TypeError);
    const noMedia = new GroupCallManager({ ua: () => s.ua.asUa(), mcpttId: () => ALICE, mcpttServerUri: SERVER, media: undefined, sessions: s.ua.sessions, csk: () => CSK });
    expect(await codeOf(noMedia.join(GROUP))).toBe('ERR_GROUP_CALL_NO_E2EE');
    expect(s.ua.invites).toHaveLength(0);
  });
});

describe('floor control and the microphone', () => {
  it('the microphone is muted from the start and is on only while we have permission', async () => {
    const s = await setup();
    await s.media.setKey(gmkRecord());
    const call = await s.groups.join(GROUP);
    const floor = s.floors[0]!;
    expect(mic(s).enabled).toBe(false); // muted before the offer went out
    expect(call.inputLevel()).toBe(0);
    const floorEvents: string[] = [];
    call.on('floor', (f) => floorEvents.push(f.state));
    const p = call.requestFloor({ priority: 5 });
    await until(() => floor.requests.length === 1, 'Floor Request');
    expect(floor.requests[0]).toEqual({ priority: 5 });
    expect(mic(s).enabled).toBe(false); // pending: not yet
    floor.grant(ALICE);
    expect(await p).toBe('granted');
    expect(mic(s).enabled).toBe(true);
    expect(call.inputLevel()).toBe(0.5);
    expect(call.floor.talker).toEqual({ mcpttId: ALICE, self: true, emergency: false });
    await call.releaseFloor();
    expect(mic(s).enabled).toBe(false);
    expect(floor.releases).toBe(1);
    // Revoked by the arbitrator: muted at once, the app is told why.
    const revoked: number[] = [];
    call.on('floor-revoked', (r) => revoked.push(r.cause));
    void call.requestFloor();
    await until(() => floor.requests.length === 2, 'second Floor Request');
    floor.grant(ALICE);
    await until(() => mic(s).enabled, 'unmuted');
    floor.revoke(2);
    expect(mic(s).enabled).toBe(false);
    expect(revoked).toEqual([2]);
    expect(floorEvents).toEqual(['pending-request', 'has-permission', 'has-no-permission', 'pending-request', 'has-permission', 'has-no-permission']);
  });

  it('no GMK for the group: requestFloor rejects ERR_GROUP_CALL_NO_KEY and nothing is sent', async () => {
    const s = await setup();
    const call = await s.groups.join(GROUP); // joins all the same: listening needs no send key
    expect(await codeOf(call.requestFloor())).toBe('ERR_GROUP_CALL_NO_KEY');
    expect(s.floors[0]!.requests).toHaveLength(0);
    expect(mic(s).enabled).toBe(false);
    // A key for another group does not help.
    await s.media.setKey(gmkRecord(EMS));
    expect(await codeOf(call.requestFloor())).toBe('ERR_GROUP_CALL_NO_KEY');
  });

  it('floor packets: data channel messages go to the participant, its packets to the open channel', async () => {
    const s = await setup();
    await s.groups.join(GROUP);
    const floor = s.floors[0]!;
    expect(floor.init.mcpttId).toBe(ALICE);
    expect(floor.init.csk?.()).toBe(CSK);
    channel(s).deliver(Uint8Array.of(0x80, 0xcc, 0, 1));
    channel(s).dispatchEvent(new MessageEvent('message', { data: 'text is not a floor packet' }));
    expect(floor.received).toEqual([Uint8Array.of(0x80, 0xcc, 0, 1)]);
    floor.init.send(Uint8Array.of(1, 2, 3));
    expect(channel(s).sent).toEqual([Uint8Array.of(1, 2, 3)]);
  });

  it('without a CSK floor control is refused (ERR_GROUP_CALL_NO_FLOOR_KEY) unless the deployment allows it', async () => {
    const strict = await setup({ csk: undefined });
    await strict.media.setKey(gmkRecord());
    const call = await strict.groups.join(GROUP);
    expect(strict.floors).toHaveLength(0);
    expect(await codeOf(call.requestFloor())).toBe('ERR_GROUP_CALL_NO_FLOOR_KEY');
    const lax = await setup({ csk: undefined, unprotectedFloor: true });
    await lax.groups.join(GROUP);
    expect(lax.floors).toHaveLength(1);
    expect(lax.floors[0]!.init.csk).toBeUndefined();
  });

  it('without floor control in the build, requestFloor fails with a typed error', async () => {
    const s = await setup({ floor: false });
    await s.media.setKey(gmkRecord());
    const call = await s.groups.join(GROUP);
    expect(await codeOf(call.requestFloor())).toBe('ERR_GROUP_CALL_SETUP');
  });
});

describe('media keys', () => {
  it('frames go out encrypted under the GMK while we talk; a revoked GMK stops them at once and releases the floor', async () => {
    const s = await setup();
    await s.media.setKey(gmkRecord());
    const call = await s.groups.join(GROUP);
    const tx = s.ua.invites[0]!.inner.peerConnection.getSenders()[0]!;
    const p = call.requestFloor();
    await until(() => s.floors[0]!.requests.length === 1, 'request');
    s.floors[0]!.grant(ALICE);
    await p;
    tx.push(frameOf(OPUS), frameOf(OPUS));
    await until(() => tx.out.length === 2, 'encrypted frames');
    expect(tx.bytes(0)[0]! >>> 2).toBe(0b111011); // a group frame, not the Opus bytes
    let stats = await call.mediaStats();
    for (let i = 0; i < 200 && stats.sendMki === undefined; i++) stats = (await settle(5), await call.mediaStats());
    expect(stats.framesEncrypted).toBe(2);
    expect(stats.sendMki).toBe(`0c3a5e71${Array.from(gukId({ gmk: GMK, gmkId: GMK_ID, mcpttId: ALICE }), (b) => b.toString(16).padStart(2, '0')).join('')}`);

    // The GMS revokes the GMK (the client hands the revocation to the manager, then the call).
    await s.media.setKey({ kind: 'GMK', keyId: GMK_ID, status: 'revoked' } as unknown as ReceivedKey);
    await s.groups.keysChanged(GROUP);
    expect(mic(s).enabled).toBe(false);
    expect(s.floors[0]!.releases).toBe(1);
    tx.push(frameOf(OPUS));
    await settle(50);
    expect(tx.out).toHaveLength(2); // the frame after the revocation never left
    expect((await call.mediaStats()).framesDropped).toBeGreaterThan(0);
    expect(await codeOf(call.requestFloor())).toBe('ERR_GROUP_CALL_NO_KEY');
  });
});

describe('talker media (T103)', () => {
  it('while someone else talks, frames our receiver decrypts tell the participant that media flows', async () => {
    const s = await setup();
    await s.media.setKey(gmkRecord());
    const call = await s.groups.join(GROUP);
    const floor = s.floors[0]!;
    const pc = s.ua.invites[0]!.inner.peerConnection;
    const [tx, rx] = [pc.getSenders()[0]!, pc.getReceivers()[0]!];
    // Frames under the group's GMK (ours, looped back: any member's decrypt alike).
    tx.push(frameOf(OPUS), frameOf(OPUS));
    await until(() => tx.out.length === 2, 'encrypted');
    floor.set('has-no-permission', 'sip:bob@mcptt.example');
    await settle(700);
    expect(floor.media).toBe(0); // nothing decrypted yet: the talker's timer is not fed
    for (const f of tx.out) rx.push(frameOf(new Uint8Array(f.data)));
    await until(() => rx.out.length === 2, 'decrypted');
    await until(() => floor.media > 0, 'mediaReceived', 3000);
    await call.leave();
  });
});

describe('leaving and ending', () => {
  it('leave() sends BYE, releases a held floor first, ends the call and frees its audio; idempotent', async () => {
    const s = await setup();
    await s.media.setKey(gmkRecord());
    const call = await s.groups.join(GROUP);
    const p = call.requestFloor();
    await until(() => s.floors[0]!.requests.length === 1, 'request');
    s.floors[0]!.grant(ALICE);
    await p;
    const ended: (string | undefined)[] = [];
    call.on('ended', (i) => ended.push(i.code));
    await Promise.all([call.leave(), call.leave()]);
    await call.leave();
    expect(s.floors[0]!.releases).toBe(1);
    expect(s.floors[0]!.stopped).toBe(true);
    expect(s.ua.invites[0]!.hangups).toBe(1);
    expect(call.state).toBe('ended');
    expect(call.floor.state).toBe('start-stop');
    expect(ended).toEqual([undefined]);
    expect(s.audio.made[0]!.closed).toBe(true);
    expect(channel(s).readyState).toBe('closed');
    expect(s.groups.calls()).toEqual([]);
    expect(call.outputLevel()).toBe(0);
    expect(await codeOf(call.requestFloor())).toBe('ERR_GROUP_CALL_ENDED');
  });

  it('leave() while joining cancels the INVITE', async () => {
    const s = await setup();
    s.ua.answer = 'hold';
    const p = s.groups.join(GROUP);
    await until(() => s.ua.invites.length === 1, 'INVITE sent');
    const call = s.groups.calls()[0]!;
    await call.leave();
    expect(s.ua.cancelled).toBe(1);
    expect(call.state).toBe('ended');
    expect(await codeOf(p)).toBe('ERR_GROUP_CALL_ENDED');
  });

  it('the server ends the call (BYE): ended without a code, floor stopped; the group can be joined again', async () => {
    const s = await setup();
    const call = await s.groups.join(GROUP);
    const states: string[] = [];
    call.on('state', (st) => states.push(st));
    s.ua.invites[0]!.end();
    await until(() => call.state === 'ended', 'ended');
    expect(states).toEqual(['ended']);
    expect(s.floors[0]!.stopped).toBe(true);
    const again: GroupCall = await s.groups.join(GROUP);
    expect(again).not.toBe(call);
    expect(s.ua.invites).toHaveLength(2);
  });

  it('the floor channel closing ends a joined call', async () => {
    const s = await setup();
    const call = await s.groups.join(GROUP);
    const ended: (string | undefined)[] = [];
    call.on('ended', (i) => ended.push(i.code));
    channel(s).close();
    await until(() => call.state === 'ended', 'ended');
    expect(ended).toEqual(['ERR_GROUP_CALL_ENDED']);
    expect(s.ua.invites[0]!.hangups).toBe(1);
  });

  it('stop() leaves every call and refuses new joins', async () => {
    const s = await setup();
    const a = await s.groups.join(GROUP);
    const b = await s.groups.join(EMS);
    await s.groups.stop();
    expect([a.state, b.state]).toEqual(['ended', 'ended']);
    expect(await codeOf(s.groups.join(GROUP))).toBe('ERR_SIGNALLING_INVALID_STATE');
  });
});

describe('the session description handler wrapper', () => {
  it('leaves other sessions (private calls) untouched: plain SDP, no data channel, private context', async () => {
    const s = await setup();
    const session = { id: 'private-1' } as never;
    const sdh = s.ua.factory(session, {});
    const d = await sdh.getDescription({});
    expect(d.contentType).toBe('application/sdp');
    const inner = sdh as unknown as { channel: unknown; optionsSeen: unknown[] };
    expect(inner.channel).toBeUndefined();
    expect((await s.media.counters()).find((c) => c.direction === 'send')?.context).toBe('call:private-1');
  });

  it('only the initial offer is multipart; later descriptions pass through', async () => {
    const s = await setup();
    await s.groups.join(GROUP);
    const sdh = s.ua.factory(s.ua.invites[0]!.session, {});
    // A new handler for the same registered session behaves like the first one: the initial offer is wrapped.
    expect((await sdh.getDescription({})).contentType).toMatch(/^multipart\/mixed/);
    await sdh.setDescription('v=0\r\n');
    expect((await sdh.getDescription({})).contentType).toBe('application/sdp');
  });
});
