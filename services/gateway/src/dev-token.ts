import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { issueToken } from './infrastructure/jwt.js';

/** Lifetime of the dev token: 30 days, in seconds. */
export const DEV_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

/** A token for the local operator: `sub` `dev`, role `admin`, valid 30 days. */
export function issueDevToken(secret: string): Promise<string> {
  return issueToken(secret, { sub: 'dev', role: 'admin', ttlSeconds: DEV_TOKEN_TTL_SECONDS });
}

/**
 * The JWT secret: `configured` if set, else the one kept in `file`, created
 * (32 random bytes, hex, mode 0600) on first use.
 */
export function loadJwtSecret(configured: string, file: string): string {
  if (configured) return configured;
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  try {
    // 'wx': two processes starting at once keep the first secret written.
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw err;
  }
  return secret;
}

/** Where the JWT secret is kept: `SLUICE_JWT_SECRET_FILE`, else `<SLUICE_DATA_DIR>/jwt-secret`. */
export function jwtSecretFile(config: { SLUICE_JWT_SECRET_FILE: string; SLUICE_DATA_DIR: string }): string {
  return config.SLUICE_JWT_SECRET_FILE || path.join(config.SLUICE_DATA_DIR, 'jwt-secret');
}

/** Issues the dev token and writes it to `<dataDir>/dev-token`; returns it. */
export async function writeDevToken(secret: string, dataDir: string): Promise<string> {
  const token = await issueDevToken(secret);
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, 'dev-token'), `${token}\n`, { mode: 0o600 });
  return token;
}
