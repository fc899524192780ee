import { describeTransportConformance } from '../conformance/transport-conformance.js';
import { createTransport } from '../create-transport.js';
import { freshPrefix, RABBIT_URL } from './rabbitmq.test-support.js';
import { createRabbitMqTransport } from './rabbitmq-transport.js';

// The shared suite against the real broker; each test gets its own name prefix, deleted afterwards.
describeTransportConformance('rabbitmq', async () => {
  const url = `${RABBIT_URL}?prefix=${freshPrefix()}`;
  return {
    url,
    create: () => createTransport(url),
    cleanup: async () => {
      const admin = await createRabbitMqTransport({ url });
      await admin.deleteTopology();
    },
  };
});
