import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTransportConformance } from '../conformance/transport-conformance.js';
import { createTransport } from '../create-transport.js';

describeTransportConformance('embedded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-messaging-'));
  const url = `sqlite:${join(dir, 'bus.db')}`;
  return {
    url,
    create: () => createTransport(url),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
