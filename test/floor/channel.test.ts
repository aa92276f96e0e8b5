/**
 * The floor channel: typed messages ⇄ (protected) bytes, in order, with refused packets counted
 * by code and never thrown at the caller.
 */
import { describe, expect, it } from 'vitest';
import { encodeMbcp, type MbcpMessage } from '../../src/codec/mbcp/index.js';
import type { FloorError } from '../../src/errors.js';
import { createFloorChannel } from '../../src/floor/channel.js';
import { createFloorProtection, importFloorKey, type FloorKey } from '../../src/floor/protection.js';
import { hexToBytes } from '../../src/util/bytes.js';

function link(protect?: { client: FloorKey | undefined; server: FloorKey | undefined; lookup: FloorKey[] }) {
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const atServer: MbcpMessage[] = [];
  const atClient: MbcpMessage[] = [];
  const errors: FloorError[] = [];
  const lookup = (mki: Uint8Array) => protect?.lookup.find((k) => k.keyId.every((b, i) => b === mki[i]));
  const client = createFloorChannel({
    role: 'client',
    ssrc: 0x00001111,
    send: (b) => toServer.push(b),
    onMessage: (m) => atClient.push(m),
    onError: (e) => errors.push(e),
    ...(protect ? { protection: createFloorProtection({ role: 'client', sendKey: () => protect.client, lookup }) } : {}),
  });
  const server = createFloorChannel({
    role: 'server',
    ssrc: 0x80002222,
    send: (b) => toClient.push(b),
    onMessage: (m) => atServer.push(m),
    onError: (e) => errors.push(e),
    ...(protect ? { protection: createFloorProtection({ role: 'server', sendKey: () => protect.server, lookup, profile: 'ts33180' }) } : {}),
  });
  return { client, server, toServer, toClient, atServer, atClient, errors };
}

const key = (id: string, seed: number) => importFloorKey({ keyId: hexToBytes(id), sessionKey: new Uint8Array(16).fill(seed), sessionSalt: new Uint8Array(12).fill(seed) });

describe('floor channel, plain MBCP', () => {
  it('carries messages both ways, in order', async () => {
    const l = link();
    expect(l.client.protected).toBe(false);
    await Promise.all([l.client.send({ type: 'floor-request', floorPriority: 1 }), l.client.send({ type: 'floor-release' })]);
    for (const b of l.toServer) await l.server.receive(b);
    expect(l.atServer.map((m) => m.type)).toEqual(['floor-request', 'floor-release']);
    await l.server.send({ type: 'floor-idle', messageSequenceNumber: 2 });
    expect(await l.client.receive(l.toClient[0]!.buffer)).toBe(true); // an ArrayBuffer, as RTCDataChannel gives
    expect(l.atClient).toEqual([{ type: 'floor-idle', messageSequenceNumber: 2 }]);
    expect(l.client.stats()).toMatchObject({ sent: 2, received: 1, refused: 0 });
  });

  it('refuses text, garbage, wrong-direction SSRCs; counts them by code; never throws', async () => {
    const l = link();
    expect(await l.server.receive('hello')).toBe(false);
    expect(await l.server.receive(new Uint8Array([1, 2, 3]))).toBe(false);
    expect(await l.server.receive(encodeMbcp(0x80000001, { type: 'floor-request' }))).toBe(false); // a server SSRC
    expect(await l.client.receive(encodeMbcp(0x00001111, { type: 'floor-idle' }))).toBe(false); // our own, reflected
    expect(l.server.stats().refusedByCode).toEqual({ ERR_FLOOR_MALFORMED: 2, ERR_FLOOR_BAD_SSRC: 1 });
    expect(l.client.stats().refusedByCode).toEqual({ ERR_FLOOR_BAD_SSRC: 1 });
    expect(l.atServer).toEqual([]);
    expect(l.errors.map((e) => e.code)).toEqual(['ERR_FLOOR_MALFORMED', 'ERR_FLOOR_MALFORMED', 'ERR_FLOOR_BAD_SSRC', 'ERR_FLOOR_BAD_SSRC']);
  });

  it('a misconfigured SSRC is misuse', () => {
    expect(() => createFloorChannel({ role: 'client', ssrc: 0x80000000, send: () => undefined, onMessage: () => undefined })).toThrow(RangeError);
    expect(() => createFloorChannel({ role: 'server', ssrc: 5, send: () => undefined, onMessage: () => undefined })).toThrow(RangeError);
    const auto = createFloorChannel({ role: 'server', send: () => undefined, onMessage: () => undefined });
    expect(auto.ssrc).toBeGreaterThanOrEqual(0x80000000);
  });
});

describe('floor channel, SRTCP-protected', () => {
  it('round trip; the bytes on the wire carry neither the name nor the fields in clear', async () => {
    const k = await key('2a000001', 1);
    const l = link({ client: k, server: k, lookup: [k] });
    await l.client.send({ type: 'floor-request', floorPriority: 42 });
    const wire = l.toServer[0]!;
    expect(new TextDecoder().decode(wire)).not.toContain('MCPT');
    expect(await l.server.receive(wire)).toBe(true);
    expect(l.atServer).toEqual([{ type: 'floor-request', floorPriority: 42 }]);
  });

  it('plain MBCP is refused once protection is on; no key → nothing is sent', async () => {
    const k = await key('2a000001', 1);
    const l = link({ client: undefined, server: k, lookup: [k] });
    expect(await l.server.receive(encodeMbcp(0x00001111, { type: 'floor-request' }))).toBe(false);
    expect(l.server.stats().refusedByCode).toEqual({ ERR_FLOOR_UNPROTECTED: 1 });
    expect(await l.client.send({ type: 'floor-request' })).toBe(false);
    expect(l.toServer).toEqual([]);
    expect(l.client.stats().sendFailures).toBe(1);
    expect(l.errors.at(-1)!.code).toBe('ERR_FLOOR_UNKNOWN_KEY');
  });

  it('close() drops later traffic', async () => {
    const k = await key('2a000001', 1);
    const l = link({ client: k, server: k, lookup: [k] });
    await l.client.send({ type: 'floor-request' });
    l.server.close();
    expect(await l.server.receive(l.toServer[0])).toBe(false);
    expect(l.atServer).toEqual([]);
  });
});

describe('floor channel ordering under protection', () => {
  it('messages reach onMessage in the order they arrived although decryption is async', async () => {
    const k = await key('2a000001', 1);
    const l = link({ client: k, server: k, lookup: [k] });
    for (let i = 0; i < 12; i++) void l.client.send({ type: 'floor-idle', messageSequenceNumber: i });
    await l.client.send({ type: 'floor-release' });
    const results = l.toServer.map((b) => l.server.receive(b)); // all at once, none awaited in between
    await Promise.all(results);
    expect(l.atServer.map((m) => m.messageSequenceNumber ?? 'release')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 'release']);
  });
});
