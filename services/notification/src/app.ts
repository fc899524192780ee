import { fileURLToPath } from 'node:url';
import { createShopEventRegistry } from '@sluice/contracts';
import { exponential } from '@sluice/resilience';
import {
  createServiceRuntime,
  openServiceDatabase,
  openServiceMessaging,
  type ServiceRuntime,
} from '@sluice/service';
import { emailSendHandler } from './api/email-send.handler.js';
import { mailboxRoutes } from './api/mailbox.routes.js';
import { type Mailbox, SendEmail } from './application/send-email.use-case.js';
import type { NotificationConfig } from './config.js';
import type { EmailRequest } from './domain/email.js';
import { PgMailbox } from './infrastructure/pg-mailbox.js';
import { SinkMailTransport } from './infrastructure/sink-mail-transport.js';
import { SqliteMailbox } from './infrastructure/sqlite-mailbox.js';

/** Builds the notification service (composition root); `listen` is left to the caller. */
export async function createNotificationService(config: NotificationConfig): Promise<ServiceRuntime> {
  const rt = await createServiceRuntime({
    name: 'notification',
    logLevel: config.LOG_LEVEL,
    ...(config.SLUICE_ADMIN_TOKEN ? { adminToken: config.SLUICE_ADMIN_TOKEN } : {}),
  });
  const database = await openServiceDatabase({
    url: config.SLUICE_DB,
    service: 'notification',
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
  });
  const messaging = await openServiceMessaging({
    database,
    brokerUrl: config.SLUICE_BROKER,
    source: 'notification',
    registry: createShopEventRegistry(),
    logger: rt.logger,
  });
  const mailbox: Mailbox =
    database.kind === 'sqlite'
      ? new SqliteMailbox(database.db)
      : new PgMailbox(database.pool, database.schema);
  const sendEmail = new SendEmail({
    mailbox,
    transport: new SinkMailTransport(rt.faults),
    now: () => new Date(),
  });
  rt.app.readiness.add('database', () => mailbox.list({ limit: 1 }));
  mailboxRoutes(rt.app, mailbox);

  const worker = await messaging.bus.work<EmailRequest>(
    'email.send',
    {
      prefetch: 8,
      maxAttempts: config.EMAIL_MAX_ATTEMPTS,
      backoff: exponential({ baseMs: config.EMAIL_RETRY_BASE_MS, maxMs: 30_000 }),
    },
    emailSendHandler(sendEmail),
  );
  messaging.bus.onDeadLetter((d) => rt.logger.warn({ dead: d }, 'email dead-lettered'));

  rt.onShutdown(async () => {
    await worker.stop();
    await messaging.close();
    await database.close();
  });
  return rt;
}
