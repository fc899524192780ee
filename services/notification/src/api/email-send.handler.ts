import type { EventEnvelope } from '@sluice/contracts';
import { SluiceError } from '@sluice/errors';
import type { SendEmail } from '../application/send-email.use-case.js';
import { type EmailRequest, PermanentEmailError } from '../domain/email.js';

/**
 * The `email.send` work-queue handler: a permanent failure (bad address,
 * unknown template, missing data) is a non-retryable `SluiceError`, so the bus
 * sends the message to the DLQ at once with that reason; a transient one
 * (the mail server) is retried with backoff, then dead-lettered.
 */
export function emailSendHandler(sendEmail: SendEmail) {
  return async (event: EventEnvelope<EmailRequest>): Promise<void> => {
    try {
      await sendEmail.execute(event.data);
    } catch (err) {
      if (err instanceof PermanentEmailError) {
        throw new SluiceError({
          code: 'invalid_argument',
          reason: err.reason,
          message: err.message,
          retryable: false,
          cause: err,
        });
      }
      throw err;
    }
  };
}
