import { Type } from '@fastify/type-provider-typebox';
import type { HttpServer } from '@sluice/http';
import type { Orchestrator, SagaState } from '@sluice/saga';

const STATES = ['running', 'compensating', 'completed', 'failed', 'needs_attention', 'resolved'] as const;
const Id = Type.String({ minLength: 1, maxLength: 160, pattern: '^[A-Za-z0-9._:@-]+$' });

/**
 * Operator routes over the saga log: list by state, inspect one with its
 * history, retry a parked saga, mark one resolved. The gateway exposes them
 * under `/api/v1/admin/sagas`.
 */
export function sagaAdminRoutes(app: HttpServer, orchestrator: Orchestrator): void {
  app.get(
    '/admin/sagas',
    {
      schema: {
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Union(STATES.map((s) => Type.Literal(s)))),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => ({
      items: await orchestrator.list({
        ...(request.query.state ? { state: request.query.state as SagaState } : {}),
        limit: request.query.limit ?? 100,
      }),
    }),
  );
  app.get('/admin/sagas/:id', { schema: { params: Type.Object({ id: Id }) } }, (request) =>
    orchestrator.inspect(request.params.id),
  );
  app.post(
    '/admin/sagas/:id/retry',
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
      await orchestrator.retry(request.params.id, request.body?.note);
      return orchestrator.inspect(request.params.id);
    },
  );
  app.post(
    '/admin/sagas/:id/resolve',
    {
      schema: {
        params: Type.Object({ id: Id }),
        body: Type.Object(
          { note: Type.String({ minLength: 1, maxLength: 500 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      await orchestrator.resolve(request.params.id, request.body.note);
      return orchestrator.inspect(request.params.id);
    },
  );
}
