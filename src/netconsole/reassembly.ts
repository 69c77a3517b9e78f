// `ncfrag` reassembly for one source (spec §3.6, §3.10 step 5). Fragments carry byte ranges of
// the escaped post-`;` data; they may arrive out of order, twice, overlapping, or never. A set is
// complete when its ranges cover [0, total). Incomplete sets are handed back as partial after a
// timeout or when a memory bound evicts them: nothing is dropped silently.

export interface FragmentLimits {
  /** Largest `total` accepted; netconsole's is ≤ 8 KiB, other senders up to a datagram. */
  maxTotal: number;
  /** In-flight sets per source; the oldest is evicted (as partial) beyond it. */
  maxSetsPerSource: number;
  /**
   * Bytes the sets of one source hold: a lone piece its own length, a set with two or more pieces
   * its total. Held, not claimed: a total is only a number the sender wrote.
   */
  maxBytesPerSource: number;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmentLimits = {
  maxTotal: 65536,
  maxSetsPerSource: 16,
  maxBytesPerSource: 256 * 1024,
};

/** A finished set: complete, or what arrived of it. */
export interface AssembledData {
  key: string;
  data: Uint8Array;
  complete: boolean;
  /** Missing byte ranges [from, to) of a partial set. */
  missing: Array<[number, number]>;
  firstAt: number;
  fragments: number;
}

interface FragmentSet {
  key: string;
  total: number;
  /**
   * The record's bytes, allocated when a second piece arrives. A set that never gets one (what a
   * hostile flood of lone pieces claiming 64 KiB totals is) costs a copy of its piece, not `total`.
   */
  buf: Buffer | null;
  /** The only piece so far (a copy: the datagram is a view into the reader's slot), until buf exists. */
  first: Buffer | null;
  firstOff: number;
  /** Sorted, disjoint, merged covered ranges [from, to). */
  ranges: Array<[number, number]>;
  firstAt: number;
  deadline: number;
  fragments: number;
}

/** Why a fragment was refused: a `total` of 0 or above maxTotal, or a range outside its record. */
export type BadFragmentReason = 'total_out_of_range' | 'overrun';

export type FragmentResult =
  | { status: 'pending' }
  | { status: 'complete'; assembled: AssembledData }
  | { status: 'invalid'; code: BadFragmentReason; reason: string };

function addRange(ranges: Array<[number, number]>, from: number, to: number): void {
  let i = 0;
  while (i < ranges.length && ranges[i][1] < from) i++;
  let start = from;
  let end = to;
  let j = i;
  while (j < ranges.length && ranges[j][0] <= end) {
    start = Math.min(start, ranges[j][0]);
    end = Math.max(end, ranges[j][1]);
    j++;
  }
  ranges.splice(i, j - i, [start, end]);
}

function missingRanges(ranges: Array<[number, number]>, total: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = 0;
  for (const [a, b] of ranges) {
    if (a > at) out.push([at, a]);
    at = b;
  }
  if (at < total) out.push([at, total]);
  return out;
}

/** Joins what arrived, in offset order; the holes are listed in `missing`, not filled. */
function partialData(set: FragmentSet): Uint8Array {
  const buf = set.buf;
  if (!buf) return set.first ?? Buffer.alloc(0);
  return Buffer.concat(set.ranges.map(([a, b]) => buf.subarray(a, b)));
}

/** What a set holds in memory (see maxBytesPerSource). */
function held(set: FragmentSet): number {
  return set.buf ? set.total : (set.first?.length ?? 0);
}

/** What placing `len` more bytes adds to held(set). */
function growth(set: FragmentSet, len: number): number {
  if (set.buf) return 0;
  return set.first?.length ? set.total - set.first.length : len;
}

function place(set: FragmentSet, off: number, data: Uint8Array): void {
  if (set.buf) { set.buf.set(data, off); return; }
  if (!set.first?.length) { set.first = Buffer.from(data); set.firstOff = off; return; }
  // Not zero-filled: only covered ranges are ever read, and a complete set is all covered.
  set.buf = Buffer.allocUnsafe(set.total);
  set.buf.set(set.first, set.firstOff);
  set.first = null;
  set.buf.set(data, off);
}

export class SourceReassembler {
  private sets = new Map<string, FragmentSet>();
  private bytes = 0;

  constructor(private readonly limits: FragmentLimits, private readonly timeoutMs: number) {}

  get inFlightBytes(): number { return this.bytes; }
  get inFlightSets(): number { return this.sets.size; }

  /**
   * Adds one fragment. `evicted` receives sets pushed out by the memory bounds (as partial).
   */
  add(key: string, off: number, total: number, data: Uint8Array, now: number, evicted: (a: AssembledData) => void): FragmentResult {
    if (total === 0 || total > this.limits.maxTotal) return { status: 'invalid', code: 'total_out_of_range', reason: `ncfrag total ${total} out of range` };
    if (off >= total || off + data.length > total) {
      return { status: 'invalid', code: 'overrun', reason: `ncfrag ${off}/${total} with ${data.length} bytes overruns the record` };
    }
    const setKey = `${key}/${total}`;
    let set = this.sets.get(setKey);
    if (!set) {
      while (this.sets.size >= this.limits.maxSetsPerSource) {
        const oldest = this.sets.values().next().value as FragmentSet;
        evicted(this.finish(oldest, false));
      }
      set = { key, total, buf: null, first: null, firstOff: 0, ranges: [], firstAt: now, deadline: now + this.timeoutMs, fragments: 0 };
      this.sets.set(setKey, set);
    }
    if (data.length > 0) {
      const more = growth(set, data.length);
      // Room comes from the oldest other sets (handed back as partial), never from this one.
      for (const other of this.sets.values()) {
        if (this.bytes + more <= this.limits.maxBytesPerSource) break;
        if (other !== set) evicted(this.finish(other, false));
      }
      this.bytes += more;
      place(set, off, data);
    }
    set.fragments++;
    if (data.length > 0) addRange(set.ranges, off, off + data.length);
    if (set.ranges.length === 1 && set.ranges[0][0] === 0 && set.ranges[0][1] === total) {
      return { status: 'complete', assembled: this.finish(set, true) };
    }
    return { status: 'pending' };
  }

  /** Hands back every set whose deadline has passed, as partial. */
  expire(now: number, out: (a: AssembledData) => void): void {
    for (const set of this.sets.values()) if (set.deadline <= now) out(this.finish(set, false));
  }

  /** Hands back everything in flight (shutdown), as partial. */
  drain(out: (a: AssembledData) => void): void {
    for (const set of [...this.sets.values()]) out(this.finish(set, false));
  }

  nextDeadline(): number | null {
    let d: number | null = null;
    for (const set of this.sets.values()) if (d === null || set.deadline < d) d = set.deadline;
    return d;
  }

  private finish(set: FragmentSet, complete: boolean): AssembledData {
    this.sets.delete(`${set.key}/${set.total}`);
    this.bytes -= held(set);
    return {
      key: set.key,
      // Complete from one piece: that piece is the record.
      data: complete ? (set.buf ?? (set.first as Buffer)) : partialData(set),
      complete,
      missing: complete ? [] : missingRanges(set.ranges, set.total),
      firstAt: set.firstAt,
      fragments: set.fragments,
    };
  }
}
