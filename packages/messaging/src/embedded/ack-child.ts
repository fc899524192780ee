/**
 * A competing consumer in its own process, for the multi-process test:
 * `ack-child.ts <url> <topic> <group> <leaseMs>`. It acknowledges every
 * delivery and prints `{"id":…,"attempt":…}` once the ack is committed.
 */
import { createTransport } from '../create-transport.js';

const [url, topic, group, leaseMs] = process.argv.slice(2);
if (!url || !topic || !group || !leaseMs) {
  process.stderr.write('usage: ack-child.ts <url> <topic> <group> <leaseMs>\n');
  process.exit(2);
}
const transport = await createTransport(url);
await transport.consume(
  topic,
  group,
  async (d) => {
    await d.ack();
    process.stdout.write(`${JSON.stringify({ id: d.id, attempt: d.attempt })}\n`);
  },
  { prefetch: 8, leaseMs: Number(leaseMs) },
);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
