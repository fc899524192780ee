import { SluiceError } from '@sluice/errors';
import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';
import { sendProblem } from './problem-details-plugin.js';
import { HttpReasons } from './reasons.js';

/** A readiness check: resolves when the dependency answers, rejects (or times out) when not. */
export type ReadinessCheck = (signal: AbortSignal) => unknown | Promise<unknown>;

/** The outcome of one check in a readiness report. */
export interface ReadinessCheckResult {
  readonly ok: boolean;
  /** How long the check took, in ms. */
  readonly durationMs: number;
  /** Why it failed. */
  readonly error?: string;
}

/** What `/readyz` reports. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** True once graceful shutdown began. */
  readonly draining: boolean;
  readonly checks: Readonly<Record<string, ReadinessCheckResult>>;
}

/** The `app.readiness` decoration. */
export interface Readiness {
  /** Registers a check, run on every `/readyz`. Returns a function that removes it. */
  add(name: string, check: ReadinessCheck): () => void;
  /** Runs every check in parallel, each bounded by `checkTimeoutMs`. */
  report(): Promise<ReadinessReport>;
  /** Set by graceful shutdown: `/readyz` answers 503 from then on. */
  draining: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Readiness checks behind `/readyz` (see `healthPlugin`). */
    readiness: Readiness;
  }
}

/** Options of {@link healthPlugin}. */
export interface HealthOptions {
  /** Liveness path. Default `/healthz`. */
  readonly livenessPath?: string;
  /** Readiness path. Default `/readyz`. */
  readonly readinessPath?: string;
  /** Longest a check may take before it counts as failed, in ms. Default 2 000. */
  readonly checkTimeoutMs?: number;
  /** Checks registered up front (more with `app.readiness.add`). */
  readonly checks?: Readonly<Record<string, ReadinessCheck>>;
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<ReadinessCheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(() => check(controller.signal)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    controller.abort();
    return {
      ok: false,
      durationMs: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

const plugin: FastifyPluginCallback<HealthOptions> = (app, options, next) => {
  const checks = new Map<string, ReadinessCheck>(Object.entries(options.checks ?? {}));
  const timeoutMs = options.checkTimeoutMs ?? 2_000;
  const readiness: Readiness = {
    draining: false,
    add(name, check) {
      checks.set(name, check);
      return () => {
        if (checks.get(name) === check) checks.delete(name);
      };
    },
    async report() {
      const entries = await Promise.all(
        [...checks].map(async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const),
      );
      const results = Object.fromEntries(entries);
      const ready = !readiness.draining && entries.every(([, r]) => r.ok);
      return { ready, draining: readiness.draining, checks: results };
    },
  };
  app.decorate('readiness', readiness);

  app.get(options.livenessPath ?? '/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get(options.readinessPath ?? '/readyz', { schema: { hide: true } }, async (request, reply) => {
    const report = await readiness.report();
    if (report.ready) return { status: 'ready', checks: report.checks };
    const failed = Object.entries(report.checks).filter(([, r]) => !r.ok);
    return sendProblem(
      request,
      reply,
      new SluiceError({
        code: 'unavailable',
        reason: HttpReasons.NOT_READY,
        message: report.draining
          ? 'shutting down'
          : `not ready: ${failed.map(([n, r]) => `${n} (${r.error})`).join(', ')}`,
        details: {
          metadata: Object.fromEntries(failed.map(([n, r]) => [`check.${n}`, r.error ?? 'failed'])),
        },
      }),
    );
  });
  next();
};

/**
 * `/healthz` (liveness: 200 `{ status: 'ok' }` while the process serves)
 * and `/readyz` (readiness: 200 `{ status: 'ready', checks }` when every
 * registered check answers within `checkTimeoutMs`; otherwise 503
 * problem+json `HTTP_NOT_READY` naming the failed checks). Register the
 * service's dependencies as checks: `app.readiness.add('db', () => pool.query('select 1'))`.
 */
export const healthPlugin = fp(plugin, { name: '@sluice/http.health', fastify: '5.x' });
