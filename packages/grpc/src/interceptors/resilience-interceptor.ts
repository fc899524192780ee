import type { Policy, PolicyDescription } from '@sluice/resilience';
import type { CallRequest, Interceptor } from '../call.js';
import { ClientRequest } from '../grpc-client.js';

/**
 * Runs each outgoing unary call under a resilience policy — typically one
 * pipeline per downstream (bulkhead → breaker → retry → timeout), built once
 * and shared by every call to it. The policy's signal and deadline (narrowed
 * by any timeout) become the call's, so a timeout cancels the call on the wire
 * and the server sees the tighter `grpc-timeout`. Streaming calls pass through
 * untouched (a stream cannot be replayed). On the server side it does nothing.
 *
 * @example
 * ```ts
 * const inventoryPolicy = pipeline(bulkhead({ maxConcurrent: 20 }), circuitBreaker(), retry({ maxAttempts: 3 }), timeout(1_000));
 * const inventory = createGrpcClient(InventoryService, channel, { interceptors: [resilienceInterceptor(inventoryPolicy)] });
 * ```
 */
export function resilienceInterceptor(policy: Policy<never>): Interceptor {
  // Only timeouts and hedging abort a running attempt; without them the policy's
  // signal is the caller's (or a fresh one that never aborts), so skip building it.
  const aborts = canAbort(policy.describe());
  return (next) => (req) => {
    if (req.side !== 'client' || req.stream) return next(req);
    return policy.execute(
      (ctx) =>
        next(
          req instanceof ClientRequest
            ? (req.withAttempt(aborts ? ctx.signal : req.signal, ctx.deadline) as CallRequest)
            : { ...req, signal: aborts ? ctx.signal : req.signal, deadline: ctx.deadline },
        ),
      req.signal === undefined && req.deadline === undefined
        ? undefined
        : { signal: req.signal, deadline: req.deadline },
    );
  };
}

function canAbort(d: PolicyDescription): boolean {
  return d.kind === 'timeout' || d.kind === 'hedging' || (d.policies ?? []).some(canAbort);
}
