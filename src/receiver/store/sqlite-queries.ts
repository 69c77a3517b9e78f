// The read port (port.ts) on SQLite: every SQL statement the web side needs, against the
// migrations/ schema, on a read-only connection. Values only ever travel as parameters; the SQL text
// is built from fixed fragments. better-sqlite3 is synchronous: each method answers at once.
import { MESSAGE_FROM, MESSAGE_SELECT, rowToMessage, type MessageRow } from './reader.js';
import { STORED_MESSAGES_COUNTER } from './batch-writer.js';
import type BetterSqlite3 from 'better-sqlite3';
import type { StoredMessage } from './types.js';
import { compileRegex } from './text-filter.js';
import { openReadOnly } from './database.js';
import { FullTextQueryError, lowerAscii, RegexFilterError, type LiveFilter } from './filters.js';
import { IncidentsStore, type IncidentDetail, type IncidentFilter, type IncidentSummary } from '../incidents-store.js';
import type {
  BootRef, HistogramBucket, HistogramFilters, HostRef, HostSummary, MessageContext, MessageFilters, MessagePage, StoreQueries, StoredTotals,
} from './port.js';

type MessageJson = StoredMessage;
type Db = BetterSqlite3.Database;


// One mapping from a stored row to the API's message, shared with the storage reader.
const MESSAGE_COLUMNS = MESSAGE_SELECT;
const MESSAGE_JOINS = `FROM ${MESSAGE_FROM}`;
const toMessageJson = rowToMessage;

/**
 * `level <= ?`, plus the literal term of the partial index messages_level_id (warnings and worse,
 * migrations/004) when the filter lies inside it: the planner only uses a partial index whose WHERE
 * term appears in the query as written.
 */
function levelSql(level: number): string {
  return level <= SEVERE_LEVEL ? `m.level <= ? AND m.level <= ${SEVERE_LEVEL}` : 'm.level <= ?';
}
const SEVERE_LEVEL = 4;

/** The filters on a record's own columns that the history list and the histogram share. */
function contentFilterSql(f: { level?: number; facility?: number; text?: string; regex?: string }, where: string[], params: unknown[]): void {
  if (f.level !== undefined) {
    where.push(levelSql(f.level));
    params.push(f.level);
  }
  if (f.facility !== undefined) {
    where.push('m.facility = ?');
    params.push(f.facility);
  }
  if (f.text !== undefined) {
    where.push('instr(lower(m.text), ?) > 0');
    params.push(lowerAscii(f.text));
  }
  if (f.regex !== undefined) {
    where.push(`${REGEX_FN}(?, m.text)`);
    params.push(f.regex);
  }
}

function liveFilterSql(filter: LiveFilter, where: string[], params: unknown[]): void {
  if (filter.hosts !== undefined) {
    const ids = [...new Set(filter.hosts.map((h) => h.id))];
    where.push(ids.length === 1 ? 'm.host_id = ?' : `m.host_id IN (${ids.map(() => '?').join(',') || 'NULL'})`);
    params.push(...ids);
  }
  if (filter.level !== undefined) {
    where.push(levelSql(filter.level));
    params.push(filter.level);
  }
  if (filter.text !== undefined && filter.text !== '') {
    where.push('instr(lower(m.text), ?) > 0');
    params.push(lowerAscii(filter.text));
  }
  if (filter.facility !== undefined) {
    where.push('m.facility = ?');
    params.push(filter.facility);
  }
  if (filter.regex !== undefined) {
    where.push(`${REGEX_FN}(?, m.text)`);
    params.push(filter.regex.pattern);
  }
}

/** The SQL function that applies a text-filter.ts regex to a row; registered on the web's connection. */
const REGEX_FN = 'nch_regexp';
const REGEX_CACHE = 32;

function registerRegexFunction(db: Db): void {
  // Compiled once per pattern, not once per row; a small cache, since each filter uses one pattern.
  const cache = new Map<string, RegExp>();
  db.function(REGEX_FN, { deterministic: true }, (pattern: unknown, text: unknown) => {
    if (typeof pattern !== 'string' || typeof text !== 'string') return 0;
    let re = cache.get(pattern);
    if (re === undefined) {
      const c = compileRegex(pattern);
      if ('error' in c) throw new RegexFilterError(c.error);
      if (cache.size >= REGEX_CACHE) cache.clear();
      cache.set(pattern, (re = c));
    }
    return re.test(text) ? 1 : 0;
  });
}




/** The synchronous queries; prepared statements are cached by their SQL text (a small, fixed set). */
class SqliteReads {
  private readonly cache = new Map<string, BetterSqlite3.Statement>();

  constructor(private readonly db: Db) {
    registerRegexFunction(db);
  }

  private stmt(sql: string): BetterSqlite3.Statement {
    let s = this.cache.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  /** Hosts a name refers to: its address or its display name. */
  resolveHost(nameOrAddress: string): HostRef[] {
    return this.stmt('SELECT id, address, name FROM hosts WHERE address = ? OR name = ? ORDER BY id').all(nameOrAddress, nameOrAddress) as HostRef[];
  }

  /** Distinct host ids of several names, in id order. */
  resolveHosts(names: readonly string[]): number[] {
    const ids = new Set<number>();
    for (const n of names) for (const h of this.resolveHost(n)) ids.add(h.id);
    return [...ids].sort((a, b) => a - b);
  }

  listMessages(f: MessageFilters): MessagePage {
    const where: string[] = [];
    const params: unknown[] = [];
    const hostNames = [...(f.host !== undefined ? [f.host] : []), ...(f.hosts ?? [])];
    if (hostNames.length > 0) {
      // Resolved first: `host_id = ?` lets the (host_id, id) index give the order; an IN over a
      // subquery made SQLite sort the host's whole history.
      const ids = this.resolveHosts(hostNames);
      if (ids.length === 0) return { messages: [], older: null, newer: null };
      where.push(ids.length === 1 ? 'm.host_id = ?' : `m.host_id IN (${ids.map(() => '?').join(',')})`);
      params.push(...ids);
    }
    if (f.boot !== undefined) {
      where.push('b.number = ?');
      params.push(f.boot);
    }
    if (f.boot_from !== undefined) {
      where.push('b.number >= ?');
      params.push(f.boot_from);
    }
    if (f.since !== undefined) {
      where.push('m.received_at >= ?');
      params.push(f.since);
    }
    if (f.until !== undefined) {
      where.push('m.received_at <= ?');
      params.push(f.until);
    }
    contentFilterSql(f, where, params);
    if (f.seq_from !== undefined) {
      where.push('m.seq >= ?');
      params.push(f.seq_from);
    }
    if (f.seq_to !== undefined) {
      where.push('m.seq <= ?');
      params.push(f.seq_to);
    }
    // A full-text query alone: the FTS index drives, yielding matches newest first and stopping at
    // the page size (a word in 15% of 10M rows: p95 204 ms -> 5 ms). With a host the host's index
    // drives and the matches are a set to test against (`fts + host` p95 32 ms vs 143 ms driven by
    // FTS, which walks every host's matches). Figures: bench/RESULTS.md, query section.
    const fts = f.q !== undefined && hostNames.length === 0;
    const idCol = fts ? 'f.rowid' : 'm.id';
    if (fts) {
      where.push('messages_fts MATCH ?');
      params.push(f.q);
    } else if (f.q !== undefined) {
      where.push('m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)');
      params.push(f.q);
    }
    // Walking forward from `after` reads ascending; everything else descending from `before`.
    const forward = f.after !== undefined;
    if (f.after !== undefined) {
      where.push(`${idCol} > ?`);
      params.push(f.after);
    }
    if (f.before !== undefined) {
      where.push(`${idCol} < ?`);
      params.push(f.before);
    }
    const from = fts ? MESSAGE_JOINS.replace('FROM messages m', 'FROM messages_fts f JOIN messages m ON m.id = f.rowid') : MESSAGE_JOINS;
    const sql = `SELECT ${MESSAGE_COLUMNS} ${from}
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY ${idCol} ${forward ? 'ASC' : 'DESC'} LIMIT ?`;
    let rows: MessageRow[];
    try {
      rows = this.stmt(sql).all(...params, f.limit + 1) as MessageRow[];
    } catch (err) {
      if (f.q !== undefined && isFtsError(err)) throw new FullTextQueryError(`invalid full-text query ${JSON.stringify(f.q)}: ${(err as Error).message}`);
      throw err;
    }
    const more = rows.length > f.limit;
    if (more) rows.pop();
    const messages = rows.map(toMessageJson);
    if (forward) messages.reverse(); // now newest first
    const newestId = messages.length ? messages[0]!.id : null;
    const oldestId = messages.length ? messages[messages.length - 1]!.id : null;
    const page: MessagePage = forward
      ? // The page holds the `limit` rows right after `after`: older ones are before its oldest.
        { messages, older: oldestId ?? f.after! + 1, newer: newestId ?? f.after! }
      : { messages, older: more ? oldestId : null, newer: newestId ?? (f.before !== undefined ? f.before - 1 : null) };
    if (f.order === 'asc') page.messages.reverse();
    return page;
  }

  /**
   * Records per time bucket and level over [since, until] (received_at), with the list's filters
   * except cursors: the dashboard's histogram. Driven by the received_at index.
   */
  histogram(f: HistogramFilters): HistogramBucket[] {
    const where = ['m.received_at >= ?', 'm.received_at <= ?'];
    const params: unknown[] = [f.since, f.until];
    if (f.hosts.length > 0) {
      const ids = this.resolveHosts(f.hosts);
      if (ids.length === 0) return [];
      where.push(`m.host_id IN (${ids.map(() => '?').join(',')})`);
      params.push(...ids);
    }
    contentFilterSql(f, where, params);
    if (f.q !== undefined) {
      where.push('m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)');
      params.push(f.q);
    }
    const sql = `SELECT (m.received_at / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS t, m.level AS level, count(*) AS n FROM messages m INDEXED BY messages_received_at
      WHERE ${where.join(' AND ')} GROUP BY t, m.level ORDER BY t`;
    try {
      return this.stmt(sql).all(f.bucketMs, f.bucketMs, ...params) as HistogramBucket[];
    } catch (err) {
      if (f.q !== undefined && isFtsError(err)) throw new FullTextQueryError(`invalid full-text query ${JSON.stringify(f.q)}: ${(err as Error).message}`);
      throw err;
    }
  }

  getMessage(id: number): (MessageJson & { boot_id: number; source_id: number }) | undefined {
    const r = this.stmt(`SELECT ${MESSAGE_COLUMNS}, m.boot_id, m.source_id ${MESSAGE_JOINS} WHERE m.id = ?`).get(id) as
      | (MessageRow & { boot_id: number; source_id: number })
      | undefined;
    return r === undefined ? undefined : { ...toMessageJson(r), boot_id: r.boot_id, source_id: r.source_id };
  }

  /**
   * Records around one, in kernel order. With a sequence number: the same boot and the same source
   * (a host with two targets stores every record twice, once per source). Without: arrival order.
   */
  context(id: number, before: number, after: number): MessageContext | undefined {
    const target = this.getMessage(id);
    if (target === undefined) return undefined;
    const { boot_id: bootId, source_id: sourceId, ...message } = target;
    let older: MessageRow[];
    let newer: MessageRow[];
    if (message.seq !== null) {
      older = this.stmt(`SELECT ${MESSAGE_COLUMNS} ${MESSAGE_JOINS}
        WHERE m.boot_id = ? AND m.source_id = ? AND (m.seq < ? OR (m.seq = ? AND m.id < ?))
        ORDER BY m.seq DESC, m.id DESC LIMIT ?`).all(bootId, sourceId, message.seq, message.seq, id, before) as MessageRow[];
      newer = this.stmt(`SELECT ${MESSAGE_COLUMNS} ${MESSAGE_JOINS}
        WHERE m.boot_id = ? AND m.source_id = ? AND (m.seq > ? OR (m.seq = ? AND m.id > ?))
        ORDER BY m.seq ASC, m.id ASC LIMIT ?`).all(bootId, sourceId, message.seq, message.seq, id, after) as MessageRow[];
    } else {
      older = this.stmt(`SELECT ${MESSAGE_COLUMNS} ${MESSAGE_JOINS}
        WHERE m.host_id = (SELECT host_id FROM messages WHERE id = ?) AND m.boot_id = ? AND m.id < ?
        ORDER BY m.id DESC LIMIT ?`).all(id, bootId, id, before) as MessageRow[];
      newer = this.stmt(`SELECT ${MESSAGE_COLUMNS} ${MESSAGE_JOINS}
        WHERE m.host_id = (SELECT host_id FROM messages WHERE id = ?) AND m.boot_id = ? AND m.id > ?
        ORDER BY m.id ASC LIMIT ?`).all(id, bootId, id, after) as MessageRow[];
    }
    return { message, before: older.reverse().map(toMessageJson), after: newer.map(toMessageJson) };
  }

  hosts(): HostSummary[] {
    const hosts = this.stmt(`SELECT h.id, h.address, h.name, h.first_seen, h.last_seen, b.number AS current_boot, b.reason AS current_reason
      FROM hosts h LEFT JOIN boots b ON b.id = h.current_boot_id ORDER BY h.last_seen DESC`).all() as {
      id: number; address: string; name: string | null; first_seen: number; last_seen: number; current_boot: number | null; current_reason: string | null;
    }[];
    return hosts.map((h) => {
      const boots = this.stmt(`SELECT b.id, b.number, b.started_at, b.first_seq, b.reason, b.release,
          b.messages AS messages,
          (SELECT count(*) FROM seq_events e WHERE e.boot_id = b.id AND e.type = 'gap') AS gaps,
          (SELECT COALESCE(sum(e.seq_to - e.seq_from + 1), 0) FROM seq_events e WHERE e.boot_id = b.id AND e.type = 'gap') AS lost
        FROM boots b WHERE b.host_id = ? ORDER BY b.number`).all(h.id) as {
        number: number; started_at: number; first_seq: number | null; reason: string; release: string | null; messages: number; gaps: number; lost: number;
      }[];
      const gaps = this.stmt(`SELECT count(*) AS n, COALESCE(sum(seq_to - seq_from + 1), 0) AS lost FROM seq_events WHERE host_id = ? AND type = 'gap'`).get(h.id) as { n: number; lost: number };
      const counters = this.stmt(`SELECT COALESCE(sum(c.checksum_errors), 0) AS checksum_errors, COALESCE(sum(c.bad_packets), 0) AS bad_packets,
          COALESCE(sum(c.dropped), 0) AS dropped
        FROM source_counters c JOIN sources s ON s.id = c.source_id WHERE s.host_id = ?`).get(h.id) as { checksum_errors: number; bad_packets: number; dropped: number };
      const sources = this.stmt('SELECT address, format, last_seen FROM sources WHERE host_id = ? ORDER BY address').all(h.id) as HostSummary['sources'];
      return {
        host: h.name ?? h.address,
        address: h.address,
        name: h.name,
        first_seen: h.first_seen,
        last_seen: h.last_seen,
        messages: boots.reduce((n, b) => n + b.messages, 0),
        current_boot: h.current_boot,
        rebooted: h.current_reason === 'reboot',
        boots: boots.map((b) => ({
          boot: b.number, started_at: b.started_at, first_seq: b.first_seq, reason: b.reason, release: b.release,
          messages: b.messages, gaps: b.gaps, lost_records: b.lost,
        })),
        gaps: gaps.n,
        lost_records: gaps.lost,
        checksum_errors: counters.checksum_errors,
        bad_packets: counters.bad_packets,
        dropped: counters.dropped,
        sources,
      };
    });
  }

  /** The boot row of a host's boot number, or undefined. */
  findBoot(host: string, bootNumber: number): BootRef | undefined {
    for (const h of this.resolveHost(host)) {
      const b = this.stmt('SELECT id FROM boots WHERE host_id = ? AND number = ?').get(h.id, bootNumber) as { id: number } | undefined;
      if (b !== undefined) return { bootId: b.id, host: h, number: bootNumber };
    }
    return undefined;
  }

  /**
   * One page of a boot's log in kernel order (seq, then arrival for records without one), after a
   * keyset position. Paged so no statement stays open across the awaits of a streamed download.
   */
  bootLogPage(bootId: number, after: { seq: number; id: number } | null, limit: number): MessageJson[] {
    // Records without seq (legacy) sort first as seq -1 so the whole boot is one ordered sequence.
    const rows = after === null
      ? this.stmt(`SELECT ${MESSAGE_COLUMNS} ${MESSAGE_JOINS} WHERE m.boot_id = ?
          ORDER BY COALESCE(m.seq, -1), m.id LIMIT ?`).all(bootId, limit)
      : this.stmt(`SELECT ${MESSAGE_COLUMNS} ${MESSAGE_JOINS} WHERE m.boot_id = ?
          AND (COALESCE(m.seq, -1) > ? OR (COALESCE(m.seq, -1) = ? AND m.id > ?))
          ORDER BY COALESCE(m.seq, -1), m.id LIMIT ?`).all(bootId, after.seq, after.seq, after.id, limit);
    return (rows as MessageRow[]).map(toMessageJson);
  }

  /** Live replay: rows after `cursor` matching the filter, oldest first. */
  liveAfter(cursor: number, filter: LiveFilter, limit: number): MessageJson[] {
    const where = ['m.id > ?'];
    const params: unknown[] = [cursor];
    liveFilterSql(filter, where, params);
    const rows = this.stmt(`SELECT ${MESSAGE_COLUMNS} ${MESSAGE_JOINS} WHERE ${where.join(' AND ')} ORDER BY m.id ASC LIMIT ?`).all(...params, limit) as MessageRow[];
    return rows.map(toMessageJson);
  }

  /** Rows strictly between two ids matching a live filter, oldest first (a hole in what was published). */
  liveBetween(after: number, before: number, filter: LiveFilter, limit: number): MessageJson[] {
    const where = ['m.id > ?', 'm.id < ?'];
    const params: unknown[] = [after, before];
    liveFilterSql(filter, where, params);
    const rows = this.stmt(`SELECT ${MESSAGE_COLUMNS} ${MESSAGE_JOINS} WHERE ${where.join(' AND ')} ORDER BY m.id ASC LIMIT ?`).all(...params, limit) as MessageRow[];
    return rows.map(toMessageJson);
  }

  /**
   * Where a replay from `cursor` should start so that at most `keep` rows are replayed: returns the
   * id to start after and how many matching rows that skips (counted up to `countCap`).
   */
  replayStart(cursor: number, filter: LiveFilter, keep: number, countCap: number): { cursor: number; skipped: number } {
    const where = ['m.id > ?'];
    const params: unknown[] = [cursor];
    liveFilterSql(filter, where, params);
    const cond = where.join(' AND ');
    const pivot = this.stmt(`SELECT m.id FROM messages m WHERE ${cond} ORDER BY m.id DESC LIMIT 1 OFFSET ?`).get(...params, keep) as { id: number } | undefined;
    if (pivot === undefined) return { cursor, skipped: 0 };
    const { n } = this.stmt(`SELECT count(*) AS n FROM (SELECT 1 FROM messages m WHERE ${cond} AND m.id <= ? LIMIT ?)`).get(...params, pivot.id, countCap) as { n: number };
    return { cursor: pivot.id, skipped: n };
  }

  maxMessageId(): number {
    return (this.stmt('SELECT COALESCE(max(id), 0) AS n FROM messages').get() as { n: number }).n;
  }

  storedTotals(): StoredTotals {
    // The writer keeps the exact count in hub_counters: no full scan of a 10M-row table per request.
    const stored = this.stmt('SELECT value FROM hub_counters WHERE name = ?').get(STORED_MESSAGES_COUNTER) as { value: number } | undefined;
    const m = stored ? { messages: stored.value } : (this.stmt('SELECT count(*) AS messages FROM messages').get() as { messages: number });
    const h = this.stmt('SELECT (SELECT count(*) FROM hosts) AS hosts, (SELECT count(*) FROM boots) AS boots').get() as { hosts: number; boots: number };
    const c = this.stmt(`SELECT COALESCE(sum(datagrams), 0) AS datagrams, COALESCE(sum(bytes), 0) AS bytes,
      COALESCE(sum(bad_packets), 0) AS bad_packets, COALESCE(sum(checksum_errors), 0) AS checksum_errors,
      COALESCE(sum(dropped), 0) AS dropped FROM source_counters`).get() as { datagrams: number; bytes: number; bad_packets: number; checksum_errors: number; dropped: number };
    const g = this.stmt(`SELECT count(*) AS gaps FROM seq_events WHERE type = 'gap'`).get() as { gaps: number };
    return { ...m, ...h, ...c, ...g };
  }
}

/** The read port on one read-only SQLite connection. */
export class SqliteQueries implements StoreQueries {
  readonly kind = 'sqlite';
  readonly idsInCommitOrder = true;
  private readonly reads: SqliteReads;
  private incidents: IncidentsStore | null = null;

  /** `owned`: close() closes the connection too. */
  constructor(private readonly db: Db, private readonly owned = false) {
    this.reads = new SqliteReads(db);
  }

  /** Opens the database read-only (WAL lets it read while the writer commits); throws a one-line StoreError. */
  static open(dbPath: string): SqliteQueries {
    const db = openReadOnly(dbPath);
    db.pragma('busy_timeout = 2000');
    return new SqliteQueries(db, true);
  }

  async resolveHost(nameOrAddress: string): Promise<HostRef[]> { return this.reads.resolveHost(nameOrAddress); }
  async listMessages(f: MessageFilters): Promise<MessagePage> { return this.reads.listMessages(f); }
  async histogram(f: HistogramFilters): Promise<HistogramBucket[]> { return this.reads.histogram(f); }
  async context(id: number, before: number, after: number): Promise<MessageContext | undefined> { return this.reads.context(id, before, after); }
  async hosts(): Promise<HostSummary[]> { return this.reads.hosts(); }
  async findBoot(host: string, bootNumber: number): Promise<BootRef | undefined> { return this.reads.findBoot(host, bootNumber); }
  async bootLogPage(boot: BootRef, after: { seq: number; id: number } | null, limit: number): Promise<StoredMessage[]> {
    return this.reads.bootLogPage(boot.bootId, after, limit);
  }
  async liveAfter(cursor: number, filter: LiveFilter, limit: number): Promise<StoredMessage[]> { return this.reads.liveAfter(cursor, filter, limit); }
  async liveBetween(after: number, before: number, filter: LiveFilter, limit: number): Promise<StoredMessage[]> {
    return this.reads.liveBetween(after, before, filter, limit);
  }
  async replayStart(cursor: number, filter: LiveFilter, keep: number, countCap: number): Promise<{ cursor: number; skipped: number }> {
    return this.reads.replayStart(cursor, filter, keep, countCap);
  }
  async maxMessageId(): Promise<number> { return this.reads.maxMessageId(); }
  async storedTotals(): Promise<StoredTotals> { return this.reads.storedTotals(); }
  async listIncidents(f: IncidentFilter): Promise<IncidentSummary[]> { return this.incidentStore().list(f); }
  async getIncident(id: number): Promise<IncidentDetail | undefined> { return this.incidentStore().get(id); }
  async check(): Promise<void> { this.reads.maxMessageId(); }
  async close(): Promise<void> { if (this.owned) this.db.close(); }

  /** Built on first use: a database opened before migration 002 still serves everything else. */
  private incidentStore(): IncidentsStore {
    this.incidents ??= new IncidentsStore(this.db);
    return this.incidents;
  }
}

/** FTS5 reports query syntax problems as plain SQLITE_ERROR ("fts5: syntax error…", "no such column…"). */
function isFtsError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'SQLITE_ERROR' && typeof e.message === 'string';
}
