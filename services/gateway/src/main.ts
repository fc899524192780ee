import { createGatewayService } from './app.js';
import { readConfig } from './config.js';
import { writeDevToken } from './dev-token.js';

const config = readConfig();
const service = await createGatewayService(config);
const url = await service.listen(config.GATEWAY_PORT, config.HOST);
const token = await writeDevToken(service.jwtSecret, config.SLUICE_DATA_DIR);
service.logger.info(
  { url, graphql: `${url}/graphql`, devTokenFile: `${config.SLUICE_DATA_DIR}/dev-token` },
  'gateway ready',
);
// Alone in a terminal, say how to get in; under `npm start` the supervisor prints the banner.
if (process.stdout.isTTY)
  process.stdout.write(
    `\nGateway: ${url}  (GraphQL ${url}/graphql)\nDev token (admin, 30 days; also in ${config.SLUICE_DATA_DIR}/dev-token):\n${token}\n\n`,
  );
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.shutdown());
