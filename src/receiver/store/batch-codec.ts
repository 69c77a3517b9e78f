// How a batch crosses to the write worker. postMessage structured-clones what it is given, property
// by property and string by string, on both threads. Records instead go as a few typed arrays that
// are transferred, not copied: numbers in a Float64Array, the text as UTF-8 in one buffer, and the
// few distinct short strings (sources, flags, releases, fields) once per batch in a table.
// Measured on 5 000-record batches, encode + clone + decode: 1.5 us per record as tuples (the
// previous codec, itself half the cost of plain objects), 0.55 us like this; the clone, which was
// most of it, is now a pointer handover. Other items (events, counters, names) are rare and go as
// they are, with their position in the batch.
import type { LogRecord } from '../../netconsole/types.js';
import type { StoreItem } from './types.js';

/** Float64 slots per record: seq, pri, level, facility, tsUsec, receivedAt (NaN for null). */
const NUMS = 6;
/** Uint32 slots per record: source, flags, release, fields (string-table indexes), format+complete+recheck+truncated+fragmented bits. */
const META = 5;
const NONE = 0xffffffff;
const LEGACY = 1;
const INCOMPLETE = 2;
const RECHECK = 4;
const TRUNCATED = 8;
const FRAGMENTED = 16;

export interface EncodedBatch {
  /** Records in the batch. */
  count: number;
  nums: Float64Array;
  meta: Uint32Array;
  /** Each record's text, UTF-8, back to back; textEnd[i] is where record i's ends. */
  text: Uint8Array;
  textEnd: Uint32Array;
  strings: string[];
  /** The items that are not records, each with its index in the batch. */
  others: { at: number; item: Exclude<StoreItem, LogRecord> }[];
}

/** Items in the batch: records and the rest. */
export function itemCount(b: EncodedBatch): number {
  return b.count + b.others.length;
}

export function isRecord(item: StoreItem): item is LogRecord {
  return !('kind' in item) && !('type' in item);
}

/** The buffers to list as postMessage's transfer list: they move to the worker instead of being copied. */
export function transferables(b: EncodedBatch): ArrayBuffer[] {
  // A batch read back from the spool has all four in one buffer; a transfer list must not repeat one.
  return [...new Set([b.nums.buffer, b.meta.buffer, b.text.buffer, b.textEnd.buffer])] as ArrayBuffer[];
}

const nullable = (x: number | null): number => (x === null ? NaN : x);
const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

export function encodeItems(items: readonly StoreItem[]): EncodedBatch {
  let count = 0;
  let textBound = 0;
  for (const item of items) {
    if (isRecord(item)) {
      count++;
      textBound += item.text.length * 3; // UTF-16 unit -> at most 3 UTF-8 bytes
    }
  }
  const nums = new Float64Array(count * NUMS);
  const meta = new Uint32Array(count * META);
  const textEnd = new Uint32Array(count);
  const text = Buffer.allocUnsafeSlow(textBound); // its own ArrayBuffer: transferable
  const strings: string[] = [];
  const index = new Map<string, number>();
  const str = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    return i;
  };
  const others: EncodedBatch['others'] = [];
  let r = 0;
  let end = 0;
  for (let at = 0; at < items.length; at++) {
    const item = items[at]!;
    if (!isRecord(item)) {
      others.push({ at, item });
      continue;
    }
    const n = r * NUMS;
    nums[n] = nullable(item.seq);
    nums[n + 1] = nullable(item.pri);
    nums[n + 2] = nullable(item.level);
    nums[n + 3] = nullable(item.facility);
    nums[n + 4] = nullable(item.tsUsec);
    nums[n + 5] = item.receivedAt;
    const m = r * META;
    meta[m] = str(item.source);
    meta[m + 1] = str(item.flags);
    meta[m + 2] = item.release === null || item.release === undefined ? NONE : str(item.release);
    meta[m + 3] = hasFields(item.fields) ? str(JSON.stringify(item.fields)) : NONE;
    meta[m + 4] = (item.format === 'legacy' ? LEGACY : 0) | (item.complete ? 0 : INCOMPLETE) | (item.recheck ? RECHECK : 0) | (item.truncated ? TRUNCATED : 0) | (item.fragmented ? FRAGMENTED : 0);
    // Texts are well-formed (the core turns bytes that are not UTF-8 into \xHH), so UTF-8 round-trips them.
    end += text.write(item.text, end, 'utf8');
    textEnd[r] = end;
    r++;
  }
  return { count, nums, meta, text: new Uint8Array(text.buffer, 0, end), textEnd, strings, others };
}

export function decodeItems(b: EncodedBatch): StoreItem[] {
  const out = new Array<StoreItem>(itemCount(b));
  const text = Buffer.from(b.text.buffer, b.text.byteOffset, b.text.byteLength);
  const { nums, meta, textEnd, strings, others } = b;
  let r = 0;
  let o = 0;
  let start = 0;
  for (let at = 0; at < out.length; at++) {
    if (o < others.length && others[o]!.at === at) {
      out[at] = others[o++]!.item;
      continue;
    }
    const n = r * NUMS;
    const m = r * META;
    const bits = meta[m + 4]!;
    const end = textEnd[r]!;
    const rec: LogRecord = {
      source: strings[meta[m]!]!,
      format: bits & LEGACY ? 'legacy' : 'extended',
      seq: orNull(nums[n]!),
      pri: orNull(nums[n + 1]!),
      level: orNull(nums[n + 2]!),
      facility: orNull(nums[n + 3]!),
      tsUsec: orNull(nums[n + 4]!),
      flags: strings[meta[m + 1]!]!,
      text: text.toString('utf8', start, end),
      fields: meta[m + 3] === NONE ? {} : (JSON.parse(strings[meta[m + 3]!]!) as Record<string, string>),
      release: meta[m + 2] === NONE ? null : strings[meta[m + 2]!]!,
      complete: (bits & INCOMPLETE) === 0,
      receivedAt: nums[n + 5]!,
      recheck: (bits & RECHECK) !== 0,
    };
    if (bits & TRUNCATED) rec.truncated = true; // optional in LogRecord: absent means false
    if (bits & FRAGMENTED) rec.fragmented = true;
    out[at] = rec;
    start = end;
    r++;
  }
  return out;
}

/** Whether a record has header fields (most have none: `{}`); no key array is built to find out. */
export function hasFields(o: Record<string, string> | undefined): boolean {
  for (const _ in o) return true;
  return false;
}
