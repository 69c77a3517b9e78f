// Read side: a read-only connection (WAL lets it read while the writer commits) with the small
// queries /api/stats needs, and the one mapping from a messages row to the API's message JSON that
// both the queries and the writer's 'stored' rows follow.
import type { Statement } from 'better-sqlite3';
import { openReadOnly, type Db, type OpenOptions } from './database.js';
import { STORED_MESSAGES_COUNTER } from './batch-writer.js';
import type { StoredMessage } from './types.js';

/**
 * Columns of a message in API shape; use as `SELECT ${MESSAGE_SELECT} FROM ${MESSAGE_FROM} WHERE …`
 * (messages are `m`, hosts `h`, sources `s`, boots `b`) and map each row with rowToMessage.
 */
export const MESSAGE_SELECT =
  'm.id AS id, coalesce(h.name, h.address) AS host, s.address AS source, b.number AS boot, m.seq AS seq, m.level AS level, ' +
  'm.facility AS facility, m.ts_usec AS ts_usec, m.received_at AS received_at, m.text AS text, m.fields AS fields, m.complete AS complete, m.flags AS flags, m.truncated AS truncated, m.fragmented AS fragmented';
export const MESSAGE_JOINS = 'JOIN hosts h ON h.id = m.host_id JOIN sources s ON s.id = m.source_id JOIN boots b ON b.id = m.boot_id';
export const MESSAGE_FROM = `messages m ${MESSAGE_JOINS}`;

export interface MessageRow {
  id: number;
  host: string;
  source: string;
  boot: number;
  seq: number | null;
  level: number | null;
  facility: number | null;
  ts_usec: number | null;
  received_at: number;
  text: string;
  fields: string;
  complete: number;
  flags: string;
  truncated: number;
  fragmented: number;
}

export function rowToMessage(row: MessageRow): StoredMessage {
  let fields: Record<string, string> = {};
  try {
    const v: unknown = JSON.parse(row.fields);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) fields = v as Record<string, string>;
  } catch {
    /* a damaged fields value shows as empty rather than failing the whole query */
  }
  return { ...row, fields, complete: row.complete === 1, truncated: row.truncated === 1, fragmented: row.fragmented === 1 };
}

export interface StoreStats {
  /** Stored messages (exact, kept by the writer and retention; O(1)). */
  messages: number;
  hosts: number;
  sources: number;
  boots: number;
  /** Sequence events by type. */
  events: { gap: number; duplicate: number; reorder: number; reboot: number };
  /** Records known lost: the sum of all gap ranges. */
  lost_records: number;
  /** Sums of the per-source counter totals. */
  datagrams: number;
  bytes: number;
  bad_packets: number;
  checksum_errors: number;
  evictions: number;
  dropped: number;
  /** Collector-wide totals by name (e.g. 'dropped.queue_full'). */
  hub: Record<string, number>;
}

export class StoreReader {
  private readonly st: Record<string, Statement>;

  private constructor(readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.st = {
      storedCounter: p('SELECT value FROM hub_counters WHERE name = ?'),
      countMessages: p('SELECT count(*) AS n FROM messages'),
      counts: p('SELECT (SELECT count(*) FROM hosts) AS hosts, (SELECT count(*) FROM sources) AS sources, (SELECT count(*) FROM boots) AS boots'),
      events: p("SELECT type, count(*) AS n, coalesce(sum(CASE WHEN type = 'gap' THEN seq_to - seq_from + 1 ELSE 0 END), 0) AS lost FROM seq_events GROUP BY type"),
      counters: p(
        'SELECT coalesce(sum(datagrams), 0) AS datagrams, coalesce(sum(bytes), 0) AS bytes, coalesce(sum(bad_packets), 0) AS bad_packets, ' +
          'coalesce(sum(checksum_errors), 0) AS checksum_errors, coalesce(sum(evictions), 0) AS evictions, coalesce(sum(dropped), 0) AS dropped FROM source_counters',
      ),
      hub: p('SELECT name, value FROM hub_counters'),
      message: p(`SELECT ${MESSAGE_SELECT} FROM ${MESSAGE_FROM} WHERE m.id = ?`),
      search: p(`SELECT ${MESSAGE_SELECT} FROM messages_fts f JOIN messages m ON m.id = f.rowid ${MESSAGE_JOINS} WHERE messages_fts MATCH ? ORDER BY m.id DESC LIMIT ?`),
    };
  }

  /** Opens the database read-only; throws a one-line StoreError (missing, not a database, newer). */
  static open(path: string, options: OpenOptions = {}): StoreReader {
    return new StoreReader(openReadOnly(path, options));
  }

  /** Number of stored messages, without scanning the table. */
  messageCount(): number {
    const row = this.st.storedCounter.get(STORED_MESSAGES_COUNTER) as { value: number } | undefined;
    return row ? row.value : (this.st.countMessages.get() as { n: number }).n;
  }

  stats(): StoreStats {
    const counts = this.st.counts.get() as { hosts: number; sources: number; boots: number };
    const events = { gap: 0, duplicate: 0, reorder: 0, reboot: 0 };
    let lost = 0;
    for (const r of this.st.events.all() as { type: keyof typeof events; n: number; lost: number }[]) {
      events[r.type] = r.n;
      lost += r.lost;
    }
    const c = this.st.counters.get() as Omit<StoreStats, 'messages' | 'hosts' | 'sources' | 'boots' | 'events' | 'lost_records' | 'hub'>;
    const hub: Record<string, number> = {};
    for (const r of this.st.hub.all() as { name: string; value: number }[]) hub[r.name] = r.value;
    return { messages: this.messageCount(), ...counts, events, lost_records: lost, ...c, hub };
  }

  message(id: number): StoredMessage | null {
    const row = this.st.message.get(id) as MessageRow | undefined;
    return row ? rowToMessage(row) : null;
  }

  /** Full-text search (FTS5 query syntax), newest first. Throws SQLite's error on a malformed query. */
  search(query: string, limit = 100): StoredMessage[] {
    return (this.st.search.all(query, limit) as MessageRow[]).map(rowToMessage);
  }

  close(): void {
    this.db.close();
  }
}
