import type { ClaimedRow } from './relay-store.js';

/**
 * Splits claimed rows (in sequence order) into waves of per-topic batches, so
 * each ordering key's rows are published in sequence order even when the key
 * moves between topics: a key's row joins the wave of the key's previous row
 * when both have the same topic, else the next wave. Rows without a key go
 * into the first wave. Usually there is one wave per claim. @internal
 */
export function planWaves(rows: readonly ClaimedRow[]): Map<string, ClaimedRow[]>[] {
  const waves: Map<string, ClaimedRow[]>[] = [];
  const last = new Map<string, { wave: number; topic: string }>();
  for (const row of rows) {
    let wave = 0;
    if (row.orderingKey !== null) {
      const prev = last.get(row.orderingKey);
      if (prev !== undefined) wave = prev.topic === row.topic ? prev.wave : prev.wave + 1;
      last.set(row.orderingKey, { wave, topic: row.topic });
    }
    while (waves.length <= wave) waves.push(new Map());
    const byTopic = waves[wave] as Map<string, ClaimedRow[]>;
    const list = byTopic.get(row.topic);
    if (list) list.push(row);
    else byTopic.set(row.topic, [row]);
  }
  return waves;
}

/** Splits one topic's batch into units that succeed or fail together: one per ordering key, one per keyless row. @internal */
export function unitsOf(rows: readonly ClaimedRow[]): ClaimedRow[][] {
  const byKey = new Map<string, ClaimedRow[]>();
  const units: ClaimedRow[][] = [];
  for (const row of rows) {
    if (row.orderingKey === null) {
      units.push([row]);
      continue;
    }
    const unit = byKey.get(row.orderingKey);
    if (unit) unit.push(row);
    else {
      const fresh = [row];
      byKey.set(row.orderingKey, fresh);
      units.push(fresh);
    }
  }
  return units;
}
