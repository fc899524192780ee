import { describe, expect, it } from 'vitest';
import { createTransport, parseEmbeddedUrl, transportKindOf } from './create-transport.js';

describe('transportKindOf', () => {
  it('maps each scheme to its transport', () => {
    expect(transportKindOf('sqlite:./data/bus.db')).toBe('embedded');
    expect(transportKindOf('embedded:/tmp/bus.db')).toBe('embedded');
    expect(transportKindOf('SQLITE:///tmp/bus.db')).toBe('embedded');
    expect(transportKindOf('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres');
    expect(transportKindOf('postgresql://127.0.0.1/test')).toBe('postgres');
    expect(transportKindOf('nats://127.0.0.1:4222')).toBe('nats');
    expect(transportKindOf('amqp://guest:guest@127.0.0.1:5672')).toBe('rabbitmq');
    expect(transportKindOf('amqps://host')).toBe('rabbitmq');
  });

  it('refuses unknown and malformed URLs with MESSAGING_INVALID_URL', () => {
    for (const bad of [
      '',
      'bus.db',
      'kafka://x',
      'sqlite:',
      'sqlite://',
      'nats://',
      'postgres:',
      'amqp:x',
      'http://x',
    ])
      expect(() => transportKindOf(bad), bad).toThrow(
        expect.objectContaining({ code: 'invalid_argument', reason: 'MESSAGING_INVALID_URL' }),
      );
    expect(() => transportKindOf(42 as never)).toThrow(
      expect.objectContaining({ reason: 'MESSAGING_INVALID_URL' }),
    );
    expect(() => transportKindOf('sqlite://remote-host/x.db')).toThrow(
      expect.objectContaining({ reason: 'MESSAGING_INVALID_URL' }),
    );
  });

  it('rejects createTransport with the same error, before loading anything', async () => {
    await expect(createTransport('kafka://x')).rejects.toMatchObject({ reason: 'MESSAGING_INVALID_URL' });
  });
});

describe('parseEmbeddedUrl', () => {
  it('reads relative, absolute and file-URL style paths and query parameters', () => {
    expect(parseEmbeddedUrl('sqlite:./data/bus.db').path).toBe('./data/bus.db');
    expect(parseEmbeddedUrl('sqlite:/tmp/bus.db').path).toBe('/tmp/bus.db');
    expect(parseEmbeddedUrl('sqlite:///tmp/bus.db').path).toBe('/tmp/bus.db');
    expect(parseEmbeddedUrl('sqlite://localhost/tmp/b%20c.db').path).toBe('/tmp/b c.db');
    const { path, params } = parseEmbeddedUrl('embedded:bus.db?synchronous=full');
    expect(path).toBe('bus.db');
    expect(params.get('synchronous')).toBe('full');
  });
});
