/**
 * A small typed event emitter shared by the state machines (signalling session, group calls,
 * floor participant and arbitrator): `on` returns an unsubscribe function, and a listener that
 * throws harms neither the emitter nor the other listeners — an app's failing handler must not
 * break key handling or floor control. Pure: no I/O.
 */
export class TypedEmitter<M extends { [K in keyof M]: unknown[] }> {
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

  listenerCount(event: keyof M): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  emit<E extends keyof M>(event: E, ...args: M[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const l of [...set] as ((...a: M[E]) => void)[]) {
      try {
        l(...args);
      } catch {
        // Swallowed on purpose: see the header.
      }
    }
  }
}
