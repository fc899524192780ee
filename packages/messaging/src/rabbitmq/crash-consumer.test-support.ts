/**
 * Child process of the RabbitMQ crash tests: consumes one group and never
 * settles, printing `{"id":…,"attempt":…}` per delivery (and `{"ready":true}`
 * once consuming), until the parent SIGKILLs it.
 * argv: url prefix topic group
 */
import { createRabbitMqTransport } from './rabbitmq-transport.js';

const [url, prefix, topic, group] = process.argv.slice(2) as [string, string, string, string];
const transport = await createRabbitMqTransport({ url, prefix, partitions: 4 });
await transport.consume(
  topic,
  group,
  async (d) => {
    process.stdout.write(`${JSON.stringify({ id: d.id, attempt: d.attempt })}\n`);
    await new Promise(() => {}); // mid-message forever
  },
  { prefetch: 1 },
);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
