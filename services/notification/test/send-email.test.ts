import { fileURLToPath } from 'node:url';
import { isSluiceError } from '@sluice/errors';
import { createFaultInjector, loadMigrations, migratePostgres, migrateSqlite } from '@sluice/service';
import { tempPgSchemas } from '@sluice/testing';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type Mailbox, SendEmail } from '../src/application/send-email.use-case.js';
import { assertDeliverable, PermanentEmailError } from '../src/domain/email.js';
import { render } from '../src/domain/templates.js';
import { PgMailbox } from '../src/infrastructure/pg-mailbox.js';
import { SinkMailTransport } from '../src/infrastructure/sink-mail-transport.js';
import { SqliteMailbox } from '../src/infrastructure/sqlite-mailbox.js';

const dir = (kind: string) => fileURLToPath(new URL(`../migrations/${kind}`, import.meta.url));
const pgs = tempPgSchemas();
const pool = pgs.pool;
afterAll(() => pgs.dispose());

const mailboxes: [string, () => Promise<Mailbox>][] = [
  [
    'SQLite',
    async () => {
      const db = new Database(':memory:');
      migrateSqlite(db, loadMigrations(dir('sqlite')));
      return new SqliteMailbox(db);
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const schema = await pgs.create('notification_test');
      await migratePostgres(pool, schema, loadMigrations(dir('postgres')));
      return new PgMailbox(pool, schema);
    },
  ],
];

const request = (over: Record<string, unknown> = {}) => ({
  messageId: 'm1',
  to: 'ada@example.com',
  subject: 'Your order',
  templateId: 'order-confirmed',
  templateData: { customerId: 'ada', orderId: 'o1', total: '$25.99' },
  ...over,
});

describe.each(mailboxes)('SendEmail with a mailbox on %s', (_name, makeMailbox) => {
  let mailbox: Mailbox;
  let send: SendEmail;
  const faults = createFaultInjector();
  beforeEach(async () => {
    mailbox = await makeMailbox();
    faults.clear();
    send = new SendEmail({ mailbox, transport: new SinkMailTransport(faults), now: () => new Date() });
  });

  it('renders and delivers once per message id', async () => {
    const first = await send.execute(request());
    const again = await send.execute(request());
    expect(first.sent).toBe(true);
    expect(again.sent).toBe(false);
    expect(first.email.text).toContain('your order o1 is confirmed. Total: $25.99.');
    expect(await mailbox.list({ to: 'ada@example.com', limit: 10 })).toHaveLength(1);
    expect((await mailbox.get('m1'))?.orderId).toBe('o1');
  });

  it('fails permanently on a bad address, unknown template or missing data, delivering nothing', async () => {
    for (const bad of [
      { to: 'not-an-address' },
      { to: 'ghost@nowhere.invalid' },
      { templateId: 'nope' },
      { templateData: { orderId: 'o1' } },
    ]) {
      await expect(send.execute(request(bad))).rejects.toBeInstanceOf(PermanentEmailError);
    }
    expect(await mailbox.list({ limit: 10 })).toEqual([]);
  });

  it('fails transiently when the mail server does, so a retry can deliver', async () => {
    faults.add({ target: 'mailer.send', kind: 'error' });
    const err = await send.execute(request()).catch((e: unknown) => e);
    expect(isSluiceError(err) && err.retryable).toBe(true);
    expect(await mailbox.get('m1')).toBeUndefined();
    faults.clear();
    expect((await send.execute(request())).sent).toBe(true);
  });
});

describe('templates and addresses', () => {
  it('escapes every value in the HTML body', () => {
    const { html } = render({
      templateId: 'plain',
      templateData: { body: '<script>alert("x")</script> & co' },
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;');
  });

  it('either accepts an address or refuses it permanently, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.emailAddress()), (to) => {
        try {
          assertDeliverable(to);
          expect(to).toContain('@');
        } catch (e) {
          expect(e).toBeInstanceOf(PermanentEmailError);
        }
      }),
    );
  });
});
