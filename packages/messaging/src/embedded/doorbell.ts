import dgram from 'node:dgram';
import type Database from 'better-sqlite3';

/**
 * How long a topic's registered ports are reused before being read again, in
 * ms. A consumer that registers meanwhile is found by its own first claim and
 * its fast initial polls.
 */
const PORT_CACHE_MS = 100;

/**
 * The cross-process wake-up of the embedded transport: every transport that
 * consumes binds one UDP socket on 127.0.0.1 and registers its port for each
 * topic it consumes in `sluice_doorbells`. After a commit that makes work
 * available on a topic (publish, retry, replay, the settling of an
 * ordering-keyed message), the writer sends a tiny datagram (the topic name)
 * to every registered port. A receiver claims at once instead of waiting for
 * its next poll. Datagrams are a hint, never the source of truth: a lost one
 * costs latency (the adaptive poll catches up), never a message.
 */
export class Doorbell {
  private socket: dgram.Socket | undefined;
  private port = 0;
  private readonly topics = new Map<string, number>();
  private readonly pending = new Set<string>();
  private ringScheduled = false;
  private closed = false;
  private readonly portCache = new Map<string, { ports: number[]; at: number }>();

  constructor(
    private readonly db: Database.Database,
    private readonly portsOf: (topic: string) => number[],
    private readonly onRing: (topic: string) => void,
  ) {}

  /** Starts listening (once) and registers this process's port for `topic`. */
  async register(topic: string): Promise<void> {
    if (this.closed) return;
    if (this.socket === undefined) {
      const socket = dgram.createSocket('udp4');
      this.socket = socket;
      socket.on('message', (msg) => this.onRing(msg.toString('utf8')));
      // Errors (e.g. ICMP unreachable from a dead peer's port) are not ours to act on.
      socket.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve();
        });
      });
      socket.unref();
      this.port = socket.address().port;
      this.pruneDead();
    }
    const n = this.topics.get(topic) ?? 0;
    this.topics.set(topic, n + 1);
    if (n === 0)
      this.db
        .prepare('INSERT OR REPLACE INTO sluice_doorbells (topic, port, pid) VALUES (?, ?, ?)')
        .run(topic, this.port, process.pid);
  }

  /** Drops one registration of `topic` (the last one deletes the row). */
  unregister(topic: string): void {
    const n = this.topics.get(topic) ?? 0;
    if (n <= 1) {
      this.topics.delete(topic);
      if (this.port !== 0 && !this.closed) {
        try {
          this.db.prepare('DELETE FROM sluice_doorbells WHERE topic = ? AND port = ?').run(topic, this.port);
        } catch {
          // A busy database: the stale row only costs a datagram to a closed port until it is pruned.
        }
      }
    } else this.topics.set(topic, n - 1);
  }

  /**
   * Rings every other registered consumer of `topic`, once per tick however
   * many commits asked for it.
   */
  ring(topic: string): void {
    if (this.closed) return;
    this.pending.add(topic);
    if (this.ringScheduled) return;
    this.ringScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.ringScheduled = false;
    if (this.closed) return;
    for (const topic of this.pending) {
      let ports: number[];
      const cached = this.portCache.get(topic);
      const now = Date.now();
      if (cached && now - cached.at < PORT_CACHE_MS) ports = cached.ports;
      else {
        try {
          ports = this.portsOf(topic);
        } catch {
          continue; // busy database: the poll will catch up
        }
        this.portCache.set(topic, { ports, at: now });
      }
      const payload = Buffer.from(topic, 'utf8');
      for (const port of ports) {
        if (port === this.port) continue; // this transport was told in process
        this.sender().send(payload, port, '127.0.0.1');
      }
    }
    this.pending.clear();
  }

  private senderSocket: dgram.Socket | undefined;
  private sender(): dgram.Socket {
    if (this.socket) return this.socket;
    if (!this.senderSocket) {
      this.senderSocket = dgram.createSocket('udp4');
      this.senderSocket.on('error', () => {});
      this.senderSocket.unref();
    }
    return this.senderSocket;
  }

  /** Deletes registrations of processes that no longer exist (killed consumers never unregister). */
  private pruneDead(): void {
    const rows = this.db.prepare('SELECT DISTINCT pid FROM sluice_doorbells').all() as Array<{ pid: number }>;
    for (const { pid } of rows) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH')
          this.db.prepare('DELETE FROM sluice_doorbells WHERE pid = ?').run(pid);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    for (const topic of [...this.topics.keys()]) {
      this.topics.set(topic, 1);
      this.unregister(topic);
    }
    this.closed = true;
    this.socket?.close();
    this.senderSocket?.close();
  }
}
