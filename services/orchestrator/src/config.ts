import { readEnv } from '@sluice/service';

/** The orchestrator's configuration, read once from the environment. */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return readEnv(env, {
    ORCHESTRATOR_PORT: { type: 'int', default: 8086, min: 0, max: 65535 },
    HOST: { type: 'string', default: '127.0.0.1' },
    SLUICE_DB: { type: 'string', default: 'sqlite:./data/orchestrator.db' },
    SLUICE_BROKER: { type: 'string', default: 'sqlite:./data/bus.db' },
    /**
     * `orchestration`: this service drives the order saga. (`choreography`, the
     * same flow by events alone, is not built yet and is refused at start
     * rather than leaving every order pending.)
     */
    SLUICE_SAGA_MODE: { type: 'enum', values: ['orchestration'], default: 'orchestration' },
    INVENTORY_GRPC: { type: 'string', default: '127.0.0.1:50051' },
    PAYMENT_GRPC: { type: 'string', default: '127.0.0.1:50052' },
    ORDER_URL: { type: 'string', default: 'http://127.0.0.1:8082' },
    SLUICE_SERVICE_TOKEN: { type: 'string', default: 'dev-service-token' },
    SLUICE_ADMIN_TOKEN: { type: 'string', default: '' },
    /** Sagas driven at once by this process. */
    SAGA_CONCURRENCY: { type: 'int', default: 64, min: 1, max: 10_000 },
    LOG_LEVEL: {
      type: 'enum',
      values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
  });
}

export type OrchestratorConfig = ReturnType<typeof readConfig>;
