/**
 * End-to-end encrypted media in Debian's chromium (TS 33.179 7.4 / 7.5 carried over to encoded
 * frames; docs/media.md): two RTCPeerConnections in one page, E2EE on both directions under a
 * PCK-derived key, in both attachment modes (RTCRtpScriptTransform and createEncodedStreams).
 *
 * - audio arrives: inbound totalAudioEnergy grows, concealment stays low;
 * - the wire carries ciphertext: a raw observer sees the format marker and the PCK-ID as MKI,
 *   and only decryption yields Opus;
 * - a listener with the wrong key decodes nothing (frames dropped, energy stays ~0);
 * - the worker is terminated and recreated mid-call, audio resumes, and no (stream ID, index)
 *   pair — hence no IV under the key — repeats;
 * - after dispose, nothing more leaves A (fail closed).
 * Audio is the default fake capture device's beep (no WAV file needed), AGC/NS/EC off.
 */
import { test, expect, type Page } from '@playwright/test';
import type { InboundAudio, MediaTestApi } from './pages/media-e2ee.js';

type Api = MediaTestApi;
const call = <K extends keyof Api>(page: Page, k: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> =>
  page.evaluate(([k, args]) => (window as unknown as { mediaTest: Record<string, (...a: unknown[]) => unknown> }).mediaTest[k]!(...args), [k, args] as const) as Promise<
    Awaited<ReturnType<Api[K]>>
  >;

const delta = (a: InboundAudio, b: InboundAudio) => ({
  energy: b.energy - a.energy,
  concealedRatio: (b.concealed - a.concealed) / Math.max(1, b.samples - a.samples),
  samples: b.samples - a.samples,
});

for (const mode of ['script-transform', 'encoded-streams'] as const) {
  test(`E2EE private call with ${mode}: audio flows, wire is ciphertext, wrong key hears nothing, restart resumes without IV repeat`, async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/e2e/pages/media-e2ee.html');
    await expect(page.getByRole('status')).toHaveText('ready');
    const { pckId, mode: got } = await call(page, 'setup', mode);
    expect(got).toBe(mode);

    // Warm-up, then a measured window.
    await page.waitForTimeout(1500);
    const s0 = await call(page, 'inbound');
    await page.waitForTimeout(2500);
    const s1 = await call(page, 'inbound');
    const ab = delta(s0.bFromA, s1.bFromA);
    const ba = delta(s0.aFromB, s1.aFromB);
    const ac = delta(s0.cFromA, s1.cFromA);
    expect(ac.energy).toBe(0);
    expect(ab.samples).toBeGreaterThan(48_000);
    expect(ab.energy).toBeGreaterThan(0.05);
    expect(ab.concealedRatio).toBeLessThan(0.05);
    expect(ba.energy).toBeGreaterThan(0.05);
    expect(ba.concealedRatio).toBeLessThan(0.05);
    // The wrong key: packets arrive, frames are dropped before the decoder, nothing is heard.
    expect(s1.cFromA.packets).toBeGreaterThan(100);
    expect(s1.cFromA.energy).toBeLessThan(1e-6);

    const counters = await call(page, 'counters');
    const c = counters.c.find((t) => t.direction === 'receive')!;
    expect(c.framesIn).toBeGreaterThan(100);
    expect(c.framesOut).toBe(0);
    expect(c.droppedAuth).toBe(c.framesIn - c.droppedEmpty);
    expect(c.droppedUnencrypted).toBe(0);
    const bRx = counters.b.find((t) => t.direction === 'receive')!;
    expect(bRx.framesOut).toBeGreaterThan(100);
    expect(bRx.droppedAuth + bRx.droppedUnencrypted + bRx.droppedUnknownKey + bRx.droppedReplay + bRx.droppedMalformed).toBe(0);
    const events = await call(page, 'events');
    expect(events.c.filter((e) => e.type === 'decrypt-failed' && e.reason === 'auth').length).toBeGreaterThan(0);
    expect(events.c.filter((e) => e.type === 'decrypt-failed').length).toBeLessThan(10); // throttled, not per frame
    expect(events.b.filter((e) => e.type === 'encrypting').map((e) => e.direction).sort()).toEqual(['receive', 'send']);

    // What travels between the peers: marker, MKI = PCK-ID, and ciphertext of Opus.
    const wire1 = await call(page, 'capture');
    expect(wire1.unparsedFrames).toEqual([]);
    expect(wire1.seen.length).toBeGreaterThan(100);
    expect(new Set(wire1.seen.map((f) => f.mki))).toEqual(new Set([pckId]));
    expect(wire1.opened.length).toBeGreaterThan(5);
    for (const o of wire1.opened) {
      expect(o.plaintextLength).toBeGreaterThan(0);
      // Opus TOC of libwebrtc's 20 ms frames: configs 0..31 with frame count code 0 (single frame).
      expect(parseInt(o.plaintextHead.slice(0, 2), 16) & 0x03).toBe(0);
      expect(o.sealedHead).not.toBe(o.plaintextHead);
    }

    // Restart both workers mid-call.
    expect(await call(page, 'restart', 'a')).toBe(2);
    expect(await call(page, 'restart', 'b')).toBe(2);
    await page.waitForTimeout(1500);
    const s2 = await call(page, 'inbound');
    await page.waitForTimeout(2500);
    const s3 = await call(page, 'inbound');
    const ab2 = delta(s2.bFromA, s3.bFromA);
    const ba2 = delta(s2.aFromB, s3.aFromB);
    // One line of figures for the record (energy and concealment per 2.5 s window).
    console.log(`${mode}: A→B ${JSON.stringify(ab)} B→A ${JSON.stringify(ba)} A→C(wrong key) ${JSON.stringify(ac)} A→B after restart ${JSON.stringify(ab2)}`);
    expect(ab2.energy).toBeGreaterThan(0.05);
    expect(ab2.concealedRatio).toBeLessThan(0.05);
    expect(ba2.energy).toBeGreaterThan(0.05);

    const wire2 = await call(page, 'capture');
    const pairs = wire2.seen.map((f) => `${f.streamId}:${f.index}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    const streams = [...new Set(wire2.seen.map((f) => f.streamId))];
    expect(streams.length).toBe(2); // one per worker generation
    expect(wire2.seen.at(-1)!.streamId).toBe(streams[1]);

    // Dispose: A's transforms stay bound to a terminated worker, so nothing leaves in clear.
    await call(page, 'disposeA');
    await page.waitForTimeout(500);
    const before = (await call(page, 'capture')).seen.length;
    await page.waitForTimeout(1500);
    const after = await call(page, 'capture');
    expect(after.unparsedFrames).toEqual([]);
    expect(after.seen.length - before).toBeLessThan(5);
    expect(errors).toEqual([]);
  });
}

/**
 * Chromium 156 bypasses ("short-circuits") the transform of a sender that has none at the end of
 * the task that created it: frames then leave in clear. The manager must catch this and stop the
 * media (fail closed): with a script transform it sees a track that never gets a frame while RTP
 * flows; with encoded streams, createEncodedStreams itself refuses.
 */
for (const mode of ['script-transform', 'encoded-streams'] as const) {
  test(`late attach with ${mode}: Chromium bypasses the transform, the manager stops the sender`, async ({ page }) => {
    await page.goto('/e2e/pages/media-e2ee.html');
    await expect(page.getByRole('status')).toHaveText('ready');
    const r = await call(page, 'lateAttach', mode);
    console.log(`${mode} late attach: ${JSON.stringify(r)}`);
    if (mode === 'script-transform') {
      expect(r.attachError).toBeNull();
      expect(r.framesIn).toBe(0);
      expect(r.stalled).toEqual([{ neverStarted: true }]);
      expect(r.bypassed).toEqual([{ packets: expect.any(Number), stopped: true }]);
    } else {
      expect(r.attachError).toContain('createEncodedStreams failed');
    }
    // Either way the sender was stopped: no more (plaintext) audio reaches the plain receiver.
    expect(r.senderTrack).toBeNull();
    expect(r.energyGrowthAfterStop).toBeLessThan(1e-4);
  });
}
