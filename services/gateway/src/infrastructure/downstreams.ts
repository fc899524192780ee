import { createHttpClient, type HttpClient } from '@sluice/http';

/** The services the gateway calls, by name. */
export const SERVICE_NAMES = [
  'product',
  'order',
  'inventory',
  'payment',
  'notification',
  'orchestrator',
] as const;

/** One of {@link SERVICE_NAMES}. */
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** A resilient HTTP client per downstream service. */
export type Downstreams = Readonly<Record<ServiceName, HttpClient>>;

/**
 * One resilient client per service (bulkhead → breaker → retry with budget →
 * per-attempt timeout), each reported through `register` (the runtime's
 * `registerPolicy`). Request id, trace context and the caller's deadline are
 * propagated by `@sluice/http`.
 */
export function createDownstreams(
  origins: Readonly<Record<ServiceName, string>>,
  register: (name: string, policy: HttpClient['policy']) => void,
): Downstreams {
  const out = {} as Record<ServiceName, HttpClient>;
  for (const name of SERVICE_NAMES) {
    const client = createHttpClient({
      origin: origins[name],
      name,
      caller: 'gateway',
      timeoutMs: 5_000,
      resilience: true,
    });
    register(name, client.policy);
    out[name] = client;
  }
  return out;
}
