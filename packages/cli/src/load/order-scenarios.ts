import { randomUUID } from 'node:crypto';
import { isSluiceError } from '@sluice/errors';
import type { ShopApi } from '../shop-api.js';
import type { Scenario } from './order-mix.js';

/** Options of {@link orderScenarios}. */
export interface ScenarioOptions {
  /** Products good orders pick from (default: the seeded everyday products). */
  readonly products?: readonly string[];
  /** The product out-of-stock orders ask too much of. Default `limited`. */
  readonly scarceProduct?: string;
  /** How long to wait for an order to end, in ms. Default 30 000. */
  readonly settleTimeoutMs?: number;
}

const EVERYDAY = [
  'kettle',
  'mug',
  'grinder',
  'beans',
  'press',
  'scale',
  'filter',
  'dripper',
  'teapot',
  'tea',
  'tray',
];

/**
 * The scenarios of `sluice load`: each places an order through the public
 * edge and follows it to its end, returning an outcome label:
 * `confirmed`, `cancelled:<reason>`, `duplicate-ok` (a repeated request got the
 * same order), `duplicate-mismatch` (it did not: a bug), `timeout`.
 */
export function orderScenarios(api: ShopApi, options: ScenarioOptions = {}) {
  const products = options.products ?? EVERYDAY;
  const settleTimeoutMs = options.settleTimeoutMs ?? 30_000;
  let n = 0;
  const pick = () => products[n++ % products.length] as string;

  const settle = async (id: string): Promise<string> => {
    const order = await api.awaitEnd(id, settleTimeoutMs);
    if (order.status === 'pending') return 'timeout';
    return order.status === 'confirmed' ? 'confirmed' : `cancelled:${order.reason ?? 'unknown'}`;
  };

  return async (scenario: Scenario, index: number): Promise<string> => {
    const customerId = `load-${index % 100}`;
    const key = randomUUID();
    switch (scenario) {
      case 'good':
        return settle(
          (
            await api.placeOrder(
              { customerId, items: [{ productId: pick(), quantity: 1 }], payment: { cardToken: 'tok_ok' } },
              key,
            )
          ).id,
        );
      case 'declined-card':
        return settle(
          (
            await api.placeOrder(
              {
                customerId,
                items: [{ productId: pick(), quantity: 1 }],
                payment: { cardToken: 'tok_declined' },
              },
              key,
            )
          ).id,
        );
      case 'out-of-stock':
        return settle(
          (
            await api.placeOrder(
              {
                customerId,
                items: [{ productId: options.scarceProduct ?? 'limited', quantity: 10_000 }],
                payment: { cardToken: 'tok_ok' },
              },
              key,
            )
          ).id,
        );
      case 'duplicate-request': {
        const body = {
          customerId,
          items: [{ productId: pick(), quantity: 1 }],
          payment: { cardToken: 'tok_ok' },
        };
        const first = await api.placeOrder(body, key);
        const second = await api.placeOrder(body, key).catch((e: unknown) => {
          // 409: the first is still being processed under this key; that is deduplication too.
          if (isSluiceError(e) && (e.code === 'aborted' || e.code === 'already_exists')) return first;
          throw e;
        });
        if (second.id !== first.id) return 'duplicate-mismatch';
        const end = await settle(first.id);
        return end === 'confirmed' ? 'duplicate-ok' : `duplicate-${end}`;
      }
    }
  };
}
