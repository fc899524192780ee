/** A listener of one policy event. */
export type Listener<E> = (event: E) => void;

/** Removes the listener it was returned for; calling it twice is harmless. */
export type Disposer = () => void;

/**
 * A tiny typed event channel. Policies check {@link Emitter.active} before
 * building an event, so nothing is spent on events nobody listens to.
 * A listener that throws does not disturb the policy: the error is rethrown
 * in a microtask (an `uncaughtException`, as `EventTarget` does).
 * @internal
 */
export class Emitter<E> {
  private listeners: readonly Listener<E>[] = [];

  /** True when at least one listener is attached. */
  get active(): boolean {
    return this.listeners.length > 0;
  }

  /** Adds a listener; returns its disposer. */
  on(listener: Listener<E>): Disposer {
    // Copy on write: emitting while a listener adds or removes is safe.
    this.listeners = [...this.listeners, listener];
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners = [...this.listeners.slice(0, i), ...this.listeners.slice(i + 1)];
    };
  }

  /** Calls every listener with `event`. */
  emit(event: E): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
