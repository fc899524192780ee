// Prints a dev token (sub `dev`, role `admin`, 30 days) signed with the gateway's secret,
// and writes it to <SLUICE_DATA_DIR>/dev-token: `node --import tsx services/gateway/src/issue-dev-token.ts`.
import { readConfig } from './config.js';
import { jwtSecretFile, loadJwtSecret, writeDevToken } from './dev-token.js';

const config = readConfig();
process.stdout.write(
  `${await writeDevToken(loadJwtSecret(config.SLUICE_JWT_SECRET, jwtSecretFile(config)), config.SLUICE_DATA_DIR)}\n`,
);
