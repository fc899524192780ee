import { createProductService } from './app.js';
import { readConfig } from './config.js';

const config = readConfig();
const service = await createProductService(config);
await service.listen(config.PRODUCT_PORT, config.HOST);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.shutdown());
