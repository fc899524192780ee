import { hash } from 'node:crypto';
import { SluiceError } from '@sluice/errors';
import type {
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  onResponseHookHandler,
  onSendHookHandler,
  preHandlerHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import { HttpHeaders } from './headers.js';
import { parseIdempotencyKey } from './idempotency-key.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { HttpReasons } from './reasons.js';

/** Per-route idempotency settings: `config: { idempotency: true | { … } }`. */
export interface RouteIdempotencyOptions {
  /** A request without `Idempotency-Key` is a 400. Default true (false: unkeyed requests run normally). */
  readonly required?: boolean;
  /** Overrides the plugin's `ttlMs` for this route. */
  readonly ttlMs?: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Makes the route honour `Idempotency-Key` (see `idempotencyPlugin`). */
    idempotency?: boolean | RouteIdempotencyOptions;
  }
}

/** Options of {@link idempotencyPlugin}. */
export interface IdempotencyOptions {
  /** Where keys live: `createMemoryIdempotencyStore()`, `createSqliteIdempotencyStore()`, `createPostgresIdempotencyStore()`. */
  readonly store: IdempotencyStore;
  /** How long a key and its stored response live after the response, in ms. Default 86 400 000 (24 h). */
  readonly ttlMs?: number;
  /**
   * How long an in-flight claim blocks the key, in ms. A process that dies
   * mid-request leaves its claim; after this, a retry with the same payload
   * takes it over. Keep it above the slowest handler. Default 60 000.
   */
  readonly lockTtlMs?: number;
  /**
   * Who the caller is: keys are scoped per caller and route, so two callers
   * never collide. Default: `request.caller` (the `sluice-caller` header),
   * else `'anonymous'`. Derive it from authentication when there is one.
   */
  readonly callerOf?: (request: FastifyRequest) => string;
  /** Response headers stored and replayed (lower case). Default content-type, location, etag, last-modified, content-language. */
  readonly replayHeaders?: readonly string[];
  /** Wall clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

const kIdem = Symbol('sluice.idempotency');

interface Claim {
  readonly key: string;
  readonly token: string;
  readonly ttlMs: number;
  settled: boolean;
}

/**
 * A canonical JSON text: object keys sorted, so `{a,b}` and `{b,a}`
 * fingerprint the same. (Plain loops and string concatenation: this runs on
 * every keyed request.)
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  if (Buffer.isBuffer(value)) return JSON.stringify(value.toString('base64'));
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
    first = false;
  }
  return `${out}}`;
}

/** The fingerprint of a request's payload: SHA-256 of its params, query and body (canonical JSON), base64url. */
export function requestFingerprint(request: FastifyRequest): string {
  const text = `${canonicalJson(request.params ?? {})}\n${canonicalJson(request.query ?? {})}\n${canonicalJson(request.body ?? null)}`;
  return hash('sha256', text, 'base64url');
}

const plugin: FastifyPluginCallback<IdempotencyOptions> = (app, options, next) => {
  const store = options.store;
  const defaultTtl = options.ttlMs ?? 86_400_000;
  const lockTtl = options.lockTtlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const callerOf = options.callerOf ?? ((request: FastifyRequest) => request.caller ?? 'anonymous');
  const replayHeaders = options.replayHeaders ?? [
    'content-type',
    'location',
    'etag',
    'last-modified',
    'content-language',
  ];

  app.addHook('onRoute', (route) => {
    const setting = route.config?.idempotency;
    if (setting === undefined || setting === false) return;
    const routeOptions: RouteIdempotencyOptions = setting === true ? {} : setting;
    const required = routeOptions.required ?? true;
    const ttlMs = routeOptions.ttlMs ?? defaultTtl;
    const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;

    const preHandler: preHandlerHookHandler = async function idempotencyPreHandler(request, reply) {
      const header = request.headers[HttpHeaders.idempotencyKey];
      if (header === undefined) {
        if (!required) return;
        throw new SluiceError({
          code: 'invalid_argument',
          reason: HttpReasons.IDEMPOTENCY_KEY_MISSING,
          message: `${request.method} ${route.url} requires an Idempotency-Key header`,
          details: {
            violations: [{ field: `headers.${HttpHeaders.idempotencyKey}`, message: 'is required' }],
          },
        });
      }
      const clientKey = parseIdempotencyKey(header);
      const key = `${callerOf(request)} ${request.method} ${route.url} ${clientKey}`;
      const fingerprint = requestFingerprint(request);
      const at = now();
      const result = await store.begin({
        key,
        fingerprint,
        now: at,
        expiresAt: at + ttlMs,
        lockedUntil: at + lockTtl,
      });
      switch (result.state) {
        case 'acquired':
          (request as unknown as Record<symbol, Claim>)[kIdem] = {
            key,
            token: result.token,
            ttlMs,
            settled: false,
          };
          return;
        case 'mismatch':
          throw new SluiceError({
            code: 'failed_precondition',
            reason: HttpReasons.IDEMPOTENCY_KEY_REUSED,
            message: 'this Idempotency-Key was already used with a different request payload',
            details: {
              violations: [
                { field: `headers.${HttpHeaders.idempotencyKey}`, message: 'was used for another payload' },
              ],
            },
          });
        case 'in_flight':
          throw new SluiceError({
            code: 'aborted',
            reason: HttpReasons.IDEMPOTENCY_KEY_IN_FLIGHT,
            message: 'a request with this Idempotency-Key is still being processed; retry later',
          });
        case 'completed': {
          const { status, headers, body } = result.response;
          reply.code(status);
          for (const [name, value] of Object.entries(headers)) reply.header(name, value);
          reply.header(HttpHeaders.idempotentReplayed, 'true');
          return reply.send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
        }
      }
    };

    const onSend: onSendHookHandler<unknown> = async function idempotencyOnSend(request, reply, payload) {
      const claim = (request as unknown as Record<symbol, Claim | undefined>)[kIdem];
      if (claim === undefined || claim.settled) return payload;
      claim.settled = true;
      await settle(request, reply, claim, payload);
      return payload;
    };

    const addHook = <H>(name: 'preHandler' | 'onSend' | 'onResponse', hook: H) => {
      const existing = route[name] as H | H[] | undefined;
      (route as unknown as Record<string, H[]>)[name] =
        existing === undefined ? [hook] : Array.isArray(existing) ? [hook, ...existing] : [hook, existing];
    };
    // A request that ends without passing onSend (the socket died and
    // Fastify gave up) must not hold its key until the lock lapses.
    const onResponse: onResponseHookHandler = async function idempotencyOnResponse(request) {
      const claim = (request as unknown as Record<symbol, Claim | undefined>)[kIdem];
      if (claim !== undefined && !claim.settled) {
        claim.settled = true;
        await store.release(claim.key, claim.token).catch(() => {});
      }
    };
    addHook('preHandler', preHandler);
    addHook('onSend', onSend);
    addHook('onResponse', onResponse);
    app.log.debug({ route: route.url, methods }, 'idempotency enabled');
  });

  /** Stores a response worth replaying; releases the key after a server error or an unstorable body. */
  async function settle(request: FastifyRequest, reply: FastifyReply, claim: Claim, payload: unknown) {
    try {
      const storable =
        typeof payload === 'string' || Buffer.isBuffer(payload) || payload === null || payload === undefined;
      if (reply.statusCode >= 500 || !storable) {
        // A 5xx or a stream: the outcome is unknown or cannot be replayed; let a retry run again.
        await store.release(claim.key, claim.token);
        return;
      }
      const headers: Record<string, string> = {};
      for (const name of replayHeaders) {
        const v = reply.getHeader(name);
        if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(', ') : String(v);
      }
      const body =
        typeof payload === 'string'
          ? Buffer.from(payload)
          : Buffer.isBuffer(payload)
            ? payload
            : Buffer.alloc(0);
      await store.complete(
        claim.key,
        claim.token,
        { status: reply.statusCode, headers, body },
        now() + claim.ttlMs,
      );
    } catch (error) {
      // The client still gets its response; a retry will see the key in flight
      // until lockTtlMs passes. Worth an alert, not a failed request.
      request.log.error({ err: error }, 'idempotency store failed to record the response');
    }
  }

  next();
};

/**
 * `Idempotency-Key` for the routes that opt in (`config: { idempotency:
 * true }`), per draft-ietf-httpapi-idempotency-key-header: the first
 * response for a key (status, replay headers, body) is stored and replayed
 * to every retry, with `Idempotent-Replayed: true`; the same key with a
 * different payload is a 422 `HTTP_IDEMPOTENCY_KEY_REUSED`; the same key
 * while the first request runs is a 409 `HTTP_IDEMPOTENCY_KEY_IN_FLIGHT`;
 * a missing key on a route that requires one is a 400. Keys are scoped per
 * caller, method and route and expire `ttlMs` after the response. 5xx
 * responses are not stored (the key is released so a retry runs again).
 * Register it before the routes it applies to.
 */
export const idempotencyPlugin = fp(plugin, { name: '@sluice/http.idempotency', fastify: '5.x' });
