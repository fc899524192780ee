import { describeTransportConformance } from '../conformance/transport-conformance.js';
import { createTransport } from '../create-transport.js';
import { pgTestSchemas } from './temp-pg-schema.test-support.js';

const schemas = pgTestSchemas();

// The whole suite against the local PostgreSQL, each test in its own schema (dropped after the file).
describeTransportConformance('postgres', async () => {
  const url = await schemas.url('poolSize=3');
  return { url, create: () => createTransport(url) };
});

// Again without LISTEN/NOTIFY (the fallback poll alone must meet the contract)
// and with claims and settles committed asynchronously (`asyncSettles`).
describeTransportConformance('postgres (poll only, durable settles)', async () => {
  const url = await schemas.url('poolSize=2&listen=false&pollMs=100&asyncSettles=true');
  return { url, create: () => createTransport(url) };
});
