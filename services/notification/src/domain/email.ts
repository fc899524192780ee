/** A command to send one email (the `email.send` work-queue message's data). */
export interface EmailRequest {
  readonly messageId: string;
  readonly to: string;
  readonly subject: string;
  readonly templateId: string;
  readonly templateData: Readonly<Record<string, unknown>>;
  readonly priority?: 'high' | 'normal' | 'low';
  readonly scheduledAt?: string;
}

/** A rendered email, as the mailbox keeps it. */
export interface Email {
  readonly messageId: string;
  readonly to: string;
  readonly subject: string;
  readonly templateId: string;
  readonly text: string;
  readonly html: string;
  readonly priority: 'high' | 'normal' | 'low';
  readonly deliveredAt: Date;
  /** The order it is about, when the template data names one. */
  readonly orderId?: string;
}

/**
 * A failure that no retry can fix (bad address, unknown template, missing
 * template data): the message goes to the dead-letter queue at once.
 */
export class PermanentEmailError extends Error {
  constructor(
    readonly reason:
      | 'NOTIFICATION_INVALID_ADDRESS'
      | 'NOTIFICATION_UNKNOWN_TEMPLATE'
      | 'NOTIFICATION_TEMPLATE_DATA',
    message: string,
  ) {
    super(message);
  }
}

// Local part and domain as most mail systems accept them; no quoted local parts or IP literals.
const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/**
 * Checks a recipient. A malformed address, or one at the `.invalid` test
 * domain (RFC 2606: guaranteed never to exist), is a permanent failure.
 */
export function assertDeliverable(to: string): void {
  if (!ADDRESS.test(to) || to.includes('..')) {
    throw new PermanentEmailError(
      'NOTIFICATION_INVALID_ADDRESS',
      `not an email address: ${JSON.stringify(to.slice(0, 80))}`,
    );
  }
  if (/\.invalid$/i.test(to)) {
    throw new PermanentEmailError('NOTIFICATION_INVALID_ADDRESS', `no such mailbox: ${to}`);
  }
}
