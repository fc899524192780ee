import { SluiceError } from '@sluice/errors';
import type { HttpServer } from '@sluice/http';
import type { Principal } from '../infrastructure/jwt.js';
import { GatewayReasons } from './reasons.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling (set by the auth hook; absent only on open routes). */
    principal: Principal | undefined;
  }
}

/** Routes answered without a token. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** Path prefix of the routes that need role `admin`. */
export const ADMIN_PREFIX = '/api/v1/admin';

/**
 * Requires a valid bearer token on every route but {@link OPEN_PATHS}, and
 * role `admin` under {@link ADMIN_PREFIX}: 401 / 403 problem+json otherwise.
 */
export function authHook(app: HttpServer, verify: (authorization: unknown) => Promise<Principal>): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?', 1)[0] as string;
    if (OPEN_PATHS.has(path)) return;
    request.principal = await verify(
      request.headers.authorization ?? streamToken(request.method, request.url, path),
    );
    if ((path === ADMIN_PREFIX || path.startsWith(`${ADMIN_PREFIX}/`)) && request.principal.role !== 'admin')
      throw new SluiceError({
        code: 'permission_denied',
        reason: GatewayReasons.FORBIDDEN,
        message: 'operator routes need a token with role admin',
      });
  });
}

/**
 * Browsers' `EventSource` cannot send headers, so the live-status stream
 * alone also takes the token as `?access_token=` (RFC 6750 §2.3).
 */
function streamToken(method: string, url: string, path: string): string | undefined {
  if (method !== 'GET' || !/^\/api\/v1\/orders\/[^/]+\/events$/.test(path)) return undefined;
  const token = new URLSearchParams(url.slice(path.length + 1)).get('access_token');
  return token ? `Bearer ${token}` : undefined;
}

/** Headers that carry the caller's identity to a downstream. */
export function identityHeaders(request: { principal: Principal | undefined }): Record<string, string> {
  return request.principal ? { 'x-user-id': request.principal.userId } : {};
}
