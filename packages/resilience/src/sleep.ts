import type { Clock } from './clock.js';
import { abortError } from './errors.js';

/**
 * Waits `ms` on `clock`; rejects at once (with the signal's error, see
 * `abortError`) when `signal` aborts, and clears its timer and listener.
 * @internal
 */
export function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    const handle = clock.setTimeout(() => {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal !== undefined) {
      onAbort = () => {
        clock.clearTimeout(handle);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}
