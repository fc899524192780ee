import { readEnv } from '@sluice/service';

/** The notification service's configuration, read once from the environment. */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return readEnv(env, {
    NOTIFICATION_PORT: { type: 'int', default: 8085, min: 0, max: 65535 },
    HOST: { type: 'string', default: '127.0.0.1' },
    SLUICE_DB: { type: 'string', default: 'sqlite:./data/notification.db' },
    SLUICE_BROKER: { type: 'string', default: 'sqlite:./data/bus.db' },
    SLUICE_ADMIN_TOKEN: { type: 'string', default: '' },
    /** Deliveries of one email before it goes to the DLQ. */
    EMAIL_MAX_ATTEMPTS: { type: 'int', default: 4, min: 1, max: 100 },
    /** First retry delay of a transient failure, in ms (doubles, full jitter). */
    EMAIL_RETRY_BASE_MS: { type: 'int', default: 500, min: 1, max: 3_600_000 },
    LOG_LEVEL: {
      type: 'enum',
      values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
  });
}

export type NotificationConfig = ReturnType<typeof readConfig>;
