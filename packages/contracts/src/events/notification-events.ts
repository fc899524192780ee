import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define-event.js';
import { IdSchema, TimestampSchema } from '../ids.js';

/** Message priority on work queues. */
export const PrioritySchema = Type.Union([Type.Literal('high'), Type.Literal('normal'), Type.Literal('low')]);

/**
 * The `email.send` work-queue message: a command to the notification service.
 * `to` is checked only for shape here; the notification service decides
 * deliverability (an undeliverable address goes to the DLQ).
 */
export const EmailSend = defineEvent({
  type: 'email.send',
  description: 'a command to render and deliver one email',
  schema: Type.Object({
    messageId: IdSchema,
    to: Type.String({ minLength: 3, maxLength: 254 }),
    subject: Type.String({ minLength: 1, maxLength: 200 }),
    templateId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_.-]*$' }),
    templateData: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 50 }),
    priority: Type.Optional(PrioritySchema),
    scheduledAt: Type.Optional(TimestampSchema),
  }),
});

/** An email was delivered to the mailbox. */
export const NotificationSent = defineEvent({
  type: 'notification.sent',
  description: 'an email was delivered',
  schema: Type.Object({
    messageId: IdSchema,
    to: Type.String({ minLength: 3, maxLength: 254 }),
    templateId: Type.String({ minLength: 1, maxLength: 64 }),
    orderId: Type.Optional(IdSchema),
  }),
});
