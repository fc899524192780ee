import type { Bus } from '@sluice/messaging';
import type { EmailCommand, NotificationPort } from '../application/order-flow.ports.js';

/**
 * The saga's notification port: one `email.send` command on the work queue
 * per message id. The command's event id is the message id, so a step re-run
 * sends a duplicate the notification service recognises and drops.
 */
export class BusNotifier implements NotificationPort {
  constructor(private readonly bus: Bus) {}

  async send(command: EmailCommand): Promise<void> {
    const event = this.bus.event({
      type: 'email.send',
      id: eventIdOf(command.messageId),
      data: { ...command },
    });
    await this.bus.send('email.send', event, { priority: command.priority });
  }
}

// Event ids are ids (letters, digits, . _ : @ -); message ids from saga keys already are.
function eventIdOf(messageId: string): string {
  return messageId.replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, 128);
}
