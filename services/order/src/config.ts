import { readEnv } from '@sluice/service';

/** The order service's configuration, read once from the environment. */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return readEnv(env, {
    ORDER_PORT: { type: 'int', default: 8082, min: 0, max: 65535 },
    HOST: { type: 'string', default: '127.0.0.1' },
    SLUICE_DB: { type: 'string', default: 'sqlite:./data/order.db' },
    SLUICE_BROKER: { type: 'string', default: 'sqlite:./data/bus.db' },
    PRODUCT_URL: { type: 'string', default: 'http://127.0.0.1:8081' },
    SLUICE_ADMIN_TOKEN: { type: 'string', default: '' },
    LOG_LEVEL: {
      type: 'enum',
      values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
  });
}

export type OrderConfig = ReturnType<typeof readConfig>;
