import { createInventoryService } from './app.js';
import { readConfig } from './config.js';

const service = await createInventoryService(readConfig());
await service.listen();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.shutdown());
