import type { Amount, ProcessorVerdict } from './payment.js';

/**
 * The simulated card processor's deterministic rules, so both happy and
 * failing paths can be driven on purpose:
 *
 * | card token                 | verdict                                  |
 * | -------------------------- | ---------------------------------------- |
 * | `tok_declined`             | declined, `card_declined`                |
 * | `tok_insufficient_funds`   | declined, `insufficient_funds`           |
 * | any, amount > the limit    | declined, `amount_over_limit`            |
 * | anything else (`tok_ok`)   | approved                                 |
 */
export const DEFAULT_AMOUNT_LIMIT = 1_000_000; // 10,000.00 in minor units

/** Decides a charge by the rules above. */
export function simulatedVerdict(
  cardToken: string,
  amount: Amount,
  limit = DEFAULT_AMOUNT_LIMIT,
): ProcessorVerdict {
  if (cardToken === 'tok_declined') return { approved: false, declineCode: 'card_declined' };
  if (cardToken === 'tok_insufficient_funds') return { approved: false, declineCode: 'insufficient_funds' };
  if (amount.amount > limit) return { approved: false, declineCode: 'amount_over_limit' };
  return { approved: true };
}
