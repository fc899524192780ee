/**
 * Delayed delivery without the delayed-message plugin: a fixed ladder of
 * delay queues whose *queue* TTL (not a per-message TTL, which only expires at
 * the head of a queue and so blocks behind longer delays) is a power of two
 * milliseconds. A message waiting `remaining` ms goes through the largest
 * level not above it; when it expires it is dead-lettered back to its group
 * queue, where the consumer sends it down the ladder again until it is due.
 * Each hop at least halves the remaining wait, so a delay of `d` ms takes at
 * most ⌈log2(d / 32)⌉ + 1 hops and is never delivered early.
 */

/** Shortest delay level, in ms (2^5). Waits below it use it, so a due time may be overshot by up to this much. */
export const MIN_DELAY_LEVEL_MS = 32;

/** Longest delay level, in ms (2^31 ≈ 24.8 days); longer waits take several hops. */
export const MAX_DELAY_LEVEL_MS = 2 ** 31;

/**
 * The delay level (queue TTL in ms) a message that is still `remainingMs` away
 * from its due time should wait in next, or `undefined` when it is due now
 * (`remainingMs <= 0`).
 *
 * @example
 * ```ts
 * nextDelayLevel(1000); // 512, then 256, 128, 64, 32, then a last 32
 * nextDelayLevel(0);    // undefined: deliver now
 * ```
 */
export function nextDelayLevel(remainingMs: number): number | undefined {
  if (!(remainingMs > 0)) return undefined;
  if (remainingMs <= MIN_DELAY_LEVEL_MS) return MIN_DELAY_LEVEL_MS;
  const exponent = Math.min(31, Math.floor(Math.log2(remainingMs)));
  return 2 ** exponent;
}
