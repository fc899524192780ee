import { invalidOption } from './errors.js';
import type { Policy, PolicyDescription } from './policy.js';

/** Options of {@link createPolicyRegistry}. */
export interface PolicyRegistryOptions<P extends Policy<unknown>> {
  /**
   * Builds the policy of a key the first time it is asked for (one
   * downstream = one key, e.g. `'inventory'`). Called at most once per key.
   */
  readonly create: (key: string) => P;
}

/**
 * Policies kept by key, so every request to one downstream shares the same
 * breaker, bulkhead and budget instead of building fresh ones (a breaker
 * built per request never sees enough failures to open).
 */
export interface PolicyRegistry<P extends Policy<unknown>> {
  /** The policy of `key`, built by `create` on first use and the same object ever after. */
  get(key: string): P;
  /** Puts a policy built elsewhere under `key` (replacing any). */
  set(key: string, policy: P): void;
  /** True when `key` has a policy. */
  has(key: string): boolean;
  /** Forgets `key` (the next `get` builds a new policy); true if it was there. */
  delete(key: string): boolean;
  /** The keys, in the order they were added. */
  keys(): string[];
  /** Every policy's `describe()`, by key. */
  describe(): Record<string, PolicyDescription>;
  /** Every policy's `metrics()`, by key (for a dashboard or a `/metrics` exporter). */
  metrics(): Record<string, object>;
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0)
    throw invalidOption('policy registry', 'key', `must be a non-empty string, got ${String(key)}`);
}

/**
 * A registry of policies by key: build one per downstream, once, at start-up
 * (or on first use) and share it across requests.
 *
 * @example
 * ```ts
 * const policies = createPolicyRegistry({
 *   create: (downstream) =>
 *     pipeline(bulkhead({ maxConcurrent: 20, name: downstream }), circuitBreaker({ name: downstream }), timeout(1_000)),
 * });
 * await policies.get('inventory').execute(() => inventory.check('sku-1')); // same breaker for every request
 * ```
 */
export function createPolicyRegistry<P extends Policy<unknown>>(
  options: PolicyRegistryOptions<P>,
): PolicyRegistry<P> {
  if (typeof options?.create !== 'function')
    throw invalidOption('createPolicyRegistry', 'create', 'must be a function');
  const policies = new Map<string, P>();
  return {
    get(key) {
      let policy = policies.get(key);
      if (policy === undefined) {
        checkKey(key);
        policy = options.create(key);
        policies.set(key, policy);
      }
      return policy;
    },
    set(key, policy) {
      checkKey(key);
      policies.set(key, policy);
    },
    has: (key) => policies.has(key),
    delete: (key) => policies.delete(key),
    keys: () => [...policies.keys()],
    describe: () => Object.fromEntries([...policies].map(([k, p]) => [k, p.describe()])),
    metrics: () => Object.fromEntries([...policies].map(([k, p]) => [k, p.metrics()])),
  };
}
