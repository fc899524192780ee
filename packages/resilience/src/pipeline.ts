import type { Ctx, Operation } from './context.js';
import { invalidOption } from './errors.js';
import { type EXTRA, type Policy, PolicyBase, type PolicyDescription } from './policy.js';

/** What a policy may return instead of the operation's value (`never` for all but fallback). */
export type ExtraOf<P> = P extends { readonly [EXTRA]?: () => infer E } ? E : never;

/** A snapshot of a {@link Pipeline}: each policy's metrics, outermost first. */
export interface PipelineMetrics {
  readonly kind: 'pipeline';
  readonly policies: readonly object[];
}

/** Policies composed outer → inner. See {@link pipeline}. */
export class Pipeline<Extra = never> extends PolicyBase<Extra> {
  /** @internal */
  run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    // Never reached through execute() (the chain is flat); kept for completeness.
    const inner = this.chain;
    return (inner[0] as PolicyBase<unknown>).run(
      (c) => {
        const rest = chain[index + 1];
        return rest === undefined ? fn(c) : rest.run(fn, chain, index + 1, c as Ctx);
      },
      inner,
      0,
      ctx,
    );
  }

  describe(): PolicyDescription {
    return { kind: 'pipeline', name: 'pipeline', policies: this.chain.map((p) => p.describe()) };
  }

  metrics(): PipelineMetrics {
    return { kind: 'pipeline', policies: this.chain.map((p) => p.metrics()) };
  }
}

/**
 * Composes policies, outermost first: `pipeline(bulkhead, breaker, retry,
 * timeout).execute(fn)` runs `fn` under the timeout, retried, guarded by the
 * breaker, within the bulkhead. Order matters: a retry inside the breaker
 * lets the breaker count every attempt; outside it, each call once. Nested
 * pipelines are flattened; running the chain allocates no closure per call.
 *
 * @example
 * ```ts
 * const resilient = pipeline(
 *   bulkhead({ maxConcurrent: 20, maxQueued: 100 }),
 *   circuitBreaker({ strategy: consecutive(5) }),
 *   retry({ maxAttempts: 3 }),
 *   timeout(1_000),
 * );
 * resilient.describe().policies?.map((p) => p.kind); // ['bulkhead', 'circuit-breaker', 'retry', 'timeout']
 * ```
 */
export function pipeline<const P extends readonly [Policy<unknown>, ...Policy<unknown>[]]>(
  ...policies: P
): Pipeline<ExtraOf<P[number]>> {
  const chain: PolicyBase<unknown>[] = [];
  for (const p of policies) {
    if (!(p instanceof PolicyBase)) {
      throw invalidOption('pipeline', 'policies', 'must all come from @sluice/resilience');
    }
    chain.push(...(p as PolicyBase<unknown>).chain);
  }
  return new Pipeline<ExtraOf<P[number]>>(chain);
}

/** Alias of {@link pipeline} (the name cockatiel and Polly users look for). */
export const wrap = pipeline;
