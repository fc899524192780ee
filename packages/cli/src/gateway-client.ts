import { fromProblem, SluiceError } from '@sluice/errors';
import { Pool } from 'undici';
import { CliReasons } from './reasons.js';

/** Options of {@link GatewayClient}. */
export interface GatewayClientOptions {
  /** The gateway's base URL. Default `http://localhost:8080`. */
  readonly url?: string;
  /** Bearer token (the dev token `npm start` writes to `./data/dev-token`). */
  readonly token?: string;
  /** Connections kept to the gateway. Default 64. */
  readonly connections?: number;
  /** Per-request timeout in ms. Default 30 000. */
  readonly timeoutMs?: number;
}

/**
 * The gateway's public and operator REST API, as the `sluice` command uses
 * it. A problem+json error comes back as the `SluiceError` it encodes; an
 * unreachable gateway as `CLI_GATEWAY_UNREACHABLE` saying what to check.
 */
export class GatewayClient {
  readonly url: string;
  private readonly pool: Pool;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: GatewayClientOptions = {}) {
    this.url = (options.url ?? 'http://localhost:8080').replace(/\/+$/, '');
    let origin: string;
    try {
      origin = new URL(this.url).origin;
    } catch {
      throw new SluiceError({
        code: 'invalid_argument',
        reason: CliReasons.INVALID_OPTION,
        message: `not a URL: ${this.url}`,
      });
    }
    this.pool = new Pool(origin, { connections: options.connections ?? 64 });
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Sends one request; resolves with the parsed JSON body (undefined for 204). */
  async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: T; headers: Record<string, string | string[] | undefined> }> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await this.pool.request({
        method,
        path: `${new URL(this.url).pathname.replace(/\/$/, '')}${path}`,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw new SluiceError({
        code: 'unavailable',
        reason: CliReasons.GATEWAY_UNREACHABLE,
        message: `cannot reach the gateway at ${this.url} (${(err as Error).message}): is the shop running (npm start)? Set --url or SLUICE_URL otherwise.`,
        cause: err,
      });
    }
    const text = await res.body.text();
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (res.statusCode >= 400) {
      const retryAfter = res.headers['retry-after'];
      throw fromProblem(parsed, res.statusCode, {
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      });
    }
    return { status: res.statusCode, body: parsed as T, headers: res.headers };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { title: text.slice(0, 200) };
  }
}
