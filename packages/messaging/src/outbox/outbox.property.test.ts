import type { EventEnvelope } from '@sluice/contracts';
import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../conformance/conformance-helpers.js';
import { createSqliteInbox } from '../inbox/sqlite-inbox.js';
import { sqliteWorld, thing } from './outbox.test-support.js';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.js';
import { createSqliteOutbox } from './sqlite-outbox.js';

const TOPIC = 'shop.thing_happened';
const LEASE_MS = 10_000;

type Step =
  | { readonly kind: 'add'; readonly keys: readonly (string | null)[]; readonly commit: boolean }
  | { readonly kind: 'flush' }
  | { readonly kind: 'crash-before-publish' }
  | { readonly kind: 'crash-after-publish' }
  | { readonly kind: 'restart' }
  | { readonly kind: 'lease-lapses' }
  | { readonly kind: 'duplicate'; readonly pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      keys: fc.array(fc.constantFrom('a', 'b', 'c', null), { minLength: 1, maxLength: 3 }),
      commit: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash-before-publish' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash-after-publish' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'lease-lapses' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() }) },
);

describe('outbox + relay + inbox (property)', () => {
  it('random interleavings of add / relay crash / restart / duplicate delivery: every committed event has exactly one effect, a rolled-back one none', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const w = await sqliteWorld();
        try {
          w.db.exec('CREATE TABLE state (id TEXT PRIMARY KEY)');
          const outbox = createSqliteOutbox(w.db);
          outbox.install();
          const consumerDb = w.connect();
          consumerDb.exec('CREATE TABLE effects (event_id TEXT NOT NULL)');
          const inbox = createSqliteInbox(consumerDb);
          inbox.install();
          const record = consumerDb.prepare('INSERT INTO effects VALUES (?)');
          await w.bus.subscribe(
            TOPIC,
            { group: 'consumer', prefetch: 5 },
            inbox.handler('consumer', (event) => {
              record.run(event.id);
            }),
          );
          const clock = createVirtualClock({ start: Date.now() });
          const newRelay = () => createOutboxRelay({ outbox, bus: w.bus, clock, leaseMs: LEASE_MS });
          /** A relay that claims, then dies: before publishing, or after publishing but before marking. */
          const crash = async (afterPublish: boolean) => {
            let called!: () => void;
            const reached = new Promise<void>((r) => {
              called = r;
            });
            const dying = createOutboxRelay({
              outbox,
              clock,
              leaseMs: LEASE_MS,
              bus: {
                async publishBatch(entries) {
                  if (afterPublish) await w.bus.publishBatch(entries);
                  called();
                  await new Promise(() => {});
                },
              },
            });
            await Promise.race([reached, dying.flush()]);
          };
          const committed: EventEnvelope[] = [];
          const rolledBack: string[] = [];
          let relay: OutboxRelay = newRelay();
          for (const s of steps) {
            switch (s.kind) {
              case 'add': {
                const events = s.keys.map((k) => thing(k ?? undefined));
                try {
                  w.db.transaction(() => {
                    for (const e of events) w.db.prepare('INSERT INTO state VALUES (?)').run(e.id);
                    outbox.add(events);
                    if (!s.commit) throw new Error('rolled back');
                  })();
                  committed.push(...events);
                } catch {
                  rolledBack.push(...events.map((e) => e.id));
                }
                break;
              }
              case 'flush':
                await relay.flush();
                break;
              case 'crash-before-publish':
                await crash(false);
                break;
              case 'crash-after-publish':
                await crash(true);
                break;
              case 'restart':
                relay = newRelay();
                break;
              case 'lease-lapses':
                await clock.advance(LEASE_MS);
                break;
              case 'duplicate': {
                // The transport delivers an event a second time.
                const e = committed[s.pick % Math.max(1, committed.length)];
                if (e) await w.bus.publish(e, { ...(e.subject ? { orderingKey: e.subject } : {}) });
                break;
              }
            }
          }
          // Eventually: every lease lapses and a live relay drains the outbox.
          await clock.advance(LEASE_MS);
          await newRelay().flush();
          expect(w.db.prepare('SELECT count(*) AS n FROM sluice_outbox WHERE sent_at IS NULL').get()).toEqual(
            {
              n: 0,
            },
          );
          const effects = () =>
            consumerDb.prepare('SELECT event_id, count(*) AS n FROM effects GROUP BY event_id').all() as {
              event_id: string;
              n: number;
            }[];
          await waitFor('every effect', () => effects().length === committed.length);
          await waitFor('the consumer settled', async () =>
            (await w.bus.stats(TOPIC)).every((g) => g.pending + g.inFlight === 0),
          );
          const counts = new Map(effects().map((r) => [r.event_id, r.n]));
          for (const e of committed) expect(counts.get(e.id)).toBe(1);
          for (const id of rolledBack) expect(counts.has(id)).toBe(false);
          expect(counts.size).toBe(committed.length);
        } finally {
          await w.dispose();
        }
      }),
      { numRuns: 25 },
    );
  }, 240_000);
});
