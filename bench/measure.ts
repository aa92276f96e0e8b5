/**
 * Measurement core shared by the Node and browser runs: warm up, then time single calls
 * (or batches of `inner` calls for sub-microsecond work) and report median and p95.
 */
export type Runtime = 'node' | 'chromium-worker' | 'chromium-page';

export interface BenchCase {
  readonly name: string;
  /** Builds the operation once (keys, receivers, inputs); returns the function timed. */
  setup(): Promise<() => unknown> | (() => unknown);
  /** Samples to take (default 30). */
  readonly samples?: number;
  /** Calls per sample, for operations far below the timer resolution (default 1). */
  readonly inner?: number;
  /** Warm-up calls before sampling (default 3). */
  readonly warmup?: number;
  /**
   * The timed function measures itself and resolves with the µs of the part that counts
   * (e.g. a call's key setup without its hang-up); `inner` is then ignored.
   */
  readonly selfTimed?: boolean;
}

export interface BenchResult {
  readonly name: string;
  readonly runtime: Runtime;
  readonly median_us: number;
  readonly p95_us: number;
  readonly n: number;
}

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export async function measure(c: BenchCase, runtime: Runtime): Promise<BenchResult> {
  const fn = await c.setup();
  const inner = c.inner ?? 1;
  for (let i = 0; i < (c.warmup ?? 3); i++) await fn();
  const times: number[] = [];
  const samples = c.samples ?? 30;
  for (let s = 0; s < samples; s++) {
    if (c.selfTimed) {
      times.push(Number(await fn()));
      continue;
    }
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) await fn();
    times.push(((performance.now() - t0) * 1000) / inner);
  }
  times.sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return { name: c.name, runtime, median_us: round(quantile(times, 0.5)), p95_us: round(quantile(times, 0.95)), n: samples * (c.selfTimed ? 1 : inner) };
}
