import { assertDeliverable, type Email, type EmailRequest } from '../domain/email.js';
import { render } from '../domain/templates.js';

/** Where delivered mail goes: the mailbox sink the operator can browse. */
export interface Mailbox {
  /** Stores a delivered email once per message id; returns false if it was there already. */
  deliver(email: Email): Promise<boolean>;
  /** Newest first. */
  list(options: { to?: string; limit: number }): Promise<Email[]>;
  get(messageId: string): Promise<Email | undefined>;
}

/** The outgoing mail server port (the sink in the shop, SMTP in real life). */
export interface MailTransport {
  /** Sends; rejects with a retryable error for a transient failure. */
  send(email: Email, signal?: AbortSignal): Promise<void>;
}

/**
 * Sends one email: checks the address, renders the template, hands it to the
 * transport and records it in the mailbox, once per message id (a
 * redelivered command sends nothing twice).
 *
 * @throws PermanentEmailError for a bad address, unknown template or missing data
 */
export class SendEmail {
  constructor(private readonly deps: { mailbox: Mailbox; transport: MailTransport; now: () => Date }) {}

  async execute(request: EmailRequest, signal?: AbortSignal): Promise<{ email: Email; sent: boolean }> {
    const already = await this.deps.mailbox.get(request.messageId);
    if (already) return { email: already, sent: false };
    assertDeliverable(request.to);
    const { text, html } = render(request);
    const orderId = request.templateData.orderId;
    const email: Email = {
      messageId: request.messageId,
      to: request.to,
      subject: request.subject,
      templateId: request.templateId,
      text,
      html,
      priority: request.priority ?? 'normal',
      deliveredAt: this.deps.now(),
      ...(typeof orderId === 'string' ? { orderId } : {}),
    };
    await this.deps.transport.send(email, signal);
    const sent = await this.deps.mailbox.deliver(email);
    return { email, sent };
  }
}
