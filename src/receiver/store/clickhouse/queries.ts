// The read port (port.ts) on ClickHouse: the same answers as the SQLite adapter (sqlite-queries.ts)
// from the migrations/clickhouse schema. Rows of ReplacingMergeTree tables are read with FINAL so a
// row inserted twice shows once, except in the windowed message reads, which check replacement
// themselves (see windowed); -1 (and 0 where the schema says so) are read back as null.
//
// Values: ClickHouse 18.16 has no server-side query parameters (`param_x` is "Unknown setting"), so
// the SQL is written with `{name:Type}` placeholders and bind() renders each value as a literal of
// its declared type (integers checked, strings escaped): no caller's text reaches the SQL otherwise.
//
// Speed: 18.16 cannot read in order, so `ORDER BY id DESC LIMIT n` sorts every match. A page is
// instead searched partition by partition (one day of received_at each), newest first, widening by
// rows (as many as the matches so far say will fill it: system.parts counts them)
// until it is full and no unread partition can hold a larger id than the page's last one (each
// partition's id range is known and cached, refreshed when its parts change): exact, and a common
// word reads one day, not the whole table. Figures: bench/RESULTS.md, "Fleet search latency".
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { StoredMessage } from '../types.js';
import { FullTextQueryError, type LiveFilter } from '../filters.js';
import type {
  BootRef, HistogramBucket, HistogramFilters, HostRef, HostSummary, IncidentDetail, IncidentFilter, IncidentSummary, MessageContext,
  MessageFilters, MessagePage, StoreQueries, StoredTotals,
} from '../port.js';
import { MAX_INCIDENT_LIMIT } from '../port.js';
import type { IncidentEndedBy } from '../../../netconsole/incidents.js';
import type { IncidentSeverity } from '../../../netconsole/incident-rules.js';
import { toRe2 } from './regex-re2.js';
import { parseClickHouseReadUrl } from './url-read.js';

type Value = string | number | readonly string[] | readonly number[];
type Params = Record<string, Value>;

const INT_TYPES: Record<string, [bigint, bigint]> = {
  UInt8: [0n, 255n], Int8: [-128n, 127n], UInt16: [0n, 65535n], Int16: [-32768n, 32767n], UInt32: [0n, 4294967295n],
  Int32: [-2147483648n, 2147483647n], UInt64: [0n, 18446744073709551615n], Int64: [-9223372036854775808n, 9223372036854775807n],
};

/** A ClickHouse string literal: backslash and quote escaped, control characters as escapes. */
export function stringLiteral(s: string): string {
  return "'" + s.replace(/[\\'\0\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '\0': '\\0', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!) + "'";
}

function literal(value: Value, type: string, name: string): string {
  const arr = /^Array\((.+)\)$/.exec(type);
  if (arr) {
    if (!Array.isArray(value)) throw new Error(`query parameter ${name}: expected an array`);
    return `[${(value as Value[]).map((v) => literal(v, arr[1]!, name)).join(',')}]`;
  }
  if (type === 'String') {
    if (typeof value !== 'string') throw new Error(`query parameter ${name}: expected a string`);
    return stringLiteral(value);
  }
  const range = INT_TYPES[type];
  if (range === undefined) throw new Error(`query parameter ${name}: unsupported type ${type}`);
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`query parameter ${name}: expected an integer`);
  const b = BigInt(value);
  if (b < range[0] || b > range[1]) throw new Error(`query parameter ${name}: ${value} out of ${type}'s range`);
  // A plain number: LIMIT and OFFSET in 18.16 take no expression (toUInt32(…) is a syntax error there).
  return String(value);
}

/** Replaces each `{name:Type}` with the value's literal; a missing value is an error. */
export function bind(sql: string, params: Params): string {
  return sql.replace(/(\bIN\s+)?\{([A-Za-z_][A-Za-z0-9_]*):([A-Za-z0-9()]+)\}/g, (_m, inOp: string | undefined, name: string, type: string) => {
    if (!(name in params)) throw new Error(`query parameter ${name} missing`);
    const lit = literal(params[name]!, type, name);
    // `x IN [a, b]` is refused by ClickHouse 18.16 ("Type mismatch in IN"): an IN takes a tuple.
    if (inOp && lit.startsWith('[')) return `${inOp}(${lit === '[]' ? 'NULL' : lit.slice(1, -1)})`;
    return (inOp ?? '') + lit;
  });
}

/** A row of messages as JSONEachRow returns it (64-bit integers as strings). */
interface Row {
  id: string; host: string; source: string; boot: number; seq: string; level: number; facility: number; ts_usec: string;
  received_at: string; text: string; fields: string; complete: number; flags: string; truncated: number; fragmented: number;
}

const COLUMNS = 'id, host, source, boot, seq, level, facility, ts_usec, received_at, text, fields, complete, flags, truncated, fragmented';

/** Items by key, each list in the items' order. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

function orNull(v: number): number | null {
  return v < 0 ? null : v;
}

function parseFields(text: string): Record<string, string> {
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, string>;
  } catch {
    /* a damaged value shows as empty, as in SQLite */
  }
  return {};
}

/** Display names: address -> name, for hosts that have one. */
type Names = Map<string, string>;

function toMessage(r: Row, names: Names): StoredMessage {
  return {
    id: Number(r.id), host: names.get(r.host) ?? r.host, source: r.source, boot: Number(r.boot), seq: orNull(Number(r.seq)),
    level: orNull(Number(r.level)), facility: orNull(Number(r.facility)), ts_usec: orNull(Number(r.ts_usec)),
    received_at: Number(r.received_at), text: r.text, fields: parseFields(r.fields), complete: Number(r.complete) === 1, flags: r.flags,
    truncated: Number(r.truncated) === 1, fragmented: Number(r.fragmented) === 1,
  };
}

/**
 * `q` on ClickHouse: its words, all of them required, each a case-insensitive (ASCII) substring of
 * the text; a "quoted phrase" is one substring; a trailing `*` (FTS5's prefix) is dropped, AND is
 * implied. OR, NOT, NEAR, parentheses, `column:` and an unclosed quote are FullTextQueryError: they
 * would mean something else here than in SQLite's FTS5.
 */
export function parseFullText(q: string): string[] {
  const terms: string[] = [];
  let i = 0;
  const bad = (why: string): never => { throw new FullTextQueryError(`invalid full-text query ${JSON.stringify(q)}: ${why}`); };
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"') {
      const end = q.indexOf('"', i + 1);
      if (end < 0) bad('unclosed quote');
      const phrase = q.slice(i + 1, end).trim().replace(/\s+/g, ' ');
      if (phrase !== '') terms.push(phrase);
      i = end + 1;
      if (q[i] === '*') i++;
      continue;
    }
    let j = i;
    while (j < q.length && !/\s/.test(q[j]!) && q[j] !== '"') j++;
    let word = q.slice(i, j);
    i = j;
    if (word === 'AND') continue;
    if (word === 'OR' || word === 'NOT' || word.startsWith('NEAR(')) bad(`${word.replace(/\(.*/, '')} is not supported on ClickHouse (every word is required)`);
    if (/[()]/.test(word)) bad('parentheses are not supported on ClickHouse');
    if (/^[A-Za-z_]+:/.test(word)) bad('column filters are not supported on ClickHouse');
    word = word.replace(/\*$/, '');
    if (word.startsWith('^')) word = word.slice(1);
    if (word !== '') terms.push(word);
  }
  if (terms.length === 0) bad('no words');
  return terms;
}

/** The filters on a record's own columns, as SQL conditions over `messages`, with their values. */
class Where {
  readonly conds: string[] = [];
  /** Cheaper conditions implied by conds, for a windowed read's PREWHERE (see substring). */
  readonly pre: string[] = [];
  readonly params: Params = {};
  private n = 0;

  add(sqlWith$: string, value?: Value, type?: string, into: string[] = this.conds): this {
    if (value === undefined || type === undefined) { into.push(sqlWith$); return this; }
    into.push(sqlWith$.replace('$', this.param(value, type)));
    return this;
  }

  /** A bound parameter's placeholder, for a condition with several values (an OR of ranges). */
  param(value: Value, type: string): string {
    const name = `p${this.n++}`;
    this.params[name] = value;
    return `{${name}:${type}}`;
  }

  /**
   * A substring, ASCII case folded as SQLite's lower() folds it. An ASCII needle also gets a
   * PREWHERE with positionCaseInsensitiveUTF8: on 18.16 it scans text about twice as fast, and it
   * finds every ASCII-folded match (such a match is ASCII text); what it finds beyond them (a
   * Kelvin sign for a k) the exact condition in WHERE drops.
   */
  private substring(needle: string): void {
    this.add('positionCaseInsensitive(text, $) > 0', needle, 'String');
    if (/^[\x00-\x7f]*$/.test(needle)) this.add('positionCaseInsensitiveUTF8(text, $) > 0', needle, 'String', this.pre);
  }

  content(f: { level?: number; facility?: number; text?: string; regex?: string; q?: string }): this {
    if (f.level !== undefined) this.add('level >= 0').add('level <= $', f.level, 'Int8');
    if (f.facility !== undefined) this.add('facility = $', f.facility, 'Int16');
    if (f.text !== undefined && f.text !== '') this.substring(f.text);
    if (f.regex !== undefined) this.add('match(text, $)', toRe2(f.regex), 'String');
    if (f.q !== undefined) for (const term of parseFullText(f.q)) this.substring(term);
    return this;
  }

  hosts(addresses: readonly string[]): this {
    return addresses.length === 1 ? this.add('host = $', addresses[0]!, 'String') : this.add('host IN $', addresses, 'Array(String)');
  }

  live(filter: LiveFilter): this {
    if (filter.hosts !== undefined) {
      const addrs = [...new Set(filter.hosts.map((h) => h.address))];
      if (addrs.length === 0) this.add('0');
      else this.hosts(addrs);
    }
    return this.content({ level: filter.level, facility: filter.facility, text: filter.text, regex: filter.regex?.pattern });
  }

  sql(): string {
    return this.conds.length === 0 ? '1' : this.conds.join(' AND ');
  }

  /** `PREWHERE … ` for a read without FINAL (PREWHERE runs before FINAL's collapsing), or ''. */
  prewhere(): string {
    return this.pre.length === 0 ? '' : `PREWHERE ${this.pre.join(' AND ')} `;
  }

  /** A copy with more conditions (the base is shared by the steps of a windowed search). */
  clone(): Where {
    const w = new Where();
    w.conds.push(...this.conds);
    w.pre.push(...this.pre);
    Object.assign(w.params, this.params);
    w.n = this.n;
    return w;
  }
}

/** The id and received_at ranges of one part of messages (raw rows: a superset of FINAL's). */
interface PartRanges {
  minId: number;
  maxId: number;
  minAt: number;
  maxAt: number;
}

/** An active part of messages as system.parts lists it: its partition and block numbers. */
interface ActivePart {
  name: string;
  partition: string;
  lo: number;
  hi: number;
  level: number;
  /** Rows in the part (raw rows: a repeat counts). */
  rows: number;
}

/** One day partition of messages: its parts' ranges together. */
interface PartitionInfo {
  partition: string;
  minId: number;
  maxId: number;
  minAt: number;
  maxAt: number;
  /** Raw rows in its active parts: how much text a step that reads it scans. */
  rows: number;
  /** Its active parts' names. */
  parts: string[];
  /**
   * One active part made by a merge: ReplacingMergeTree has collapsed it, so its rows are each the
   * latest of their key and need no check. A partition with several parts, or with an insert's part
   * (an insert does not collapse in 18.16), may hold a row and the row that replaces it.
   */
  merged: boolean;
}

/** A row's day partition, as messages is partitioned (in the server's time zone). */
const PARTITION = 'toUInt32(toYYYYMMDD(toDateTime(intDiv(received_at, 1000))))';

/** A row of a windowed read: the rest of its key and its partition, to find a row that replaces it. */
type KeyedRow = Row & { lkey: string; part: number };

function rowKey(r: { host: string; boot: number | string; source: string; seq: string; lkey: string; part: number | string }): string {
  return JSON.stringify([r.host, String(r.boot), r.source, String(r.seq), String(r.lkey), String(r.part)]);
}

/** The key of messages' ReplacingMergeTree, as a tuple literal (values as read back, re-checked). */
function keyTuple(r: KeyedRow): string {
  return `(${stringLiteral(r.host)},${intLiteral(r.boot)},${stringLiteral(r.source)},${intLiteral(r.seq)},${intLiteral(r.lkey)})`;
}

/** A 64-bit integer as read back (a string beyond 2^53), re-checked, as a literal. */
function intLiteral(v: string | number): string {
  if (!/^-?[0-9]+$/.test(String(v))) throw new Error(`unexpected key value ${JSON.stringify(v)}`);
  return String(v);
}

/** `into` widened to take in `r` too. */
function widen(into: PartRanges, r: PartRanges): void {
  into.minId = Math.min(into.minId, r.minId); into.maxId = Math.max(into.maxId, r.maxId);
  into.minAt = Math.min(into.minAt, r.minAt); into.maxAt = Math.max(into.maxAt, r.maxAt);
}

/**
 * How many rows the next step of a windowed search should scan (it reads whole partitions, at least
 * one, until their rows reach this): from the matches per row so far, enough to fill the page with a
 * quarter to spare; twice the last step while nothing matched; 0 before the first (the newest
 * partition alone). Counted in rows, not partitions: today's partition may hold a few minutes.
 */
export function nextStepRows(found: number, limit: number, rowsRead: number, lastRows: number): number {
  if (rowsRead === 0) return 0;
  if (found === 0) return Math.max(1, lastRows * 2);
  return Math.max(1, Math.ceil(((limit - found) * 1.25 * rowsRead) / found));
}

export class ClickHouseQueries implements StoreQueries {
  readonly kind = 'clickhouse';
  private readonly db: string;
  /** Ranges of the active parts of messages, by part name (see partitionInfo). */
  private readonly parts = new Map<string, ActivePart & PartRanges>();
  /** See liveCollector in open(). */
  private readonly liveCollector: number | undefined;

  constructor(private readonly client: ClickHouseClient, database: string, liveCollector?: number) {
    this.db = database;
    this.liveCollector = liveCollector;
  }

  get idsInCommitOrder(): boolean {
    return this.liveCollector !== undefined;
  }

  /**
   * liveCollector: the live stream (liveAfter, liveBetween, replayStart, maxMessageId) reads only
   * the rows this collector stored, the rows its live hub publishes: their ids rise in commit order,
   * so holes can be filled and a cursor never skips rows another collector stored later with a
   * smaller id. Without it the live reads see the whole fleet and holes are not filled.
   */
  static open(url: string, options: { liveCollector?: number } = {}): ClickHouseQueries {
    const t = parseClickHouseReadUrl(url);
    const client = createClient({
      url: t.url, username: t.username, password: t.password, database: t.database,
      request_timeout: 30_000, compression: { request: false, response: false },
    });
    return new ClickHouseQueries(client, t.database, options.liveCollector);
  }

  private t(name: string): string {
    return `${this.db}.${name}`;
  }

  private async rows<T>(sql: string, params: Params = {}): Promise<T[]> {
    const rs = await this.client.query({ query: bind(sql, params), format: 'JSONEachRow' });
    return rs.json<T>();
  }

  private async names(): Promise<Names> {
    const rows = await this.rows<{ address: string; name: string }>(`SELECT address, name FROM ${this.t('hosts')} FINAL WHERE has_name = 1`);
    return new Map(rows.map((r) => [r.address, r.name]));
  }

  private async messages(sql: string, params: Params, names?: Names): Promise<StoredMessage[]> {
    const [rows, n] = await Promise.all([this.rows<Row>(sql, params), names ? Promise.resolve(names) : this.names()]);
    return rows.map((r) => toMessage(r, n));
  }

  async resolveHost(nameOrAddress: string): Promise<HostRef[]> {
    const rows = await this.rows<{ address: string; name: string; has_name: number }>(
      `SELECT address, name, has_name FROM ${this.t('hosts')} FINAL WHERE address = {x:String} OR (has_name = 1 AND name = {x:String}) ORDER BY address`,
      { x: nameOrAddress },
    );
    return rows.map((r) => ({ id: 0, address: r.address, name: Number(r.has_name) === 1 ? r.name : null }));
  }

  private async resolveHosts(names: readonly string[]): Promise<string[]> {
    const all = await Promise.all([...new Set(names)].map((n) => this.resolveHost(n)));
    return [...new Set(all.flat().map((h) => h.address))].sort();
  }

  /**
   * Each day partition's id and time ranges, from its active parts' ranges. A part never changes, so
   * its ranges are read once (`_part` picks its rows: the partition expression prunes nothing in
   * 18.16); a part made by merging cached parts takes their union without a read.
   */
  private async partitionInfo(): Promise<PartitionInfo[]> {
    const active = await this.rows<{ name: string; partition: string; lo: string; hi: string; level: number; rows: string }>(
      `SELECT name, partition, min_block_number AS lo, max_block_number AS hi, level, rows FROM system.parts
       WHERE database = {db:String} AND table = 'messages' AND active`,
      { db: this.db },
    );
    const parts: ActivePart[] = active.map((p) => ({ name: p.name, partition: p.partition, lo: Number(p.lo), hi: Number(p.hi), level: Number(p.level), rows: Number(p.rows) }));
    const byName = new Map(parts.map((p) => [p.name, p]));
    const unknown: string[] = [];
    for (const p of parts) {
      if (this.parts.has(p.name)) continue;
      const union = this.mergedFrom(p);
      if (union) this.parts.set(p.name, { ...p, ...union });
      else unknown.push(p.name);
    }
    if (unknown.length > 0) {
      const rows = await this.rows<{ part: string; min_id: string; max_id: string; min_at: string; max_at: string }>(
        `SELECT _part AS part, min(id) AS min_id, max(id) AS max_id, min(received_at) AS min_at, max(received_at) AS max_at
         FROM ${this.t('messages')} WHERE _part IN {ps:Array(String)} GROUP BY part`,
        { ps: unknown },
      );
      for (const r of rows) {
        const p = byName.get(r.part);
        if (p) this.parts.set(r.part, { ...p, minId: Number(r.min_id), maxId: Number(r.max_id), minAt: Number(r.min_at), maxAt: Number(r.max_at) });
      }
    }
    const live = new Set(parts.map((p) => p.name));
    for (const k of [...this.parts.keys()]) if (!live.has(k)) this.parts.delete(k);
    const byPartition = new Map<string, PartitionInfo>();
    for (const p of parts) {
      const r = this.parts.get(p.name);
      if (r === undefined) continue; // emptied between the two reads: no rows to find
      const q = byPartition.get(p.partition);
      if (q === undefined) {
        byPartition.set(p.partition, { partition: p.partition, minId: r.minId, maxId: r.maxId, minAt: r.minAt, maxAt: r.maxAt, rows: p.rows, parts: [p.name], merged: p.level > 0 });
      } else {
        widen(q, r);
        q.rows += p.rows;
        q.parts.push(p.name);
        q.merged = false;
      }
    }
    return [...byPartition.values()];
  }

  /** A merged part's ranges from the cached parts it was made of, when they cover its blocks. */
  private mergedFrom(p: ActivePart): PartRanges | undefined {
    if (p.level === 0) return undefined;
    const subs = [...this.parts.values()].filter((s) => s.partition === p.partition && s.lo >= p.lo && s.hi <= p.hi).sort((a, b) => a.lo - b.lo);
    let next = p.lo;
    for (const s of subs) {
      if (s.lo > next) return undefined; // a block range the cache has not seen
      next = Math.max(next, s.hi + 1);
    }
    if (subs.length === 0 || next <= p.hi) return undefined;
    const union = { minId: subs[0]!.minId, maxId: subs[0]!.maxId, minAt: subs[0]!.minAt, maxAt: subs[0]!.maxAt };
    for (const s of subs) widen(union, s);
    return union;
  }

  /**
   * The `limit` largest (desc) or smallest (asc) ids among rows matching `where`, read partition by
   * partition from the end the order starts at, until no unread partition can change the answer.
   *
   * Without FINAL (on 18.16 it reads 5-7 times slower): a row read from a partition that is not one
   * merged part is kept only if no row of its key in that partition has a larger id (the row FINAL
   * keeps), checked by one lookup for the page's candidates; a row read twice (an insert retried
   * before a merge) is kept once. As with FINAL under a received_at filter, replacement is found
   * within a day partition, the unit ClickHouse merges.
   */
  private async windowed(where: Where, order: 'desc' | 'asc', limit: number, bounds: { since?: number; until?: number; before?: number; after?: number }): Promise<Row[]> {
    const desc = order === 'desc';
    let parts = (await this.partitionInfo()).filter((p) =>
      (bounds.since === undefined || p.maxAt >= bounds.since) && (bounds.until === undefined || p.minAt <= bounds.until) &&
      (bounds.before === undefined || p.minId < bounds.before) && (bounds.after === undefined || p.maxId > bounds.after));
    parts.sort((a, b) => (desc ? b.maxAt - a.maxAt : a.minAt - b.minAt));
    const byId = (a: Row, b: Row): number => (desc ? Number(b.id) - Number(a.id) : Number(a.id) - Number(b.id));
    const found: Row[] = [];
    const seen = new Set<string>();
    let read = 0;
    let lastRows = 0;
    while (parts.length > 0) {
      const wanted = nextStepRows(found.length, limit, read, lastRows);
      let n = 1;
      let rows = parts[0]!.rows;
      while (n < parts.length && rows < wanted) rows += parts[n++]!.rows;
      const take = parts.slice(0, n);
      parts = parts.slice(n);
      read += rows;
      lastRows = rows;
      const unmerged = take.filter((p) => !p.merged);
      const w = where.clone();
      w.add('received_at >= $', Math.min(...take.map((p) => p.minAt)), 'UInt64').add('received_at <= $', Math.max(...take.map((p) => p.maxAt)), 'UInt64');
      // The window in id order, `limit` rows at a time, until the rest of it cannot enter the page
      // (more than one read only when rows were dropped as replaced or repeated).
      let cursor: number | undefined;
      for (;;) {
        const wc = cursor === undefined ? w : w.clone().add(desc ? 'id < $' : 'id > $', cursor, 'UInt64');
        const got = await this.rows<KeyedRow>(
          `SELECT ${COLUMNS}, lkey, ${PARTITION} AS part FROM ${this.t('messages')} ${wc.prewhere()}WHERE ${wc.sql()} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT {limit:UInt32}`,
          { ...wc.params, limit },
        );
        for (const r of await this.latestOnly(got, unmerged)) {
          if (seen.has(r.id)) continue;
          seen.add(r.id);
          found.push(r);
        }
        found.sort(byId);
        if (found.length > limit) found.length = limit;
        if (got.length < limit) break;
        cursor = Number(got[got.length - 1]!.id);
        const last = found.length === limit ? Number(found[limit - 1]!.id) : undefined;
        if (last !== undefined && (desc ? last >= cursor : last <= cursor)) break;
      }
      if (found.length < limit) continue;
      const last = Number(found[found.length - 1]!.id);
      // Done when no unread partition holds an id beyond the page's last one.
      if (desc ? parts.every((p) => p.maxId < last) : parts.every((p) => p.minId > last)) break;
      // Only partitions that can still contribute are worth reading.
      parts = parts.filter((p) => (desc ? p.maxId > last : p.minId < last));
    }
    return found;
  }

  /** The rows that are the latest of their key (largest id) within their partition. */
  private async latestOnly(rows: KeyedRow[], unmerged: PartitionInfo[]): Promise<KeyedRow[]> {
    const days = new Set(unmerged.map((p) => Number(p.partition.replace(/'/g, ''))));
    const check = rows.filter((r) => days.has(Number(r.part)));
    if (check.length === 0) return rows;
    const w = new Where().hosts([...new Set(check.map((r) => r.host))])
      .add(`${PARTITION} IN $`, [...new Set(check.map((r) => Number(r.part)))], 'Array(UInt32)');
    // One tuple alone in IN (…) reads as the set's values, not a set of one: it is listed twice then.
    const tuples = [...new Set(check.map(keyTuple))];
    if (tuples.length === 1) tuples.push(tuples[0]!);
    // Aliases unlike the columns: an alias named seq would stand for the column in WHERE too.
    const replaced = await this.rows<{ h: string; b: number; s: string; q: string; k: string; p: number; m: string }>(
      `SELECT host AS h, boot AS b, source AS s, toString(seq) AS q, toString(lkey) AS k, ${PARTITION} AS p, toString(max(id)) AS m
       FROM ${this.t('messages')} WHERE ${w.sql()} AND (host, boot, source, seq, lkey) IN (${tuples.join(',')})
       GROUP BY h, b, s, seq, lkey, p HAVING count() > 1`,
      w.params,
    );
    if (replaced.length === 0) return rows;
    const latest = new Map(replaced.map((r) => [rowKey({ host: r.h, boot: r.b, source: r.s, seq: r.q, lkey: r.k, part: r.p }), BigInt(r.m)]));
    return rows.filter((r) => (latest.get(rowKey(r)) ?? 0n) <= BigInt(r.id));
  }

  async listMessages(f: MessageFilters): Promise<MessagePage> {
    const where = new Where();
    const hostNames = [...(f.host !== undefined ? [f.host] : []), ...(f.hosts ?? [])];
    const [addresses, names] = await Promise.all([hostNames.length > 0 ? this.resolveHosts(hostNames) : Promise.resolve(null), this.names()]);
    if (addresses !== null) {
      if (addresses.length === 0) return { messages: [], older: null, newer: null };
      where.hosts(addresses);
    }
    if (f.boot !== undefined) where.add('boot = $', f.boot, 'UInt32');
    if (f.boot_from !== undefined) where.add('boot >= $', f.boot_from, 'UInt32');
    if (f.since !== undefined) where.add('received_at >= $', Math.max(0, f.since), 'UInt64');
    if (f.until !== undefined) {
      if (f.until < 0) return { messages: [], older: null, newer: f.before !== undefined ? f.before - 1 : f.after ?? null };
      where.add('received_at <= $', f.until, 'UInt64');
    }
    where.content(f);
    if (f.seq_from !== undefined) where.add('seq >= $', f.seq_from, 'Int64');
    if (f.seq_to !== undefined) where.add('seq >= 0').add('seq <= $', f.seq_to, 'Int64');
    const forward = f.after !== undefined;
    if (f.after !== undefined) where.add('id > $', f.after, 'UInt64');
    if (f.before !== undefined) where.add('id < $', Math.max(0, f.before), 'UInt64');
    const rows = f.before !== undefined && f.before <= 0
      ? []
      : await this.windowed(where, forward ? 'asc' : 'desc', f.limit + 1, { since: f.since, until: f.until, before: f.before, after: f.after });
    const more = rows.length > f.limit;
    if (more) rows.pop();
    const messages = rows.map((r) => toMessage(r, names));
    if (forward) messages.reverse();
    const newestId = messages.length ? messages[0]!.id : null;
    const oldestId = messages.length ? messages[messages.length - 1]!.id : null;
    const page: MessagePage = forward
      ? { messages, older: oldestId ?? f.after! + 1, newer: newestId ?? f.after! }
      : { messages, older: more ? oldestId : null, newer: newestId ?? (f.before !== undefined ? f.before - 1 : null) };
    if (f.order === 'asc') page.messages.reverse();
    return page;
  }

  async histogram(f: HistogramFilters): Promise<HistogramBucket[]> {
    const where = new Where();
    where.add('received_at >= $', Math.max(0, f.since), 'UInt64');
    if (f.until < 0) return [];
    where.add('received_at <= $', f.until, 'UInt64');
    if (f.hosts.length > 0) {
      const addresses = await this.resolveHosts(f.hosts);
      if (addresses.length === 0) return [];
      where.hosts(addresses);
    }
    where.content(f);
    // As FINAL counts (see countFinal): a 30-day histogram of 10 M rows took 3.2-4.8 s with FINAL.
    const sums = new Map<string, HistogramBucket>();
    await this.countFinal<{ t: string; level: number; n: string }>(
      'SELECT intDiv(received_at, {b:UInt64}) * {b:UInt64} AS t, level, count() AS n FROM m', 'GROUP BY t, level',
      (rows) => {
        for (const r of rows) {
          const k = `${r.t}/${r.level}`;
          const had = sums.get(k);
          if (had) had.n += Number(r.n);
          else sums.set(k, { t: Number(r.t), level: orNull(Number(r.level)), n: Number(r.n) });
        }
      },
      { where, params: { b: f.bucketMs } },
    );
    return [...sums.values()].sort((a, b) => a.t - b.t || (a.level ?? -1) - (b.level ?? -1));
  }

  async context(id: number, before: number, after: number): Promise<MessageContext | undefined> {
    const names = await this.names();
    // The row's key first (40 ms at 10 M rows; `FINAL WHERE id =` collapsed the whole table, 3-4 s),
    // then that key's row with the largest id, the one FINAL keeps (25 ms, FINAL over the key 70). A
    // row another one replaced is not found, as before.
    const raw = (await this.rows<{ host: string; boot: number; source: string; seq: string; lkey: string }>(
      `SELECT host, boot, source, toString(seq) AS seq, toString(lkey) AS lkey FROM ${this.t('messages')} WHERE id = {id:UInt64} LIMIT 1`, { id }))[0];
    if (raw === undefined) return undefined;
    const [target] = await this.messages(
      `SELECT ${COLUMNS} FROM ${this.t('messages')} WHERE host = {h:String} AND boot = {b:UInt32} AND source = {s:String}
       AND seq = ${intLiteral(raw.seq)} AND lkey = ${intLiteral(raw.lkey)} ORDER BY id DESC LIMIT 1`,
      { h: raw.host, b: Number(raw.boot), s: raw.source }, names);
    if (target === undefined || target.id !== id) return undefined;
    const base: Params = { host: raw.host, boot: target.boot, source: target.source, seq: target.seq ?? -1, id, nb: before, na: after };
    const m = this.t('messages');
    let older: StoredMessage[];
    let newer: StoredMessage[];
    if (target.seq !== null) {
      const key = 'host = {host:String} AND boot = {boot:UInt32} AND source = {source:String} AND seq >= 0';
      [older, newer] = await Promise.all([
        this.messages(`SELECT ${COLUMNS} FROM ${m} FINAL WHERE ${key} AND (seq < {seq:Int64} OR (seq = {seq:Int64} AND id < {id:UInt64}))
          ORDER BY seq DESC, id DESC LIMIT {nb:UInt32}`, base, names),
        this.messages(`SELECT ${COLUMNS} FROM ${m} FINAL WHERE ${key} AND (seq > {seq:Int64} OR (seq = {seq:Int64} AND id > {id:UInt64}))
          ORDER BY seq ASC, id ASC LIMIT {na:UInt32}`, base, names),
      ]);
    } else {
      const key = 'host = {host:String} AND boot = {boot:UInt32}';
      [older, newer] = await Promise.all([
        this.messages(`SELECT ${COLUMNS} FROM ${m} FINAL WHERE ${key} AND id < {id:UInt64} ORDER BY id DESC LIMIT {nb:UInt32}`, base, names),
        this.messages(`SELECT ${COLUMNS} FROM ${m} FINAL WHERE ${key} AND id > {id:UInt64} ORDER BY id ASC LIMIT {na:UInt32}`, base, names),
      ]);
    }
    return { message: target, before: older.reverse(), after: newer };
  }

  async hosts(): Promise<HostSummary[]> {
    const [hosts, boots, counts, gaps, counters, sources] = await Promise.all([
      this.rows<{ address: string; name: string; has_name: number; first_seen: string; last_seen: string }>(
        `SELECT address, name, has_name, first_seen, last_seen FROM ${this.t('hosts')} FINAL ORDER BY last_seen DESC, address`),
      this.rows<{ host: string; boot: number; started_at: string; first_seq: string; reason: string; release: string }>(
        `SELECT host, boot, started_at, first_seq, reason, release FROM ${this.t('boots')} FINAL ORDER BY host, boot`),
      this.messagesPerBoot(),
      this.rows<{ host: string; boot: number; n: string; lost: string }>(
        `SELECT host, boot, count() AS n, sum(seq_to - seq_from + 1) AS lost FROM ${this.t('seq_events')} FINAL WHERE type = 'gap' GROUP BY host, boot`),
      this.rows<{ host: string; checksum_errors: string; bad_packets: string; dropped: string }>(
        `SELECT host, sum(checksum_errors) AS checksum_errors, sum(bad_packets) AS bad_packets, sum(dropped) AS dropped FROM ${this.t('source_counters')} GROUP BY host`),
      this.rows<{ address: string; host: string; format: string; last_seen: string }>(
        `SELECT address, host, format, last_seen FROM ${this.t('sources')} FINAL ORDER BY address`),
    ]);
    const key = (h: string, b: number) => `${h}\u0000${b}`;
    const countBy = new Map(counts.map((r) => [key(r.host, Number(r.boot)), Number(r.n)]));
    const gapBy = new Map(gaps.map((r) => [key(r.host, Number(r.boot)), { n: Number(r.n), lost: Number(r.lost) }]));
    const countersBy = new Map(counters.map((r) => [r.host, r]));
    // Grouped once: filtering every boot and source per host was quadratic (1000 hosts, 3000 boots).
    const bootsBy = groupBy(boots, (b) => b.host);
    const sourcesBy = groupBy(sources, (s) => s.host);
    return hosts.map((h) => {
      const own = (bootsBy.get(h.address) ?? []).map((b) => {
        const g = gapBy.get(key(h.address, Number(b.boot)));
        return {
          boot: Number(b.boot), started_at: Number(b.started_at), first_seq: orNull(Number(b.first_seq)), reason: b.reason,
          release: b.release === '' ? null : b.release, messages: countBy.get(key(h.address, Number(b.boot))) ?? 0,
          gaps: g?.n ?? 0, lost_records: g?.lost ?? 0,
        };
      });
      const current = own.length > 0 ? own[own.length - 1]! : null;
      const c = countersBy.get(h.address);
      const name = Number(h.has_name) === 1 ? h.name : null;
      return {
        host: name ?? h.address, address: h.address, name, first_seen: Number(h.first_seen), last_seen: Number(h.last_seen),
        messages: own.reduce((n, b) => n + b.messages, 0),
        current_boot: current?.boot ?? null, rebooted: current?.reason === 'reboot', boots: own,
        gaps: own.reduce((n, b) => n + b.gaps, 0), lost_records: own.reduce((n, b) => n + b.lost_records, 0),
        checksum_errors: Number(c?.checksum_errors ?? 0), bad_packets: Number(c?.bad_packets ?? 0), dropped: Number(c?.dropped ?? 0),
        sources: (sourcesBy.get(h.address) ?? []).map((s) => ({ address: s.address, format: s.format, last_seen: Number(s.last_seen) })),
      };
    });
  }

  async findBoot(host: string, bootNumber: number): Promise<BootRef | undefined> {
    for (const h of await this.resolveHost(host)) {
      const found = await this.rows(`SELECT 1 AS x FROM ${this.t('boots')} FINAL WHERE host = {h:String} AND boot = {b:UInt32} LIMIT 1`, { h: h.address, b: bootNumber });
      if (found.length > 0) return { host: h, number: bootNumber, bootId: 0 };
    }
    return undefined;
  }

  async bootLogPage(boot: BootRef, after: { seq: number; id: number } | null, limit: number): Promise<StoredMessage[]> {
    const params: Params = { h: boot.host.address, b: boot.number, limit };
    let cond = 'host = {h:String} AND boot = {b:UInt32}';
    if (after !== null) {
      cond += ' AND (seq > {s:Int64} OR (seq = {s:Int64} AND id > {id:UInt64}))';
      Object.assign(params, { s: after.seq, id: after.id });
    }
    return this.messages(`SELECT ${COLUMNS} FROM ${this.t('messages')} FINAL WHERE ${cond} ORDER BY seq, id LIMIT {limit:UInt32}`, params);
  }

  /** The live reads' rows: this collector's only, when scoped (see open). */
  private liveWhere(): Where {
    const where = new Where();
    return this.liveCollector === undefined ? where : where.add('collector = $', this.liveCollector, 'UInt16');
  }

  async liveAfter(cursor: number, filter: LiveFilter, limit: number): Promise<StoredMessage[]> {
    const where = this.liveWhere().add('id > $', Math.max(0, cursor), 'UInt64').live(filter);
    const [rows, names] = await Promise.all([this.windowed(where, 'asc', limit, { after: cursor }), this.names()]);
    return rows.map((r) => toMessage(r, names));
  }

  async liveBetween(after: number, before: number, filter: LiveFilter, limit: number): Promise<StoredMessage[]> {
    if (before <= after + 1) return [];
    const where = this.liveWhere().add('id > $', Math.max(0, after), 'UInt64').add('id < $', before, 'UInt64').live(filter);
    const [rows, names] = await Promise.all([this.windowed(where, 'asc', limit, { after, before }), this.names()]);
    return rows.map((r) => toMessage(r, names));
  }

  async replayStart(cursor: number, filter: LiveFilter, keep: number, countCap: number): Promise<{ cursor: number; skipped: number }> {
    const where = this.liveWhere().add('id > $', Math.max(0, cursor), 'UInt64').live(filter);
    const m = this.t('messages');
    const pivot = await this.rows<{ id: string }>(`SELECT id FROM ${m} FINAL WHERE ${where.sql()} ORDER BY id DESC LIMIT 1 OFFSET {keep:UInt64}`, { ...where.params, keep });
    if (pivot.length === 0) return { cursor, skipped: 0 };
    const pivotId = Number(pivot[0]!.id);
    const [{ n }] = await this.rows<{ n: string }>(
      `SELECT count() AS n FROM (SELECT 1 FROM ${m} FINAL WHERE ${where.sql()} AND id <= {pivot:UInt64} LIMIT {cap:UInt64})`,
      { ...where.params, pivot: pivotId, cap: countCap },
    ) as [{ n: string }];
    return { cursor: pivotId, skipped: Number(n) };
  }

  async maxMessageId(): Promise<number> {
    const where = this.liveWhere().add('1');
    const [r] = await this.rows<{ n: string }>(`SELECT max(id) AS n FROM ${this.t('messages')} WHERE ${where.sql()}`, where.params);
    return Number(r?.n ?? 0);
  }

  /**
   * A count over messages as FINAL would give it, without a FINAL over the whole table (at 10 M rows
   * `count() FINAL` took 2.5 s of a core, `GROUP BY host, boot` with FINAL 2.9 s; the dashboard asks
   * for both): a partition that is one merged part holds each key once, so it is read without FINAL
   * (its parts named, so a part inserted since is not counted twice); only the other partitions are
   * read with FINAL, pruned to their time ranges. As in search, a key is
   * collapsed within its day partition, the unit ClickHouse merges. `select` is `SELECT … FROM m`
   * with `m` standing for the table, `rest` what follows the WHERE (GROUP BY); `fold` adds one read's
   * rows to the answer. `merged`, when given, takes the merged partitions instead of a read. `where`:
   * the rows to count (its PREWHERE only serves the read without FINAL, where no row is replaced).
   */
  private async countFinal<T>(select: string, rest: string, fold: (rows: T[]) => void, opts: { merged?: (ps: PartitionInfo[]) => void; where?: Where; params?: Params } = {}): Promise<void> {
    const { merged, where } = opts;
    const one: PartitionInfo[] = [];
    const open: PartitionInfo[] = [];
    for (const p of await this.partitionInfo()) (p.merged ? one : open).push(p);
    if (merged) merged(one.splice(0));
    const read = async (ps: PartitionInfo[], final: boolean): Promise<void> => {
      if (ps.length === 0) return;
      const w = where ? where.clone() : new Where();
      if (final) {
        // Few partitions (today's, a late one): their time ranges prune the read to them.
        const ranges = ps.map((p) => `(received_at >= ${w.param(p.minAt, 'UInt64')} AND received_at <= ${w.param(p.maxAt, 'UInt64')})`);
        w.add(`(${ranges.join(' OR ')})`).add(`${PARTITION} IN $`, ps.map((p) => Number(p.partition.replace(/'/g, ''))), 'Array(UInt32)');
      } else {
        // Most of the table: an OR of 30 day ranges tested on every row cost more (578 ms at 10 M
        // rows) than the part names alone (230 ms).
        w.add('_part IN $', ps.flatMap((p) => p.parts), 'Array(String)');
      }
      const from = final ? `FROM ${this.t('messages')} FINAL` : `FROM ${this.t('messages')} ${w.prewhere()}`;
      fold(await this.rows<T>(`${select.replace(/\bFROM m\b/, from)} WHERE ${w.sql()} ${rest}`, { ...w.params, ...opts.params }));
    };
    await Promise.all([read(one, false), read(open, true)]);
  }

  /** Stored messages, as `count() FINAL` counts them (see countFinal); a merged partition's from system.parts. */
  private async messageCount(): Promise<number> {
    let n = 0;
    await this.countFinal<{ n: string }>('SELECT count() AS n FROM m', '', (rows) => { n += Number(rows[0]?.n ?? 0); }, {
      merged: (ps) => { for (const p of ps) n += p.rows; },
    });
    return n;
  }

  /** Stored messages per host and boot, as FINAL counts them (see countFinal). */
  private async messagesPerBoot(): Promise<{ host: string; boot: number; n: string }[]> {
    const sums = new Map<string, { host: string; boot: number; n: string }>();
    await this.countFinal<{ host: string; boot: number; n: string }>('SELECT host, boot, count() AS n FROM m', 'GROUP BY host, boot', (rows) => {
      for (const r of rows) {
        const k = `${r.host}\u0000${r.boot}`;
        const had = sums.get(k);
        sums.set(k, had ? { ...had, n: String(Number(had.n) + Number(r.n)) } : r);
      }
    });
    return [...sums.values()];
  }

  async storedTotals(): Promise<StoredTotals> {
    const [m, [h], [b], [c], [g]] = await Promise.all([
      this.messageCount().then((n) => ({ n: String(n) })),
      this.rows<{ n: string }>(`SELECT count() AS n FROM ${this.t('hosts')} FINAL`),
      this.rows<{ n: string }>(`SELECT count() AS n FROM ${this.t('boots')} FINAL`),
      this.rows<Record<string, string>>(`SELECT sum(datagrams) AS datagrams, sum(bytes) AS bytes, sum(bad_packets) AS bad_packets,
        sum(checksum_errors) AS checksum_errors, sum(dropped) AS dropped FROM ${this.t('source_counters')}`),
      this.rows<{ n: string }>(`SELECT count() AS n FROM ${this.t('seq_events')} FINAL WHERE type = 'gap'`),
    ]);
    return {
      messages: Number(m?.n ?? 0), hosts: Number(h?.n ?? 0), boots: Number(b?.n ?? 0),
      datagrams: Number(c?.datagrams ?? 0), bytes: Number(c?.bytes ?? 0), bad_packets: Number(c?.bad_packets ?? 0),
      checksum_errors: Number(c?.checksum_errors ?? 0), dropped: Number(c?.dropped ?? 0), gaps: Number(g?.n ?? 0),
    };
  }

  private incidentSelect(where: string): string {
    const i = this.t('incidents');
    return `SELECT ${INCIDENT_COLUMNS}, seen FROM (SELECT ${INCIDENT_COLUMNS} FROM ${i} FINAL WHERE ${where})
      ANY LEFT JOIN (SELECT signature, count() AS seen FROM ${i} FINAL GROUP BY signature) USING signature`;
  }

  async listIncidents(f: IncidentFilter): Promise<IncidentSummary[]> {
    const where = new Where();
    if (f.host !== undefined) {
      const addresses = await this.resolveHosts([f.host]);
      where.add('host IN $', [...new Set([f.host, ...addresses])], 'Array(String)');
    }
    if (f.kind !== undefined) where.add('kind = $', f.kind, 'String');
    if (f.since !== undefined) where.add('started_at >= $', Math.max(0, f.since), 'UInt64');
    if (f.signature !== undefined) where.add('signature = $', f.signature, 'String');
    if (f.before !== undefined) where.add('id < $', Math.max(0, f.before), 'UInt64');
    const limit = Math.min(Math.max(1, f.limit ?? 100), MAX_INCIDENT_LIMIT);
    const [rows, names] = await Promise.all([
      this.rows<IncidentRow>(`${this.incidentSelect(where.sql())} ORDER BY id DESC LIMIT {limit:UInt32}`, { ...where.params, limit }),
      this.names(),
    ]);
    return rows.map((r) => toIncidentSummary(r, names));
  }

  async getIncident(id: number): Promise<IncidentDetail | undefined> {
    const [rows, names] = await Promise.all([this.rows<IncidentRow>(`${this.incidentSelect('id = {id:UInt64}')} LIMIT 1`, { id }), this.names()]);
    const r = rows[0];
    if (r === undefined) return undefined;
    return {
      ...toIncidentSummary(r, names),
      first_message_id: Number(r.first_message_id) === 0 ? null : Number(r.first_message_id),
      last_message_id: Number(r.last_message_id) === 0 ? null : Number(r.last_message_id),
      lines: jsonArray(r.lines), modules: jsonArray(r.modules), context_before: jsonArray(r.context_before), signature_frames: jsonArray(r.signature_frames),
    };
  }

  async check(): Promise<void> {
    try {
      await this.rows(`SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'messages'`, { db: this.db });
    } catch (err) {
      const msg = String((err as Error)?.message ?? err).split('\n')[0]!.trim();
      throw new Error(`ClickHouse unreachable: ${msg}`);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

const INCIDENT_COLUMNS = 'id, key, host, boot, kind, severity, headline, started_at, ended_at, ended_by, ts_usec, first_message_id, ' +
  'last_message_id, release, signature, signature_frames, lines, modules, context_before, silent_after, next_boot';

interface IncidentRow {
  id: string; key: string; host: string; boot: number; kind: string; severity: string; headline: string; started_at: string; ended_at: string;
  ended_by: string; ts_usec: string; first_message_id: string; last_message_id: string; release: string; signature: string; signature_frames: string;
  lines: string; modules: string; context_before: string; silent_after: number; next_boot: number; seen: string;
}

function jsonArray(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

function toIncidentSummary(r: IncidentRow, names: Names): IncidentSummary {
  const silent = Number(r.silent_after);
  return {
    id: Number(r.id), key: r.key, host: names.get(r.host) ?? r.host, address: r.host, boot: Number(r.boot) === 0 ? null : Number(r.boot),
    kind: r.kind, severity: r.severity as IncidentSeverity, headline: r.headline, started_at: Number(r.started_at),
    ended_at: Number(r.ended_at) === 0 ? null : Number(r.ended_at), ended_by: r.ended_by === '' ? null : (r.ended_by as IncidentEndedBy),
    ts_usec: orNull(Number(r.ts_usec)), release: r.release === '' ? null : r.release, signature: r.signature, seen: Number(r.seen ?? 1),
    silent_after: silent < 0 ? null : silent === 1, next_boot: Number(r.next_boot) === 0 ? null : Number(r.next_boot),
  };
}
