import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { isSluiceError } from '@sluice/errors';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GatewayClient } from './gateway-client.js';
import { runLoad } from './load/load-run.js';
import { DEFAULT_MIX, type OrderMix, parseMix } from './load/order-mix.js';
import { orderScenarios } from './load/order-scenarios.js';
import { parseCount, parseDuration, parseItem, parseProbability } from './options.js';
import { progressWriter } from './progress-bar.js';
import { ShopApi } from './shop-api.js';

/** Where the command writes; injectable so tests can read it. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly progress?: NodeJS.WriteStream;
}

const SERVICES = ['product', 'inventory', 'payment', 'notification', 'order', 'orchestrator', 'gateway'];

// commander calls parsers with (value, previous); wrap ours so a bad value becomes commander's own error message.
const flag =
  <T>(parse: (text: string) => T) =>
  (text: string): T => {
    try {
      return parse(text);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message.replace(/^--?[\w-]+: /, ''));
    }
  };

/** Builds the `sluice` program. */
export function buildProgram(io: Io): Command {
  const program = new Command('sluice')
    .description('Drive and inspect the Sluice shop through its gateway')
    .option('--url <url>', 'gateway base URL', process.env.SLUICE_URL ?? 'http://localhost:8080')
    .option('--token <jwt>', 'bearer token (default: $SLUICE_TOKEN, else ./data/dev-token)')
    .option('--json', 'print JSON instead of text')
    .showHelpAfterError()
    // Throw instead of exiting, in every subcommand (inherited by commands created after this call).
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  const api = () => {
    const o = program.opts<{ url: string; token?: string }>();
    const token = o.token ?? process.env.SLUICE_TOKEN ?? readDevToken();
    return new ShopApi(new GatewayClient({ url: o.url, ...(token ? { token } : {}) }));
  };
  const print = (value: unknown, text: () => string) => {
    io.out(`${program.opts<{ json?: boolean }>().json ? JSON.stringify(value, null, 2) : text()}\n`);
  };
  const withApi =
    // biome-ignore lint/suspicious/noExplicitAny: commander hands positional arguments and options over untyped.
      <A extends any[]>(fn: (a: ShopApi, ...args: A) => Promise<void>) =>
      async (...args: A) => {
        const a = api();
        try {
          await fn(a, ...args);
        } finally {
          await a.gateway.close();
        }
      };

  const order = program.command('order').description('place and inspect orders');
  order
    .command('place')
    .description('place an order and (with --wait) follow it to its end')
    .requiredOption('--customer <id>', 'customer id')
    .requiredOption(
      '--item <product[:qty]>',
      'an item (repeat for more)',
      (v, prev: ReturnType<typeof parseItem>[] = []) => [...prev, flag(parseItem)(v)],
    )
    .option('--card <token>', 'card token: tok_ok is charged, tok_declined is declined', 'tok_ok')
    .option('--key <idempotency-key>', 'idempotency key (default: a new one)')
    .option('--wait', 'wait until the order is confirmed or cancelled')
    .action(
      withApi(
        async (
          a,
          o: {
            customer: string;
            item: { productId: string; quantity: number }[];
            card: string;
            key?: string;
            wait?: boolean;
          },
        ) => {
          const placed = await a.placeOrder(
            { customerId: o.customer, items: o.item, payment: { cardToken: o.card } },
            o.key ?? randomUUID(),
          );
          if (!o.wait)
            return print(
              placed,
              () => `order ${placed.id} ${placed.status}${placed.replayed ? ' (replayed)' : ''}`,
            );
          const view = await a.awaitEnd(placed.id);
          print(view, () => `order ${view.id} ${view.status}${view.reason ? ` (${view.reason})` : ''}`);
        },
      ),
    );
  order
    .command('get <id>')
    .description('show one order')
    .action(
      withApi(async (a, id: string) => {
        const o = await a.order(id);
        print(
          o,
          () =>
            `${o.id}  ${o.status}${o.reason ? ` (${o.reason})` : ''}  ${money(o.total)}  ${o.items.map((i) => `${i.productId}×${i.quantity}`).join(', ')}`,
        );
      }),
    );
  order
    .command('list')
    .description("list a customer's orders, newest first")
    .requiredOption('--customer <id>', 'customer id')
    .action(
      withApi(async (a, o: { customer: string }) => {
        const { items } = await a.orders(o.customer);
        print(
          items,
          () =>
            items.map((x) => `${x.id}  ${x.status.padEnd(9)} ${money(x.total)}`).join('\n') || '(no orders)',
        );
      }),
    );

  program
    .command('load')
    .description('place orders at a fixed rate and report throughput, latency percentiles and outcomes')
    .option(
      '--rate <orders/s>',
      'orders started per second',
      flag((v) => parseCount('--rate', v, 10_000)),
      50,
    )
    .addOption(
      new Option('--duration <time>', 'how long to start orders (500ms, 30s, 2m)')
        .argParser(flag((v) => parseDuration('--duration', v)))
        .default(10_000, '10s'),
    )
    .option(
      '--concurrency <n>',
      'most orders in flight',
      flag((v) => parseCount('--concurrency', v, 10_000)),
      64,
    )
    .option(
      '--mix <weights>',
      'scenario weights (default: good=85,out-of-stock=5,declined-card=5,duplicate-request=5)',
      flag(parseMix),
    )
    .action(
      withApi(async (a, o: { rate: number; duration: number; concurrency: number; mix?: OrderMix }) => {
        const result = await runLoad({
          rate: o.rate,
          durationMs: o.duration,
          concurrency: o.concurrency,
          mix: o.mix ?? DEFAULT_MIX,
          run: orderScenarios(a),
          ...(io.progress ? { onProgress: progressWriter(io.progress) } : {}),
        });
        if (io.progress?.isTTY) io.progress.write('\n');
        const l = result.latency;
        print(result, () =>
          [
            `orders: ${result.completed} in ${(result.elapsedMs / 1000).toFixed(1)} s = ${result.throughput.toFixed(1)} orders/s`,
            `latency placed → end (ms): p50 ${l.p50.toFixed(0)}  p95 ${l.p95.toFixed(0)}  p99 ${l.p99.toFixed(0)}  max ${l.max.toFixed(0)}`,
            'outcomes:',
            ...Object.entries(result.outcomes)
              .sort((x, y) => y[1] - x[1])
              .map(([k, v]) => `  ${k.padEnd(40)} ${v}`),
          ].join('\n'),
        );
      }),
    );

  const chaos = program.command('chaos').description('inject and clear faults in the services');
  chaos
    .command('add <service>')
    .description('add a fault to a service call')
    .addOption(
      new Option('--kind <kind>', 'what the fault does')
        .choices(['latency', 'error', 'hang'])
        .makeOptionMandatory(),
    )
    .requiredOption('--target <call>', 'call name, e.g. inventory.ReserveStock, or a prefix ending in *')
    .option(
      '--latency <time>',
      'added latency (latency faults)',
      flag((v) => parseDuration('--latency', v)),
    )
    .option('--code <code>', 'error code (error faults), default unavailable')
    .option(
      '--probability <p>',
      'share of calls affected, (0, 1]',
      flag((v) => parseProbability('--probability', v)),
    )
    .option(
      '--for <time>',
      'remove the fault after this long',
      flag((v) => parseDuration('--for', v)),
    )
    .action(
      withApi(
        async (
          a,
          service: string,
          o: {
            kind: string;
            target: string;
            latency?: number;
            code?: string;
            probability?: number;
            for?: number;
          },
        ) => {
          if (!SERVICES.includes(service))
            throw new InvalidArgumentError(`unknown service ${service}; one of ${SERVICES.join(', ')}`);
          const fault = await a.addFault(service, {
            target: o.target,
            kind: o.kind,
            ...(o.latency !== undefined ? { latencyMs: o.latency } : {}),
            ...(o.code ? { errorCode: o.code } : {}),
            ...(o.probability !== undefined ? { probability: o.probability } : {}),
            ...(o.for !== undefined ? { durationMs: o.for } : {}),
          });
          print(fault, () => `fault ${fault.id} added to ${service}`);
        },
      ),
    );
  chaos
    .command('clear [service]')
    .description('clear faults (of one service, or all)')
    .option('--id <fault>', 'only this fault')
    .action(
      withApi(async (a, service: string | undefined, o: { id?: string }) => {
        const r = await a.clearFaults(service, o.id);
        print(r, () => `${r.cleared} fault(s) cleared`);
      }),
    );
  chaos
    .command('list')
    .description('list faults in force')
    .action(
      withApi(async (a) => {
        const { items } = await a.faults();
        print(
          items,
          () =>
            items
              .map(
                (f) =>
                  `${f.service.padEnd(13)} ${f.id.padEnd(5)} ${String(f.kind).padEnd(8)} ${String(f.target)}`,
              )
              .join('\n') || '(no faults)',
        );
      }),
    );

  const dlq = program.command('dlq').description('inspect and replay dead letters');
  dlq
    .command('list')
    .option('--topic <topic>')
    .option('--group <group>')
    .option(
      '--limit <n>',
      'at most',
      flag((v) => parseCount('--limit', v, 1000)),
      50,
    )
    .action(
      withApi(async (a, o: { topic?: string; group?: string; limit: number }) => {
        const { items } = await a.deadLetters(o);
        print(
          items,
          () =>
            items
              .map((d) => `${d.topic}/${d.group}/${d.id}  ${d.reason}  attempts ${d.attempts}  ${d.error}`)
              .join('\n') || '(empty)',
        );
      }),
    );
  dlq.command('show <topic> <group> <id>').action(
    withApi(async (a, topic: string, group: string, id: string) => {
      const d = await a.deadLetter(topic, group, id);
      print(d, () => JSON.stringify(d, null, 2));
    }),
  );
  dlq
    .command('replay')
    .description('put dead letters back on their queue')
    .option('--topic <topic>')
    .option('--group <group>')
    .option('--id <id...>', 'only these message ids')
    .action(
      withApi(async (a, o: { topic?: string; group?: string; id?: string[] }) => {
        const r = await a.replay({
          ...(o.topic ? { topic: o.topic } : {}),
          ...(o.group ? { group: o.group } : {}),
          ...(o.id ? { ids: o.id } : {}),
        });
        print(r, () => `${r.replayed} message(s) replayed`);
      }),
    );

  const saga = program.command('saga').description('inspect and retry order sagas');
  saga
    .command('list')
    .option('--state <state>', 'e.g. running, compensating, completed, failed, needs_attention')
    .action(
      withApi(async (a, o: { state?: string }) => {
        const { items } = await a.sagas(o.state);
        print(items, () => items.map((s) => `${s.sagaId ?? s.id}  ${s.state}`).join('\n') || '(none)');
      }),
    );
  saga.command('show <id>').action(
    withApi(async (a, id: string) => {
      const s = await a.saga(id);
      print(s, () => JSON.stringify(s, null, 2));
    }),
  );
  saga
    .command('retry <id>')
    .description('retry a saga parked as needs_attention')
    .action(
      withApi(async (a, id: string) => {
        const s = await a.retrySaga(id);
        print(s, () => `saga ${id} retried`);
      }),
    );

  return program;
}

function money(m: { amount: number; currency: string }): string {
  return `${(m.amount / 100).toFixed(2)} ${m.currency}`;
}

function readDevToken(): string | undefined {
  try {
    return fs.readFileSync('data/dev-token', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help')
      return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2;
    if (isSluiceError(err)) {
      io.err(`error: ${err.message} [${err.code} ${err.reason}]\n`);
      return 1;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
