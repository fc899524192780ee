import { SluiceError } from '@sluice/errors';
import { HttpHeaders, type HttpServer } from '@sluice/http';
import type { FederationGateway } from '../infrastructure/federation-gateway.js';
import { identityHeaders } from './auth.hook.js';
import { GatewayReasons } from './reasons.js';

const FORWARDED = [HttpHeaders.requestId, HttpHeaders.traceparent, 'tracestate'] as const;

/**
 * `POST /graphql` and `GET /graphql?query=…`: the federation gateway, once
 * composed (`unavailable` / `GATEWAY_NOT_COMPOSED` until then). Identity,
 * request id, trace context and the remaining deadline go to every subgraph call.
 */
export function graphqlGatewayRoute(app: HttpServer, gateway: () => FederationGateway | undefined): void {
  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: '/graphql',
      handler: async (request, reply) => {
        const gw = gateway();
        if (gw === undefined)
          throw new SluiceError({
            code: 'unavailable',
            reason: GatewayReasons.NOT_COMPOSED,
            message: 'the GraphQL gateway is still composing its subgraphs; retry shortly',
          });
        const forward: Record<string, string> = { ...identityHeaders(request), 'sluice-caller': 'gateway' };
        for (const name of FORWARDED) {
          const v = request.headers[name];
          if (typeof v === 'string') forward[name] = v;
        }
        if (forward[HttpHeaders.requestId] === undefined) forward[HttpHeaders.requestId] = String(request.id);
        const remaining = request.deadline?.remaining();
        if (remaining !== undefined)
          forward[HttpHeaders.deadline] = String(Math.max(0, Math.floor(remaining)));
        const search = method === 'GET' ? (request.url.split('?')[1] ?? '') : '';
        const res = await gw.execute({
          method,
          body: method === 'POST' ? request.body : undefined,
          forward,
          search,
        });
        return reply
          .code(res.status)
          .header('content-type', res.headers['content-type'] ?? 'application/json')
          .send(res.body);
      },
    });
  }
}
