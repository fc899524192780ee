/** Options of the NATS JetStream transport and their defaults. */
import { type FieldViolation, SluiceError } from '@sluice/errors';
import { MessagingReasons } from '../reasons.js';
import type { ResolvedNatsOptions } from './nats-context.js';
import { isValidPrefix } from './nats-names.js';

/** Options of `createNatsTransport`. */
export interface NatsTransportOptions {
  /** Server URL(s), `nats://host:port`. Default `nats://127.0.0.1:4222`. */
  readonly url?: string;
  /**
   * Namespace of every stream, subject and bell this transport uses
   * (`[A-Za-z0-9_-]`, 1–32 characters). Transports sharing topics must share
   * it. Default `sluice`.
   */
  readonly prefix?: string;
  /**
   * Ordering-key partitions per group (1–256): keys hash onto partitions, each
   * with one message in flight. More partitions = fewer keys held back by one
   * key's retry, more consumers on the server. Default 16.
   */
  readonly partitions?: number;
  /**
   * How often an idle member looks again for redeliveries nobody rings a bell
   * for (another member's retry, a dead member's expired lease), in ms.
   * Default 1 000.
   */
  readonly idlePollMs?: number;
  /** JetStream duplicate window for `Nats-Msg-Id` dedup, in ms. Default 120 000 (2 minutes). */
  readonly duplicateWindowMs?: number;
  /** Stream storage. Default `file` (durable). */
  readonly storage?: 'file' | 'memory';
  /** Lease (`ack_wait`) of a group's consumers until a `consume()` sets another, in ms. Default 10 000. */
  readonly defaultLeaseMs?: number;
  /** Connection timeout, in ms. Default 5 000. */
  readonly connectTimeoutMs?: number;
}

/** Checks options and fills in their defaults (`MESSAGING_INVALID_URL` listing every bad one). */
export function resolveOptions(o: NatsTransportOptions): ResolvedNatsOptions {
  const v: FieldViolation[] = [];
  const prefix = o.prefix ?? 'sluice';
  if (!isValidPrefix(prefix)) v.push({ field: 'prefix', message: 'must be 1-32 of [A-Za-z0-9_-]' });
  const int = (name: string, value: number | undefined, def: number, min: number, max: number) => {
    if (value === undefined) return def;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      v.push({ field: name, message: `must be an integer from ${min} to ${max}` });
    }
    return value;
  };
  const partitions = int('partitions', o.partitions, 16, 1, 256);
  const idlePollMs = int('idlePollMs', o.idlePollMs, 1_000, 10, 60_000);
  const duplicateWindowMs = int('duplicateWindowMs', o.duplicateWindowMs, 120_000, 1_000, 86_400_000);
  const defaultLeaseMs = int('defaultLeaseMs', o.defaultLeaseMs, 10_000, 100, 3_600_000);
  const storage = o.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory')
    v.push({ field: 'storage', message: 'must be file or memory' });
  if (v.length) {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: MessagingReasons.INVALID_URL,
      message: `invalid NATS transport options: ${v.map((x) => `${x.field} ${x.message}`).join('; ')}`,
      details: { violations: v },
    });
  }
  return { prefix, partitions, idlePollMs, duplicateWindowMs, storage, defaultLeaseMs };
}
