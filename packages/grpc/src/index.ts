/**
 * `@sluice/grpc`: gRPC servers and clients for protobuf-es services. grpc-js
 * carries service-to-service calls (standard gRPC over HTTP/2); Connect serves
 * the same implementations at the edge (Connect JSON for `curl`, gRPC-Web for
 * browsers). Deadlines travel as `grpc-timeout` and become the handler's
 * current deadline; errors are SluiceErrors both ways with details in
 * `grpc-status-details-bin`; one interceptor shape on both sides.
 *
 * @example
 * ```ts
 * import { inventoryV1 } from '@sluice/contracts';
 * import { createGrpcChannel, createGrpcClient, createGrpcServer } from '@sluice/grpc';
 *
 * const server = createGrpcServer();
 * server.add(inventoryV1.InventoryService, {
 *   checkAvailability: (req) => ({ productId: req.productId, available: true, currentStock: 7 }),
 * });
 * const port = await server.listen();
 * const inventory = createGrpcClient(inventoryV1.InventoryService, createGrpcChannel({ address: `127.0.0.1:${port}` }));
 * await inventory.checkAvailability({ productId: 'sku-1', quantity: 1 }, { timeoutMs: 500 });
 * ```
 */

// Exports by module (kept sorted by the formatter). Start with createGrpcServer, createGrpcChannel,
// createGrpcClient, createConnectHandler and the interceptors; grpcServiceDefinition, toWireStatus /
// fromWireStatus and toConnectError are extension points.
export type { BoundService } from './bound-service.js';
export { bindService } from './bound-service.js';
export type {
  BiDiStreamingImpl,
  CallContext,
  CallHandler,
  CallRequest,
  CallResponse,
  ClientStreamingImpl,
  Interceptor,
  MethodImpl,
  Protocol,
  ServerStreamingImpl,
  ServiceImpl,
  StreamCallRequest,
  StreamCallResponse,
  UnaryCallRequest,
  UnaryCallResponse,
  UnaryImpl,
} from './call.js';
export { applyInterceptors } from './call.js';
export type { ConnectHandlerOptions, NodeHandler } from './connect-handler.js';
export { createConnectHandler, toConnectError } from './connect-handler.js';
export type { TrailerReader, WireDetail, WireStatus } from './error-details.js';
export {
  ERROR_DOMAIN,
  fromWireStatus,
  PUSHBACK_KEY,
  REASON_KEY,
  STATUS_DETAILS_KEY,
  toWireStatus,
} from './error-details.js';
export type {
  ClientKeepaliveOptions,
  ClientTlsOptions,
  GrpcChannel,
  GrpcChannelOptions,
} from './grpc-channel.js';
export { CLIENT_KEEPALIVE_DEFAULTS, createGrpcChannel } from './grpc-channel.js';
export type { CallOptions, ClientMethod, GrpcClient, GrpcClientOptions } from './grpc-client.js';
export { createGrpcClient } from './grpc-client.js';
export type {
  GrpcServer,
  GrpcServerOptions,
  ServerKeepaliveOptions,
  ServerTlsOptions,
} from './grpc-server.js';
export { createGrpcServer, SERVER_KEEPALIVE_DEFAULTS } from './grpc-server.js';
export type { GrpcServiceAdapter, GrpcServiceDefinitionOptions } from './grpc-service-definition.js';
export { grpcServiceDefinition } from './grpc-service-definition.js';
export type { BearerAuthOptions } from './interceptors/bearer-auth-interceptor.js';
export { bearerAuthInterceptor, bearerTokenInterceptor } from './interceptors/bearer-auth-interceptor.js';
export { resilienceInterceptor } from './interceptors/resilience-interceptor.js';
export type { TracingOptions } from './interceptors/tracing-interceptor.js';
export { tracingInterceptor } from './interceptors/tracing-interceptor.js';
export type { GrpcReason } from './reasons.js';
export { GrpcReasons } from './reasons.js';
export type { RequestValidator } from './wire.js';
export { contractsValidator } from './wire.js';
