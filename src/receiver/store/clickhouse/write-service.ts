// The write side on ClickHouse (the write protocol of write-protocol.ts, as SQLite's WriteService):
// each batch becomes one INSERT per table, in arrival order, one batch at a time.
//
// - Hosts, sources and boots are found in the store on a cache miss: a collector that restarts, or
//   takes over a source from another collector, continues the boot the store holds.
// - Exactly once: a record flagged `recheck` is looked up by (host, boot, source, seq) in the store
//   (one query per batch) and judged by judgeRecheck, as on SQLite. Rows are ReplacingMergeTree
//   keyed by (host, boot, source, seq, lkey), so a retried insert collapses into the row it repeats.
// - ClickHouse away or slow: a failed insert is retried with backoff, never dropped; the main thread
//   hears 'store-state' (failing), its queue fills and the disk spool takes the rest.
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { LogRecord, SeqEvent } from '../../../netconsole/types.js';
import { judgeRecheck, type KeptRecord } from '../../../netconsole/replay-judge.js';
import { IncidentDetector, type IncidentChange } from '../../../netconsole/incidents.js';
import { decodeItems, itemCount, type EncodedBatch } from '../batch-codec.js';
import { hostAddressOf, STORED_MESSAGES_COUNTER } from '../batch-writer.js';
import { splitSourceCounters } from '../counter-totals.js';
import { detectIncidents } from '../../incidents-store.js';
import type { FromWriter, IncidentNotice, ToWriter, WriteServiceOptions } from '../write-protocol.js';
import type { StoreItem, StoredMessage } from '../types.js';
import type { WriteSide } from '../port.js';
import { parseClickHouseReadUrl } from './url-read.js';
import { stringLiteral } from './queries.js';
import { migrateClickHouse } from './schema.js';
import { IdClock, MAX_COLLECTORS } from './ids.js';
import { TsvBuffer, tsvField } from './tsv.js';

interface HostState { name: string | null; firstSeen: number; lastSeen: number; maxBoot: number; currentBoot: number; currentReason: string; currentFirstSeq: number | null }
interface SourceState { host: string; boot: number | null; format: string; lastSeen: number }
interface BootRow { host: string; boot: number; started_at: number; first_seq: number; reason: string; release: string; collector: number; updated_at: number }

/** Items written in one go at most (see writeWaiting). */
const GROUP_MAX_ITEMS = 50_000;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

function isEvent(item: StoreItem): item is SeqEvent {
  return !('kind' in item) && 'type' in item;
}

/** 64-bit FNV-1a of a legacy line's identity, as a decimal string (the lkey of its row). */
function legacyKey(r: LogRecord): string {
  let h = 0xcbf29ce484222325n;
  const s = `${r.source}\u0000${r.receivedAt}\u0000${r.text}`;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return (h === 0n ? 1n : h).toString();
}

/** The columns of a messages row as written (TabSeparated, in this order). */
const MESSAGE_COLUMNS = ['id', 'collector', 'host', 'source', 'boot', 'seq', 'lkey', 'level', 'facility', 'ts_usec', 'received_at', 'text', 'fields', 'complete', 'flags', 'truncated', 'fragmented'] as const;

/** The key rows of one (host, boot, source, seq) are gathered under for a recheck. */
function recheckKey(host: string, boot: number, source: string, seq: number): string {
  return `${host}\u0000${boot}\u0000${source}\u0000${seq}`;
}

function message(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClickHouseWriteService implements WriteSide {
  private client: ClickHouseClient | null = null;
  private db = '';
  private ids: IdClock | null = null;
  private collector = 0;
  /** The id of the last message row this write side stored (see 'stored' after). */
  private lastMessageId: number | null = null;
  private chain: Promise<void> = Promise.resolve();
  /** Batches received and not yet written, in order; written as groups by writeWaiting(). */
  private readonly waiting: { id: number; items: EncodedBatch; count: number }[] = [];
  private writeScheduled = false;
  private closed = false;
  private emitRows: boolean;
  private failing: string | null = null;
  private readonly hosts = new Map<string, HostState>();
  private readonly sources = new Map<string, SourceState>();
  private readonly incidentIds = new Map<string, number>();
  private readonly detector: IncidentDetector | null;

  constructor(private readonly options: WriteServiceOptions, private readonly reply: (msg: FromWriter) => void) {
    this.emitRows = options.emitRows;
    this.detector = options.detectIncidents ? new IncidentDetector() : null;
  }

  async open(): Promise<boolean> {
    try {
      const t = parseClickHouseReadUrl(this.options.store!);
      this.db = t.database;
      this.client = createClient({
        url: t.url, username: t.username, password: t.password, request_timeout: 30_000,
        compression: { request: false, response: false },
      });
      const migration = await migrateClickHouse(this.client, this.db, Date.now());
      this.collector = await this.registerCollector();
      this.ids = new IdClock(this.collector);
      this.reply({ type: 'ready', migration, ftsBacklog: 0, spoolMark: 0, collector: this.collector });
      return true;
    } catch (err) {
      await this.client?.close().catch(() => {});
      this.reply({ type: 'open-failed', message: `cannot open the ClickHouse store ${this.redacted()}: ${message(err)}` });
      return false;
    }
  }

  private redacted(): string {
    return (this.options.store ?? '').replace(/\/\/[^@/]*@/, '//***@');
  }

  /** This collector's id (0-63): --collector-id, else the one registered under its name, else the lowest free one. */
  private async registerCollector(): Promise<number> {
    const name = this.options.collectorName ?? hostname();
    const rows = await this.select<{ id: number; name: string }>(`SELECT id, name FROM ${this.db}.collectors ORDER BY registered_at`);
    let id = this.options.collectorId;
    if (id === undefined) {
      id = rows.find((r) => r.name === name)?.id;
      if (id === undefined) {
        const used = new Set(rows.map((r) => Number(r.id)));
        id = [...Array(MAX_COLLECTORS).keys()].find((i) => !used.has(i));
        if (id === undefined) throw new Error(`${MAX_COLLECTORS} collectors are registered already; give this one --collector-id N`);
      }
    }
    if (!rows.some((r) => Number(r.id) === id && r.name === name)) {
      await this.client!.insert({ table: `${this.db}.collectors`, values: [{ id, name, registered_at: Date.now() }], format: 'JSONEachRow' });
    }
    return Number(id);
  }

  private async select<T>(query: string): Promise<T[]> {
    const rs = await this.client!.query({ query, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  handle(msg: ToWriter): void {
    if (msg.type === 'emit-rows') {
      this.emitRows = msg.on;
      return;
    }
    if (msg.type === 'close') {
      this.chain = this.chain.then(() => this.close());
      return;
    }
    if (!this.client || this.closed) {
      this.reply({ type: 'batch-failed', id: msg.id, items: itemCount(msg.items), message: 'storage is closed' });
      return;
    }
    this.waiting.push({ id: msg.id, items: msg.items, count: itemCount(msg.items) });
    this.scheduleWrite();
  }

  private scheduleWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    this.chain = this.chain.then(() => this.writeWaiting());
  }

  /**
   * Writes the batches that waited behind the last write as one: ClickHouse wants few large inserts
   * (each makes a part in each table, merged later), and a write costs nearly as much for 5 000 rows
   * as for 50 000. At a low rate that is one batch per write, as before; under load the group grows
   * to what arrived during the previous write, up to GROUP_MAX_ITEMS.
   */
  private async writeWaiting(): Promise<void> {
    this.writeScheduled = false;
    const group: { id: number; items: number }[] = [];
    const items: StoreItem[] = [];
    while (this.waiting.length > 0 && (group.length === 0 || items.length + this.waiting[0]!.count <= GROUP_MAX_ITEMS)) {
      const b = this.waiting.shift()!;
      group.push({ id: b.id, items: b.count });
      for (const it of decodeItems(b.items)) items.push(it);
    }
    if (group.length === 0) return;
    try {
      await this.writeBatch(group, items);
    } catch (err) {
      for (const b of group) this.reply({ type: 'batch-failed', id: b.id, items: b.items, message: `ClickHouse: ${message(err)}` });
    }
    // Behind whatever else was queued meanwhile (an incident poll, close).
    if (this.waiting.length > 0) this.scheduleWrite();
  }

  tick(): void {
    if (this.detector && !this.closed) this.chain = this.chain.then(() => this.saveIncidents(this.detector!.poll(Date.now())));
  }

  /** One insert, retried until it succeeds (or the service closes). */
  private async insert(table: string, values: object[]): Promise<void> {
    if (values.length === 0) return;
    await this.retrying(() => this.client!.insert({ table: `${this.db}.${table}`, values, format: 'JSONEachRow' }));
  }

  /**
   * The messages as one TabSeparated insert: the rows are written as text here, without an object
   * per row for the client to turn into JSON (its encoding took 17 % of the worker's time, and its
   * garbage much of the GC's 25 %), and ClickHouse parses TabSeparated faster than JSONEachRow.
   */
  private async insertMessages(rows: TsvBuffer): Promise<void> {
    if (rows.lines === 0) return;
    const body = rows.bytes();
    await this.retrying(() => this.client!.insert({
      table: `${this.db}.messages`, columns: [...MESSAGE_COLUMNS], format: 'TabSeparated', values: Readable.from([body], { objectMode: false }),
    }));
  }

  /** A query for state, retried like an insert. */
  private read<T>(query: string): Promise<T[]> {
    return this.retrying(() => this.select<T>(query));
  }

  /** Runs `op` until it succeeds, with backoff; the main thread hears when the store fails and when it answers again. */
  private async retrying<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await op();
        if (this.failing !== null) {
          this.failing = null;
          this.reply({ type: 'store-state', failing: null });
        }
        return result;
      } catch (err) {
        const why = `store unreachable (${message(err)})`;
        if (this.failing !== why) {
          this.failing = why;
          this.reply({ type: 'store-state', failing: why });
        }
        if (this.closed && attempt >= 3) throw err;
        await sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** Loads what the store knows of hosts and sources this batch names and the cache lacks. */
  private async loadState(items: StoreItem[]): Promise<void> {
    const hosts = new Set<string>();
    for (const it of items) {
      const source = 'kind' in it ? (it.kind === 'counters' ? it.source : null) : it.source;
      const host = 'kind' in it ? (it.kind === 'host-name' ? it.address : source ? hostAddressOf(source) : null) : hostAddressOf(it.source);
      if (host && !this.hosts.has(host)) hosts.add(host);
    }
    if (hosts.size > 0) {
      const list = [...hosts].map((h) => stringLiteral(h)).join(',');
      const [named, boots] = await Promise.all([
        this.read<{ address: string; name: string; has_name: number; first_seen: string; last_seen: string }>(
          `SELECT address, name, has_name, first_seen, last_seen FROM ${this.db}.hosts FINAL WHERE address IN (${list})`),
        this.read<{ host: string; boot: number; reason: string; first_seq: string }>(
          `SELECT host, boot, reason, first_seq FROM ${this.db}.boots FINAL WHERE host IN (${list}) ORDER BY host, boot DESC LIMIT 1 BY host`),
      ]);
      for (const h of hosts) {
        const n = named.find((r) => r.address === h);
        const b = boots.find((r) => r.host === h);
        this.hosts.set(h, {
          name: n && Number(n.has_name) === 1 ? n.name : null,
          firstSeen: n ? Number(n.first_seen) : 0, lastSeen: n ? Number(n.last_seen) : 0,
          maxBoot: b ? Number(b.boot) : 0, currentBoot: b ? Number(b.boot) : 0, currentReason: b?.reason ?? '',
          currentFirstSeq: b && Number(b.first_seq) >= 0 ? Number(b.first_seq) : null,
        });
      }
    }
    // A source new to this collector continues its host's current boot (the store's): see bootOf.
  }

  private host(address: string, at: number): HostState {
    let h = this.hosts.get(address);
    if (!h) {
      h = { name: null, firstSeen: at, lastSeen: at, maxBoot: 0, currentBoot: 0, currentReason: '', currentFirstSeq: null };
      this.hosts.set(address, h);
    }
    if (h.firstSeen === 0 || (at > 0 && at < h.firstSeen)) h.firstSeen = at;
    if (at > h.lastSeen) h.lastSeen = at;
    return h;
  }

  private source(address: string, format: string, at: number): SourceState {
    let s = this.sources.get(address);
    if (!s) {
      s = { host: hostAddressOf(address), boot: null, format, lastSeen: at };
      this.sources.set(address, s);
    }
    if (at > s.lastSeen) s.lastSeen = at;
    return s;
  }

  private async writeBatch(group: { id: number; items: number }[], items: StoreItem[]): Promise<void> {
    if (this.options.slowBatchMs) await sleep(this.options.slowBatchMs);
    await this.loadState(items);
    const now = Date.now();
    const messages = new TsvBuffer(items.length * 256);
    const rows: StoredMessage[] = [];
    const events: object[] = [];
    const bootRows = new Map<string, BootRow>();
    const counters: object[] = [];
    const hubCounters: object[] = [];
    const touchedHosts = new Set<string>();
    const touchedSources = new Set<string>();
    let duplicates = 0;
    let rechecks = 0;
    let reboots = 0;
    let eventCount = 0;

    // Rechecks: what the store keeps at their (host, boot, source, seq), in one query.
    const kept = await this.keptForRechecks(items);
    // Rows of this batch by the same key, so a recheck later in the batch sees them (kept only when
    // the batch has a recheck at all).
    const inBatch = new Map<string, KeptRecord[]>();
    const anyRecheck = items.some((it) => !('kind' in it) && !isEvent(it) && it.recheck === true);

    const startBoot = (host: string, h: HostState, reason: 'first' | 'reboot', at: number, firstSeq: number | null, release: string | null): number => {
      if (reason === 'reboot') reboots++;
      h.maxBoot += 1;
      h.currentBoot = h.maxBoot;
      h.currentReason = reason;
      h.currentFirstSeq = firstSeq;
      bootRows.set(`${host}\u0000${h.maxBoot}`, {
        host, boot: h.maxBoot, started_at: at, first_seq: firstSeq ?? -1, reason, release: release ?? '', collector: this.collector, updated_at: now,
      });
      return h.maxBoot;
    };
    const bootOf = (src: SourceState, h: HostState, at: number, firstSeq: number | null, release: string | null): number => {
      if (src.boot !== null) return src.boot;
      src.boot = h.currentBoot > 0 ? h.currentBoot : startBoot(src.host, h, 'first', at, firstSeq, release);
      return src.boot;
    };
    const joinsReboot = (h: HostState, firstSeq: number | null) =>
      h.currentReason === 'reboot' && (h.currentFirstSeq === firstSeq || h.currentFirstSeq === null || firstSeq === null);

    const store = (src: SourceState, h: HostState, r: LogRecord, boot: number) => {
      const mid = this.ids!.next(r.receivedAt);
      const fields = r.fields === undefined || r.fields === null ? '{}' : JSON.stringify(r.fields);
      // In MESSAGE_COLUMNS' order; numbers as decimals, strings through tsvField.
      messages.line(`${mid}\t${this.collector}\t${tsvField(src.host)}\t${tsvField(r.source)}\t${boot}\t${r.seq ?? -1}\t${r.seq === null ? legacyKey(r) : '0'}\t${r.level ?? -1}\t${r.facility ?? -1}\t${r.tsUsec ?? -1}\t${r.receivedAt}\t${tsvField(r.text)}\t${tsvField(fields)}\t${r.complete ? 1 : 0}\t${tsvField(r.flags ?? '')}\t${r.truncated ? 1 : 0}\t${r.fragmented ? 1 : 0}\n`);
      if (anyRecheck && r.seq !== null) {
        const k = recheckKey(src.host, boot, r.source, r.seq);
        const list = inBatch.get(k) ?? [];
        list.push({ tsUsec: r.tsUsec, text: r.text, complete: r.complete });
        inBatch.set(k, list);
      }
      rows.push({
        id: mid, host: h.name ?? src.host, source: r.source, boot, seq: r.seq, level: r.level, facility: r.facility, ts_usec: r.tsUsec,
        received_at: r.receivedAt, text: r.text, fields: r.fields ?? {}, complete: r.complete, flags: r.flags ?? '',
        truncated: r.truncated === true, fragmented: r.fragmented === true,
      });
      if (r.release) {
        const b = bootRows.get(`${src.host}\u0000${boot}`);
        if (b && b.release === '') b.release = r.release;
      }
    };
    const event = (source: string, boot: number, type: string, at: number, from: number | null, to: number | null, detail: string | null) => {
      events.push({ id: this.ids!.next(at), host: hostAddressOf(source), boot, source, type,
        seq_from: from ?? -1, seq_to: to ?? -1, at, detail: detail ?? '' });
      eventCount++;
    };

    for (const item of items) {
      if ('kind' in item) {
        if (item.kind === 'counters') {
          const src = this.source(item.source, 'extended', item.at);
          const { columns } = splitSourceCounters(item.counters);
          const [datagrams, bytes, bad_packets, checksum_errors, evictions, dropped] = columns;
          counters.push({ source: item.source, collector: this.collector, host: src.host, datagrams, bytes, bad_packets, checksum_errors, evictions, dropped });
        } else if (item.kind === 'hub-counters') {
          for (const [name, value] of Object.entries(item.counters)) if (name !== STORED_MESSAGES_COUNTER) hubCounters.push({ name, collector: this.collector, value });
        } else {
          const h = this.host(item.address, 0);
          h.name = item.name;
          touchedHosts.add(item.address);
        }
        continue;
      }
      if (isEvent(item)) {
        const src = this.source(item.source, 'extended', item.at);
        const h = this.host(src.host, item.at);
        let boot: number;
        if (item.type === 'reboot') {
          const sameReboot = h.currentBoot > 0 && src.boot !== h.currentBoot && joinsReboot(h, item.to);
          boot = sameReboot ? h.currentBoot : startBoot(src.host, h, src.boot === null && h.currentBoot === 0 ? 'first' : 'reboot', item.at, item.to, null);
          src.boot = boot;
        } else {
          boot = bootOf(src, h, item.at, null, null);
        }
        event(item.source, boot, item.type, item.at, item.from, item.to, item.detail ?? null);
        touchedSources.add(item.source);
        touchedHosts.add(src.host);
        continue;
      }
      const r = item;
      const src = this.source(r.source, r.format, r.receivedAt);
      src.format = r.format;
      const h = this.host(src.host, r.receivedAt);
      touchedSources.add(r.source);
      touchedHosts.add(src.host);
      const boot = bootOf(src, h, r.receivedAt, r.seq, r.release);
      if (!r.recheck || r.seq === null) {
        store(src, h, r, boot);
        continue;
      }
      rechecks++;
      const k = recheckKey(src.host, boot, r.source, r.seq);
      const verdict = judgeRecheck([...(kept.get(k) ?? []), ...(inBatch.get(k) ?? [])], { tsUsec: r.tsUsec, text: r.text, complete: r.complete });
      if (verdict === 'new' || verdict === 'store') {
        store(src, h, r, boot);
      } else if (verdict === 'duplicate') {
        event(r.source, boot, 'duplicate', r.receivedAt, r.seq, r.seq, null);
        duplicates++;
      } else {
        // Same seq, other content: a new boot (or the one another target of the host already started).
        const nb = h.currentBoot !== boot && joinsReboot(h, r.seq) ? h.currentBoot : startBoot(src.host, h, 'reboot', r.receivedAt, r.seq, r.release);
        src.boot = nb;
        event(r.source, nb, 'reboot', r.receivedAt, null, r.seq, `seq ${r.seq} differs from the stored record`);
        store(src, h, r, nb);
      }
    }

    // The messages first; the state tables after them, at once (each is one small insert whose round
    // trip, not its size, is the cost). Every table is keyed so that a repeat collapses into its row.
    await this.insertMessages(messages);
    if (rows.length > 0) hubCounters.push({ name: STORED_MESSAGES_COUNTER, collector: this.collector, value: rows.length });
    await Promise.all([
      this.insert('boots', [...bootRows.values()]),
      this.insert('seq_events', events),
      this.insert('hosts', [...touchedHosts].map((a) => {
        const h = this.hosts.get(a)!;
        return { address: a, name: h.name ?? '', has_name: h.name === null ? 0 : 1, first_seen: h.firstSeen, last_seen: h.lastSeen, updated_at: this.ids!.next(now) };
      })),
      this.insert('sources', [...touchedSources].map((a) => {
        const s = this.sources.get(a)!;
        return { address: a, host: s.host, format: s.format, last_seen: s.lastSeen };
      })),
      this.insert('source_counters', counters),
      this.insert('hub_counters', hubCounters),
    ]);
    // `after`: this collector's ids rise but are not dense, so a live session learns from it that
    // batches committed without rows (nobody watched yet) lie between what it saw and these.
    const after = this.lastMessageId ?? undefined;
    if (rows.length > 0) this.lastMessageId = rows[rows.length - 1]!.id;
    const [first, ...also] = group;
    this.reply({ type: 'stored', id: first!.id, messages: rows.length, events: eventCount, duplicates, rechecks, reboots, items: first!.items, rows: this.emitRows ? rows : null, after, ...(also.length > 0 ? { also } : {}) });
    await this.detect(rows);
  }

  /** For the batch's rechecked records: the records the store keeps at the same (host, boot, source, seq). */
  private async keptForRechecks(items: StoreItem[]): Promise<Map<string, KeptRecord[]>> {
    const out = new Map<string, KeptRecord[]>();
    const tuples: string[] = [];
    for (const it of items) {
      if ('kind' in it || isEvent(it) || !it.recheck || it.seq === null) continue;
      const src = this.sources.get(it.source);
      const host = hostAddressOf(it.source);
      const h = this.hosts.get(host);
      const boot = src?.boot ?? (h && h.currentBoot > 0 ? h.currentBoot : null);
      if (boot === null) continue;
      tuples.push(`(${stringLiteral(host)}, ${boot}, ${stringLiteral(it.source)}, ${it.seq})`);
    }
    if (tuples.length === 0) return out;
    const found = await this.read<{ host: string; boot: number; source: string; seq: string; ts_usec: string; text: string; complete: number }>(
      `SELECT host, boot, source, seq, ts_usec, text, complete FROM ${this.db}.messages FINAL WHERE (host, boot, source, seq) IN (${tuples.join(',')})`);
    for (const f of found) {
      const k = recheckKey(f.host, Number(f.boot), f.source, Number(f.seq));
      const list = out.get(k) ?? [];
      list.push({ tsUsec: Number(f.ts_usec) < 0 ? null : Number(f.ts_usec), text: f.text, complete: Number(f.complete) === 1 });
      out.set(k, list);
    }
    return out;
  }

  private async detect(rows: readonly StoredMessage[]): Promise<void> {
    if (this.detector) await this.saveIncidents(detectIncidents(this.detector, rows, Date.now()));
  }

  private async saveIncidents(changes: IncidentChange[]): Promise<void> {
    if (changes.length === 0 || !this.client) return;
    const now = Date.now();
    const notices: IncidentNotice[] = [];
    const values = changes.map((c) => {
      const inc = c.incident;
      let iid = this.incidentIds.get(inc.key);
      if (iid === undefined) this.incidentIds.set(inc.key, (iid = this.ids!.next(now)));
      notices.push({ change: c.change, incident: { ...inc, id: iid } as unknown as IncidentNotice['incident'] });
      return {
        id: iid, key: inc.key, host: inc.host, boot: inc.boot ?? 0, kind: inc.kind, severity: inc.severity, headline: inc.headline,
        started_at: inc.started_at, ended_at: inc.ended_at ?? 0, ended_by: inc.ended_by ?? '', ts_usec: inc.ts_usec ?? -1,
        first_message_id: inc.first_message_id ?? 0, last_message_id: inc.last_message_id ?? 0, release: inc.release ?? '',
        signature: inc.signature, signature_frames: JSON.stringify(inc.signature_frames), lines: JSON.stringify(inc.lines),
        modules: JSON.stringify(inc.modules), context_before: JSON.stringify(inc.context_before),
        silent_after: inc.silent_after === undefined ? -1 : inc.silent_after ? 1 : 0, next_boot: inc.next_boot ?? 0, updated_at: this.ids!.next(now),
      };
    });
    try {
      await this.insert('incidents', values);
      this.reply({ type: 'incidents', notices });
    } catch (err) {
      process.emitWarning(`netconsole-hub could not store an incident: ${message(err)}`);
    }
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    if (this.detector && this.client) await this.saveIncidents(this.detector.flushAll(Date.now())).catch(() => {});
    this.closed = true;
    await this.client?.close().catch(() => {});
    this.client = null;
    this.reply({ type: 'closed' });
  }
}
