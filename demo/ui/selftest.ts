/**
 * The crypto self-test button: every shared test vector, checked in a dedicated worker of
 * this browser (demo/selftest.worker.ts).
 */
import { byId } from './dom.js';

export function wireSelftest(): void {
  byId('selftest').addEventListener('click', () => {
    const out = byId('selftest-result');
    out.textContent = 'Checking…';
    const worker = new Worker(new URL('../selftest.worker.ts', import.meta.url), { type: 'module' });
    const started = performance.now();
    worker.onmessage = (e: MessageEvent<{ passed: number; failed: number }>) => {
      out.textContent = `${e.data.passed} vector checks passed, ${e.data.failed} failed (${Math.round(performance.now() - started)} ms)`;
      out.className = e.data.failed === 0 ? 'ok' : 'bad';
      worker.terminate();
    };
    worker.onerror = () => {
      out.textContent = 'The self-test worker could not start.';
      out.className = 'bad';
    };
  });
}
