import { randomBytes } from 'node:crypto';
import type { Delivery } from '../transport.js';
import {
  createRabbitMqTransport,
  type RabbitMqTransport,
  type RabbitMqTransportOptions,
} from './rabbitmq-transport.js';

/** The broker `.ci/services.sh` starts. */
export const RABBIT_URL = process.env.SLUICE_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';

/** A prefix no other test (or helper) uses. */
export function freshPrefix(): string {
  return `t-rmq-${randomBytes(5).toString('hex')}`;
}

/** Transports of one test sharing one prefix; `cleanup()` deletes everything they declared. */
export function rabbitHarness(options: Partial<RabbitMqTransportOptions> = {}) {
  const prefix = freshPrefix();
  const open: RabbitMqTransport[] = [];
  return {
    prefix,
    url: `${RABBIT_URL}?prefix=${prefix}&partitions=4`,
    async create(more: Partial<RabbitMqTransportOptions> = {}): Promise<RabbitMqTransport> {
      const t = await createRabbitMqTransport({
        url: RABBIT_URL,
        prefix,
        partitions: 4,
        ...options,
        ...more,
      });
      open.push(t);
      return t;
    },
    async cleanup(): Promise<void> {
      await Promise.allSettled(open.map((t) => t.close()));
      const admin = await createRabbitMqTransport({ url: RABBIT_URL, prefix, partitions: 4, ...options });
      await admin.deleteTopology();
    },
  };
}

/** Polls `check` every 20 ms until it returns true, failing after `timeoutMs` (default 20 s). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** UTF-8 helpers. */
export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A record of what a handler saw. */
export interface Seen {
  readonly id: string;
  readonly attempt: number;
  readonly at: number;
  readonly delivery: Delivery;
}
