import { type Static, Type } from '@sinclair/typebox';

/**
 * ISO 4217 currencies the shop accepts. A closed list: an unknown currency is a
 * validation error, not a silent pass-through.
 */
export const CURRENCIES = [
  'USD',
  'EUR',
  'GBP',
  'CHF',
  'JPY',
  'CAD',
  'AUD',
  'SEK',
  'NOK',
  'DKK',
  'PLN',
] as const;

/** One of {@link CURRENCIES}. */
export type Currency = (typeof CURRENCIES)[number];

/** Largest amount in minor units a schema accepts (10^12 cents, far below 2^53). */
export const MAX_MINOR_UNITS = 1_000_000_000_000;

/** Money: an integer amount of minor units (cents) and a currency. Never a float. */
export const MoneySchema = Type.Object(
  {
    /** Integer minor units (cents), 0 … {@link MAX_MINOR_UNITS}. */
    amount: Type.Integer({ minimum: 0, maximum: MAX_MINOR_UNITS }),
    currency: Type.Union(
      CURRENCIES.map((c) => Type.Literal(c)),
      { description: 'ISO 4217 code' },
    ),
  },
  { $id: 'Money', additionalProperties: false },
);

/** Money value type. */
export type Money = Static<typeof MoneySchema>;

/** Builds a Money value; throws a RangeError for a non-integer or negative amount. */
export function money(amount: number, currency: Currency): Money {
  if (!Number.isSafeInteger(amount) || amount < 0 || amount > MAX_MINOR_UNITS) {
    throw new RangeError(
      `money amount must be an integer of minor units in [0, ${MAX_MINOR_UNITS}], got ${amount}`,
    );
  }
  return { amount, currency };
}
