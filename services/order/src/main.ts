import { createOrderService } from './app.js';
import { readConfig } from './config.js';

const config = readConfig();
const service = await createOrderService(config);
await service.listen(config.ORDER_PORT, config.HOST);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.shutdown());
