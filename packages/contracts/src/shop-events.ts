import type { EventDefinition } from './define-event.js';
import { createEventRegistry, type EventRegistry } from './event-registry.js';
import {
  InventoryReleased,
  InventoryReservationFailed,
  InventoryReserved,
} from './events/inventory-events.js';
import { EmailSend, NotificationSent } from './events/notification-events.js';
import { OrderCancelled, OrderConfirmed, OrderPlaced } from './events/order-events.js';
import { PaymentFailed, PaymentProcessed, PaymentRefunded } from './events/payment-events.js';

/** Every event (and the `email.send` command) of the shop. */
export const shopEvents: readonly EventDefinition[] = Object.freeze([
  OrderPlaced,
  OrderConfirmed,
  OrderCancelled,
  InventoryReserved,
  InventoryReservationFailed,
  InventoryReleased,
  PaymentProcessed,
  PaymentFailed,
  PaymentRefunded,
  NotificationSent,
  EmailSend,
]);

/** A registry of {@link shopEvents}. */
export function createShopEventRegistry(): EventRegistry {
  return createEventRegistry(shopEvents);
}
