import type { FaultInjector } from '@sluice/service';
import type { CardProcessor } from '../application/payment.store.js';
import { DEFAULT_AMOUNT_LIMIT, simulatedVerdict } from '../domain/card-processor.js';

/**
 * The card processor the shop runs against: deterministic rules (see
 * `domain/card-processor.ts`) plus whatever faults an operator injected into
 * `processor.charge` (latency, errors, hangs).
 */
export class SimulatedCardProcessor implements CardProcessor {
  constructor(private readonly options: { faults?: FaultInjector; amountLimit?: number } = {}) {}

  async charge(request: Parameters<CardProcessor['charge']>[0], signal?: AbortSignal) {
    const fault = this.options.faults?.inject('processor.charge', signal);
    if (fault) await fault;
    return simulatedVerdict(
      request.cardToken,
      request.amount,
      this.options.amountLimit ?? DEFAULT_AMOUNT_LIMIT,
    );
  }
}
