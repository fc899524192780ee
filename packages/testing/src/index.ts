/**
 * `@sluice/testing`: what tests of code built on Sluice need — today a
 * virtual clock for every time-dependent policy.
 *
 * @example
 * ```ts
 * const clock = createVirtualClock();
 * const policy = retry({ maxAttempts: 3, backoff: constant(1_000), clock });
 * const call = policy.execute(flakyOperation);
 * await clock.advance(2_000); // both backoff sleeps pass at once
 * ```
 */

export type { TempPgSchemas, TempPgSchemasOptions } from './pg-schemas.js';
export { tempPgSchemas } from './pg-schemas.js';
export type { VirtualClock, VirtualClockOptions } from './virtual-clock.js';
export { createVirtualClock, flushPromises } from './virtual-clock.js';
