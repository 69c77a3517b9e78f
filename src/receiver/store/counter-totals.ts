// Turning "totals since this process started" into lifetime totals: the first snapshot of a key in
// this run loads what the database already holds as a base; a value that goes down (the counting
// side was reset, e.g. a source evicted and seen again) folds the old total into the base.

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

/** Counter names with their own source_counters column; every other name goes to `other` JSON. */
const COLUMN_OF: Record<string, string> = {
  datagrams: 'datagrams',
  bytes: 'bytes',
  badPackets: 'bad_packets',
  checksumErrors: 'checksum_errors',
  evictions: 'evictions',
  dropped: 'dropped',
};

export const sourceCounterColumns = {
  toRow(totals: Counts): { datagrams: number; bytes: number; bad_packets: number; checksum_errors: number; evictions: number; dropped: number; other: string } {
    const row = { datagrams: 0, bytes: 0, bad_packets: 0, checksum_errors: 0, evictions: 0, dropped: 0 } as Record<string, number>;
    const other: Counts = {};
    for (const [name, value] of Object.entries(totals)) {
      const col = COLUMN_OF[name];
      if (col) row[col] = value;
      else other[name] = value;
    }
    return { ...(row as { datagrams: number; bytes: number; bad_packets: number; checksum_errors: number; evictions: number; dropped: number }), other: JSON.stringify(other) };
  },
  fromRow(row: Record<string, number | string>): Counts {
    const out: Counts = {};
    for (const [name, col] of Object.entries(COLUMN_OF)) out[name] = Number(row[col] ?? 0);
    try {
      const other = JSON.parse(String(row.other ?? '{}')) as Counts;
      for (const [k, v] of Object.entries(other)) if (typeof v === 'number') out[k] = v;
    } catch {
      /* a damaged `other` only loses the extra counters, never the columns */
    }
    return out;
  },
};
