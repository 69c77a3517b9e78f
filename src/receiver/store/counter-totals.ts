// Counter bookkeeping of the write side.
// Hub counters arrive as "totals since this process started" (CounterTotals turns them into lifetime
// totals: the first snapshot of a name in this run loads what the database holds as a base; a value
// that goes down, i.e. the counting side was reset, folds the old total into the base). There are a
// few dozen names at most.
// Source counters arrive as increments and are added to the stored row by SQL, so the write side
// keeps no state per source (65 536 idle sources must cost nothing here).

type Counts = Record<string, number>;

interface Entry {
  base: Counts;
  last: Counts;
}

export class CounterTotals {
  private readonly entries = new Map<string, Entry>();

  clear(): void {
    this.entries.clear();
  }

  /** Lifetime totals for `key` after this snapshot; `loadStored` is called once per key per run. */
  apply(key: string, snapshot: Counts, loadStored: () => Counts): Counts {
    let e = this.entries.get(key);
    if (!e) {
      e = { base: { ...loadStored() }, last: {} };
      this.entries.set(key, e);
    }
    for (const [name, raw] of Object.entries(snapshot)) {
      const value = Number.isFinite(raw) && raw >= 0 ? Math.floor(raw) : 0;
      const previous = e.last[name] ?? 0;
      if (value < previous) e.base[name] = (e.base[name] ?? 0) + previous;
      e.last[name] = value;
    }
    const totals: Counts = {};
    for (const name of new Set([...Object.keys(e.base), ...Object.keys(e.last)])) {
      totals[name] = (e.base[name] ?? 0) + (e.last[name] ?? 0);
    }
    return totals;
  }
}

/** Counter names with their own source_counters column, in column order; every other name goes to `other` JSON. */
const COLUMNS: [name: string, column: string][] = [
  ['datagrams', 'datagrams'], ['bytes', 'bytes'], ['badPackets', 'bad_packets'],
  ['checksumErrors', 'checksum_errors'], ['evictions', 'evictions'], ['dropped', 'dropped'],
];
const COLUMN_NAMES = new Set(COLUMNS.map(([name]) => name));

export const SOURCE_COUNTER_COLUMNS = COLUMNS.map(([, column]) => column);

/** A count as stored: a negative, fractional or non-numeric value counts as 0. */
function clean(raw: unknown): number {
  return typeof raw === 'number' && Number.isFinite(raw) && raw >= 0 ? Math.floor(raw) : 0;
}

/** One increment snapshot split into the column values (in SOURCE_COUNTER_COLUMNS order) and the other counters (null: none). */
export function splitSourceCounters(counts: Counts): { columns: number[]; other: Counts | null } {
  const columns = COLUMNS.map(([name]) => clean(counts[name]));
  let other: Counts | null = null;
  for (const [name, raw] of Object.entries(counts)) {
    if (COLUMN_NAMES.has(name)) continue;
    (other ??= {})[name] = clean(raw);
  }
  return { columns, other };
}

/** The stored `other` JSON with `add` added to it; a damaged value only loses the extra counters. */
export function addToOther(stored: string | undefined, add: Counts): string {
  let out: Counts = {};
  try {
    const parsed = JSON.parse(stored ?? '{}') as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) out = parsed as Counts;
  } catch {
    /* start over */
  }
  for (const [name, value] of Object.entries(add)) out[name] = clean(out[name]) + value;
  return JSON.stringify(out);
}
