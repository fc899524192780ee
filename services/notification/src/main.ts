import { createNotificationService } from './app.js';
import { readConfig } from './config.js';

const config = readConfig();
const service = await createNotificationService(config);
await service.listen(config.NOTIFICATION_PORT, config.HOST);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.shutdown());
