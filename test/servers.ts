/** Addresses of the local servers the integration tests use; override by environment. */
export const servers = {
  postgres: process.env.SLUICE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test',
  amqp: process.env.SLUICE_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672',
  nats: process.env.SLUICE_TEST_NATS ?? 'nats://127.0.0.1:4222',
} as const;
