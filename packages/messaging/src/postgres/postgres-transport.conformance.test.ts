import { describeTransportConformance } from '../conformance/transport-conformance.js';
import { createTransport } from '../create-transport.js';
import { tempPgSchema } from './temp-pg-schema.test-support.js';

// The whole suite against the local PostgreSQL, each test in its own schema (dropped afterwards).
describeTransportConformance('postgres', async () => {
  const temp = tempPgSchema('poolSize=3');
  return {
    url: temp.url,
    create: () => createTransport(temp.url),
    cleanup: () => temp.drop(),
  };
});

// Again without LISTEN/NOTIFY (the fallback poll alone must meet the contract)
// and with claims and settles committed asynchronously (`asyncSettles`).
describeTransportConformance('postgres (poll only, durable settles)', async () => {
  const temp = tempPgSchema('poolSize=2&listen=false&pollMs=100&asyncSettles=true');
  return {
    url: temp.url,
    create: () => createTransport(temp.url),
    cleanup: () => temp.drop(),
  };
});
