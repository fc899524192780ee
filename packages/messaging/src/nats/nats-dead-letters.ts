/**
 * The dead-letter queues of a NATS namespace: one stream `<PREFIX>_DLQ`, one
 * subject per dead letter `<prefix>_dlq.<topic>.<group>.<id digest>` holding
 * one message (`max_msgs_per_subject` 1): the original body and user headers
 * plus `Sluice-*` failure headers. Listing reads the per-subject counts of the
 * stream (`subjects_filter`) and fetches each subject's message by direct get.
 *
 * Replay republishes the body to the topic's stream with a `Sluice-Group`
 * header naming the group: every group's consumers see the message (a single
 * filter subject per consumer on NATS 2.9 cannot exclude it), and the members
 * of other groups acknowledge it without running their handler. The dead
 * letter is deleted only after the republish was acknowledged by the server.
 */
import type { StoredMsg } from '@nats-io/jetstream';
import { SluiceError } from '@sluice/errors';
import { MessagingReasons } from '../reasons.js';
import type { DeadLetter, DeadLetterFilter, DeadLetterStore, Priority } from '../transport.js';
import { closedError, isNotFound, type NatsContext, unavailable } from './nats-context.js';
import { H, isReservedHeader } from './nats-headers.js';
import { PRIORITIES, partitionOf } from './nats-names.js';

/** A dead letter and where it is stored. */
interface Stored {
  readonly letter: DeadLetter;
  readonly seq: number;
}

const DEFAULT_LIMIT = 100;

/** The {@link DeadLetterStore} of a NATS transport. */
export class NatsDeadLetters implements DeadLetterStore {
  constructor(
    private readonly ctx: NatsContext,
    private readonly isClosed: () => boolean,
  ) {}

  async list(
    filter: DeadLetterFilter & { readonly limit?: number; readonly offset?: number } = {},
  ): Promise<DeadLetter[]> {
    const limit = checkCount(filter.limit, 'limit', DEFAULT_LIMIT);
    const offset = checkCount(filter.offset, 'offset', 0);
    const all = await this.read(filter);
    return all.slice(offset, offset + limit).map((s) => s.letter);
  }

  async get(topic: string, group: string, id: string): Promise<DeadLetter | undefined> {
    checkFilter({ topic, group, ids: [id] });
    this.checkOpen();
    await this.ctx.ensureDeadLetterStream();
    const stored = await this.fetch(this.ctx.dlq.subject(topic, group, id));
    return stored?.letter;
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    return (await this.subjects(filter)).length;
  }

  async replay(filter: DeadLetterFilter = {}): Promise<number> {
    const letters = await this.read(filter);
    let n = 0;
    for (const { letter, seq } of letters) {
      const names = this.ctx.names(letter.topic);
      // Declaring the group again (idempotent) guarantees a consumer keeps the
      // replayed message: with interest retention, a message nobody is
      // interested in would be dropped while its dead letter is deleted.
      await this.ctx.declareGroup(letter.topic, letter.group);
      const h = this.ctx.headers();
      for (const [k, v] of Object.entries(letter.headers)) h.set(k, v);
      h.set(H.id, letter.id);
      h.set(H.group, encodeURIComponent(letter.group));
      h.set(H.publishedAt, String(letter.publishedAt.getTime()));
      let subject: string;
      let bell: string;
      if (letter.orderingKey !== undefined) {
        const p = partitionOf(letter.orderingKey, this.ctx.options.partitions);
        h.set(H.key, letter.orderingKey);
        subject = names.partitionSubject(p);
        bell = `k${p}`;
      } else {
        subject = names.prioritySubject(letter.priority);
        bell = subject.slice(subject.lastIndexOf('.') + 1);
      }
      try {
        // A distinct msgID per dead-letter record: the original id is inside the duplicate window.
        await this.ctx.js.publish(subject, letter.body, { msgID: `${letter.id}:replay:${seq}`, headers: h });
        await this.ctx.jsm.streams.deleteMessage(this.ctx.dlq.stream, seq, false);
      } catch (err) {
        if (!isNotFound(err)) throw unavailable('cannot replay a dead letter', err);
      }
      this.ctx.ring(names, bell);
      n++;
    }
    return n;
  }

  async purge(filter: DeadLetterFilter = {}): Promise<number> {
    const subjects = await this.subjects(filter);
    let n = 0;
    for (const subject of subjects) {
      try {
        const r = await this.ctx.jsm.streams.purge(this.ctx.dlq.stream, { filter: subject });
        n += r.purged;
      } catch (err) {
        throw unavailable('cannot purge dead letters', err);
      }
    }
    return n;
  }

  /** Subjects holding a dead letter that matches, sorted by nothing in particular. */
  private async subjects(filter: DeadLetterFilter): Promise<string[]> {
    checkFilter(filter);
    this.checkOpen();
    await this.ctx.ensureDeadLetterStream();
    const { dlq } = this.ctx;
    if (filter.ids !== undefined && filter.topic !== undefined && filter.group !== undefined) {
      const out: string[] = [];
      for (const id of filter.ids) {
        const s = dlq.subject(filter.topic, filter.group, id);
        if (await this.fetch(s)) out.push(s);
      }
      return out;
    }
    let counts: Record<string, number> | undefined;
    try {
      const info = await this.ctx.jsm.streams.info(dlq.stream, {
        subjects_filter: dlq.filterSubject(filter.topic, filter.group),
      });
      counts = info.state.subjects;
    } catch (err) {
      throw unavailable('cannot read the dead-letter stream', err);
    }
    const subjects = Object.keys(counts ?? {}).filter((s) => (counts?.[s] ?? 0) > 0);
    if (filter.ids === undefined) return subjects;
    // Ids without both topic and group: match on the id digest (the last token).
    const wanted = new Set(filter.ids.map((id) => dlq.subject('x', 'x', id).split('.').pop()));
    return subjects.filter((s) => wanted.has(s.split('.').pop()));
  }

  /** Matching dead letters, oldest first. */
  private async read(filter: DeadLetterFilter): Promise<Stored[]> {
    const subjects = await this.subjects(filter);
    const stored = await Promise.all(subjects.map((s) => this.fetch(s)));
    return stored
      .filter((s): s is Stored => s !== undefined)
      .filter((s) => filter.ids === undefined || filter.ids.includes(s.letter.id))
      .sort((a, b) => a.letter.deadLetteredAt.getTime() - b.letter.deadLetteredAt.getTime() || a.seq - b.seq);
  }

  private async fetch(subject: string): Promise<Stored | undefined> {
    let m: StoredMsg | null;
    try {
      m = await this.ctx.jsm.streams.getMessage(this.ctx.dlq.stream, { last_by_subj: subject });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw unavailable('cannot read a dead letter', err);
    }
    if (!m) return undefined;
    return { letter: toDeadLetter(m), seq: m.seq };
  }

  private checkOpen(): void {
    if (this.isClosed()) throw closedError('the NATS transport');
  }
}

/** Decodes a stored DLQ message. */
function toDeadLetter(m: StoredMsg): DeadLetter {
  const h = m.header;
  const get = (k: string) => h.get(k);
  const headers: Record<string, string> = {};
  for (const k of h.keys()) if (!isReservedHeader(k)) headers[k] = h.get(k);
  const priority = get(H.priority) as Priority;
  const key = get(H.key);
  return {
    id: get(H.id),
    topic: decodeURIComponent(get(H.topic)),
    group: decodeURIComponent(get(H.group)),
    body: m.data,
    headers,
    priority: PRIORITIES.includes(priority) ? priority : 'normal',
    orderingKey: key ? key : undefined,
    error: decodeURIComponent(get(H.error)),
    reason: decodeURIComponent(get(H.reason)),
    attempts: Number(get(H.attempts)) || 0,
    publishedAt: new Date(Number(get(H.publishedAt)) || m.time.getTime()),
    deadLetteredAt: new Date(Number(get(H.deadLetteredAt)) || m.time.getTime()),
  };
}

function invalid(field: string, message: string): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: MessagingReasons.INVALID_MESSAGE,
    message: `${field} ${message}`,
    details: { violations: [{ field, message }] },
  });
}

function checkCount(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(field, 'must be an integer >= 0');
  return value;
}

function checkFilter(filter: DeadLetterFilter): void {
  if (filter === null || typeof filter !== 'object') throw invalid('filter', 'must be an object');
  for (const f of ['topic', 'group'] as const) {
    const v = filter[f];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0))
      throw invalid(f, 'must be a non-empty string');
  }
  if (filter.ids !== undefined) {
    if (!Array.isArray(filter.ids)) throw invalid('ids', 'must be an array of strings');
    for (const id of filter.ids)
      if (typeof id !== 'string' || id.length === 0) throw invalid('ids', 'must hold non-empty strings');
  }
}
