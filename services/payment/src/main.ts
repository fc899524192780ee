import { createPaymentService } from './app.js';
import { readConfig } from './config.js';

const service = await createPaymentService(readConfig());
await service.listen();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.shutdown());
