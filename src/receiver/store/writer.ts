// StorageWriter: the main thread's handle on storage. enqueue() only appends to a bounded in-memory
// queue (what the bound drops is counted by reason); batches go to a worker thread that owns the
// write connection and commits each batch in one transaction. After a commit the stored messages
// come back with their ids and are emitted as 'stored', shaped exactly like the API's messages.
// With a spool (spool.ts), what reaches the queue's bound goes to disk instead of being dropped:
// from then on every new record and event goes there too, behind it, until the spool is read back
// into the store and the queue takes them directly again, so storage order is arrival order.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { LogRecord, SeqEvent, Sink } from '../../netconsole/types.js';
import { StoreError } from './errors.js';
import { WriteService } from './write-service.js';
import { encodeItems, isRecord, transferables } from './batch-codec.js';
import { Spool, type SpoolStats } from './spool.js';
import type { FromWriter, IncidentNotice, ToWriter, WriteServiceOptions } from './write-protocol.js';
import type { DropReason, RetentionOptions, SpoolWriterStats, StoreItem, StoredMessage, WriterStats } from './types.js';
import type { MigrationResult } from './migrate.js';

export interface StorageWriterOptions {
  dbPath: string;
  migrationsDir?: string;
  /** Records + events accepted but not yet committed, at most (default 200 000). */
  maxQueue?: number;
  /** Items per transaction at most (default 5 000). */
  batchSize?: number;
  /** Longest an item waits before its batch is sent while another batch is being written, in ms (default 10); an idle writer takes it at the end of the event-loop turn. */
  flushIntervalMs?: number;
  retention?: RetentionOptions;
  /** Write in a worker thread (default true); false writes on this thread, between events. */
  worker?: boolean;
  /** Emit 'stored' with the message rows (default true); see setEmitRows. */
  emitRows?: boolean;
  /** Detect crash incidents on the write side and emit 'incidents' (default false). */
  detectIncidents?: boolean;
  /** Deferred full-text indexing runs once the write side has been idle this long, ms (default 5; tests lengthen it). */
  ftsIdleMs?: number;
  /** A disk spool for what the queue's bound would drop (default none: dropped and counted). */
  spool?: { dir: string; maxBytes: number };
  /** A clickhouse:// URL: write into ClickHouse (in the worker) instead of the SQLite file dbPath; see WriteServiceOptions. */
  store?: string;
  collectorId?: number;
  collectorName?: string;
  /** Test hooks (the write side waits while this file exists, or this long per batch); see WriteServiceOptions. */
  pauseFile?: string;
  slowBatchMs?: number;
}

/**
 * The write worker's young generation. Left to V8 it grows to ~34 MB during a burst of new sources
 * and is only given back after ~40 s idle; 16 MB keeps an idle collector with 65 536 sources at
 * ~140 MB RSS instead of 205-250 MB, with no measurable ingest cost (8 MB cost worker CPU). Measured
 * with `npm run bench -- --only memory,ingest`, see bench/RESULTS.md.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 16 };
/** Batches in flight at once: one being written, one ready behind it ... */
const MAX_IN_FLIGHT = 2;
/**
 * ... except full batches, which may queue further at the write side. A backlog then waits there
 * as transferred buffers instead of as record objects on this thread's heap, where every young-
 * generation GC copied it again (the datagram thread's GC time under a backlog).
 */
const MAX_FULL_IN_FLIGHT = 16;
/**
 * Above this many items per second, an idle write side does not get each event-loop turn's items
 * at once: they gather for up to the flush interval (10 ms) or GATHER_MIN_ITEMS. A commit costs
 * nearly as much for 200 rows as for 2 000 (each active host's index pages are rewritten once per
 * commit), so at 100 000/s, turn-sized commits made the storage worker the limit. Below the rate,
 * group commit stays as it was: a record is committed at the end of the turn it arrived in.
 */
const GATHER_ABOVE_PER_SEC = 30_000;
const GATHER_MIN_ITEMS = 2_000;
const RATE_WINDOW_MS = 100;
/**
 * Spooled batches handed to the write side at once: enough that it never waits for the next one
 * (each is up to batchSize items), few enough that a backlog stays on disk rather than in memory.
 */
const SPOOL_IN_FLIGHT = 3;
/**
 * ... except for ClickHouse, whose write side groups what waits behind a write into one insert (up
 * to 50 000 items: ten batches): with three in flight, a spool was read back at ~25 000 records/s.
 */
const SPOOL_IN_FLIGHT_GROUPED = 11;
/** The spool's unwritten tail goes to disk at least this often (bounding what a crash loses of it). */
const SPOOL_TAIL_MS = 50;
/** A spooled batch that failed to commit is tried again after this long. */
const SPOOL_RETRY_MS = 250;
/** The drain rate in stats is measured over about this long. */
const DRAIN_WINDOW_MS = 5000;
const SEQ_EVENT_TYPES = new Set(['gap', 'duplicate', 'reorder', 'reboot']);

interface Backend {
  /** `transfer`: buffers that move to the worker instead of being copied (ignored inline). */
  post(msg: ToWriter, transfer?: ArrayBuffer[]): void;
  /** Resolves when the write side has closed the database and stopped. */
  stopped: Promise<void>;
}

function isValidItem(item: StoreItem): boolean {
  if (item === null || typeof item !== 'object') return false;
  if ('kind' in item) {
    if (item.kind === 'counters') return typeof item.source === 'string' && typeof item.counters === 'object' && item.counters !== null;
    if (item.kind === 'hub-counters') return typeof item.counters === 'object' && item.counters !== null;
    if (item.kind === 'host-name') return typeof item.address === 'string';
    return false;
  }
  if ('type' in item) return SEQ_EVENT_TYPES.has(item.type) && typeof item.source === 'string' && Number.isFinite(item.at);
  const r = item as LogRecord;
  return typeof r.source === 'string' && typeof r.text === 'string' && Number.isFinite(r.receivedAt) && (r.format === 'extended' || r.format === 'legacy');
}

/** Counter snapshots and host names are few and replace one another: they never count against the bound. */
function isBounded(item: StoreItem): boolean {
  return !('kind' in item);
}

export interface StorageWriter {
  /** `after`: where ids are not dense (ClickHouse), the id of the last row this writer stored before these. */
  on(event: 'stored', listener: (rows: StoredMessage[], after?: number) => void): this;
  on(event: 'incidents', listener: (notices: IncidentNotice[]) => void): this;
  on(event: 'write-error', listener: (message: string) => void): this;
  on(event: 'retention', listener: (deleted: { messages: number; events: number }) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  /** The queue reached its bound and records now go to the spool, or the spool has been read back. */
  on(event: 'spool-state', listener: (state: 'spooling' | 'drained') => void): this;
  /** A one-line report: a corrupt spooled batch skipped, the spool failing, records kept at close. */
  on(event: 'spool-notice', listener: (message: string) => void): this;
}

export class StorageWriter extends EventEmitter implements Sink {
  readonly migration: MigrationResult;
  /** Stored messages the write side is still indexing for full-text search at open (after an index rebuild). */
  readonly ftsBacklog: number;
  /** In a fleet store, this collector's id (its message ids are `clock * 64 + collectorId`); null for SQLite. */
  readonly collectorId: number | null;
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly spoolInFlight: number;
  private readonly flushIntervalMs: number;
  private pending: StoreItem[] = [];
  private pendingBounded = 0;
  /** Bounded items in the batches in flight (the sum of inFlight's values). */
  private inFlightBounded = 0;
  private readonly inFlight = new Map<number, number>(); // batch id -> bounded items in it
  private nextBatchId = 1;
  private ackedBatchId = 0;
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Immediate | null = null;
  /** Items enqueued so far, and the count and time at the start of the rate window. */
  private enqueuedTotal = 0;
  private rateWindowCount = 0;
  private rateWindowAt = 0;
  private highRate = false;
  private flushWaiters: { target: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private closing: Promise<void> | null = null;
  private failed: Error | null = null;
  private readonly droppedBy: Record<DropReason, number> = { queue_full: 0, closed: 0, write_error: 0, writer_failed: 0, invalid: 0, spool_full: 0, spool_error: 0, spool_corrupt: 0 };
  private droppedPosted = '';
  private written = 0;
  private writtenEvents = 0;
  /** Records whose seq fell back, judged by the store, and those of them equal to a stored record (not stored again). */
  private rechecks = 0;
  private duplicates = 0;
  /** Boots started because a host rebooted. */
  private reboots = 0;
  private batches = 0;
  private retentionDeleted = 0;
  private backend!: Backend;
  private emittingRows = true;
  /** Set by a failed batch, cleared by the next one that commits: storage resumes by itself. */
  private failing: string | null = null;
  private spool: Spool | null = null;
  /** While true, bounded items go to the spool (behind what it holds), not to the queue. */
  private spooling = false;
  /** Items for the spool not yet written to it (at most batchSize). */
  private spoolTail: StoreItem[] = [];
  private spoolTimer: NodeJS.Timeout | null = null;
  private spoolRetry: NodeJS.Timeout | null = null;
  private spoolWriteFailing = false;
  private spoolDir = '';
  /** Batches in flight that came from the spool: batch id -> spool batch number. */
  private readonly spoolBatches = new Map<number, number>();
  /** Items written to the spool, and items read back from it and committed, since start. */
  private spooledTotal = 0;
  private replayedTotal = 0;
  private drainSamples: { at: number; total: number }[] = [];
  private drainWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private spoolCorruptSeen = 0;
  /** What opening the spool found (a replay of what a previous run left, corrupt frames skipped), one line each. */
  spoolStartNotices: string[] = [];

  private constructor(options: StorageWriterOptions, migration: MigrationResult, ftsBacklog: number, collectorId: number | null) {
    super();
    this.collectorId = collectorId;
    this.migration = migration;
    this.ftsBacklog = ftsBacklog;
    this.maxQueue = Math.max(1, options.maxQueue ?? 200_000);
    this.batchSize = Math.max(1, options.batchSize ?? 5_000);
    this.spoolInFlight = options.store ? SPOOL_IN_FLIGHT_GROUPED : SPOOL_IN_FLIGHT;
    this.flushIntervalMs = Math.max(0, options.flushIntervalMs ?? 10);
    this.emittingRows = options.emitRows ?? true;
  }

  /** Opens (creating and migrating) the database and starts the writer. Rejects with a one-line StoreError. */
  static async open(options: StorageWriterOptions): Promise<StorageWriter> {
    const serviceOptions: WriteServiceOptions = {
      dbPath: options.dbPath,
      store: options.store,
      collectorId: options.collectorId,
      collectorName: options.collectorName,
      pauseFile: options.pauseFile,
      slowBatchMs: options.slowBatchMs,
      migrationsDir: options.migrationsDir,
      retention: options.retention,
      emitRows: options.emitRows ?? true,
      detectIncidents: options.detectIncidents ?? false,
      ftsIdleMs: options.ftsIdleMs,
    };
    let writer: StorageWriter | undefined;
    let onMessage: (msg: FromWriter) => void = () => {};
    let onFailure: (err: Error) => void = () => {};
    const ready = new Promise<{ migration: MigrationResult; ftsBacklog: number; spoolMark: number; collector?: number }>((resolve, reject) => {
      onMessage = (msg) => {
        if (writer) writer.receive(msg);
        else if (msg.type === 'ready') resolve(msg);
        else if (msg.type === 'open-failed') reject(new StoreError(msg.message));
      };
      onFailure = (err) => {
        if (writer) writer.fail(err);
        else reject(new StoreError(`storage writer failed to start: ${err.message.split('\n')[0]}`));
      };
    });
    const backend =
      options.worker === false && !options.store
        ? inlineBackend(serviceOptions, (m) => onMessage(m))
        : workerBackend(serviceOptions, (m) => onMessage(m), (err) => onFailure(err));
    const { migration, ftsBacklog, spoolMark, collector } = await ready.catch(async (err: unknown) => {
      await backend.stopped;
      throw err;
    });
    let spool: Spool | null = null;
    if (options.spool && options.spool.maxBytes > 0) {
      try {
        spool = Spool.open({ dir: options.spool.dir, maxBytes: options.spool.maxBytes, committedThrough: spoolMark });
      } catch (err) {
        backend.post({ type: 'close' });
        await backend.stopped;
        throw new StoreError(`cannot open the spool ${options.spool.dir}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    writer = new StorageWriter(options, migration, ftsBacklog, collector ?? null);
    writer.backend = backend;
    writer.spool = spool;
    writer.spoolDir = options.spool?.dir ?? '';
    if (spool) {
      // Emitted before anyone could listen: kept for the owner to log once.
      writer.spoolStartNotices = spool.takeNotices();
      writer.reportCorrupt();
    }
    // What a previous run left in the spool is stored first: new traffic queues behind it.
    if (spool && !spool.empty) {
      writer.spooling = true;
      setImmediate(() => writer!.drain());
    }
    return writer;
  }

  /** Sink: a reconstructed record. */
  record(r: LogRecord): void {
    this.enqueue(r);
  }

  /** Sink: a sequence event. */
  event(e: SeqEvent): void {
    this.enqueue(e);
  }

  /** Queues an item for storage; false (and counted) when it is dropped. */
  enqueue(item: StoreItem): boolean {
    if (this.closing || this.failed) return this.drop(this.failed ? 'writer_failed' : 'closed');
    if (!isValidItem(item)) return this.drop('invalid');
    if (isBounded(item)) {
      if (this.spooling) return this.toSpool(item);
      if (this.queued() >= this.maxQueue) {
        if (!this.spool) return this.drop('queue_full');
        this.spooling = true;
        this.emit('spool-state', 'spooling');
        return this.toSpool(item);
      }
      this.pendingBounded++;
    }
    this.pending.push(item);
    this.enqueuedTotal++;
    if (this.pending.length >= this.batchSize && this.inFlight.size < MAX_FULL_IN_FLIGHT) this.postBatch();
    else if (this.inFlight.size === 0) this.postSoon();
    else if (!this.timer) this.timer = setTimeout(() => this.onTimer(), this.flushIntervalMs);
    return true;
  }

  /**
   * Group commit: when the write side is idle, what arrived in this event-loop turn goes at the end
   * of the turn instead of waiting for the timer; while a batch is being written, items gather for
   * the next one. Low rates get low latency, high rates get large batches.
   */
  private postSoon(): void {
    if (this.soon) return;
    this.soon = setImmediate(() => {
      this.soon = null;
      if (this.pending.length > 0 && this.inFlight.size === 0 && !this.closing && !this.failed && !this.gathering()) this.postBatch();
    });
  }

  /** At a high rate, a small batch waits (for the timer, or to grow) instead of going now. */
  private gathering(): boolean {
    const now = Date.now();
    const dt = now - this.rateWindowAt;
    if (dt >= RATE_WINDOW_MS || dt < 0) {
      this.highRate = dt > 0 && ((this.enqueuedTotal - this.rateWindowCount) * 1000) / dt >= GATHER_ABOVE_PER_SEC;
      this.rateWindowAt = now;
      this.rateWindowCount = this.enqueuedTotal;
    }
    if (!this.highRate || this.pending.length >= GATHER_MIN_ITEMS) return false;
    if (!this.timer) this.timer = setTimeout(() => this.onTimer(), this.flushIntervalMs);
    return true;
  }

  /** An item for the spool: gathered into a batch, written when full or after SPOOL_TAIL_MS. */
  private toSpool(item: StoreItem): boolean {
    this.spoolTail.push(item);
    this.enqueuedTotal++;
    if (this.spoolTail.length >= this.batchSize) this.writeSpoolTail();
    else if (!this.spoolTimer) this.spoolTimer = setTimeout(() => this.onSpoolTimer(), SPOOL_TAIL_MS);
    return true;
  }

  private onSpoolTimer(): void {
    this.spoolTimer = null;
    this.writeSpoolTail();
    this.drain();
  }

  /** Appends the gathered tail to the spool as one batch; what does not fit is dropped and counted. */
  private writeSpoolTail(): void {
    const items = this.spoolTail;
    if (items.length === 0 || !this.spool) return;
    this.spoolTail = [];
    try {
      if (this.spool.append(encodeItems(items), items.length, firstAt(items[0]!))) this.spooledTotal += items.length;
      else this.drop('spool_full', items.length);
      this.spoolWriteFailing = false;
    } catch (err) {
      this.drop('spool_error', items.length);
      // One line when it starts failing, not one per batch.
      if (!this.spoolWriteFailing) this.emit('spool-notice', `spool: cannot write to ${this.spoolDir}: ${(err as Error).message.split('\n')[0]}; records are dropped (spool_error) until it can`);
      this.spoolWriteFailing = true;
    }
  }

  /**
   * Hands spooled batches to the write side while it has room, oldest first, once everything queued
   * before the spool started is on its way. When the spool has nothing unread left, its unwritten
   * tail joins the queue and new items go to the queue again.
   */
  private drain(): void {
    const spool = this.spool;
    if (!spool || !this.spooling || this.spoolRetry || this.closing || this.failed || this.pendingBounded > 0) return;
    while (this.inFlight.size < this.spoolInFlight) {
      const f = spool.next();
      this.reportCorrupt();
      if (!f) break;
      const id = this.nextBatchId++;
      this.inFlight.set(id, f.items);
      this.inFlightBounded += f.items;
      this.spoolBatches.set(id, f.batchNo);
      this.backend.post({ type: 'batch', id, items: f.batch, spoolMark: f.batchNo }, transferables(f.batch));
    }
    if (spool.unread) return;
    this.spooling = false;
    if (this.spoolTimer) clearTimeout(this.spoolTimer);
    this.spoolTimer = null;
    const tail = this.spoolTail;
    this.spoolTail = [];
    for (const item of tail) this.pending.push(item);
    this.pendingBounded += tail.length;
    if (this.pending.length > 0) this.postSoon();
    this.emit('spool-state', 'drained');
    for (const w of this.drainWaiters) w.resolve();
    this.drainWaiters = [];
  }

  /**
   * A spooled batch failed to commit (disk full, the database busy): it is handed out again after
   * SPOOL_RETRY_MS, before anything unread, rather than dropped; until then nothing more is read.
   * (Batches already in flight behind it may commit first: order suffers only in this case.)
   */
  private retrySpoolLater(batchNo: number): void {
    this.spool?.failed(batchNo);
    if (!this.spooling) {
      // The spool had been read out: new items queue behind the retry again.
      this.spooling = true;
      this.emit('spool-state', 'spooling');
    }
    if (this.spoolRetry) return;
    this.spoolRetry = setTimeout(() => {
      this.spoolRetry = null;
      this.drain();
    }, SPOOL_RETRY_MS);
  }

  /** Corrupt frames the spool skipped: counted as dropped (spool_corrupt) and reported once each. */
  private reportCorrupt(): void {
    const spool = this.spool;
    if (!spool) return;
    const st = spool.stats();
    if (st.corruptRecords > this.spoolCorruptSeen) {
      this.drop('spool_corrupt', st.corruptRecords - this.spoolCorruptSeen);
      this.spoolCorruptSeen = st.corruptRecords;
    }
    for (const n of spool.takeNotices()) this.emit('spool-notice', n);
  }

  /** Resolves when everything enqueued before this call is committed and searchable (searchable only
   * once it is done, while a rebuilt full-text index is filled in the background after an upgrade).
   * With records in the spool, that is once the spool has been read back. */
  flush(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.spooling) {
      const drained = new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
      this.writeSpoolTail();
      this.drain();
      return drained.then(() => this.flush());
    }
    return this.flushQueue();
  }

  /** flush() for the in-memory queue only. */
  private flushQueue(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    // The last batch (empty if nothing is pending) also indexes whatever full-text indexing deferred.
    do this.postBatch(true);
    while (this.pending.length > 0);
    const target = this.nextBatchId - 1;
    if (target <= this.ackedBatchId) return Promise.resolve();
    return new Promise((resolve, reject) => this.flushWaiters.push({ target, resolve, reject }));
  }

  /** Flushes everything, then closes the database and stops the worker. Further items are dropped ('closed'). */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        try {
          // The spool is kept, not drained (that may take long): its tail goes to disk, and the next
          // start stores it before new traffic. What was queued before it is flushed.
          this.writeSpoolTail();
          // Persist the final drop counts with the last batch.
          this.appendDropCounters(true);
          if (!this.failed) await this.flushQueue();
        } finally {
          if (this.timer) clearTimeout(this.timer);
          this.timer = null;
          if (this.spoolTimer) clearTimeout(this.spoolTimer);
          this.spoolTimer = null;
          if (this.spoolRetry) clearTimeout(this.spoolRetry);
          this.spoolRetry = null;
          this.reportCorrupt();
          const kept = this.spool?.stats().records ?? 0;
          this.spool?.close();
          if (kept > 0) this.emit('spool-notice', `spool: ${kept} records kept on disk; the next start stores them before new traffic`);
          if (this.soon) clearImmediate(this.soon);
          this.soon = null;
          this.backend.post({ type: 'close' });
          await this.backend.stopped;
        }
      })();
    }
    return this.closing;
  }

  stats(): WriterStats {
    return {
      queued: this.queued(),
      written: this.written,
      writtenEvents: this.writtenEvents,
      duplicates: this.duplicates,
      rechecks: this.rechecks,
      reboots: this.reboots,
      batches: this.batches,
      dropped: { ...this.droppedBy },
      retentionDeleted: this.retentionDeleted,
      maxQueue: this.maxQueue,
      failing: this.failing,
      spool: this.spoolStats(),
    };
  }

  private spoolStats(): SpoolWriterStats | null {
    if (!this.spool) return null;
    const st: SpoolStats = this.spool.stats();
    const now = Date.now();
    const tail = this.spoolTail.length;
    const oldestAt = st.oldestAt ?? (tail > 0 ? firstAt(this.spoolTail[0]!) : null);
    return {
      bytes: st.bytes,
      maxBytes: st.maxBytes,
      records: st.records + tail,
      oldestAgeMs: oldestAt === null ? 0 : Math.max(0, now - oldestAt),
      drainPerSec: this.drainRate(now),
      spooled: this.spooledTotal,
      replayed: this.replayedTotal,
      corruptBatches: st.corruptBatches,
    };
  }

  /** Spooled items committed per second over about the last DRAIN_WINDOW_MS. */
  private drainRate(now: number): number {
    const samples = this.drainSamples;
    if (samples.length === 0 || now - samples[samples.length - 1]!.at >= 250) samples.push({ at: now, total: this.replayedTotal });
    while (samples.length > 2 && now - samples[1]!.at >= DRAIN_WINDOW_MS) samples.shift();
    const first = samples[0]!;
    const dt = now - first.at;
    return dt > 0 ? Math.round(((this.replayedTotal - first.total) * 1000) / dt) : 0;
  }

  private queued(): number {
    return this.pendingBounded + this.inFlightBounded;
  }

  private drop(reason: DropReason, count = 1): false {
    this.droppedBy[reason] += count;
    return false;
  }

  private onTimer(): void {
    this.timer = null;
    if (this.pending.length === 0) return;
    if (this.inFlight.size < MAX_IN_FLIGHT) this.postBatch();
    // Otherwise the next 'stored' reply posts it.
  }

  /** Adds the writer's own drop totals as hub counters, when they changed (or `force`). */
  private appendDropCounters(force = false): void {
    const key = JSON.stringify(this.droppedBy);
    if (key === this.droppedPosted && !force) return;
    if (key === this.droppedPosted && Object.values(this.droppedBy).every((v) => v === 0)) return;
    this.droppedPosted = key;
    const counters: Record<string, number> = {};
    for (const [reason, n] of Object.entries(this.droppedBy)) counters[`dropped.${reason}`] = n;
    this.pending.push({ kind: 'hub-counters', at: Date.now(), counters });
  }

  private postBatch(index = false): void {
    this.appendDropCounters();
    const items = this.pending.length <= this.batchSize ? this.pending : this.pending.slice(0, this.batchSize);
    this.pending = items === this.pending ? [] : this.pending.slice(items.length);
    let bounded = 0;
    for (const item of items) if (isBounded(item)) bounded++;
    this.pendingBounded -= bounded;
    const id = this.nextBatchId++;
    this.inFlight.set(id, bounded);
    this.inFlightBounded += bounded;
    const batch = encodeItems(items);
    this.backend.post({ type: 'batch', id, items: batch, index: index && this.pending.length === 0 }, transferables(batch));
  }

  /**
   * Whether committed rows come back for 'stored' (the live stream needs them only while someone
   * watches): copying every row back to this thread costs ingest a third of the writer's speed.
   */
  setEmitRows(on: boolean): void {
    if (on === this.emittingRows || this.closing) return;
    this.emittingRows = on;
    this.backend.post({ type: 'emit-rows', on });
  }

  private receive(msg: FromWriter): void {
    switch (msg.type) {
      case 'stored':
        this.failing = null;
        for (const b of [{ id: msg.id, items: msg.items }, ...(msg.also ?? [])]) {
          if (this.spoolBatches.has(b.id)) this.replayedTotal += b.items;
          this.settle(b.id);
        }
        this.written += msg.messages;
        this.writtenEvents += msg.events;
        this.duplicates += msg.duplicates;
        this.rechecks += msg.rechecks;
        this.reboots += msg.reboots;
        this.batches++;
        if (msg.rows && msg.rows.length > 0) this.emit('stored', msg.rows, msg.after);
        break;
      case 'batch-failed': {
        const bounded = this.inFlight.get(msg.id) ?? 0;
        const batchNo = this.spoolBatches.get(msg.id);
        const fromSpool = batchNo !== undefined;
        if (fromSpool) this.retrySpoolLater(batchNo);
        this.settle(msg.id, !fromSpool);
        // A spooled batch is not lost: it stays in the spool and is tried again.
        if (!fromSpool) this.drop('write_error', bounded);
        this.failing = msg.message;
        if (this.listenerCount('write-error') > 0) this.emit('write-error', msg.message);
        break;
      }
      case 'incidents':
        this.emit('incidents', msg.notices);
        break;
      case 'store-state':
        this.failing = msg.failing;
        if (msg.failing !== null && this.listenerCount('write-error') > 0) this.emit('write-error', msg.failing);
        break;
      case 'retention':
        this.retentionDeleted += msg.deleted;
        this.emit('retention', { messages: msg.deleted, events: msg.deletedEvents });
        break;
      default:
        break;
    }
  }

  private settle(id: number, committed = true): void {
    this.inFlightBounded -= this.inFlight.get(id) ?? 0;
    this.inFlight.delete(id);
    const batchNo = this.spoolBatches.get(id);
    if (batchNo !== undefined) {
      this.spoolBatches.delete(id);
      if (committed) this.spool?.committed(batchNo);
    }
    this.ackedBatchId = Math.max(this.ackedBatchId, id);
    this.flushWaiters = this.flushWaiters.filter((w) => {
      if (w.target > this.ackedBatchId) return true;
      w.resolve();
      return false;
    });
    while (this.pending.length >= this.batchSize && this.inFlight.size < MAX_FULL_IN_FLIGHT) this.postBatch();
    // Nothing left in flight: whatever gathered meanwhile goes now (group commit).
    if (this.pending.length > 0 && this.inFlight.size < MAX_IN_FLIGHT && (!this.timer || this.inFlight.size === 0) && !this.gathering()) this.postBatch();
    this.drain();
  }

  /** The write side died: everything not committed is lost and counted; later items are dropped. */
  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err instanceof StoreError ? err : new StoreError(`storage writer stopped: ${err.message.split('\n')[0]}`);
    // (The spool's files stay: the next start stores them. Its unwritten tail is lost with the queue.)
    this.drop('writer_failed', this.queued() + this.spoolTail.length);
    this.spoolTail = [];
    if (this.spoolTimer) clearTimeout(this.spoolTimer);
    this.spoolTimer = null;
    if (this.spoolRetry) clearTimeout(this.spoolRetry);
    this.spoolRetry = null;
    for (const w of this.drainWaiters) w.reject(this.failed);
    this.drainWaiters = [];
    this.pending = [];
    this.pendingBounded = 0;
    this.inFlightBounded = 0;
    this.inFlight.clear();
    for (const w of this.flushWaiters) w.reject(this.failed);
    this.flushWaiters = [];
    if (this.listenerCount('error') > 0) this.emit('error', this.failed);
  }
}

function workerBackend(options: WriteServiceOptions, onMessage: (msg: FromWriter) => void, onFailure: (err: Error) => void): Backend {
  // Node flags pass on to the worker (--cpu-prof profiles it too), except those that only make sense
  // for a main script (-e input); flags a worker refuses (--expose-gc, …) are dropped rather than fatal.
  const url = new URL('./write-worker.js', import.meta.url);
  let worker: Worker;
  try {
    worker = new Worker(url, { workerData: options, execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')), resourceLimits: WORKER_LIMITS });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    worker = new Worker(url, { workerData: options, execArgv: [], resourceLimits: WORKER_LIMITS });
  }
  let closedCleanly = false;
  const stopped = new Promise<void>((resolve) => {
    worker.on('exit', (code) => {
      if (!closedCleanly) onFailure(new Error(`storage worker exited with code ${code}`));
      resolve();
    });
  });
  worker.on('message', (msg: FromWriter) => {
    if (msg.type === 'closed' || msg.type === 'open-failed') closedCleanly = true;
    onMessage(msg);
  });
  worker.on('error', (err) => onFailure(err));
  return { post: (msg, transfer) => worker.postMessage(msg, transfer), stopped };
}

function inlineBackend(options: WriteServiceOptions, onMessage: (msg: FromWriter) => void): Backend {
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const service = new WriteService(options, (msg) => {
    // Replies are delivered asynchronously, as they would be from a worker.
    setImmediate(() => {
      onMessage(msg);
      if (msg.type === 'closed' || msg.type === 'open-failed') resolveStopped();
    });
  });
  const retentionTimer = setInterval(() => service.tick(), 1000);
  retentionTimer.unref();
  if (!service.open()) clearInterval(retentionTimer);
  return {
    post: (msg) =>
      setImmediate(() => {
        if (msg.type === 'close') clearInterval(retentionTimer);
        service.handle(msg);
      }),
    stopped,
  };
}

/** When an item arrived (a record's receivedAt, an event's time). */
function firstAt(item: StoreItem): number {
  return isRecord(item) ? item.receivedAt : 'at' in item ? item.at : Date.now();
}
