import type { FastifyInstance } from 'fastify';

/** Options of {@link gracefulShutdown}. */
export interface GracefulShutdownOptions {
  /**
   * Time between turning `/readyz` to 503 and closing the listener, in ms,
   * so load balancers stop sending traffic first. Default 0.
   */
  readonly drainDelayMs?: number;
  /**
   * Longest to wait for in-flight requests once the listener is closed, in
   * ms; then remaining connections are destroyed. Default 10 000.
   */
  readonly timeoutMs?: number;
  /** Process signals that start the shutdown. Default none (call the returned function). */
  readonly signals?: readonly NodeJS.Signals[];
  /** Called once the server is closed (for instance to close pools, then `process.exit`). */
  readonly onClosed?: (error?: unknown) => void;
}

/** Starts a graceful shutdown; resolves once the server is closed. Calling it again returns the same promise. */
export type Shutdown = () => Promise<void>;

/**
 * Graceful shutdown: marks the server draining (`/readyz` answers 503 when
 * `healthPlugin` is registered), waits `drainDelayMs`, stops accepting
 * connections, closes idle keep-alive connections, answers new requests on
 * busy ones with 503 + `Connection: close`, lets in-flight requests finish
 * (for at most `timeoutMs`, then destroys what is left), and runs the
 * `onClose` hooks.
 *
 * @example
 * ```ts
 * const shutdown = gracefulShutdown(app, { signals: ['SIGTERM', 'SIGINT'], onClosed: () => process.exit(0) });
 * ```
 */
export function gracefulShutdown(app: FastifyInstance, options: GracefulShutdownOptions = {}): Shutdown {
  let closing: Promise<void> | undefined;
  const shutdown: Shutdown = () => {
    closing ??= (async () => {
      const readiness = (app as Partial<FastifyInstance>).readiness;
      if (readiness !== undefined) readiness.draining = true;
      if (options.drainDelayMs) await new Promise((r) => setTimeout(r, options.drainDelayMs));
      const force = setTimeout(() => app.server.closeAllConnections(), options.timeoutMs ?? 10_000);
      force.unref();
      // A keep-alive connection whose request finishes during the drain would
      // otherwise idle until its keep-alive timeout and hold close() open:
      // sweep idle connections until the server is closed (nothing on the hot path).
      const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
      sweep.unref();
      try {
        await app.close();
        options.onClosed?.();
      } catch (error) {
        options.onClosed?.(error);
        throw error;
      } finally {
        clearTimeout(force);
        clearInterval(sweep);
        for (const signal of options.signals ?? []) process.off(signal, onSignal);
      }
    })();
    return closing;
  };
  const onSignal = () => {
    shutdown().catch(() => {});
  };
  for (const signal of options.signals ?? []) process.once(signal, onSignal);
  return shutdown;
}
