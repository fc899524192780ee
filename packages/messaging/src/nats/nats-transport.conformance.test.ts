import { describeTransportConformance } from '../conformance/transport-conformance.js';
import { createTransport } from '../create-transport.js';
import { deleteNamespace, NATS_URL, testPrefix } from './nats.test-support.js';

// Each test gets its own namespace (stream and subject prefix), deleted afterwards.
describeTransportConformance('nats', async () => {
  const prefix = testPrefix('conf');
  const url = `${NATS_URL}?prefix=${prefix}`;
  return {
    url,
    create: () => createTransport(url),
    cleanup: () => deleteNamespace(prefix),
  };
});
