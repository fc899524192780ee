import { Type } from '@fastify/type-provider-typebox';
import { SluiceError } from '@sluice/errors';
import type { HttpServer } from '@sluice/http';
import type { Mailbox } from '../application/send-email.use-case.js';
import type { Email } from '../domain/email.js';
import { NotificationReasons } from './reasons.js';

const view = (e: Email) => ({ ...e, deliveredAt: e.deliveredAt.toISOString() });

/** The mailbox sink, browsable by the operator: `GET /api/v1/mailbox?to=&limit=`, `GET /api/v1/mailbox/:messageId`. */
export function mailboxRoutes(app: HttpServer, mailbox: Mailbox): void {
  app.get(
    '/api/v1/mailbox',
    {
      schema: {
        querystring: Type.Object(
          {
            to: Type.Optional(Type.String({ minLength: 3, maxLength: 254 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => ({
      items: (
        await mailbox.list({
          limit: request.query.limit ?? 50,
          ...(request.query.to ? { to: request.query.to } : {}),
        })
      ).map(view),
    }),
  );
  app.get(
    '/api/v1/mailbox/:messageId',
    { schema: { params: Type.Object({ messageId: Type.String({ minLength: 1, maxLength: 200 }) }) } },
    async (request) => {
      const email = await mailbox.get(request.params.messageId);
      if (!email)
        throw new SluiceError({
          code: 'not_found',
          reason: NotificationReasons.NOT_FOUND,
          message: `no email ${request.params.messageId}`,
        });
      return view(email);
    },
  );
}
