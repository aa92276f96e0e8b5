/**
 * Typed events and injected timers of the floor state machines (pure: no I/O, no global clock).
 */

/** A small typed emitter: `on` returns an unsubscribe function; a throwing listener harms no one. */
export class FloorEmitter<M extends { [K in keyof M]: unknown[] }> {
  readonly #listeners = new Map<keyof M, Set<unknown>>();

  on<E extends keyof M>(event: E, listener: (...args: M[E]) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit<E extends keyof M>(event: E, ...args: M[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const l of [...set] as unknown as ((...a: M[E]) => void)[]) {
      try {
        l(...args);
      } catch {
        // An app listener's failure must not break floor control or the other listeners.
      }
    }
  }
}

/** Timers as the state machines need them: the SDK passes the platform's, tests a manual clock. */
export interface FloorTimers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const systemFloorTimers: FloorTimers = Object.freeze({
  set: (callback: () => void, ms: number) => setTimeout(callback, ms),
  clear: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

/** One named timer of a state machine: restartable, stoppable, safe to stop twice. */
export class FloorTimer {
  #handle: unknown;
  #running = false;

  constructor(
    private readonly timers: FloorTimers,
    private readonly onExpiry: () => void,
  ) {}

  get running(): boolean {
    return this.#running;
  }

  start(ms: number): void {
    this.stop();
    this.#running = true;
    this.#handle = this.timers.set(() => {
      this.#running = false;
      this.onExpiry();
    }, ms);
  }

  stop(): void {
    if (this.#running) this.timers.clear(this.#handle);
    this.#running = false;
  }
}
