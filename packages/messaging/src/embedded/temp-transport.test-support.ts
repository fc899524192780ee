import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from '../create-transport.js';
import type { Transport } from '../transport.js';

/** An embedded transport on a fresh SQLite file in a temp directory, and its removal. @internal */
export async function tempEmbedded(query = ''): Promise<{
  transport: Transport;
  url: string;
  dir: string;
  dispose(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-messaging-'));
  const url = `sqlite:${join(dir, 'bus.db')}${query}`;
  const transport = await createTransport(url);
  return {
    transport,
    url,
    dir,
    async dispose() {
      await transport.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
