/**
 * src/floor behind the group call's floor port (floor-adapter.ts; TS 24.380 6.2.4, TS 33.179
 * 7.6): what the SDK puts on the `mcptt-floor` data channel is SRTCP-protected MBCP under the
 * CSK (MKI = CSK-ID) that a server with the same CSK opens; the server's answers drive the
 * participant; tampered, replayed and plain packets are dropped, never thrown.
 */
import { describe, expect, it } from 'vitest';

import { decodeMbcp, encodeMbcp, type MbcpMessage } from '../../src/codec/mbcp/index.js';
import { createFloorProtection, deriveFloorKey, newFloorSsrc, type FloorKey } from '../../src/floor/protection.js';
import { srcFloorControl } from '../../src/platform/group-calls/index.js';
import type { ClientServerKey } from '../../src/platform/signalling/index.js';
import { bytesToHex, hexToBytes } from '../../src/util/bytes.js';
import { settle, until } from '../media/helpers.js';

const ALICE = 'sip:alice@mcptt.example';
const csk = (id: string, fill: number): ClientServerKey => ({ key: new Uint8Array(16).fill(fill), keyId: hexToBytes(id), rand: new Uint8Array(16).fill(3), keyPeriodNo: 1, createdAt: 0 });

/** The arbitrator's end of the channel: the same CSK, role server. */
async function serverEnd(keys: ClientServerKey[]) {
  const derived = new Map<string, FloorKey>();
  for (const k of keys) derived.set(bytesToHex(k.keyId), await deriveFloorKey({ kind: 'CSK', keyId: k.keyId, tgk: k.key, rand: k.rand }));
  let sendWith = bytesToHex(keys[0]!.keyId);
  const protection = createFloorProtection({ role: 'server', sendKey: () => derived.get(sendWith), lookup: (mki) => derived.get(bytesToHex(mki)) });
  const ssrc = newFloorSsrc('server');
  return {
    open: async (bytes: Uint8Array) => decodeMbcp((await protection.unprotect(bytes)).rtcp),
    seal: (m: MbcpMessage) => protection.protect(encodeMbcp(ssrc, m)),
    use: (id: string) => void (sendWith = id),
  };
}

describe('floor control over the data channel (src/floor)', () => {
  it('request → protected Floor Request (our priority, client SSRC); the protected Floor Granted grants', async () => {
    const key = csk('2a000001', 7);
    const server = await serverEnd([key]);
    const wire: Uint8Array[] = [];
    const floor = srcFloorControl()({ send: (p) => wire.push(p), csk: () => key, mcpttId: ALICE });
    floor.start();
    expect(floor.status.state).toBe('has-no-permission');
    const p = floor.request({ priority: 7 });
    await until(() => wire.length === 1, 'Floor Request on the wire');
    // Protected: the plain MBCP would begin with the RTCP header and end without the MKI.
    expect(bytesToHex(wire[0]!.slice(-4))).toBe('2a000001');
    const { message, ssrc } = await server.open(wire[0]!);
    expect(message.type).toBe('floor-request');
    expect(message.floorPriority).toBe(7);
    expect(ssrc >>> 31).toBe(0); // a client SSRC
    floor.receive(await server.seal({ type: 'floor-granted', duration: 30 }));
    expect(await p).toBe('granted');
    expect(floor.status.state).toBe('has-permission');
    floor.stop();
  });

  it('tampered, replayed and unprotected packets are dropped; the next good one still works', async () => {
    const key = csk('2a000002', 9);
    const server = await serverEnd([key]);
    const floor = srcFloorControl()({ send: () => undefined, csk: () => key, mcpttId: ALICE });
    const stats = (): { received: number; refused: number } => (floor as unknown as { stats(): { received: number; refused: number } }).stats();
    floor.start();
    const taken = await server.seal({ type: 'floor-taken', grantedPartyId: 'sip:bob@mcptt.example' });
    const bad = taken.slice();
    bad[14] = bad[14]! ^ 1;
    floor.receive(bad);
    floor.receive(encodeMbcp(newFloorSsrc('server'), { type: 'floor-idle' })); // plain MBCP
    floor.receive(new Uint8Array([1, 2, 3]));
    await until(() => stats().refused === 3, 'refused');
    expect(floor.status.talker).toBeUndefined();
    floor.receive(taken);
    floor.receive(taken); // replay
    await until(() => stats().refused === 4, 'replay refused');
    expect(stats().received).toBe(1);
    expect(floor.status.talker).toEqual({ mcpttId: 'sip:bob@mcptt.example', self: false, emergency: false });
    floor.stop();
  });

  it('after a CSK renewal the new CSK protects what we send; packets under the old one still open', async () => {
    const old = csk('2a000003', 1);
    const next = csk('2a000004', 2);
    let current = old;
    const server = await serverEnd([old, next]);
    const wire: Uint8Array[] = [];
    const floor = srcFloorControl()({ send: (p) => wire.push(p), csk: () => current, mcpttId: ALICE });
    floor.start();
    void floor.request().catch(() => undefined);
    await until(() => wire.length === 1, 'first request');
    expect(bytesToHex(wire[0]!.slice(-4))).toBe('2a000003');
    current = next;
    await floor.release();
    await until(() => wire.length === 2, 'release');
    expect(bytesToHex(wire[1]!.slice(-4))).toBe('2a000004');
    expect((await server.open(wire[1]!)).message.type).toBe('floor-release');
    floor.receive(await server.seal({ type: 'floor-taken', grantedPartyId: 'sip:carol@mcptt.example' })); // still under the old CSK
    await until(() => floor.status.talker !== undefined, 'talker');
    floor.stop();
  });

  it('without a CSK (allowed by the deployment) packets are plain MBCP', async () => {
    const wire: Uint8Array[] = [];
    const floor = srcFloorControl()({ send: (p) => wire.push(p), csk: undefined, mcpttId: ALICE });
    floor.start();
    void floor.request().catch(() => undefined);
    await until(() => wire.length === 1, 'request');
    expect(decodeMbcp(wire[0]!).message.type).toBe('floor-request');
    floor.stop();
    await settle(5);
  });
});
