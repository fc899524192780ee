/** Reasons raised by `@sluice/contracts` when an event or a protobuf message is malformed. */
export const ContractsReasons = {
  /** An event envelope or its data failed its schema; `details.violations` lists every field. */
  CONTRACTS_INVALID_EVENT: 'CONTRACTS_INVALID_EVENT',
  /** An event's `type` (or its schema version) is not declared in the registry. */
  CONTRACTS_UNKNOWN_EVENT_TYPE: 'CONTRACTS_UNKNOWN_EVENT_TYPE',
  /** Bytes that do not decode as the expected protobuf message. */
  CONTRACTS_INVALID_PROTOBUF: 'CONTRACTS_INVALID_PROTOBUF',
  /** A decoded protobuf request violates its field rules (empty id, quantity below 1, …). */
  CONTRACTS_INVALID_MESSAGE: 'CONTRACTS_INVALID_MESSAGE',
} as const;
