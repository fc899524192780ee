/**
 * Publishes one message from another process, for the doorbell test:
 * `publisher-child.ts <url> <topic> <id>`; exits once it is committed.
 */
import { createTransport } from '../create-transport.js';

const [url, topic, id] = process.argv.slice(2);
if (!url || !topic || !id) {
  process.stderr.write('usage: publisher-child.ts <url> <topic> <id>\n');
  process.exit(2);
}
const transport = await createTransport(url);
await transport.publish(topic, [{ id, body: new TextEncoder().encode(id) }]);
// Give the doorbell's datagram (sent on the next turn of the event loop) its turn before closing.
await new Promise((r) => setTimeout(r, 50));
await transport.close();
