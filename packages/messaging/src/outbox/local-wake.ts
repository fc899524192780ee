/**
 * In-process wake-ups of SQLite relays: an `add` rings every relay of the same
 * database file and table in this process. Keyed by file name and table, so a
 * relay on another connection to the same file is woken too. @internal
 */

/** Called with a probe that says whether the adding connection is still inside its transaction. */
type Ring = (inTransaction: () => boolean) => void;

const rings = new Map<string, Set<Ring>>();

/** The key of an outbox table in a database file. @internal */
export function wakeKey(file: string, table: string): string {
  return `${file}\u0000${table}`;
}

/** Registers `ring` for `key`; returns the unregistration. @internal */
export function onLocalAdd(key: string, ring: Ring): () => void {
  let set = rings.get(key);
  if (set === undefined) {
    set = new Set();
    rings.set(key, set);
  }
  set.add(ring);
  return () => {
    set.delete(ring);
    if (set.size === 0 && rings.get(key) === set) rings.delete(key);
  };
}

/** Rings every relay registered for `key`. @internal */
export function ringLocal(key: string, inTransaction: () => boolean): void {
  const set = rings.get(key);
  if (set) for (const ring of set) ring(inTransaction);
}
