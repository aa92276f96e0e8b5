/** Runs every benchmark case inside a dedicated worker and posts the results back. */
import { allCases } from '../cases.js';
import { measure, type BenchResult } from '../measure.js';

async function runAll(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const c of allCases()) results.push(await measure(c, 'chromium-worker'));
  return results;
}

runAll().then(
  (results) => postMessage({ results }),
  (e: unknown) => postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }),
);
