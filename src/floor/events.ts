/**
 * Typed events and injected timers of the floor state machines (pure: no I/O, no global clock).
 */

/** The floor state machines' emitter is the project's typed emitter. */
export { TypedEmitter as FloorEmitter } from '../util/emitter.js';

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
