// Placeholder demo: runs the crypto self-test in a dedicated worker and shows the count.
const status = document.getElementById('status')!;
const worker = new Worker(new URL('./selftest.worker.ts', import.meta.url), { type: 'module' });
const started = performance.now();
worker.onmessage = (e: MessageEvent<{ passed: number; failed: number }>) => {
  const ms = Math.round(performance.now() - started);
  status.textContent = `${e.data.passed} vector checks passed, ${e.data.failed} failed (${ms} ms)`;
  status.className = e.data.failed === 0 ? 'ok' : 'bad';
  worker.terminate();
};
