/**
 * `@sluice/cli`: the `sluice` command — place and inspect orders, drive load
 * with latency percentiles, inject faults, inspect and replay dead letters and
 * sagas — through the shop's gateway. Also usable as a library.
 *
 * @example
 * ```ts
 * import { main } from '@sluice/cli';
 * const code = await main(['order', 'place', '--customer', 'ada', '--item', 'mug:2', '--wait'], {
 *   out: (t) => process.stdout.write(t),
 *   err: (t) => process.stderr.write(t),
 * });
 * ```
 */

export type { GatewayClientOptions } from './gateway-client.js';
export { GatewayClient } from './gateway-client.js';
export type { LatencySummary } from './load/latency-stats.js';
export { LatencyStats } from './load/latency-stats.js';
export type { LoadClock, LoadOptions, LoadProgress, LoadResult } from './load/load-run.js';
export { runLoad } from './load/load-run.js';
export type { OrderMix, Scenario } from './load/order-mix.js';
export { DEFAULT_MIX, parseMix, pickScenario, SCENARIOS } from './load/order-mix.js';
export { orderScenarios } from './load/order-scenarios.js';
export type { Io } from './main.js';
export { buildProgram, main } from './main.js';
export { CliReasons } from './reasons.js';
export type { OrderView, PlaceOrderBody } from './shop-api.js';
export { ShopApi } from './shop-api.js';
