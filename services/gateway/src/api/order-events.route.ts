import { Type } from '@fastify/type-provider-typebox';
import { SluiceError, toProblem } from '@sluice/errors';
import { type HttpServer, toHttpError } from '@sluice/http';
import { isTerminal, type OrderStatus, type OrderStatusFeed } from '../application/order-status-feed.js';
import { GatewayReasons } from './reasons.js';

/** Options of {@link orderEventsRoute}. */
export interface OrderEventsOptions {
  readonly feed: OrderStatusFeed;
  /** Comment line sent on an idle stream so proxies keep it open, in ms. Default 15 000. */
  readonly heartbeatMs?: number;
  /** Streams open at once, all orders together (503 beyond). Default 10 000. */
  readonly maxStreams?: number;
}

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' });

/**
 * `GET /api/v1/orders/{id}/events`: server-sent events, `event: status` with
 * `{ id, status, reason? }`, the current status first and then one per
 * change; the stream ends after `confirmed` or `cancelled`. An unknown order
 * is a 404 problem before the stream starts. Each stream holds a watcher on
 * the shared per-order poller and a heartbeat timer, nothing else; a client
 * that goes away releases both.
 */
export function orderEventsRoute(app: HttpServer, options: OrderEventsOptions): void {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxStreams = options.maxStreams ?? 10_000;
  let open = 0;

  app.get(
    '/api/v1/orders/:id/events',
    {
      schema: {
        params: Type.Object({ id: Id }),
        querystring: Type.Object(
          { access_token: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
      },
    },
    (request, reply) => {
      if (open >= maxStreams)
        throw new SluiceError({
          code: 'unavailable',
          reason: GatewayReasons.TOO_MANY_STREAMS,
          message: 'too many live order streams are open; retry later',
        });
      const orderId = request.params.id;
      const res = reply.raw;
      let started = false;
      let done = false;
      let seq = 0;
      let heartbeat: NodeJS.Timeout | undefined;
      let unwatch: () => void = () => {};

      return new Promise<void>((resolve, reject) => {
        const finish = () => {
          if (done) return;
          done = true;
          unwatch();
          if (heartbeat) clearInterval(heartbeat);
          if (started) open--;
          // A client gone before the first event: nothing to answer, just release the socket.
          else reply.hijack();
          if (!res.writableEnded) res.end();
          resolve();
        };
        const start = () => {
          started = true;
          open++;
          reply.hijack();
          res.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            connection: 'keep-alive',
            'x-accel-buffering': 'no',
            'x-request-id': String(request.id),
          });
          res.write('retry: 2000\n\n');
          // A client that stops reading gets no more heartbeats queued behind its full socket.
          heartbeat = setInterval(() => {
            if (!res.writableNeedDrain) res.write(': heartbeat\n\n');
          }, heartbeatMs);
          heartbeat.unref();
        };
        const send = (s: OrderStatus) => {
          if (done) return;
          if (!started) start();
          seq++;
          res.write(`id: ${seq}\nevent: status\ndata: ${JSON.stringify(s)}\n\n`);
          if (isTerminal(s.status)) finish();
        };
        request.raw.once('close', finish);
        res.once('close', finish);
        unwatch = options.feed.watch(orderId, {
          onStatus: send,
          onError(err) {
            if (done) return;
            if (!started) {
              done = true;
              unwatch();
              reject(err);
              return;
            }
            res.write(`event: error\ndata: ${JSON.stringify(toProblem(toHttpError(err).error))}\n\n`);
            finish();
          },
        });
        if (done) unwatch();
      });
    },
  );
}
