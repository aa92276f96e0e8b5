/**
 * The E2EE worker core in Node (workers/e2ee/worker-core.ts): the protocol of
 * src/media/protocol.ts (handshake, validation, an answer to every message) and the fail-closed
 * frame rules of TS 33.179 7.5 carried over to encoded frames (docs/media.md).
 */
import { describe, expect, it } from 'vitest';
import { encryptFrame, parseFrame } from '../../src/codec/frame.js';
import { gukId } from '../../src/crypto/index.js';
import { createMediaKeyRing, type MediaKeyRing } from '../../src/media/key-ring.js';
import { DEFAULT_WORKER_CONFIG, type FromWorkerMessage, type MediaEvent } from '../../src/media/protocol.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { createE2eeWorkerCore, type E2eeWorkerCore } from '../../workers/e2ee/worker-core.js';
import { fakeHost, frameOf, FramePipe, settle, until, type FakeHost } from './helpers.js';

const PCK = hexToBytes('c0ffee112233445566778899aabbccdd');
const PCK_ID = hexToBytes('1e2d3c4b');
const RAND = hexToBytes('00112233445566778899aabbccddeeff');
const CALL = { kind: 'private', callId: 'call-1' } as const;
const OPUS = [0x78, 1, 2, 3, 4, 5, 6, 7];

interface Setup {
  host: FakeHost;
  core: E2eeWorkerCore;
  /** Our side (initiator) and the peer (receiver). */
  mine: MediaKeyRing;
  peer: MediaKeyRing;
  send(m: Record<string, unknown>): void;
  events(type?: MediaEvent['type']): MediaEvent[];
  answers(): FromWorkerMessage[];
}

let nextId = 1;

function setup(config: Partial<typeof DEFAULT_WORKER_CONFIG> = {}): Setup {
  const host = fakeHost();
  const core = createE2eeWorkerCore(host);
  const mine = createMediaKeyRing({ now: host.now });
  const peer = createMediaKeyRing({ now: host.now });
  mine.addPrivateCallKey({ callId: 'call-1', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'initiator' });
  peer.addPrivateCallKey({ callId: 'call-1', pck: PCK, pckId: PCK_ID, rand: RAND, role: 'receiver' });
  const send = (m: Record<string, unknown>): void => core.onMessage({ id: nextId++, ...m });
  send({ kind: 'init', protocol: 1, config: { ...DEFAULT_WORKER_CONFIG, ...config } });
  return {
    host,
    core,
    mine,
    peer,
    send,
    events: (type) => host.posted.flatMap((m) => (m.kind === 'event' && (type === undefined || m.event.type === type) ? [m.event] : [])),
    answers: () => host.posted.filter((m) => m.kind === 'ack' || m.kind === 'error' || m.kind === 'counters'),
  };
}

async function pushSendKeys(s: Setup, ring = s.mine, context = CALL): Promise<void> {
  const keys = await ring.sendKeys(context);
  s.send({ kind: 'set-send-keys', context: 'call:call-1', keys: keys.map((k) => ({ mki: k.mki, key: k.key, salt: k.salt, activeFrom: k.activeFrom, activeUntil: k.activeUntil ?? null })) });
}

function attach(s: Setup, direction: 'send' | 'receive', trackId = direction === 'send' ? 'tx-1' : 'rx-1'): FramePipe {
  const pipe = new FramePipe();
  s.send({ kind: 'attach', trackId, direction, context: direction === 'send' ? 'call:call-1' : null, readable: pipe.readable, writable: pipe.writable });
  return pipe;
}

/** Answers the worker's key requests from `ring`, as the manager does. */
async function answerRequests(s: Setup, ring: MediaKeyRing): Promise<number> {
  let n = 0;
  for (const m of s.host.posted.splice(0)) {
    if (m.kind !== 'key-request') {
      s.host.posted.push(m);
      continue;
    }
    n++;
    try {
      const k = await ring.receiveKey(m.mki);
      s.send({ kind: 'key-response', requestId: m.requestId, mki: m.mki, key: { key: k.key, salt: k.salt, receiveUntil: k.receiveUntil ?? null }, reason: null });
    } catch (e) {
      s.send({ kind: 'key-response', requestId: m.requestId, mki: m.mki, key: null, reason: (e as { code: string }).code });
    }
  }
  return n;
}

/** A frame the peer (receiver side of the call) sends to us. */
async function peerFrame(s: Setup, index: number, payload = OPUS, streamId = hexToBytes('aaaaaaaaaaaaaaaa')): Promise<Uint8Array> {
  const [k] = await s.peer.sendKeys(CALL);
  return encryptFrame(k!, { mki: k!.mki, streamId, index }, Uint8Array.from(payload));
}

describe('protocol', () => {
  it('init is acknowledged; everything gets exactly one answer', () => {
    const s = setup();
    expect(s.answers()).toEqual([{ kind: 'ack', id: nextId - 1 }]);
    s.send({ kind: 'get-counters' });
    expect(s.answers().at(-1)).toEqual({ kind: 'counters', id: nextId - 1, counters: [] });
  });

  it('messages before init, a second init, and another protocol version are refused with an error', () => {
    const host = fakeHost();
    const core = createE2eeWorkerCore(host);
    core.onMessage({ kind: 'get-counters', id: 7 });
    expect(host.posted.at(-1)).toMatchObject({ kind: 'error', id: 7, code: 'ERR_MEDIA_WORKER' });
    core.onMessage({ kind: 'init', id: 8, protocol: 2, config: DEFAULT_WORKER_CONFIG });
    expect(host.posted.at(-1)).toMatchObject({ kind: 'error', id: 8, message: expect.stringContaining('protocol 2') });
    core.onMessage({ kind: 'init', id: 9, protocol: 1, config: DEFAULT_WORKER_CONFIG });
    core.onMessage({ kind: 'init', id: 10, protocol: 1, config: DEFAULT_WORKER_CONFIG });
    expect(host.posted.slice(-2)).toEqual([{ kind: 'ack', id: 9 }, expect.objectContaining({ kind: 'error', id: 10, message: 'already initialized' })]);
  });

  it.each([
    ['unknown kind', { kind: 'launch-missiles', id: 3 }, 3],
    ['no id', { kind: 'get-counters' }, null],
    ['not an object', 'hello', null],
    ['null', null, null],
    ['bad key id length', { kind: 'revoke', id: 4, keyId: new Uint8Array(3) }, 4],
    ['string where bytes belong', { kind: 'revoke', id: 5, keyId: '1e2d3c4b' }, 5],
    ['sender without context', { kind: 'attach', id: 6, trackId: 't', direction: 'send', context: null, readable: new ReadableStream(), writable: new WritableStream() }, 6],
    ['key-response with neither key nor reason', { kind: 'key-response', id: 11, requestId: 1, mki: PCK_ID, key: null, reason: null }, 11],
    ['detach of an unknown track', { kind: 'detach', id: 12, trackId: 'nope' }, 12],
  ])('malformed message (%s) is answered with an error, not dropped', (_what, message, id) => {
    const s = setup();
    s.host.posted.length = 0;
    s.core.onMessage(message);
    expect(s.host.posted).toEqual([expect.objectContaining({ kind: 'error', id, code: 'ERR_MEDIA_WORKER' })]);
  });

  it('an extractable key is refused: keys cross only as non-extractable CryptoKeys', async () => {
    const s = setup();
    const key = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', true, ['encrypt']);
    s.send({ kind: 'set-send-keys', context: 'call:call-1', keys: [{ mki: PCK_ID, key, salt: new Uint8Array(12), activeFrom: 0, activeUntil: null }] });
    expect(s.host.posted.at(-1)).toMatchObject({ kind: 'error', message: expect.stringContaining('extractable') });
  });

  it('a script transform with bad options is reported with its track id and left unread (fail closed)', () => {
    const s = setup();
    const pipe = new FramePipe();
    s.core.onTransform({ readable: pipe.readable, writable: pipe.writable, options: { kind: 'mcptt-e2ee', protocol: 1, trackId: 'tx-9', direction: 'sideways', context: null } });
    expect(s.host.posted.at(-1)).toMatchObject({ kind: 'error', id: null, trackId: 'tx-9' });
    expect(pipe.readable.locked).toBe(false);
  });
});

describe('send path', () => {
  it('encrypts with the active key: MKI = PCK-ID, a random stream ID, indices 0, 1, 2…', async () => {
    const s = setup();
    await pushSendKeys(s);
    const pipe = attach(s, 'send');
    pipe.push(frameOf(OPUS), frameOf(OPUS), frameOf(OPUS));
    await until(() => pipe.out.length === 3, 'three frames');
    const parsed = [0, 1, 2].map((i) => parseFrame(pipe.bytes(i)));
    expect(parsed.map((p) => p.index)).toEqual([0, 1, 2]);
    expect(parsed.every((p) => bytesToHex(p.mki) === bytesToHex(PCK_ID))).toBe(true);
    expect(new Set(parsed.map((p) => bytesToHex(p.streamId))).size).toBe(1);
    expect(pipe.bytes(0)[0]! >>> 3).toBe(0b11101); // the marker, not the Opus TOC 0x78, leads
    expect(bytesToHex(parsed[0]!.sealed.subarray(0, OPUS.length))).not.toBe(bytesToHex(Uint8Array.from(OPUS)));
    expect(s.events('encrypting')).toEqual([{ type: 'encrypting', trackId: 'tx-1', direction: 'send', mki: '1e2d3c4b' }]);
  });

  it('no key: the frame is dropped, never sent in clear, and a throttled missing-key event says so', async () => {
    const s = setup({ throttleMs: 1000 });
    const pipe = attach(s, 'send');
    for (let i = 0; i < 50; i++) pipe.push(frameOf(OPUS));
    await settle(30);
    expect(pipe.out).toEqual([]);
    expect(s.events('missing-key')).toEqual([{ type: 'missing-key', trackId: 'tx-1', direction: 'send', mki: undefined, count: 1 }]);
    s.host.advance(1000); // the timer flushes what the interval held back
    expect(s.events('missing-key').at(-1)).toMatchObject({ count: 49 });
    // Recovery is reported at once.
    await pushSendKeys(s);
    pipe.push(frameOf(OPUS));
    await until(() => pipe.out.length === 1, 'frame after key');
    expect(s.events('encrypting')).toHaveLength(1);
    s.send({ kind: 'get-counters' });
    expect(s.host.posted.at(-1)).toMatchObject({ counters: [expect.objectContaining({ framesIn: 51, framesOut: 1, droppedNoKey: 50 })] });
  });

  it('switches to the next key at its activation time without dropping a frame', async () => {
    const s = setup();
    const t0 = s.host.now();
    const k1 = { mki: hexToBytes('1e000001'), key: (await s.mine.sendKeys(CALL))[0]!.key, salt: new Uint8Array(12), activeFrom: 0, activeUntil: null };
    const k2 = { ...k1, mki: hexToBytes('1e000002'), activeFrom: t0 + 1000 };
    s.send({ kind: 'set-send-keys', context: 'call:call-1', keys: [k2, k1] });
    const pipe = attach(s, 'send');
    pipe.push(frameOf(OPUS));
    await until(() => pipe.out.length === 1, 'first frame');
    s.host.set(t0 + 999);
    pipe.push(frameOf(OPUS));
    await until(() => pipe.out.length === 2, 'second frame');
    s.host.set(t0 + 1000);
    pipe.push(frameOf(OPUS));
    await until(() => pipe.out.length === 3, 'third frame');
    expect([0, 1, 2].map((i) => bytesToHex(parseFrame(pipe.bytes(i)).mki))).toEqual(['1e000001', '1e000001', '1e000002']);
    expect(s.events('encrypting').map((e) => (e as { mki: string }).mki)).toEqual(['1e000001', '1e000002']);
  });

  it('a revoked key stops protecting at once: frames are dropped', async () => {
    const s = setup();
    await pushSendKeys(s);
    const pipe = attach(s, 'send');
    pipe.push(frameOf(OPUS));
    await until(() => pipe.out.length === 1, 'frame');
    s.send({ kind: 'revoke', keyId: PCK_ID });
    pipe.push(frameOf(OPUS));
    await settle();
    expect(pipe.out).toHaveLength(1);
    expect(s.events('missing-key')).toHaveLength(1);
  });
});

describe('receive path', () => {
  it('late entry: the first frame seen waits for the key from the page and is decrypted', async () => {
    const s = setup();
    const pipe = attach(s, 'receive');
    pipe.push(frameOf(await peerFrame(s, 4711)));
    await until(() => s.host.posted.some((m) => m.kind === 'key-request'), 'key request');
    expect(await answerRequests(s, s.mine)).toBe(1);
    await until(() => pipe.out.length === 1, 'decrypted frame');
    expect([...pipe.bytes(0)]).toEqual(OPUS);
    expect(s.events('encrypting')).toEqual([{ type: 'encrypting', trackId: 'rx-1', direction: 'receive', mki: '1e2d3c4b' }]);
  });

  it('one request per MKI: frames behind the first wait, later frames use the cached key', async () => {
    const s = setup();
    const pipe = attach(s, 'receive');
    for (let i = 0; i < 5; i++) pipe.push(frameOf(await peerFrame(s, i)));
    await until(() => s.host.posted.some((m) => m.kind === 'key-request'), 'key request');
    await settle();
    expect(await answerRequests(s, s.mine)).toBe(1);
    await until(() => pipe.out.length === 5, 'five frames');
  });

  it('unknown MKI: dropped with a missing-key event; not asked again until keys change', async () => {
    const s = setup({ unknownKeyRetryMs: 60_000 });
    const stranger = createMediaKeyRing({ now: s.host.now });
    const pipe = attach(s, 'receive');
    pipe.push(frameOf(await peerFrame(s, 0)));
    await until(() => s.host.posted.some((m) => m.kind === 'key-request'), 'key request');
    await answerRequests(s, stranger); // the page does not know this PCK
    await until(() => s.events('missing-key').length === 1, 'missing-key');
    expect(s.events('missing-key')[0]).toMatchObject({ direction: 'receive', mki: '1e2d3c4b', count: 1 });
    pipe.push(frameOf(await peerFrame(s, 1)));
    await settle();
    expect(await answerRequests(s, s.mine)).toBe(0); // remembered as unknown
    s.send({ kind: 'keys-changed' });
    pipe.push(frameOf(await peerFrame(s, 2)));
    await until(() => s.host.posted.some((m) => m.kind === 'key-request'), 'second request');
    await answerRequests(s, s.mine);
    await until(() => pipe.out.length === 1, 'frame after the key arrived');
    expect(parseFrame(await peerFrame(s, 2)).index).toBe(2);
  });

  it('a page that never answers: the frame is dropped after the request timeout', async () => {
    const s = setup({ keyRequestTimeoutMs: 300 });
    const pipe = attach(s, 'receive');
    pipe.push(frameOf(await peerFrame(s, 0)));
    await until(() => s.host.posted.some((m) => m.kind === 'key-request'), 'key request');
    s.host.advance(300);
    await until(() => s.events('missing-key').length === 1, 'missing-key after timeout');
    expect(pipe.out).toEqual([]);
  });

  it('replays inside the window are dropped; reordering is accepted; too-old is dropped', async () => {
    const s = setup({ replayWindow: 64 });
    const pipe = attach(s, 'receive');
    const frames = await Promise.all([10, 10, 8, 9, 100, 30, 37, 100].map((i) => peerFrame(s, i)));
    pipe.push(frameOf(frames[0]!));
    await until(() => s.host.posted.some((m) => m.kind === 'key-request'), 'key request');
    await answerRequests(s, s.mine);
    for (const f of frames.slice(1)) pipe.push(frameOf(f.slice()));
    await until(() => s.events('decrypt-failed').length >= 1 && pipe.out.length === 5, 'frames');
    await settle();
    // 10 ok, 10 replay, 8 ok, 9 ok, 100 ok, 30 too old (100-30 >= 64), 37 ok (63 behind), 100 replay
    expect(pipe.out.map((f) => f.data.byteLength)).toHaveLength(5);
    s.send({ kind: 'get-counters' });
    expect(s.host.posted.at(-1)).toMatchObject({ counters: [expect.objectContaining({ framesOut: 5, droppedReplay: 3 })] });
    expect(s.events('decrypt-failed')[0]).toMatchObject({ reason: 'replay', mki: '1e2d3c4b' });
  });

  it('authentication failure: dropped, never handed to the decoder', async () => {
    const s = setup();
    const pipe = attach(s, 'receive');
    const good = await peerFrame(s, 0);
    const bad = good.slice();
    bad[bad.length - 1]! ^= 1;
    pipe.push(frameOf(bad));
    await until(() => s.host.posted.some((m) => m.kind === 'key-request'), 'key request');
    await answerRequests(s, s.mine);
    await until(() => s.events('decrypt-failed').length === 1, 'decrypt-failed');
    expect(s.events('decrypt-failed')[0]).toMatchObject({ reason: 'auth', count: 1 });
    // The failed frame does not burn its index: the genuine one still goes through.
    pipe.push(frameOf(good));
    await until(() => pipe.out.length === 1, 'genuine frame');
    expect(s.events('encrypting')).toHaveLength(1);
  });

  it('unencrypted and malformed frames are dropped with their own events', async () => {
    const s = setup({ throttleMs: 1000 });
    const pipe = attach(s, 'receive');
    for (let i = 0; i < 10; i++) pipe.push(frameOf(OPUS));
    pipe.push(frameOf([0xec, 1, 2, 3]));
    await until(() => s.events().length === 2, 'events');
    expect(s.events()).toEqual([
      { type: 'unencrypted-frame-received', trackId: 'rx-1', direction: 'receive', count: 1 },
      { type: 'decrypt-failed', trackId: 'rx-1', direction: 'receive', reason: 'malformed', mki: undefined, count: 1 },
    ]);
    expect(pipe.out).toEqual([]);
  });

  it('SFU rewriting of SSRC and sequence numbers changes nothing: the IV does not use them', async () => {
    const s = setup();
    const pipe = attach(s, 'receive');
    pipe.push(frameOf(await peerFrame(s, 0), { ssrc: 0x1234, sequenceNumber: 7 }));
    await until(() => s.host.posted.some((m) => m.kind === 'key-request'), 'key request');
    await answerRequests(s, s.mine);
    pipe.push(frameOf(await peerFrame(s, 1), { ssrc: 0x9999, sequenceNumber: 60000 }));
    await until(() => pipe.out.length === 2, 'both frames');
  });

  it('a track that goes silent is reported stalled once; the next good frame reports recovery', async () => {
    const s = setup({ stallMs: 1000 });
    const pipe = attach(s, 'receive');
    pipe.push(frameOf(await peerFrame(s, 0)));
    await until(() => s.host.posted.some((m) => m.kind === 'key-request'), 'key request');
    await answerRequests(s, s.mine);
    await until(() => pipe.out.length === 1, 'frame');
    s.host.advance(1000);
    s.host.advance(1000);
    expect(s.events('stalled')).toEqual([{ type: 'stalled', trackId: 'rx-1', direction: 'receive', silentMs: 1000, neverStarted: false }]);
    pipe.push(frameOf(await peerFrame(s, 1)));
    await until(() => pipe.out.length === 2, 'frame after stall');
    expect(s.events('encrypting')).toHaveLength(2);
  });

  it('a track that never gets a frame is reported stalled with neverStarted (a bypassed transform looks like this)', () => {
    const s = setup({ stallMs: 1000 });
    attach(s, 'send');
    s.host.advance(1000);
    expect(s.events('stalled')).toEqual([{ type: 'stalled', trackId: 'tx-1', direction: 'send', silentMs: 1000, neverStarted: true }]);
  });

  it('a script transform that arrives before init waits for it, then runs', async () => {
    const host = fakeHost();
    const core = createE2eeWorkerCore(host);
    const pipe = new FramePipe();
    core.onTransform({ readable: pipe.readable, writable: pipe.writable, options: { kind: 'mcptt-e2ee', protocol: 1, trackId: 'tx-1', direction: 'send', context: 'call:call-1' } });
    pipe.push(frameOf(OPUS));
    await settle();
    expect(pipe.out).toEqual([]);
    expect(host.posted).toEqual([]);
    core.onMessage({ kind: 'init', id: 1, protocol: 1, config: DEFAULT_WORKER_CONFIG });
    await until(() => host.posted.some((m) => m.kind === 'event' && m.event.type === 'missing-key'), 'the waiting track ran');
    expect(pipe.out).toEqual([]); // no key: dropped, not passed
  });

  it('a second transform for the same track replaces the first (one pipeline per endpoint)', async () => {
    const s = setup();
    await pushSendKeys(s);
    const first = attach(s, 'send');
    const second = attach(s, 'send');
    second.push(frameOf(OPUS));
    await until(() => second.out.length === 1, 'frame on the new pipeline');
    s.send({ kind: 'get-counters' });
    expect(s.host.posted.at(-1)).toMatchObject({ kind: 'counters', counters: [expect.objectContaining({ trackId: 'tx-1' })] });
    expect(first.out).toEqual([]);
  });
});

describe('group receive', () => {
  it('frames of several talkers on one receiver are decrypted with per-sender keys, each with its own replay window', async () => {
    const host = fakeHost();
    const core = createE2eeWorkerCore(host);
    const GMK = hexToBytes('5b6e3f0c8a1d4e7f92a3b4c5d6e7f801');
    const GMK_ID = hexToBytes('0c3a5e71');
    const rings = ['sip:alice@x', 'sip:bob@x', 'sip:carol@x'].map((id) => {
      const r = createMediaKeyRing({ now: host.now });
      r.addGroupKey({ groupId: 'g', gmk: GMK, gmkId: GMK_ID, gukId: gukId({ gmk: GMK, gmkId: GMK_ID, mcpttId: id }), rand: RAND });
      return r;
    });
    core.onMessage({ kind: 'init', id: 1, protocol: 1, config: DEFAULT_WORKER_CONFIG });
    const pipe = new FramePipe();
    core.onMessage({ kind: 'attach', id: 2, trackId: 'rx', direction: 'receive', context: null, readable: pipe.readable, writable: pipe.writable });
    for (const talker of rings.slice(1)) {
      const [k] = await talker.sendKeys({ kind: 'group', groupId: 'g' });
      // Both talkers happen to use index 0: different keys, different windows.
      pipe.push(frameOf(await encryptFrame(k!, { mki: k!.mki, streamId: new Uint8Array(8), index: 0 }, Uint8Array.of(1))));
    }
    let answered = 0;
    while (pipe.out.length < 2) {
      for (const m of host.posted.splice(0)) {
        if (m.kind !== 'key-request') continue;
        const k = await rings[0]!.receiveKey(m.mki);
        core.onMessage({ kind: 'key-response', id: 10 + answered++, requestId: m.requestId, mki: m.mki, key: { key: k.key, salt: k.salt, receiveUntil: null }, reason: null });
      }
      await settle(2);
    }
    expect(answered).toBe(2);
  });
});
