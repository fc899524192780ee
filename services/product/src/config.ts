import { readEnv } from '@sluice/service';

/** The product service's configuration, read once from the environment. */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return readEnv(env, {
    PRODUCT_PORT: { type: 'int', default: 8081, min: 0, max: 65535 },
    HOST: { type: 'string', default: '127.0.0.1' },
    SLUICE_DB: { type: 'string', default: 'sqlite:./data/product.db' },
    SLUICE_ADMIN_TOKEN: { type: 'string', default: '' },
    SLUICE_SEED: { type: 'bool', default: true },
    LOG_LEVEL: {
      type: 'enum',
      values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
  });
}

export type ProductConfig = ReturnType<typeof readConfig>;
