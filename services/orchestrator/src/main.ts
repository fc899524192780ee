import { createOrchestratorService } from './app.js';
import { readConfig } from './config.js';

const config = readConfig();
const service = await createOrchestratorService(config);
await service.listen(config.ORCHESTRATOR_PORT, config.HOST);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.shutdown());
