import { assertSchemaName } from '@sluice/service';
import type pg from 'pg';
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
  delivered_at: Date;
}

/** The mailbox sink on PostgreSQL (one schema per service). */
export class PgMailbox implements Mailbox {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {
    assertSchemaName(schema);
  }

  async deliver(e: Email) {
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${this.schema}.mailbox VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (message_id) DO NOTHING`,
      [
        e.messageId,
        e.to,
        e.subject,
        e.templateId,
        e.text,
        e.html,
        e.priority,
        e.orderId ?? null,
        e.deliveredAt,
      ],
    );
    return rowCount === 1;
  }

  async get(id: string) {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.schema}.mailbox WHERE message_id = $1`,
      [id],
    );
    return rows[0] && toEmail(rows[0]);
  }

  async list({ to, limit }: { to?: string; limit: number }) {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.schema}.mailbox WHERE $1::text IS NULL OR recipient = $1
       ORDER BY delivered_at DESC, message_id DESC LIMIT $2`,
      [to ?? null, limit],
    );
    return rows.map(toEmail);
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
    deliveredAt: r.delivered_at,
    ...(r.order_id ? { orderId: r.order_id } : {}),
  };
}
