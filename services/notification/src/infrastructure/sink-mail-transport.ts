import type { FaultInjector } from '@sluice/service';
import type { MailTransport } from '../application/send-email.use-case.js';

/**
 * The shop's outgoing mail "server": accepts everything, except what an
 * operator injected into `mailer.send` (latency, transient errors, hangs) —
 * the way to drive retries and the DLQ on purpose.
 */
export class SinkMailTransport implements MailTransport {
  constructor(private readonly faults?: FaultInjector) {}

  async send(_email: unknown, signal?: AbortSignal): Promise<void> {
    const fault = this.faults?.inject('mailer.send', signal);
    if (fault) await fault;
  }
}
