import type { DescMethod, DescService } from '@bufbuild/protobuf';
import type { ServiceImpl } from './call.js';

/** A service descriptor paired with its implementation, ready to serve on grpc-js or Connect. */
export interface BoundService {
  readonly service: DescService;
  /** The implementation, by method local name; missing methods answer UNIMPLEMENTED. */
  readonly impl: Readonly<Record<string, ((...args: never[]) => unknown) | undefined>>;
}

/**
 * Pairs a protobuf-es service descriptor (`GenService`, e.g. `inventoryV1.InventoryService`)
 * with a typed implementation.
 *
 * @example
 * ```ts
 * const inventory = bindService(inventoryV1.InventoryService, {
 *   checkAvailability: (req) => ({ productId: req.productId, available: true, currentStock: 5 }),
 * });
 * ```
 */
export function bindService<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): BoundService {
  const bound: Record<string, ((...args: never[]) => unknown) | undefined> = {};
  for (const m of service.methods) {
    const fn = (impl as Record<string, unknown>)[m.localName];
    bound[m.localName] =
      typeof fn === 'function' ? (fn.bind(impl) as (...args: never[]) => unknown) : undefined;
  }
  return { service, impl: bound };
}

/** The kind of a method, in the names this package uses. */
export type MethodKind = DescMethod['methodKind'];
