import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { servers } from '../servers.js';

// Proves that .ci/run started each server the integration tests depend on.
describe('local servers', () => {
  it('PostgreSQL answers a query', async () => {
    const client = new pg.Client({ connectionString: servers.postgres });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>('select 41 + 1 as n');
      expect(rows[0]?.n).toBe(42);
    } finally {
      await client.end();
    }
  });

  it('RabbitMQ routes a message through a queue', async () => {
    const conn = await amqp.connect(servers.amqp);
    try {
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(queue, Buffer.from('ping'));
      let msg: amqp.GetMessage | false = false;
      for (let i = 0; i < 50 && !msg; i++) {
        msg = await ch.get(queue, { noAck: true });
        if (!msg) await new Promise((r) => setTimeout(r, 20));
      }
      expect(msg ? msg.content.toString() : undefined).toBe('ping');
    } finally {
      await conn.close();
    }
  });

  it('NATS has JetStream enabled', async () => {
    const nc = await natsConnect({ servers: servers.nats });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.getAccountInfo();
      expect(info.limits).toBeDefined();
    } finally {
      await nc.close();
    }
  });
});
