/**
 * `@sluice/contracts`: the shop's wire contracts — protobuf services (compiled
 * by buf into `src/gen/`) and CloudEvents event schemas (TypeBox, exported as
 * JSON Schema).
 *
 * @example
 * ```ts
 * import { createEnvelope, createShopEventRegistry, money } from '@sluice/contracts';
 * const registry = createShopEventRegistry();
 * const event = createEnvelope({ type: 'order.confirmed', source: 'order', subject: 'o-1',
 *   data: { orderId: 'o-1', customerId: 'c-1', total: money(1999, 'USD') } });
 * registry.assertValid(event); // throws SluiceError(invalid_argument) listing every bad field
 * ```
 */

export type { EventData, EventDefinition } from './define-event.js';
export { defineEvent } from './define-event.js';
export type { EnvelopeInput, EventEnvelope } from './envelope.js';
export {
  createEnvelope,
  dataSchemaUri,
  EnvelopeSchema,
  EVENT_TYPE_PATTERN,
  parseDataSchemaUri,
  TRACEPARENT_PATTERN,
} from './envelope.js';
export type { EventRegistry, EventValidation } from './event-registry.js';
export { createEventRegistry } from './event-registry.js';
export {
  InventoryReleased,
  InventoryReservationFailed,
  InventoryReserved,
  StockLineSchema,
} from './events/inventory-events.js';
export { EmailSend, NotificationSent, PrioritySchema } from './events/notification-events.js';
export { OrderCancelled, OrderConfirmed, OrderLineSchema, OrderPlaced } from './events/order-events.js';
export { PaymentFailed, PaymentProcessed, PaymentRefunded } from './events/payment-events.js';
// Generated protobuf messages and service descriptors, one namespace per package.
export * as inventoryV1 from './gen/sluice/inventory/v1/inventory_pb.js';
export * as paymentV1 from './gen/sluice/payment/v1/payment_pb.js';
export { IdSchema, QuantitySchema, ShortTextSchema, TimestampSchema } from './ids.js';
export { jsonSchemas } from './json-schemas.js';
export type { Currency, Money } from './money.js';
export { CURRENCIES, MAX_MINOR_UNITS, MoneySchema, money } from './money.js';
export { assertValidRequest, decodeMessage, requestViolations } from './proto-validation.js';
export { ContractsReasons } from './reasons.js';
export type { SchemaResult } from './schema-validation.js';
export { checkSchema } from './schema-validation.js';
export { createShopEventRegistry, shopEvents } from './shop-events.js';
