import { readEnv } from '@sluice/service';

/** The gateway's configuration, read once from the environment (`PORT` is accepted for `GATEWAY_PORT`). */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return readEnv(
    { ...env, GATEWAY_PORT: env.GATEWAY_PORT || env.PORT },
    {
      GATEWAY_PORT: { type: 'int', default: 8080, min: 0, max: 65535 },
      HOST: { type: 'string', default: '127.0.0.1' },
      PRODUCT_URL: { type: 'string', default: 'http://127.0.0.1:8081', pattern: /^https?:\/\// },
      ORDER_URL: { type: 'string', default: 'http://127.0.0.1:8082', pattern: /^https?:\/\// },
      INVENTORY_URL: { type: 'string', default: 'http://127.0.0.1:8083', pattern: /^https?:\/\// },
      PAYMENT_URL: { type: 'string', default: 'http://127.0.0.1:8084', pattern: /^https?:\/\// },
      NOTIFICATION_URL: { type: 'string', default: 'http://127.0.0.1:8085', pattern: /^https?:\/\// },
      ORCHESTRATOR_URL: { type: 'string', default: 'http://127.0.0.1:8086', pattern: /^https?:\/\// },
      SLUICE_BROKER: { type: 'string', default: 'sqlite:./data/bus.db' },
      /** Empty: read (or create) a random secret in `SLUICE_JWT_SECRET_FILE`. */
      SLUICE_JWT_SECRET: { type: 'string', default: '' },
      /** Empty: `<SLUICE_DATA_DIR>/jwt-secret`. */
      SLUICE_JWT_SECRET_FILE: { type: 'string', default: '' },
      SLUICE_ADMIN_TOKEN: { type: 'string', default: '' },
      SLUICE_DATA_DIR: { type: 'string', default: './data' },
      LOG_LEVEL: {
        type: 'enum',
        values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
        default: 'info',
      },
    },
  );
}

/** The gateway's configuration. */
export type GatewayConfig = ReturnType<typeof readConfig>;
