/**
 * Floor control end to end in memory: three members (alice, bob, carol) and the arbitrator,
 * every message SRTCP-protected under each member's own CSK (profile ts33180), a manual clock.
 * What users notice: who may talk, who is shown talking, queueing, denial, emergency
 * pre-emption, the stop-talking revoke, lost packets, and attacks on the wire refused by code.
 */
import { describe, expect, it } from 'vitest';
import {
  createFloorArbitrator,
  createFloorChannel,
  createFloorParticipant,
  createFloorProtection,
  deriveFloorKey,
  encodeMbcp,
  FloorError,
  importFloorKey,
  type FloorArbitratorOptions,
  type FloorChannel,
  type FloorKey,
  type FloorParticipant,
  type FloorParticipantConfig,
} from '../../src/floor/index.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { manualClock } from './helpers.js';

const NAMES = ['alice', 'bob', 'carol'] as const;
type Name = (typeof NAMES)[number];
const CSK_ID: Record<Name, string> = { alice: '2a00000a', bob: '2a00000b', carol: '2a00000c' };

async function cskFloorKey(name: Name): Promise<FloorKey> {
  const seed = name.charCodeAt(0);
  return deriveFloorKey({ kind: 'CSK', keyId: hexToBytes(CSK_ID[name]), tgk: new Uint8Array(16).fill(seed), rand: new Uint8Array(16).fill(seed + 1) });
}

interface Wire {
  /** Return false to drop the packet; may also record or alter it. */
  up?: (bytes: Uint8Array) => Uint8Array | false;
  down?: (bytes: Uint8Array) => Uint8Array | false;
}

async function call(opts: { arbitrator?: Partial<FloorArbitratorOptions>; participant?: Partial<FloorParticipantConfig>; wires?: Partial<Record<Name, Wire>> } = {}) {
  const clock = manualClock();
  const keys = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await cskFloorKey(n)] as const))) as Record<Name, FloorKey>;
  const serverLookup = (mki: Uint8Array) => Object.values(keys).find((k) => bytesToHex(k.keyId) === bytesToHex(mki));
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  const serverSide = {} as Record<Name, FloorChannel>;
  const clientSide = {} as Record<Name, FloorChannel>;
  const members = {} as Record<Name, FloorParticipant>;
  const arb = createFloorArbitrator({ send: (id, m) => track(serverSide[id as Name].send(m)), timers: clock.timers, ...opts.arbitrator });
  for (const n of NAMES) {
    const wire = opts.wires?.[n] ?? {};
    serverSide[n] = createFloorChannel({
      role: 'server',
      send: (b) => {
        const out = wire.down ? wire.down(b) : b;
        if (out !== false) track(clientSide[n].receive(out));
      },
      onMessage: (m) => arb.receive(n, m),
      protection: createFloorProtection({ role: 'server', sendKey: () => keys[n], lookup: serverLookup, profile: 'ts33180' }),
    });
    clientSide[n] = createFloorChannel({
      role: 'client',
      send: (b) => {
        const out = wire.up ? wire.up(b) : b;
        if (out !== false) track(serverSide[n].receive(out));
      },
      onMessage: (m) => members[n].receive(m),
      protection: createFloorProtection({ role: 'client', sendKey: () => keys[n], lookup: (mki) => (bytesToHex(mki) === CSK_ID[n] ? keys[n] : undefined) }),
    });
    members[n] = createFloorParticipant({ send: (m) => track(clientSide[n].send(m)), timers: clock.timers, userId: `sip:${n}@fire.example`, ...(opts.participant ? { config: opts.participant } : {}) });
    members[n].start();
    arb.join(n, { userId: `sip:${n}@fire.example`, priority: 5, emergency: n === 'carol' });
  }
  /** Lets every packet in flight arrive (and the answers to them). */
  const settle = async () => {
    for (let i = 0; i < 100 && inflight.size > 0; i++) await Promise.all([...inflight]);
  };
  const advance = async (ms: number) => {
    clock.advance(ms);
    await settle();
  };
  await settle();
  return { arb, members, serverSide, clientSide, keys, clock, settle, advance };
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof FloorError) return { code: e.code, refusal: e.refusal };
    throw e;
  }
}

describe('floor control, three members and the arbitrator, protected', () => {
  it('request → granted for alice, bob and carol see alice talking; release → idle for all', async () => {
    const { arb, members, settle } = await call();
    const r = members.alice.request();
    await settle();
    expect(await r).toBe('granted');
    expect(arb.holder()).toBe('alice');
    expect(members.alice.status).toMatchObject({ state: 'has-permission', talker: { self: true } });
    for (const n of ['bob', 'carol'] as const) {
      expect(members[n].status).toMatchObject({ state: 'has-no-permission', talker: { mcpttId: 'sip:alice@fire.example', self: false, emergency: false } });
    }
    members.alice.release();
    await settle();
    for (const n of NAMES) expect(members[n].status).toEqual({ state: 'has-no-permission', talker: undefined, queuePosition: undefined });
    expect(arb.holder()).toBeUndefined();
  });

  it('a queued request gets the floor next', async () => {
    const { arb, members, settle } = await call();
    void members.alice.request();
    await settle();
    const r = members.bob.request();
    await settle();
    expect(await r).toBe('queued');
    expect(members.bob.status).toMatchObject({ state: 'queued', queuePosition: 1 });
    members.alice.release();
    await settle();
    expect(members.bob.status.state).toBe('has-permission');
    expect(arb.holder()).toBe('bob');
    expect(members.alice.status.talker?.mcpttId).toBe('sip:bob@fire.example');
  });

  it('denied when queueing is off: ERR_FLOOR_DENIED with the Reject Cause', async () => {
    const { members, settle } = await call({ arbitrator: { queueing: false } });
    void members.alice.request();
    await settle();
    const r = outcome(members.bob.request());
    await settle();
    expect(await r).toEqual({ code: 'ERR_FLOOR_DENIED', refusal: { cause: 1, text: 'Another MCPTT client has permission' } });
    expect(members.bob.state).toBe('has-no-permission');
  });

  it('emergency pre-emption: carol takes the floor from alice, who is told why', async () => {
    const { arb, members, settle } = await call();
    const revoked: unknown[] = [];
    members.alice.on('revoked', (x) => revoked.push(x));
    void members.alice.request();
    await settle();
    const r = members.carol.request({ emergency: true });
    await settle();
    expect(await r).toBe('granted');
    expect(arb.holder()).toBe('carol');
    expect(revoked).toEqual([{ cause: 4, text: 'Media Burst pre-empted' }]);
    expect(members.alice.status).toMatchObject({ state: 'has-no-permission', talker: { mcpttId: 'sip:carol@fire.example', emergency: true } });
    expect(members.bob.status.talker).toMatchObject({ mcpttId: 'sip:carol@fire.example', emergency: true });
  });

  it('T2 stop talking: the talker is revoked (cause 2), its media no longer forwarded, then idle', async () => {
    const { arb, members, settle, advance } = await call({ arbitrator: { config: { t2: 20_000, t1: 60_000, t3: 1000 } } });
    const revoked: unknown[] = [];
    members.alice.on('revoked', (x) => revoked.push(x));
    void members.alice.request();
    await settle();
    await advance(20_000);
    expect(revoked).toEqual([{ cause: 2, text: 'Media burst too long' }]);
    expect(arb.mediaActivity('alice')).toBe(false);
    await advance(1000);
    for (const n of NAMES) expect(members[n].status.state).toBe('has-no-permission');
    expect(arb.state).toBe('idle');
  });

  it('lost packets: a dropped Floor Request is retransmitted on T101 and then granted', async () => {
    let dropped = 0;
    const { members, settle, advance } = await call({
      participant: { t101: 500, c101: 3 },
      wires: { bob: { up: (b) => (dropped++ === 0 ? false : b) } },
    });
    const r = members.bob.request();
    await settle();
    expect(members.bob.state).toBe('pending-request');
    await advance(500);
    expect(await r).toBe('granted');
    expect(dropped).toBe(2);
  });

  it('lost packets: no answer at all → C101 requests, then ERR_FLOOR_TIMEOUT', async () => {
    let sent = 0;
    const { members, settle, advance } = await call({
      participant: { t101: 500, c101: 3 },
      wires: { bob: { up: () => (sent++, false) } },
    });
    const r = outcome(members.bob.request());
    await settle();
    await advance(1500);
    expect(await r).toEqual({ code: 'ERR_FLOOR_TIMEOUT', refusal: undefined });
    expect(sent).toBe(3);
  });

  it('replayed, tampered, wrong-key, wrong-purpose, plain and reflected packets are refused with codes', async () => {
    const captured: Uint8Array[] = [];
    const { arb, members, serverSide, clientSide, settle } = await call({ wires: { bob: { up: (b) => (captured.push(b), b) } } });
    void members.bob.request();
    await settle();
    void members.bob.release();
    await settle();
    expect(arb.holder()).toBeUndefined();
    const request = captured[0]!;
    const granted: string[] = [];
    arb.on('granted', (id) => granted.push(id));

    // replay of bob's Floor Request
    expect(await serverSide.bob.receive(request)).toBe(false);
    // tampered: one ciphertext bit, and a fresh index so the replay window does not catch it first
    const tampered = request.slice();
    tampered[14]! ^= 0x01;
    tampered[tampered.length - 5] = 0x40;
    expect(await serverSide.bob.receive(tampered)).toBe(false);
    // a key that is not bob's CSK, sent under bob's MKI
    const forged = await deriveFloorKey({ kind: 'CSK', keyId: hexToBytes(CSK_ID.bob), tgk: new Uint8Array(16).fill(0x66), rand: new Uint8Array(16).fill(0x67) });
    const attacker = createFloorProtection({ role: 'client', sendKey: () => forged, lookup: () => undefined });
    const req = encodeMbcp(0x00000777, { type: 'floor-request' });
    expect(await serverSide.bob.receive(await attacker.protect(req))).toBe(false);
    // an MKI the server does not know
    const stranger = await deriveFloorKey({ kind: 'CSK', keyId: hexToBytes('2affffff'), tgk: new Uint8Array(16).fill(1), rand: new Uint8Array(16).fill(2) });
    const p2 = createFloorProtection({ role: 'client', sendKey: () => stranger, lookup: () => undefined });
    expect(await serverSide.bob.receive(await p2.protect(req))).toBe(false);
    // a key whose purpose tag is not a CSK's: refused at derivation, and its packets by MKI
    await expect(deriveFloorKey({ kind: 'CSK', keyId: hexToBytes('0a000001'), tgk: new Uint8Array(16), rand: new Uint8Array(16) })).rejects.toMatchObject({ code: 'ERR_FLOOR_WRONG_PURPOSE' });
    const gmkLike = await importFloorKey({ keyId: hexToBytes('0a000001'), sessionKey: new Uint8Array(16), sessionSalt: new Uint8Array(12) });
    const p3 = createFloorProtection({ role: 'client', sendKey: () => gmkLike, lookup: () => undefined });
    expect(await serverSide.bob.receive(await p3.protect(req))).toBe(false);
    // plain MBCP
    expect(await serverSide.bob.receive(req)).toBe(false);
    // the server's own Floor Idle reflected back to it
    let serverPacket: Uint8Array | undefined;
    const sniff = createFloorChannel({ role: 'server', send: (b) => (serverPacket = b), onMessage: () => undefined, protection: createFloorProtection({ role: 'server', sendKey: () => forged, lookup: () => undefined }) });
    await sniff.send({ type: 'floor-idle' });
    expect(await serverSide.bob.receive(serverPacket)).toBe(false);

    expect(serverSide.bob.stats().refusedByCode).toEqual({
      ERR_FLOOR_REPLAY: 1,
      ERR_FLOOR_AUTH_FAILED: 2,
      ERR_FLOOR_UNKNOWN_KEY: 1,
      ERR_FLOOR_WRONG_PURPOSE: 1,
      ERR_FLOOR_UNPROTECTED: 1,
      ERR_FLOOR_BAD_SSRC: 1,
    });
    expect(granted).toEqual([]);
    expect(arb.holder()).toBeUndefined();
    // and the client refuses a packet meant for another member (carol's key is not bob's)
    const toCarol: Uint8Array[] = [];
    const carolServer = createFloorChannel({ role: 'server', send: (b) => toCarol.push(b), onMessage: () => undefined, protection: createFloorProtection({ role: 'server', sendKey: () => forged, lookup: () => undefined }) });
    await carolServer.send({ type: 'floor-granted', duration: 30 });
    expect(await clientSide.bob.receive(toCarol[0])).toBe(false);
    expect(members.bob.state).toBe('has-no-permission');
  });
});

describe('floor control under profile ts33179-v13 (a floor-only GMK shared by the group)', () => {
  it('members and arbitrator share the GMK-derived floor key; a CSK-tagged MKI is refused', async () => {
    const gmk = { kind: 'GMK' as const, profile: 'ts33179-v13' as const, keyId: hexToBytes('2b000001'), tgk: new Uint8Array(16).fill(0x42), rand: new Uint8Array(16).fill(0x43) };
    const floorKey = await deriveFloorKey(gmk);
    const lookup = (mki: Uint8Array) => (bytesToHex(mki) === '2b000001' ? floorKey : undefined);
    const clock = manualClock();
    const pending = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => (pending.add(p), void p.finally(() => pending.delete(p)));
    let server!: FloorChannel;
    let client!: FloorChannel;
    const arb = createFloorArbitrator({ send: (_id, m) => track(server.send(m)), timers: clock.timers });
    const alice = createFloorParticipant({ send: (m) => track(client.send(m)), timers: clock.timers });
    server = createFloorChannel({ role: 'server', send: (b) => track(client.receive(b)), onMessage: (m) => arb.receive('alice', m), protection: createFloorProtection({ role: 'server', sendKey: () => floorKey, lookup, profile: 'ts33179-v13' }) });
    client = createFloorChannel({ role: 'client', send: (b) => track(server.receive(b)), onMessage: (m) => alice.receive(m), protection: createFloorProtection({ role: 'client', sendKey: () => floorKey, lookup, profile: 'ts33179-v13' }) });
    alice.start();
    arb.join('alice', { userId: 'sip:alice@fire.example', priority: 5 });
    const r = alice.request();
    for (let i = 0; i < 50 && pending.size > 0; i++) await Promise.all([...pending]);
    expect(await r).toBe('granted');
    expect(arb.holder()).toBe('alice');

    const cskTagged = await importFloorKey({ keyId: hexToBytes('6a000001'), sessionKey: new Uint8Array(16), sessionSalt: new Uint8Array(12) });
    const p = createFloorProtection({ role: 'client', sendKey: () => cskTagged, lookup: () => undefined });
    expect(await server.receive(await p.protect(encodeMbcp(0x00000001, { type: 'floor-release' })))).toBe(false);
    expect(server.stats().refusedByCode).toEqual({ ERR_FLOOR_WRONG_PURPOSE: 1 });
    expect(arb.holder()).toBe('alice');
  });
});
