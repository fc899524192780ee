import { SluiceError } from '@sluice/errors';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { GatewayReasons } from '../api/reasons.js';

/** Roles a token can carry. */
export type Role = 'customer' | 'admin';

/** Who is calling, from a verified token. */
export interface Principal {
  /** The user id (`sub`). */
  readonly userId: string;
  readonly role: Role;
}

/** Options of {@link issueToken}. */
export interface IssueTokenOptions {
  readonly sub: string;
  readonly role: Role;
  /** Lifetime in seconds. Default 3600. */
  readonly ttlSeconds?: number;
}

const ALG = 'HS256';
const keyOf = (secret: string) => new TextEncoder().encode(secret);

/** Signs an HS256 JWT with `sub` and `role`. */
export function issueToken(secret: string, options: IssueTokenOptions): Promise<string> {
  return new SignJWT({ role: options.role })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 3600))
    .sign(keyOf(secret));
}

function unauthenticated(message: string, cause?: unknown): SluiceError {
  return new SluiceError({
    code: 'unauthenticated',
    reason: GatewayReasons.UNAUTHENTICATED,
    message,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Verifies `Authorization: Bearer <JWT>` (HS256 only; `exp` required) and
 * returns the principal. Throws `unauthenticated` / `GATEWAY_UNAUTHENTICATED`
 * for a missing, malformed, badly signed or expired token, or one without a
 * `sub` and a known `role`.
 */
export function createTokenVerifier(secret: string): (authorization: unknown) => Promise<Principal> {
  const key = keyOf(secret);
  return async (authorization) => {
    if (typeof authorization !== 'string' || !/^Bearer\s+\S+$/i.test(authorization))
      throw unauthenticated('send "Authorization: Bearer <token>" (the dev token is in ./data/dev-token)');
    const token = authorization.replace(/^Bearer\s+/i, '');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, { algorithms: [ALG], requiredClaims: ['exp', 'sub'] }));
    } catch (err) {
      const why =
        err instanceof joseErrors.JWTExpired
          ? 'the token has expired'
          : 'the token is invalid or badly signed';
      throw unauthenticated(why, err);
    }
    const role = payload.role;
    if (
      typeof payload.sub !== 'string' ||
      payload.sub.length === 0 ||
      (role !== 'customer' && role !== 'admin')
    )
      throw unauthenticated('the token needs a "sub" and a "role" of customer or admin');
    return { userId: payload.sub, role };
  };
}
