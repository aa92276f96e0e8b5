/**
 * The group call offer goes out once host candidates are in when no STUN/TURN server is
 * configured (group-call-sdh.ts, late call entry TS 22.179 6.15.3), and waits for the whole
 * ICE gathering otherwise. A fake inner handler stands in for sip.js's Web one: it resolves its
 * description when gathering completes or when `iceGatheringComplete()` is called.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BodyAndContentType, SessionDescriptionHandler } from 'sip.js';

import { GroupCallSessionDescriptionHandler, HOST_CANDIDATE_SETTLE_MS, gathersHostCandidatesOnly } from '../../src/platform/group-calls/group-call-sdh.js';

class FakePc extends EventTarget {
  constructor(readonly config: RTCConfiguration) {
    super();
  }
  getConfiguration(): RTCConfiguration {
    return this.config;
  }
  candidate(type: string | null): void {
    const e = new Event('icecandidate') as Event & { candidate: unknown };
    e.candidate = type === null ? null : { type };
    this.dispatchEvent(e);
  }
}

class FakeWebHandler {
  sent: string | undefined;
  #release: (() => void) | undefined;
  constructor(readonly peerConnection: FakePc) {}
  getDescription(): Promise<BodyAndContentType> {
    return new Promise((resolve) => {
      this.#release = () => resolve({ contentType: 'application/sdp', body: 'v=0\r\n' });
    });
  }
  /** sip.js: stop waiting and offer what was gathered so far. */
  iceGatheringComplete(): void {
    this.#release?.();
  }
  hasDescription(): boolean {
    return true;
  }
  setDescription(): Promise<void> {
    return Promise.resolve();
  }
  sendDtmf(): boolean {
    return false;
  }
  close(): void {}
}

function handler(config: RTCConfiguration): { pc: FakePc; sdh: GroupCallSessionDescriptionHandler; settled: () => boolean } {
  const pc = new FakePc(config);
  const inner = new FakeWebHandler(pc);
  const sdh = new GroupCallSessionDescriptionHandler(inner as unknown as SessionDescriptionHandler, {
    groupId: 'sip:fire-ops@mcptt.example',
    infoXml: () => Promise.resolve('<mcpttinfo/>'),
    onDataChannel: () => {},
  });
  let done = false;
  void sdh.getDescription().then(() => (done = true));
  return { pc, sdh, settled: () => done };
}

const flush = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms);
};

describe('group call offer and ICE gathering', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends the offer shortly after the first host candidate when no STUN/TURN server is configured', async () => {
    const { pc, settled } = handler({ iceServers: [] });
    await flush(1);
    expect(settled()).toBe(false);
    pc.candidate('host');
    await flush(HOST_CANDIDATE_SETTLE_MS - 1);
    expect(settled()).toBe(false);
    await flush(2);
    expect(settled()).toBe(true);
  });

  it('keeps waiting for the whole gathering when a STUN server may give the only reachable candidate', async () => {
    const { pc, settled } = handler({ iceServers: [{ urls: 'stun:stun.example.org' }] });
    pc.candidate('host');
    await flush(1000);
    expect(settled()).toBe(false);
  });

  it('does not end gathering on a non-host candidate', async () => {
    const { pc, settled } = handler({});
    pc.candidate('srflx');
    pc.candidate(null);
    await flush(1000);
    expect(settled()).toBe(false);
  });

  it('tells which configurations can only gather host candidates', () => {
    expect(gathersHostCandidatesOnly({})).toBe(true);
    expect(gathersHostCandidatesOnly({ iceServers: [] })).toBe(true);
    expect(gathersHostCandidatesOnly({ iceServers: [{ urls: 'turn:turn.example.org', username: 'u', credential: 'c' }] })).toBe(false);
    expect(gathersHostCandidatesOnly({ iceTransportPolicy: 'relay' })).toBe(false);
  });
});
