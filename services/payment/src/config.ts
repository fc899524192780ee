import { readEnv } from '@sluice/service';

/** The payment service's configuration, read once from the environment. */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return readEnv(env, {
    PAYMENT_PORT: { type: 'int', default: 8084, min: 0, max: 65535 },
    PAYMENT_GRPC_PORT: { type: 'int', default: 50052, min: 0, max: 65535 },
    HOST: { type: 'string', default: '127.0.0.1' },
    SLUICE_DB: { type: 'string', default: 'sqlite:./data/payment.db' },
    SLUICE_BROKER: { type: 'string', default: 'sqlite:./data/bus.db' },
    SLUICE_ADMIN_TOKEN: { type: 'string', default: '' },
    SLUICE_SERVICE_TOKEN: { type: 'string', default: 'dev-service-token' },
    /** Charges above this many minor units are declined (`amount_over_limit`). */
    AMOUNT_LIMIT: { type: 'int', default: 1_000_000, min: 1, max: 1_000_000_000_000 },
    LOG_LEVEL: {
      type: 'enum',
      values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
  });
}

export type PaymentConfig = ReturnType<typeof readConfig>;
