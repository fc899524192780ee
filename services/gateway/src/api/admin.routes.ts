import { Type } from '@fastify/type-provider-typebox';
import { SluiceError } from '@sluice/errors';
import type { HttpClient, HttpServer } from '@sluice/http';
import type { DeadLetter } from '@sluice/messaging';
import type { BrokerHandle } from '../infrastructure/broker.js';
import { type Downstreams, SERVICE_NAMES, type ServiceName } from '../infrastructure/downstreams.js';
import { identityHeaders } from './auth.hook.js';
import { GatewayReasons } from './reasons.js';

/** Dependencies of {@link adminRoutes}. */
export interface AdminRoutesDeps {
  readonly services: Downstreams;
  readonly broker: BrokerHandle;
  /** Sent as `Authorization: Bearer …` to the services' `/admin/*` routes (empty: none). */
  readonly adminToken: string;
  /** The gateway's own resilience report (its downstream clients). */
  readonly selfResilience: () => unknown;
}

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const Id = Type.String({ minLength: 1, maxLength: 256 });

/** A dead letter in JSON: the body as UTF-8 text (and parsed, when it is JSON). */
export function deadLetterView(d: DeadLetter) {
  const text = Buffer.from(d.body).toString('utf8');
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = undefined;
  }
  return {
    id: d.id,
    topic: d.topic,
    group: d.group,
    reason: d.reason,
    error: d.error,
    attempts: d.attempts,
    priority: d.priority,
    ...(d.orderingKey ? { orderingKey: d.orderingKey } : {}),
    headers: d.headers,
    publishedAt: d.publishedAt.toISOString(),
    deadLetteredAt: d.deadLetteredAt.toISOString(),
    body: text,
    ...(payload === undefined ? {} : { payload }),
  };
}

/**
 * The operator API under `/api/v1/admin` (role admin): faults of every
 * service, dead letters, sagas and one status report for the dashboard.
 */
export function adminRoutes(app: HttpServer, deps: AdminRoutesDeps): void {
  const auth: Record<string, string> = deps.adminToken ? { authorization: `Bearer ${deps.adminToken}` } : {};
  const call = (request: Parameters<typeof identityHeaders>[0]) => ({
    headers: { ...identityHeaders(request), ...auth },
    timeoutMs: 5_000,
  });
  const serviceOf = (name: unknown): ServiceName => {
    if (typeof name === 'string' && (SERVICE_NAMES as readonly string[]).includes(name))
      return name as ServiceName;
    throw new SluiceError({
      code: 'invalid_argument',
      reason: GatewayReasons.UNKNOWN_SERVICE,
      message: `unknown service ${JSON.stringify(name)} (one of ${SERVICE_NAMES.join(', ')})`,
      details: { violations: [{ field: 'service', message: `must be one of ${SERVICE_NAMES.join(', ')}` }] },
    });
  };
  const targets = (service: unknown) => (service === undefined ? [...SERVICE_NAMES] : [serviceOf(service)]);
  const fanOut = async <T>(names: readonly ServiceName[], fn: (c: HttpClient) => Promise<T>) => {
    const settled = await Promise.allSettled(names.map((n) => fn(deps.services[n])));
    return settled.map((r, i) => ({ service: names[i] as ServiceName, result: r }));
  };
  const unreachable = (rows: { service: ServiceName; result: PromiseSettledResult<unknown> }[]) =>
    rows
      .filter((r) => r.result.status === 'rejected')
      .map((r) => ({
        service: r.service,
        message: String((r.result as PromiseRejectedResult).reason?.message),
      }));

  // --- faults ---------------------------------------------------------------
  app.get(
    '/api/v1/admin/faults',
    {
      schema: { querystring: Type.Object({ service: Type.Optional(Name) }, { additionalProperties: false }) },
    },
    async (request) => {
      const rows = await fanOut(targets(request.query.service), (c) =>
        c.get<{ items: Record<string, unknown>[] }>('/admin/faults', call(request)),
      );
      const items = rows.flatMap((r) =>
        r.result.status === 'fulfilled'
          ? r.result.value.body.items.map((f) => ({ service: r.service, ...f }))
          : [],
      );
      return { items, unreachable: unreachable(rows) };
    },
  );
  app.post(
    '/api/v1/admin/faults',
    { schema: { body: Type.Object({ service: Name }, { additionalProperties: true }) } },
    async (request, reply) => {
      const { service, ...spec } = request.body as { service: string } & Record<string, unknown>;
      const name = serviceOf(service);
      const res = await deps.services[name].post<Record<string, unknown>>(
        '/admin/faults',
        spec,
        call(request),
      );
      return reply.code(201).send({ service: name, ...res.body });
    },
  );
  app.delete(
    '/api/v1/admin/faults',
    {
      schema: {
        querystring: Type.Object(
          { service: Type.Optional(Name), id: Type.Optional(Id) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { service, id } = request.query;
      const rows = await fanOut(targets(service), (c) =>
        c.delete<{ cleared: number }>('/admin/faults', { ...call(request), query: { id } }),
      );
      if (service !== undefined && rows[0]?.result.status === 'rejected') throw rows[0].result.reason;
      const cleared = rows.reduce(
        (n, r) => n + (r.result.status === 'fulfilled' ? r.result.value.body.cleared : 0),
        0,
      );
      return { cleared, unreachable: unreachable(rows) };
    },
  );

  // --- dead letters ------------------------------------------------------------
  app.get(
    '/api/v1/admin/dlq',
    {
      schema: {
        querystring: Type.Object(
          {
            topic: Type.Optional(Name),
            group: Type.Optional(Name),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            offset: Type.Optional(Type.Integer({ minimum: 0 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const t = await deps.broker.transport();
      const { topic, group, limit, offset } = request.query;
      const filter = { ...(topic ? { topic } : {}), ...(group ? { group } : {}) };
      const [items, total] = await Promise.all([
        t.deadLetters.list({ ...filter, limit: limit ?? 100, ...(offset ? { offset } : {}) }),
        t.deadLetters.count(filter),
      ]);
      return { items: items.map(deadLetterView), total };
    },
  );
  app.get(
    '/api/v1/admin/dlq/:topic/:group/:id',
    { schema: { params: Type.Object({ topic: Name, group: Name, id: Id }) } },
    async (request) => {
      const { topic, group, id } = request.params;
      const d = await (await deps.broker.transport()).deadLetters.get(topic, group, id);
      if (!d)
        throw new SluiceError({
          code: 'not_found',
          reason: GatewayReasons.DEAD_LETTER_NOT_FOUND,
          message: `no dead letter ${id} in ${topic}/${group}`,
        });
      return deadLetterView(d);
    },
  );
  app.post(
    '/api/v1/admin/dlq/replay',
    {
      schema: {
        body: Type.Object(
          {
            topic: Type.Optional(Name),
            group: Type.Optional(Name),
            ids: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 1000 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { topic, group, ids } = request.body;
      const replayed = await (await deps.broker.transport()).deadLetters.replay({
        ...(topic ? { topic } : {}),
        ...(group ? { group } : {}),
        ...(ids ? { ids } : {}),
      });
      request.log.warn({ topic, group, ids, replayed }, 'dead letters replayed');
      return { replayed };
    },
  );

  // --- sagas (the orchestrator's operator API) ---------------------------------
  app.get(
    '/api/v1/admin/sagas',
    {
      schema: {
        querystring: Type.Object(
          { state: Type.Optional(Name), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      (
        await deps.services.orchestrator.get('/admin/sagas', {
          ...call(request),
          query: { state: request.query.state, limit: request.query.limit },
        })
      ).body,
  );
  app.get('/api/v1/admin/sagas/:id', { schema: { params: Type.Object({ id: Id }) } }, async (request) => {
    const path = `/admin/sagas/${encodeURIComponent(request.params.id)}`;
    return (await deps.services.orchestrator.get(path, call(request))).body;
  });
  // retry (optional `{ note }`) and resolve (`{ note }`): the body goes through as given.
  for (const action of ['retry', 'resolve'] as const) {
    app.post(
      `/api/v1/admin/sagas/:id/${action}`,
      {
        schema: {
          params: Type.Object({ id: Id }),
          body: Type.Optional(
            Type.Object(
              { note: Type.Optional(Type.String({ maxLength: 500 })) },
              { additionalProperties: false },
            ),
          ),
        },
      },
      async (request) => {
        const path = `/admin/sagas/${encodeURIComponent(request.params.id)}/${action}`;
        return (await deps.services.orchestrator.post(path, request.body ?? {}, call(request))).body;
      },
    );
  }

  // --- status (what the dashboard polls) ---------------------------------------
  app.get('/api/v1/admin/status', async (request) => {
    const opts = { ...call(request), timeoutMs: 2_000 };
    const probe = async (c: HttpClient) => {
      const [health, ready, resilience] = await Promise.allSettled([
        c.get('/healthz', opts),
        c.get('/readyz', opts),
        c.get('/admin/resilience', opts),
      ]);
      return {
        healthy: health.status === 'fulfilled',
        ready: ready.status === 'fulfilled',
        ...(ready.status === 'fulfilled'
          ? { readiness: ready.value.body }
          : { readiness: { error: (ready.reason as Error)?.message } }),
        ...(resilience.status === 'fulfilled' ? { resilience: resilience.value.body } : {}),
      };
    };
    const [rows, broker] = await Promise.all([
      fanOut(SERVICE_NAMES, probe),
      deps.broker
        .transport()
        .then(async (t) => ({
          kind: t.kind,
          groups: await t.stats(),
          deadLetters: await t.deadLetters.count(),
        }))
        .catch((err: unknown) => ({ error: (err as Error).message })),
    ]);
    return {
      at: new Date().toISOString(),
      services: [
        { service: 'gateway', healthy: true, ready: true, resilience: deps.selfResilience() },
        ...rows.map((r) =>
          r.result.status === 'fulfilled'
            ? { service: r.service, ...r.result.value }
            : { service: r.service, healthy: false, ready: false },
        ),
      ],
      broker,
    };
  });
}
