import { SluiceError } from '@sluice/errors';
import type { Interceptor } from '../call.js';
import { GrpcReasons } from '../reasons.js';
import { requestHeaderValue } from '../server-call.js';

/** Options of {@link bearerAuthInterceptor}. */
export interface BearerAuthOptions {
  /**
   * Checks a bearer token; resolve `true` to admit the call. Throwing a
   * SluiceError sends that error instead (e.g. `permission_denied`).
   */
  readonly verify: (token: string, method: string) => boolean | Promise<boolean>;
}

function unauthenticated(message: string): SluiceError {
  return new SluiceError({ code: 'unauthenticated', reason: GrpcReasons.GRPC_UNAUTHENTICATED, message });
}

/**
 * Server side: admits a call only with `authorization: Bearer <token>` metadata
 * that `verify` accepts; otherwise UNAUTHENTICATED (`GRPC_UNAUTHENTICATED`)
 * before the handler runs. Client calls pass through.
 *
 * @example
 * ```ts
 * createGrpcServer({ interceptors: [bearerAuthInterceptor({ verify: (t) => t === process.env.TOKEN }) ] });
 * ```
 */
export function bearerAuthInterceptor(options: BearerAuthOptions): Interceptor {
  return (next) => async (req) => {
    if (req.side !== 'server') return next(req);
    const header = requestHeaderValue(req, 'authorization');
    const match = header === null ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (match === null) throw unauthenticated('missing bearer token');
    if (!(await options.verify(match[1] as string, `/${req.service.typeName}/${req.method.name}`))) {
      throw unauthenticated('bearer token rejected');
    }
    return next(req);
  };
}

/**
 * Client side: sends `authorization: Bearer <token>` on every call. `token`
 * may be a function (called per call) for tokens that rotate.
 */
export function bearerTokenInterceptor(token: string | (() => string | Promise<string>)): Interceptor {
  return (next) => async (req) => {
    if (req.side === 'client') {
      req.header.set('authorization', `Bearer ${typeof token === 'string' ? token : await token()}`);
    }
    return next(req);
  };
}
