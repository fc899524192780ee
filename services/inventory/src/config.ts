import { readEnv } from '@sluice/service';

/** The inventory service's configuration, read once from the environment. */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return readEnv(env, {
    INVENTORY_PORT: { type: 'int', default: 8083, min: 0, max: 65535 },
    INVENTORY_GRPC_PORT: { type: 'int', default: 50051, min: 0, max: 65535 },
    HOST: { type: 'string', default: '127.0.0.1' },
    SLUICE_DB: { type: 'string', default: 'sqlite:./data/inventory.db' },
    SLUICE_BROKER: { type: 'string', default: 'sqlite:./data/bus.db' },
    SLUICE_ADMIN_TOKEN: { type: 'string', default: '' },
    /** Shared secret services present to each other over gRPC. */
    SLUICE_SERVICE_TOKEN: { type: 'string', default: 'dev-service-token' },
    SLUICE_SEED: { type: 'bool', default: true },
    /** Units of each seeded product (the `limited` product gets 5). */
    SEED_UNITS: { type: 'int', default: 100_000, min: 0, max: 10_000_000 },
    /** How often due reservations are expired, in ms. */
    EXPIRY_SWEEP_MS: { type: 'int', default: 5_000, min: 100, max: 3_600_000 },
    LOG_LEVEL: {
      type: 'enum',
      values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
  });
}

export type InventoryConfig = ReturnType<typeof readConfig>;
