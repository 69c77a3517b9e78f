// Writes one batch of items in ONE transaction on the write connection: assigns hosts, sources and
// boots, inserts messages, sequence events and counter totals, indexes the messages for full-text
// search (in the same transaction when the batch is small, else deferred and in bulk), and returns
// the stored messages in the API's shape. Synchronous; it runs inside
// the write worker (or inline when asked), never on the datagram path.
import type { Statement, Transaction } from 'better-sqlite3';
import type { Db } from './database.js';
import type { LogRecord, SeqEvent, Format } from '../../netconsole/types.js';
import type { CountersSnapshot, HubCountersSnapshot, HostNameItem, StoreItem, StoredMessage } from './types.js';
import { addToOther, CounterTotals, SOURCE_COUNTER_COLUMNS, splitSourceCounters } from './counter-totals.js';
import { hasFields } from './batch-codec.js';
import { judgeRecheck, newBootMembers, type KeptRecord } from '../../netconsole/replay-judge.js';
import { rowToMessage, type MessageRow } from './reader.js';

/** hub_counters row holding the exact number of stored messages (kept by the writer and retention). */
export const STORED_MESSAGES_COUNTER = 'messages.stored';
/** Hosts or sources kept in the write-side caches before they are dropped and reloaded on demand. */
const MAX_CACHED_SOURCES = 200_000;
/**
 * FTS indexing (see migrations/003_fts_progress.sql). A batch this small is indexed in its own
 * transaction: the writer is keeping up and the batch is soon searchable. A larger batch means the
 * writer is behind (group commit gathered a backlog); its indexing is deferred and done in bulk,
 * because one FTS segment per many rows costs a fraction of one per small commit (measured with
 * 200-row commits: 61k rows/s indexing each commit, 96k/s indexing every 20 000 rows).
 */
export const FTS_INLINE_MAX_ROWS = 1000;
/** Deferred rows are indexed once this many are waiting ... */
export const FTS_BULK_ROWS = 20_000;
/** ... or once the oldest has waited this long (searchable within a second of arrival). */
export const FTS_MAX_DELAY_MS = 250;
/**
 * One indexing transaction covers at most this many rows (about 0.3 s): a backlog left by a crash
 * or by an upgrade that rebuilt the index (migration 004) is indexed in such chunks, with batches
 * written in between, instead of one transaction that holds the writer for a minute.
 */
export const FTS_CHUNK_ROWS = 100_000;
/** Cache entries untouched for a whole period of this length are dropped (so idle sources cost nothing here). */
const CACHE_SWEEP_MS = 4000;

interface HostState {
  id: number;
  address: string;
  name: string | null;
  currentBootId: number | null;
  maxBootNumber: number;
  lastSeen: number;
  /** Sweep generation of its last use. */
  used?: number;
}

interface BootState {
  id: number;
  number: number;
  firstSeq: number | null;
  reason: 'first' | 'reboot';
  release: string | null;
  /** Sweep generation of its last use. */
  used?: number;
}

interface SourceState {
  id: number;
  hostId: number;
  format: Format;
  bootId: number | null;
  lastSeen: number;
  /** Sweep generation of its last use. */
  used?: number;
  /** Since the source's seq fell back (records flagged `recheck`), until it passes the old highest again. */
  episode?: Episode | null;
}

/**
 * What a fall-back of a source's seq has brought so far: a replay (every recheck equals a stored
 * row) or a new boot (one differs). Until one differs, look-alikes are not stored, but each is
 * remembered, so a reboot can still take the ones that were its own (newBootMembers).
 */
interface Episode {
  /** The boot the rechecks are compared with. */
  bootId: number;
  /** Its records in arrival order, as [seq, row id] pairs: row id 0 for a look-alike not stored. */
  records: number[];
  /** First duplicate event written during the episode (0: none): a reboot withdraws its members' events. */
  firstDuplicateEventId: number;
}

/** Records an episode remembers (a replay of a whole ring buffer is a few thousand); older ones are forgotten first. */
const MAX_EPISODE_RECORDS = 16_384;

export interface BatchResult {
  rows: StoredMessage[];
  events: number;
  /** Rechecked records found equal to a stored one (not stored), and reboots found by rechecks. */
  duplicates: number;
  rechecks: number;
  /** Boots started because a host rebooted. */
  reboots: number;
  /** Whether every stored row (this batch's and any deferred before) is now in the FTS index. */
  indexed: boolean;
}

/** Host part of a source `ip:port` / `[v6]:port`; the whole string when it has no port. */
export function hostAddressOf(source: string): string {
  if (source.startsWith('[')) {
    const end = source.indexOf(']');
    return end > 0 ? source.slice(1, end) : source;
  }
  const colon = source.lastIndexOf(':');
  if (colon > 0 && source.indexOf(':') === colon) return source.slice(0, colon);
  return source;
}

function isEvent(item: StoreItem): item is SeqEvent {
  return !('kind' in item) && 'type' in item;
}

export class BatchWriter {
  private readonly hosts = new Map<string, HostState>();
  private readonly hostsById = new Map<number, HostState>();
  private readonly sources = new Map<string, SourceState>();
  private readonly boots = new Map<number, BootState>();
  private readonly hubCounters = new CounterTotals();
  /** This batch's rechecked records, and those found equal to a stored one. */
  private rechecks = 0;
  private duplicates = 0;
  /** Boots this batch started because a host rebooted. */
  private reboots = 0;
  /** Messages this batch added to (or moved out of) each boot: boots.messages, one update per boot per batch. */
  private readonly bootCounts = new Map<number, number>();
  /** Incremented by each sweep; entries whose `used` is older were not touched since the previous one. */
  private generation = 0;
  private sweptAt = Date.now();
  private readonly st: Record<string, Statement>;
  private readonly runBatch: Transaction<(items: StoreItem[], indexNow: boolean, spoolMark: number | undefined) => BatchResult>;
  private readonly runIndexChunk: Transaction<(maxRows: number) => number>;
  /** Rows this writer stored without indexing them, and since when. */
  private ftsDeferred = 0;
  private ftsDeferredSince = 0;

  /** `cacheSweepMs`: how long a cache entry may stay unused before a sweep drops it (tests shorten it). */
  constructor(db: Db, private readonly cacheSweepMs = CACHE_SWEEP_MS) {
    const p = (sql: string) => db.prepare(sql);
    this.st = {
      hostByAddress: p('SELECT id, address, name, current_boot_id AS currentBootId, last_seen AS lastSeen, (SELECT coalesce(max(number), 0) FROM boots b WHERE b.host_id = hosts.id) AS maxBootNumber FROM hosts WHERE address = ?'),
      insertHost: p('INSERT INTO hosts (address, name, first_seen, last_seen) VALUES (?, NULL, ?, ?)'),
      setHostBoot: p('UPDATE hosts SET current_boot_id = ? WHERE id = ?'),
      setHostName: p('UPDATE hosts SET name = ? WHERE id = ?'),
      touchHost: p('UPDATE hosts SET last_seen = max(last_seen, ?) WHERE id = ?'),
      sourceByAddress: p('SELECT id, host_id AS hostId, format, boot_id AS bootId, last_seen AS lastSeen FROM sources WHERE address = ?'),
      insertSource: p('INSERT INTO sources (host_id, address, format, boot_id, first_seen, last_seen) VALUES (?, ?, ?, NULL, ?, ?)'),
      setSourceBoot: p('UPDATE sources SET boot_id = ? WHERE id = ?'),
      touchSource: p('UPDATE sources SET last_seen = max(last_seen, ?), format = ? WHERE id = ?'),
      bootById: p('SELECT id, number, first_seq AS firstSeq, reason, release FROM boots WHERE id = ?'),
      insertBoot: p('INSERT INTO boots (host_id, number, started_at, first_seq, reason, release) VALUES (?, ?, ?, ?, ?, ?)'),
      setBootRelease: p('UPDATE boots SET release = ? WHERE id = ?'),
      insertMessage: p(
        'INSERT INTO messages (host_id, source_id, boot_id, seq, pri, level, facility, ts_usec, received_at, text, fields, complete, format, flags, release, truncated, fragmented) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      // The common record (extended, complete, flag '-', no fields, no release) with those as
      // literals: 5 fewer values to bind cut the insert's cost by a fifth (bench/RESULTS.md).
      insertPlainMessage: p(
        'INSERT INTO messages (host_id, source_id, boot_id, seq, pri, level, facility, ts_usec, received_at, text, fields, complete, format, flags, release) ' +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', 1, 'extended', '-', NULL)",
      ),
      // One statement for a whole range of rows not yet indexed: a per-row FTS insert (or trigger) is several times slower.
      ftsProgress: p('SELECT indexed_through AS through FROM fts_progress WHERE id = 1'),
      chunkEnd: p('SELECT max(id) AS last, count(*) AS n FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)'),
      indexRange: p('INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE id > ? AND id <= ?'),
      setFtsProgressTo: p('UPDATE fts_progress SET indexed_through = ? WHERE id = 1'),
      countAfter: p('SELECT count(*) AS n FROM messages WHERE id > ?'),
      spoolMark: p('SELECT committed_through AS through FROM spool_progress WHERE id = 1'),
      // max(): a batch retried after a failure may be older than one committed meanwhile.
      setSpoolMark: p('UPDATE spool_progress SET committed_through = max(committed_through, ?) WHERE id = 1'),
      insertEvent: p('INSERT INTO seq_events (host_id, source_id, boot_id, type, at, seq_from, seq_to, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      // Replay or reboot (writeRechecked): the stored rows of one seq, the old boot's last seq, and
      // what a reboot takes along from the old boot.
      storedAtSeq: p('SELECT ts_usec AS tsUsec, text, complete = 1 AS complete FROM messages WHERE boot_id = ? AND seq = ? AND source_id = ?'),
      lastSeqOfBoot: p('SELECT max(seq) AS seq FROM messages WHERE boot_id = ? AND source_id = ?'),
      copyToBoot: p(
        'INSERT INTO messages (host_id, source_id, boot_id, seq, pri, level, facility, ts_usec, received_at, text, fields, complete, format, flags, release, truncated, fragmented) ' +
          'SELECT host_id, source_id, ?, seq, pri, level, facility, ts_usec, ?, text, fields, complete, format, flags, release, truncated, fragmented FROM messages ' +
          'WHERE boot_id = ? AND source_id = ? AND seq BETWEEN ? AND ? ORDER BY seq, id ' +
          'RETURNING id, seq, level, facility, ts_usec, text, fields, complete, flags, truncated, fragmented',
      ),
      moveRow: p('UPDATE messages SET boot_id = ? WHERE id = ?'),
      addBootMessages: p('UPDATE boots SET messages = messages + ? WHERE id = ?'),
      // One duplicate event per seq of a range (the first of the episode's): the look-alike it stood for is a row after all.
      withdrawDuplicates: p(
        "DELETE FROM seq_events WHERE id IN (SELECT min(id) FROM seq_events WHERE source_id = ? AND type = 'duplicate' AND id >= ? AND seq_from BETWEEN ? AND ? GROUP BY seq_from)",
      ),
      // Increments: the columns add up in SQL; `other` (rare: counters without a column) is merged in JS.
      addSourceCounters: p(
        `INSERT INTO source_counters (source_id, ${SOURCE_COUNTER_COLUMNS.join(', ')}, other, updated_at) VALUES (?, ${SOURCE_COUNTER_COLUMNS.map(() => '?').join(', ')}, '{}', ?) ` +
          `ON CONFLICT (source_id) DO UPDATE SET ${SOURCE_COUNTER_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}, updated_at = excluded.updated_at`,
      ),
      sourceCountersOther: p('SELECT other FROM source_counters WHERE source_id = ?'),
      setSourceCountersOther: p('UPDATE source_counters SET other = ? WHERE source_id = ?'),
      hubCounter: p('SELECT value FROM hub_counters WHERE name = ?'),
      upsertHubCounter: p('INSERT INTO hub_counters (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at'),
      addHubCounter: p('INSERT INTO hub_counters (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value, updated_at = excluded.updated_at'),
    };
    this.runBatch = db.transaction((items: StoreItem[], indexNow: boolean, spoolMark: number | undefined) => {
      const result = this.writeItems(items, indexNow);
      if (spoolMark !== undefined) this.st.setSpoolMark.run(spoolMark);
      return result;
    });
    this.runIndexChunk = db.transaction((maxRows: number) => this.indexChunk(maxRows));
  }

  /**
   * Writes all items in one transaction; on error nothing of the batch is stored and caches are
   * reloaded. `indexNow` indexes every stored row in the same transaction (flush, close), unless a
   * backlog of more than a chunk is being indexed in the background (after an upgrade rebuilt the
   * index): a stop or an import's flush does not wait for that; the chunks, or the next open, do it.
   * `spoolMark`: the spool batch number of a batch read back from the disk spool, committed with it.
   */
  write(items: StoreItem[], indexNow = false, now = Date.now(), spoolMark?: number): BatchResult {
    if (indexNow && this.ftsDeferred > FTS_CHUNK_ROWS) indexNow = false;
    // The caches mirror committed rows, so between batches they can be dropped and reloaded on
    // demand: this keeps a collector that sees ever new sources (months of DHCP churn) bounded.
    if (this.sources.size > MAX_CACHED_SOURCES || this.hosts.size > MAX_CACHED_SOURCES) this.forgetCaches();
    if (now - this.sweptAt >= this.cacheSweepMs) {
      this.sweptAt = now;
      this.sweepCaches();
    }
    let result: BatchResult;
    try {
      result = this.runBatch.immediate(items, indexNow, spoolMark);
    } catch (err) {
      // The rolled-back transaction may have created hosts/sources/boots we cached: forget them all.
      this.bootCounts.clear();
      this.forgetCaches();
      throw err;
    }
    if (result.indexed) {
      this.ftsDeferred = 0;
    } else if (result.rows.length > 0) {
      if (this.ftsDeferred === 0) this.ftsDeferredSince = now;
      this.ftsDeferred += result.rows.length;
    }
    return result;
  }

  /** The highest spool batch number committed (0: none). */
  spoolMark(): number {
    return (this.st.spoolMark.get() as { through: number }).through;
  }

  /** Rows stored but not yet indexed for full-text search. */
  get ftsPending(): number {
    return this.ftsDeferred;
  }

  /** Whether the deferred rows should be indexed now (enough of them, or the oldest waited long enough). */
  ftsDue(now: number): boolean {
    return this.ftsDeferred >= FTS_BULK_ROWS || (this.ftsDeferred > 0 && now - this.ftsDeferredSince >= FTS_MAX_DELAY_MS);
  }

  /**
   * At open: counts the rows a crash or an index rebuild left unindexed, so they are pending (and
   * due at once) like deferred rows. Returns how many.
   */
  loadFtsBacklog(now: number): number {
    const through = (this.st.ftsProgress.get() as { through: number }).through;
    const n = (this.st.countAfter.get(through) as { n: number }).n;
    this.ftsDeferred = n;
    this.ftsDeferredSince = now - FTS_MAX_DELAY_MS;
    return n;
  }

  /**
   * Indexes up to `maxRows` unindexed rows, oldest first, in their own transaction; returns how many
   * are still pending (0 once a chunk came up short: nothing is left).
   */
  indexSome(maxRows = FTS_CHUNK_ROWS): number {
    const n = this.runIndexChunk.immediate(maxRows);
    this.ftsDeferred = n < maxRows ? 0 : Math.max(1, this.ftsDeferred - n);
    return this.ftsDeferred;
  }

  /** Indexes every stored row not yet in the FTS index, a chunk per transaction; returns how many. */
  indexPending(): number {
    let total = 0;
    for (;;) {
      const n = this.runIndexChunk.immediate(FTS_CHUNK_ROWS);
      total += n;
      if (n < FTS_CHUNK_ROWS) break;
    }
    this.ftsDeferred = 0;
    return total;
  }

  /**
   * Inside a write transaction: index the next `maxRows` rows above the recorded progress and advance
   * it. The progress is read from the database, not remembered, so two writers on one file (serve
   * and import) never index a row twice.
   */
  private indexChunk(maxRows: number): number {
    const through = (this.st.ftsProgress.get() as { through: number }).through;
    const chunk = this.st.chunkEnd.get(through, maxRows) as { last: number | null; n: number };
    if (chunk.last === null) return 0;
    this.st.indexRange.run(through, chunk.last);
    this.st.setFtsProgressTo.run(chunk.last);
    return chunk.n;
  }

  private forgetCaches(): void {
    this.hosts.clear();
    this.hostsById.clear();
    this.sources.clear();
    this.boots.clear();
    // Hub counter totals stay: they hold bases from committed rows plus the latest snapshots (totals
    // themselves), so the next snapshot still yields the right lifetime totals; reloading the base
    // from the database would count the last committed snapshot twice.
  }

  /** Entries in the write-side caches (metrics, tests). */
  cacheSizes(): { hosts: number; sources: number; boots: number } {
    return { hosts: this.hosts.size, sources: this.sources.size, boots: this.boots.size };
  }

  /** Drops the entries not used since the previous sweep. */
  private sweepCaches(): void {
    const g = this.generation++;
    for (const [address, h] of this.hosts) {
      if (h.used === g) continue;
      this.hosts.delete(address);
      this.hostsById.delete(h.id);
    }
    // (An idle source's open episode goes with it: a reboot found later then keeps its look-alikes as duplicates.)
    for (const [address, s] of this.sources) if (s.used !== g) this.sources.delete(address);
    for (const [id, b] of this.boots) if (b.used !== g) this.boots.delete(id);
  }

  private writeItems(items: StoreItem[], indexNow: boolean): BatchResult {
    const rows: StoredMessage[] = [];
    let events = 0;
    this.duplicates = 0;
    this.rechecks = 0;
    this.reboots = 0;
    const touchedHosts = new Set<HostState>();
    const touchedSources = new Set<SourceState>();
    let now = 0;
    for (const item of items) {
      if ('kind' in item) {
        if (item.kind === 'counters') this.writeSourceCounters(item);
        else if (item.kind === 'hub-counters') this.writeHubCounters(item);
        else if (item.kind === 'host-name') this.writeHostName(item);
        continue;
      }
      if (isEvent(item)) {
        const src = this.source(item.source, 'extended', item.at);
        this.writeEvent(src, item);
        events++;
        now = Math.max(now, item.at);
        touchedSources.add(src);
        touchedHosts.add(this.hostsById.get(src.hostId)!);
        continue;
      }
      const src = this.source(item.source, item.format, item.receivedAt);
      src.format = item.format;
      if (item.recheck) {
        this.writeRechecked(src, item, rows);
      } else {
        // A record above every seq seen ends a fall-back: what was held back as look-alikes was a replay.
        src.episode = null;
        rows.push(this.writeRecord(src, item));
      }
      now = Math.max(now, item.receivedAt);
      touchedSources.add(src);
      touchedHosts.add(this.hostsById.get(src.hostId)!);
    }
    for (const [id, n] of this.bootCounts) if (n !== 0) this.st.addBootMessages.run(n, id);
    this.bootCounts.clear();
    // last_seen once per batch per host/source rather than once per record.
    for (const s of touchedSources) this.st.touchSource.run(s.lastSeen, s.format, s.id);
    for (const h of touchedHosts) this.st.touchHost.run(h.lastSeen, h.id);
    if (rows.length > 0) this.st.addHubCounter.run(STORED_MESSAGES_COUNTER, rows.length, now);
    // Small batch while nothing is deferred: index it now, in this transaction. Otherwise leave it
    // (and anything deferred) to the bulk indexing the caller runs when ftsDue() says so.
    let indexed = this.ftsDeferred === 0 && rows.length === 0;
    if (indexNow || (this.ftsDeferred === 0 && rows.length > 0 && rows.length <= FTS_INLINE_MAX_ROWS)) {
      this.indexChunk(Number.MAX_SAFE_INTEGER);
      indexed = true;
    }
    return { rows, events, indexed, duplicates: this.duplicates, rechecks: this.rechecks, reboots: this.reboots };
  }

  /**
   * A record whose seq fell back (see Episode), judged by judgeRecheck against the rows this
   * source's boot holds for its seq: stored when there is none (or only part of it); not stored, as
   * a duplicate, when it equals one; the first record of a new boot when they differ.
   */
  private writeRechecked(src: SourceState, r: LogRecord, rows: StoredMessage[]): void {
    this.rechecks++;
    const boot = this.currentBoot(src, r.receivedAt, r.seq, r.release);
    const seq = r.seq as number;
    const kept = this.st.storedAtSeq.all(boot.id, seq, src.id) as Array<Omit<KeptRecord, 'complete'> & { complete: number }>;
    const verdict = judgeRecheck(kept.map((k) => ({ ...k, complete: k.complete === 1 })), r);
    let ep = src.episode;
    if (!ep || ep.bootId !== boot.id) ep = src.episode = { bootId: boot.id, records: [], firstDuplicateEventId: 0 };
    if (ep.records.length >= 2 * MAX_EPISODE_RECORDS) ep.records.splice(0, MAX_EPISODE_RECORDS);
    if (verdict === 'new' || verdict === 'store') {
      const row = this.writeRecord(src, r);
      ep.records.push(seq, row.id);
      rows.push(row);
    } else if (verdict === 'duplicate') {
      const host = this.hostsById.get(src.hostId)!;
      const info = this.st.insertEvent.run(host.id, src.id, boot.id, 'duplicate', r.receivedAt, seq, seq, null);
      if (ep.firstDuplicateEventId === 0) ep.firstDuplicateEventId = Number(info.lastInsertRowid);
      ep.records.push(seq, 0);
      this.duplicates++;
    } else {
      this.rebootFrom(src, ep, r, rows);
    }
  }

  /** The episode is a new boot: it gets its members (rows moved, look-alikes copied from the old boot) and `r`. */
  private rebootFrom(src: SourceState, ep: Episode, r: LogRecord, rows: StoredMessage[]): void {
    const host = this.hostsById.get(src.hostId)!;
    const old = this.boot(ep.bootId);
    const seqs: number[] = [];
    for (let i = 0; i < ep.records.length; i += 2) seqs.push(ep.records[i]);
    const members = newBootMembers(seqs, r.seq as number);
    const firstSeq = members.length ? seqs[members[0]] : (r.seq as number);
    const current = host.currentBootId !== null ? this.boot(host.currentBootId) : null;
    // Another target of the host may have found the same reboot first: join its boot.
    const sameReboot = current !== null && current.id !== old.id && joinsReboot(current, firstSeq);
    const nb = sameReboot ? current : this.startBoot(host, 'reboot', r.receivedAt, firstSeq, r.release);
    this.moveSource(src, nb.id);
    const lookAlikes: number[] = [];
    for (const i of members) {
      const rowId = ep.records[2 * i + 1];
      if (rowId !== 0) {
        this.st.moveRow.run(nb.id, rowId);
        this.countInBoot(old.id, -1);
        this.countInBoot(nb.id, 1);
      } else {
        lookAlikes.push(seqs[i]);
      }
    }
    const previous = (this.st.lastSeqOfBoot.get(old.id, src.id) as { seq: number | null }).seq;
    this.st.insertEvent.run(host.id, src.id, nb.id, 'reboot', r.receivedAt, previous, firstSeq,
      `seq ${previous} -> ${firstSeq}: seq ${r.seq} differs from the stored record`);
    // Look-alikes come in increasing seq: copy them a run of consecutive seqs at a time.
    for (let i = 0; i < lookAlikes.length;) {
      let j = i;
      while (j + 1 < lookAlikes.length && lookAlikes[j + 1] === lookAlikes[j] + 1) j++;
      const [from, to] = [lookAlikes[i], lookAlikes[j]];
      this.duplicates -= this.st.withdrawDuplicates.run(src.id, ep.firstDuplicateEventId, from, to).changes;
      const copied = this.st.copyToBoot.all(nb.id, r.receivedAt, old.id, src.id, from, to) as CopiedRow[];
      this.countInBoot(nb.id, copied.length);
      for (const c of copied) rows.push(rowToMessage({ ...c, host: host.name ?? host.address, source: r.source, boot: nb.number, received_at: r.receivedAt }));
      i = j + 1;
    }
    const row = this.writeRecord(src, r);
    rows.push(row);
    src.episode = { bootId: nb.id, records: [r.seq as number, row.id], firstDuplicateEventId: 0 };
  }

  private host(address: string, at: number): HostState {
    let h = this.hosts.get(address);
    if (!h) {
      const row = this.st.hostByAddress.get(address) as HostState | undefined;
      if (row) {
        h = row;
      } else {
        const id = Number(this.st.insertHost.run(address, at, at).lastInsertRowid);
        h = { id, address, name: null, currentBootId: null, maxBootNumber: 0, lastSeen: at };
      }
      this.hosts.set(address, h);
      this.hostsById.set(h.id, h);
    }
    if (at > h.lastSeen) h.lastSeen = at;
    h.used = this.generation;
    return h;
  }

  private source(address: string, format: Format, at: number): SourceState {
    let s = this.sources.get(address);
    if (!s) {
      const host = this.host(hostAddressOf(address), at);
      const row = this.st.sourceByAddress.get(address) as SourceState | undefined;
      if (row) {
        s = row;
      } else {
        const id = Number(this.st.insertSource.run(host.id, address, format, at, at).lastInsertRowid);
        s = { id, hostId: host.id, format, bootId: null, lastSeen: at };
      }
      this.sources.set(address, s);
    } else {
      this.host(hostAddressOf(address), at);
    }
    if (at > s.lastSeen) s.lastSeen = at;
    s.used = this.generation;
    return s;
  }

  private boot(id: number): BootState {
    let b = this.boots.get(id);
    if (!b) {
      b = this.st.bootById.get(id) as BootState;
      this.boots.set(id, b);
    }
    b.used = this.generation;
    return b;
  }

  private startBoot(host: HostState, reason: 'first' | 'reboot', at: number, firstSeq: number | null, release: string | null): BootState {
    if (reason === 'reboot') this.reboots++;
    const number = host.maxBootNumber + 1;
    const id = Number(this.st.insertBoot.run(host.id, number, at, firstSeq, reason, release).lastInsertRowid);
    const b: BootState = { id, number, firstSeq, reason, release, used: this.generation };
    this.boots.set(id, b);
    host.maxBootNumber = number;
    host.currentBootId = id;
    this.st.setHostBoot.run(id, host.id);
    return b;
  }

  private moveSource(src: SourceState, bootId: number): void {
    src.bootId = bootId;
    this.st.setSourceBoot.run(bootId, src.id);
  }

  /** The boot a source's next record belongs to: its own, else the host's current one, else boot 1. */
  private currentBoot(src: SourceState, at: number, firstSeq: number | null, release: string | null): BootState {
    if (src.bootId !== null) return this.boot(src.bootId);
    const host = this.hostsById.get(src.hostId)!;
    const b = host.currentBootId !== null ? this.boot(host.currentBootId) : this.startBoot(host, 'first', at, firstSeq, release);
    this.moveSource(src, b.id);
    return b;
  }

  private writeRecord(src: SourceState, r: LogRecord): StoredMessage {
    const host = this.hostsById.get(src.hostId)!;
    const boot = this.currentBoot(src, r.receivedAt, r.seq, r.release);
    if (boot.release === null && r.release) {
      boot.release = r.release;
      this.st.setBootRelease.run(r.release, boot.id);
    }
    const plain = r.complete && r.format === 'extended' && r.flags === '-' && !r.release && !hasFields(r.fields) && !r.truncated && !r.fragmented;
    const info = plain
      ? this.st.insertPlainMessage.run(host.id, src.id, boot.id, r.seq, r.pri, r.level, r.facility, r.tsUsec, r.receivedAt, r.text)
      : this.st.insertMessage.run(
          host.id, src.id, boot.id, r.seq, r.pri, r.level, r.facility, r.tsUsec, r.receivedAt, r.text, JSON.stringify(r.fields ?? {}),
          r.complete ? 1 : 0, r.format, r.flags ?? '', r.release, r.truncated ? 1 : 0, r.fragmented ? 1 : 0,
        );
    const id = Number(info.lastInsertRowid);
    this.countInBoot(boot.id, 1);
    return {
      id,
      host: host.name ?? host.address,
      source: r.source,
      boot: boot.number,
      seq: r.seq,
      level: r.level,
      facility: r.facility,
      ts_usec: r.tsUsec,
      received_at: r.receivedAt,
      text: r.text,
      fields: r.fields ?? {},
      complete: r.complete,
      truncated: r.truncated === true,
      fragmented: r.fragmented === true,
      flags: r.flags ?? '',
    };
  }

  private countInBoot(bootId: number, n: number): void {
    this.bootCounts.set(bootId, (this.bootCounts.get(bootId) ?? 0) + n);
  }

  private writeEvent(src: SourceState, e: SeqEvent): void {
    const host = this.hostsById.get(src.hostId)!;
    let boot: BootState;
    if (e.type === 'reboot') {
      src.episode = null;
      const current = host.currentBootId !== null ? this.boot(host.currentBootId) : null;
      // Every netconsole target of a host reports the same reboot: the second target joins the
      // boot the first one started instead of starting another.
      const sameReboot = current !== null && src.bootId !== current.id && joinsReboot(current, e.to);
      boot = sameReboot ? current : this.startBoot(host, src.bootId === null && current === null ? 'first' : 'reboot', e.at, e.to, null);
      this.moveSource(src, boot.id);
    } else {
      boot = this.currentBoot(src, e.at, null, null);
    }
    this.st.insertEvent.run(host.id, src.id, boot.id, e.type, e.at, e.from, e.to, e.detail ?? null);
  }

  private writeSourceCounters(c: CountersSnapshot): void {
    const src = this.source(c.source, 'extended', c.at);
    const { columns, other } = splitSourceCounters(c.counters);
    this.st.addSourceCounters.run(src.id, ...columns, c.at);
    if (other) {
      const row = this.st.sourceCountersOther.get(src.id) as { other: string } | undefined;
      this.st.setSourceCountersOther.run(addToOther(row?.other, other), src.id);
    }
  }

  private writeHubCounters(c: HubCountersSnapshot): void {
    for (const [name, value] of Object.entries(c.counters)) {
      if (name === STORED_MESSAGES_COUNTER) continue;
      const totals = this.hubCounters.apply(name, { [name]: value }, () => {
        const row = this.st.hubCounter.get(name) as { value: number } | undefined;
        return row ? { [name]: row.value } : {};
      });
      this.st.upsertHubCounter.run(name, totals[name] ?? 0, c.at);
    }
  }

  private writeHostName(item: HostNameItem): void {
    const h = this.host(item.address, 0);
    h.name = item.name;
    this.st.setHostName.run(item.name, h.id);
  }
}

/** Whether a source's reboot is the one another target of the host already started `boot` for (a legacy target knows no seq). */
function joinsReboot(boot: BootState, firstSeq: number | null): boolean {
  return boot.reason === 'reboot' && (boot.firstSeq === firstSeq || boot.firstSeq === null || firstSeq === null);
}

type CopiedRow = Omit<MessageRow, 'host' | 'source' | 'boot' | 'received_at'>;
