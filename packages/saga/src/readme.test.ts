import { SluiceError } from '@sluice/errors';
import { describe, expect, it } from 'vitest';
import { createOrchestrator, createSqliteSagaStore, defineSaga, sagaSteps } from './index.js';

// The README's example, run as written (imports from the package index).
describe('README example', () => {
  it('completes an order, compensates a declined one, and shows the history', async () => {
    interface OrderInput {
      orderId: string;
      amount: number; // cents
      card: string;
    }

    // Stand-ins for the inventory, payment, notification and order services.
    const log: string[] = [];
    const inventory = {
      reserve: (key: string) => {
        log.push(`reserve ${key}`);
        return { reservationId: `r-${key}` };
      },
      release: (id: string) => void log.push(`release ${id}`),
    };
    const payments = {
      charge: (key: string, amount: number, card: string) => {
        if (card === 'tok_declined') {
          throw new SluiceError({
            code: 'failed_precondition',
            reason: 'PAYMENT_DECLINED',
            message: 'card declined',
          });
        }
        log.push(`charge ${amount}`);
        return { paymentId: `p-${key}` };
      },
      refund: (paymentId: string) => void log.push(`refund ${paymentId}`),
    };

    const orderSaga = defineSaga({
      name: 'order',
      steps: sagaSteps<OrderInput>()
        .step('reserve', {
          execute: ({ idempotencyKey }) => inventory.reserve(idempotencyKey),
          compensate: ({ output }) => inventory.release(output.reservationId),
        })
        .step('charge', {
          retry: { maxAttempts: 5 },
          timeoutMs: 2_000,
          execute: ({ input, idempotencyKey }) => payments.charge(idempotencyKey, input.amount, input.card),
          compensate: ({ output }) => payments.refund(output.paymentId),
        })
        .step('notify', {
          critical: false, // a failed e-mail does not cancel the order
          execute: ({ input }) => void log.push(`mail ${input.orderId}`),
        })
        .step('confirm', {
          // typed data flow: results.charge is { paymentId: string }
          execute: ({ input, results }) =>
            void log.push(`confirm ${input.orderId} ${results.charge.paymentId}`),
        }),
    });

    const store = createSqliteSagaStore({ path: ':memory:' }); // a file path in real use
    await store.migrate();
    const orchestrator = createOrchestrator({ store, sagas: [orderSaga] });
    orchestrator.run(); // heartbeats + recovery of unfinished sagas

    await orchestrator.start(
      orderSaga,
      { orderId: 'o-1', amount: 1999, card: 'tok_ok' },
      { sagaId: 'order-o-1' },
    );
    const ok = await orchestrator.wait('order-o-1'); // ok.state === 'completed'

    await orchestrator.start(
      orderSaga,
      { orderId: 'o-2', amount: 500, card: 'tok_declined' },
      { sagaId: 'order-o-2' },
    );
    const failed = await orchestrator.wait('order-o-2'); // 'failed', reason PAYMENT_DECLINED
    // log: … 'reserve order-o-2:reserve', 'release r-order-o-2:reserve' (reserve undone; charge never happened)

    const { steps, history } = await orchestrator.inspect('order-o-2'); // every step, attempt, timing and error
    await orchestrator.close();
    await store.close();

    expect(ok.state).toBe('completed');
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ reason: 'PAYMENT_DECLINED', step: 'charge' });
    expect(log).toEqual([
      'reserve order-o-1:reserve',
      'charge 1999',
      'mail o-1',
      'confirm o-1 p-order-o-1:charge',
      'reserve order-o-2:reserve',
      'release r-order-o-2:reserve',
    ]);
    expect(steps.map((s) => [s.step, s.status])).toEqual([
      ['reserve', 'compensated'],
      ['charge', 'failed'],
    ]);
    expect(history.map((h) => h.event)).toEqual([
      'started',
      'attempt_failed',
      'compensating',
      'compensated',
      'failed',
    ]);
  });
});
