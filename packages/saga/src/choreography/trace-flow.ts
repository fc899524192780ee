import type { EventEnvelope } from '@sluice/contracts';
import type { FlowEventSource } from './ports.js';

/** One event in a rebuilt flow. */
export interface FlowStep {
  readonly event: EventEnvelope;
  /** The service that emitted it (the envelope's `source`). */
  readonly service: string;
  /** Its time, epoch ms. */
  readonly at: number;
  /** Milliseconds since the flow's first event. */
  readonly sinceStartMs: number;
  /** Milliseconds since its cause (undefined for a root). */
  readonly sinceCauseMs: number | undefined;
  /** Position of its cause in `steps` (undefined for a root). */
  readonly causeIndex: number | undefined;
  /** 0 for a root, cause's depth + 1 otherwise. */
  readonly depth: number;
  /** Who consumed it, when the source says. */
  readonly handledBy: readonly { readonly service: string; readonly at: number }[];
}

/** The chain of events of one correlation id. */
export interface FlowTrace {
  readonly correlationId: string;
  /** Causes before effects; among ready events, earliest first (then by id). */
  readonly steps: readonly FlowStep[];
  /** First event time, epoch ms (undefined when the flow is empty). */
  readonly startedAt: number | undefined;
  /** Last event time, epoch ms. */
  readonly endedAt: number | undefined;
  readonly durationMs: number;
  /** Ids of events that name a cause (`causationid`) absent from the flow: lost, or a flow started elsewhere. */
  readonly orphans: readonly string[];
}

/** Options of {@link traceFlow}. */
export interface TraceFlowOptions {
  readonly source: FlowEventSource;
}

const toMs = (value: number | string): number => (typeof value === 'number' ? value : Date.parse(value));

/**
 * Rebuilds the ordered chain of events of a flow from its correlation id:
 * each event with its service, time, offset from the start and from its
 * cause, and its place in the causation tree. Duplicate deliveries of one
 * event id count once.
 *
 * @example
 * ```ts
 * const trace = await traceFlow('order-o-1', { source: flowSource });
 * for (const s of trace.steps) console.log(' '.repeat(s.depth * 2), s.service, s.event.type, `+${s.sinceStartMs} ms`);
 * ```
 */
export async function traceFlow(correlationId: string, options: TraceFlowOptions): Promise<FlowTrace> {
  const records = await options.source.listByCorrelation(correlationId);
  const byId = new Map<string, { event: EventEnvelope; at: number; handledBy: Map<string, number> }>();
  for (const r of records) {
    if (r.event.correlationid !== correlationId) continue;
    const seen = byId.get(r.event.id) ?? { event: r.event, at: toMs(r.event.time), handledBy: new Map() };
    for (const h of r.handledBy ?? []) {
      const at = toMs(h.at);
      const prev = seen.handledBy.get(h.service);
      if (prev === undefined || at < prev) seen.handledBy.set(h.service, at);
    }
    byId.set(r.event.id, seen);
  }
  const all = [...byId.values()];
  const before = (a: (typeof all)[number], b: (typeof all)[number]) =>
    a.at - b.at || (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0);
  all.sort(before);
  const index = new Map<string, number>();
  const steps: FlowStep[] = [];
  const startedAt = all[0]?.at;
  const orphans: string[] = [];
  const remaining = new Set(all);
  // Kahn's algorithm over the causation tree, earliest ready event first. An
  // event whose cause is absent (or part of a cycle) is released as a root.
  while (remaining.size > 0) {
    let pick: (typeof all)[number] | undefined;
    for (const e of remaining) {
      const cause = e.event.causationid;
      const ready = cause === undefined || !byId.has(cause) || index.has(cause) || cause === e.event.id;
      if (ready && (pick === undefined || before(e, pick) < 0)) pick = e;
    }
    if (pick === undefined) pick = remaining.values().next().value as (typeof all)[number];
    remaining.delete(pick);
    const causeIndex = pick.event.causationid === undefined ? undefined : index.get(pick.event.causationid);
    const cause = causeIndex === undefined ? undefined : steps[causeIndex];
    const causeId = pick.event.causationid;
    if (causeId !== undefined && (!byId.has(causeId) || causeId === pick.event.id))
      orphans.push(pick.event.id);
    index.set(pick.event.id, steps.length);
    steps.push({
      event: pick.event,
      service: pick.event.source,
      at: pick.at,
      sinceStartMs: pick.at - (startedAt ?? pick.at),
      sinceCauseMs: cause === undefined ? undefined : pick.at - cause.at,
      causeIndex,
      depth: cause === undefined ? 0 : cause.depth + 1,
      handledBy: [...pick.handledBy].map(([service, at]) => ({ service, at })).sort((a, b) => a.at - b.at),
    });
  }
  const endedAt = all.length === 0 ? undefined : Math.max(...all.map((e) => e.at));
  return {
    correlationId,
    steps,
    startedAt,
    endedAt,
    durationMs: startedAt === undefined || endedAt === undefined ? 0 : endedAt - startedAt,
    orphans,
  };
}
