import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Fields bound to the current asynchronous flow that every log line written
 * in it carries, as logged (snake case). `request_id` and `correlation_id`
 * are the ones Sluice's transports bind; add your own (`user_id`, `saga_id`).
 */
export interface LogContext {
  /** The request being served (`x-request-id`). */
  readonly request_id?: string;
  /** The business flow the work belongs to (an order's correlation id). */
  readonly correlation_id?: string;
  readonly [field: string]: string | number | boolean | undefined;
}

const storage = new AsyncLocalStorage<LogContext>();

/**
 * Runs `fn` with `fields` bound for every log line written inside it (and
 * in everything it awaits or schedules), merged over the fields already
 * bound by an enclosing call. Returns `fn`'s result.
 *
 * @example
 * ```ts
 * await runWithLogContext({ request_id: req.headers['x-request-id'] }, () => handle(req));
 * ```
 */
export function runWithLogContext<T>(fields: LogContext, fn: () => T): T {
  const outer = storage.getStore();
  return storage.run(outer ? { ...outer, ...fields } : { ...fields }, fn);
}

/** The fields bound to the current asynchronous flow (empty object when none). */
export function getLogContext(): LogContext {
  return storage.getStore() ?? {};
}
