import { AsyncLocalStorage } from 'node:async_hooks';

/** What the server plugins make visible to code running for one request. */
export interface RequestScope {
  /** The request's id (`x-request-id`), forwarded by outgoing client calls. */
  readonly requestId: string;
  /** The calling service's name, when the caller sent `sluice-caller`. */
  readonly caller: string | undefined;
}

const storage = new AsyncLocalStorage<RequestScope>();

/**
 * Runs `fn` with `scope` as the current request scope. The server plugin
 * does this for every request; use it yourself in workers that handle
 * something request-like (a message) so client calls carry its id.
 */
export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The scope of the request being handled, if any. */
export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}

/** The id of the request being handled (`x-request-id`), if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
