/**
 * Giving the event loop a turn between batches of work (issue 7: a dispatcher's login
 * processes 100+ groups' GMKs on the page, and no main-thread task may exceed 50 ms).
 * `scheduler.yield()` where the browser has it (the continuation keeps its priority), else a
 * macrotask via setTimeout 0. Not a timer anyone waits on: no clock, nothing to inject.
 */
interface SchedulerLike {
  yield?: () => Promise<void>;
}

export function yieldToEventLoop(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: SchedulerLike }).scheduler;
  if (typeof scheduler?.yield === 'function') return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}
