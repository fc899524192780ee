/**
 * A consumer in its own process, for the conformance suite's crash test:
 * `node --conditions=sluice-source --import tsx consumer-child.ts <url> <topic> <group> <leaseMs>`.
 * It consumes with prefetch 1, prints `{"id":…,"attempt":…}` for each delivery
 * and never settles it (the handler hangs, its lease being renewed), until the
 * parent SIGKILLs it.
 */
import { createTransport } from '../create-transport.js';

const [url, topic, group, leaseMs] = process.argv.slice(2);
if (!url || !topic || !group || !leaseMs) {
  process.stderr.write('usage: consumer-child.ts <url> <topic> <group> <leaseMs>\n');
  process.exit(2);
}
const transport = await createTransport(url);
await transport.consume(
  topic,
  group,
  async (d) => {
    process.stdout.write(`${JSON.stringify({ id: d.id, attempt: d.attempt })}\n`);
    await new Promise<never>(() => {});
  },
  { prefetch: 1, leaseMs: Number(leaseMs) },
);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
