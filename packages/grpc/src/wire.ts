import { create, type DescMessage, isMessage, type MessageShape, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { ContractsReasons, decodeMessage, requestViolations } from '@sluice/contracts';
import { type FieldViolation, SluiceError } from '@sluice/errors';

/** Checks a decoded request; returns every violated field (empty when valid). */
export type RequestValidator = (message: { readonly $typeName: string }) => readonly FieldViolation[];

/** The default validator: the field rules of `@sluice/contracts` (`requestViolations`). */
export const contractsValidator: RequestValidator = requestViolations;

/** A view of a Uint8Array as a Buffer, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Encodes a message or its init shape. */
export function encode(schema: DescMessage, value: unknown): Buffer {
  const message = isMessage(value, schema) ? value : create(schema, value as never);
  return asBuffer(toBinary(schema, message));
}

/**
 * Decodes a request and checks its fields. Malformed bytes and violated
 * fields both throw a SluiceError `invalid_argument` listing the fields.
 */
export function decodeRequest<D extends DescMessage>(
  schema: D,
  bytes: Uint8Array,
  validator: RequestValidator | undefined,
): MessageShape<D> {
  const message = decodeMessage(schema, bytes);
  if (validator !== undefined) {
    const violations = validator(message as { readonly $typeName: string });
    if (violations.length > 0) throw invalidMessage(schema.typeName, violations);
  }
  return message;
}

/** The error for a request that decoded but breaks its field rules. */
export function invalidMessage(typeName: string, violations: readonly FieldViolation[]): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: ContractsReasons.CONTRACTS_INVALID_MESSAGE,
    message: `invalid ${typeName}: ${violations.map((x) => `${x.field}: ${x.message}`).join('; ')}`,
    details: { violations },
  });
}

// Headers that belong to the transport, never copied into or out of user metadata.
const RESERVED = new Set(['content-type', 'te', 'user-agent', 'host', 'connection', 'content-length']);

function isReserved(key: string): boolean {
  return (
    RESERVED.has(key) ||
    key.charCodeAt(0) === 58 /* ':' */ ||
    (key.startsWith('grpc-') && key !== 'grpc-status-details-bin' && key !== 'grpc-retry-pushback-ms')
  );
}

/** grpc-js metadata as `Headers` (`-bin` values base64, as on the HTTP/2 wire). */
export function metadataToHeaders(md: grpc.Metadata | undefined): Headers {
  const h = new Headers();
  if (md === undefined) return h;
  const map = md.toJSON();
  for (const key in map) {
    if (isReserved(key)) continue;
    for (const v of map[key] ?? []) h.append(key, typeof v === 'string' ? v : v.toString('base64'));
  }
  return h;
}

/** Copies `Headers` into grpc-js metadata (`-bin` values decoded from base64). */
export function headersToMetadata(h: Headers, md: grpc.Metadata = new grpc.Metadata()): grpc.Metadata {
  h.forEach((value, key) => {
    if (isReserved(key)) return;
    if (key.endsWith('-bin')) {
      // Headers joins repeated values with ", ".
      for (const part of value.split(/,\s*/)) if (part) md.add(key, Buffer.from(part, 'base64'));
    } else md.add(key, value);
  });
  return md;
}
