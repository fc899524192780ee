import type Database from 'better-sqlite3';
import type { Mailbox } from '../application/send-email.use-case.js';
import type { Email } from '../domain/email.js';

interface Row {
  message_id: string;
  recipient: string;
  subject: string;
  template_id: string;
  body_text: string;
  body_html: string;
  priority: Email['priority'];
  order_id: string | null;
  delivered_at: string;
}

/** The mailbox sink on SQLite. */
export class SqliteMailbox implements Mailbox {
  private readonly stmts;

  constructor(db: Database.Database) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO mailbox VALUES (@message_id, @recipient, @subject, @template_id, @body_text, @body_html, @priority,
           @order_id, @delivered_at) ON CONFLICT (message_id) DO NOTHING`,
      ),
      get: db.prepare<[string], Row>('SELECT * FROM mailbox WHERE message_id = ?'),
      all: db.prepare<[number], Row>('SELECT * FROM mailbox ORDER BY delivered_at DESC, rowid DESC LIMIT ?'),
      to: db.prepare<[string, number], Row>(
        'SELECT * FROM mailbox WHERE recipient = ? ORDER BY delivered_at DESC, rowid DESC LIMIT ?',
      ),
    };
  }

  async deliver(e: Email) {
    const { changes } = this.stmts.insert.run({
      message_id: e.messageId,
      recipient: e.to,
      subject: e.subject,
      template_id: e.templateId,
      body_text: e.text,
      body_html: e.html,
      priority: e.priority,
      order_id: e.orderId ?? null,
      delivered_at: e.deliveredAt.toISOString(),
    });
    return changes > 0;
  }

  async get(id: string) {
    const row = this.stmts.get.get(id);
    return row && toEmail(row);
  }

  async list({ to, limit }: { to?: string; limit: number }) {
    return (to === undefined ? this.stmts.all.all(limit) : this.stmts.to.all(to, limit)).map(toEmail);
  }
}

function toEmail(r: Row): Email {
  return {
    messageId: r.message_id,
    to: r.recipient,
    subject: r.subject,
    templateId: r.template_id,
    text: r.body_text,
    html: r.body_html,
    priority: r.priority,
    deliveredAt: new Date(r.delivered_at),
    ...(r.order_id ? { orderId: r.order_id } : {}),
  };
}
