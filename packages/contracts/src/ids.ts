import { Type } from '@sinclair/typebox';

/** An identifier: 1–128 printable characters without spaces (UUIDs, `ord_…`, SKUs). */
export const IdSchema = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' });

/** A quantity of units: an integer from 1 to 10,000. */
export const QuantitySchema = Type.Integer({ minimum: 1, maximum: 10_000 });

/** An RFC 3339 timestamp with a time zone, as `Date.prototype.toISOString()` writes. */
export const TimestampSchema = Type.String({
  maxLength: 40,
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$',
});

/** A short free text (reasons, messages): at most 1,000 characters. */
export const ShortTextSchema = Type.String({ maxLength: 1000 });
