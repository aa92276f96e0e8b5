/** The per-stream replay window (src/media/replay-window.ts, after RFC 3711 3.3.2) against a model. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReplayWindow } from '../../src/media/replay-window.js';

describe('replay window', () => {
  it('accepts each index once, refuses what fell out of the window', () => {
    const w = createReplayWindow(4);
    expect(w.check(0)).toBe('new');
    w.commit(0);
    expect(w.check(0)).toBe('replay');
    w.commit(10);
    expect([6, 7, 9, 10, 11].map((i) => w.check(i))).toEqual(['too-old', 'new', 'new', 'replay', 'new']);
    expect(w.highest).toBe(10);
    w.commit(0xffffffff);
    expect(w.check(0xffffffff)).toBe('replay');
    expect(w.check(0xfffffffc)).toBe('new');
    expect(w.check(0xfffffffb)).toBe('too-old');
  });

  it('check does not change the window (only commit does, after authentication)', () => {
    const w = createReplayWindow(8);
    expect(w.check(5)).toBe('new');
    expect(w.check(5)).toBe('new');
    expect(w.highest).toBe(-1);
  });

  it('agrees with a set-based model on any sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 300 }), (size, seq) => {
        const w = createReplayWindow(size);
        const seen = new Set<number>();
        let top = -1;
        for (const i of seq) {
          const expected = i > top ? 'new' : top - i >= size ? 'too-old' : seen.has(i) ? 'replay' : 'new';
          expect(w.check(i)).toBe(expected);
          if (expected === 'new') {
            w.commit(i);
            seen.add(i);
            top = Math.max(top, i);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a size out of range', () => {
    for (const s of [0, -1, 1.5, 5000]) expect(() => createReplayWindow(s)).toThrow(RangeError);
  });
});
