/**
 * The consumer process of the embedded latency benchmark:
 * `messaging-embedded-child.ts <url> <topic> <count>`. Each message body is
 * the publisher's send time (`performance.timeOrigin + performance.now()`, ms
 * with sub-ms precision, the same clock in both processes); the handler
 * records now − then. Prints `{"ready":true}`, then, after `count` messages,
 * `{"latencies":[…]}` and exits.
 */
import { createTransport } from '@sluice/messaging';

const [url, topic, countArg] = process.argv.slice(2);
const count = Number(countArg);
const transport = await createTransport(url as string);
const latencies: number[] = [];
const decoder = new TextDecoder();
await transport.consume(
  topic as string,
  'g',
  async (d) => {
    latencies.push(performance.timeOrigin + performance.now() - Number(decoder.decode(d.body)));
    await d.ack();
    if (latencies.length === count) {
      process.stdout.write(`${JSON.stringify({ latencies })}\n`);
      await transport.close();
      process.exit(0);
    }
  },
  { prefetch: 16 },
);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
