import pg from 'pg';

/** Settings of a {@link PostgresListener}. */
export interface PostgresListenerSettings {
  /** Connection settings (the transport's, without its own query parameters). */
  readonly connection: pg.ClientConfig;
  /** The channel to `LISTEN` on (one per schema). */
  readonly channel: string;
  /** Called with the payload of each notification (a topic name). */
  readonly onNotify: (topic: string) => void;
  /**
   * Called after a reconnection: notifications sent while the connection was
   * down are lost, so every consumer should look for work.
   */
  readonly onReconnect: () => void;
  /** First delay before reconnecting, in ms; doubles up to `maxReconnectMs`. */
  readonly minReconnectMs: number;
  readonly maxReconnectMs: number;
}

/**
 * The dedicated connection that `LISTEN`s on the schema's channel. PostgreSQL
 * delivers a `NOTIFY` when the transaction that sent it commits, so a woken
 * consumer always finds the rows. The connection is kept outside the pool (a
 * pooled client would stop listening when released) and reconnects with a
 * backoff when it drops; consumers fall back to polling meanwhile.
 */
export class PostgresListener {
  private client: pg.Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private delayMs: number;

  constructor(private readonly settings: PostgresListenerSettings) {
    this.delayMs = settings.minReconnectMs;
  }

  /** Whether the LISTEN connection is up now. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Connects and listens; rejects when the first connection fails. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.settings.connection);
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      this.scheduleReconnect();
    };
    // A connection error is reported here (and by 'end'); without a listener it would crash the process.
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (msg) => {
      if (msg.payload) this.settings.onNotify(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.settings.channel}"`);
    } catch (e) {
      dropped = true;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      throw e;
    }
    if (this.closed) {
      dropped = true;
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.delayMs = this.settings.minReconnectMs;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.settings.maxReconnectMs, this.delayMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().then(
        () => {
          if (!this.closed) this.settings.onReconnect();
        },
        () => this.scheduleReconnect(),
      );
    }, delay);
    this.reconnectTimer.unref?.();
  }

  /** Stops listening and reconnecting. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      client.removeAllListeners('notification');
      await client.end().catch(() => {});
    }
  }
}
