// The write side's message loop, identical whether it runs in the worker thread or inline: opens the
// database (migrating it), writes each batch in one transaction, runs retention steps between
// batches, and answers with what was stored.
import { existsSync } from 'node:fs';
import { openDatabase, type Db } from './database.js';
import { BatchWriter, FTS_CHUNK_ROWS, FTS_MAX_DELAY_MS } from './batch-writer.js';
import { Retention } from './retention.js';
import { decodeItems, itemCount } from './batch-codec.js';
import { IdleGc } from '../idle-gc.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { describeDbError, errorMessage } from './errors.js';
import type { FromWriter, IncidentNotice, ToWriter, WriteServiceOptions } from './write-protocol.js';
import { IncidentDetector, type IncidentChange } from '../../netconsole/incidents.js';
import { detectIncidents, IncidentsStore } from '../incidents-store.js';
import type { StoredMessage } from './types.js';

/**
 * Deferred full-text indexing (BatchWriter.ftsDue) also runs once no batch has arrived for this
 * long: the write side has caught up, so the rows become searchable now instead of at the deadline.
 * While batches keep coming (the writer is behind) it waits for the bulk size or the deadline.
 */
export const FTS_IDLE_MS = 5;

/** The pause hook (tests): blocks this (write) thread, as a stalled disk would, polling every 20 ms. */
function waitWhileExists(path: string): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (existsSync(path)) Atomics.wait(cell, 0, 0, 20);
}

export class WriteService {
  private db: Db | null = null;
  private writer: BatchWriter | null = null;
  private retention: Retention | null = null;
  private retentionScheduled = false;
  private closed = false;
  private emitRows: boolean;
  private detector: IncidentDetector | null = null;
  private incidents: IncidentsStore | null = null;
  private ftsTimer: NodeJS.Timeout | null = null;
  private checkpointer: Checkpointer | null = null;
  /** Messages stored so far: what makes the write side busy (counter snapshots keep coming when idle). */
  private messagesStored = 0;
  /** Batches handled so far: the deferred-indexing timer compares it to see whether any came meanwhile. */
  private batches = 0;
  private indexScheduled = false;
  private readonly idleGc = new IdleGc();

  constructor(private readonly options: WriteServiceOptions, private readonly reply: (msg: FromWriter) => void) {
    this.emitRows = options.emitRows;
  }

  open(): boolean {
    try {
      const { db, migration } = openDatabase(this.options.dbPath, { migrationsDir: this.options.migrationsDir });
      this.db = db;
      this.checkpointer = startCheckpointer(this.options.dbPath, (message) => process.emitWarning(`netconsole-hub: ${message} (the writer checkpoints by itself instead)`));
      this.writer = new BatchWriter(db);
      // Rows a crash left unindexed (committed, their deferred indexing not yet run) become searchable
      // before ready; a larger backlog (an upgrade rebuilt the index) is indexed in chunks after it.
      const ftsBacklog = this.writer.loadFtsBacklog(Date.now());
      if (ftsBacklog > 0 && ftsBacklog <= FTS_CHUNK_ROWS) this.writer.indexPending();
      this.retention = new Retention(db, this.options.retention ?? {});
      if (this.options.detectIncidents) {
        this.detector = new IncidentDetector();
        this.incidents = new IncidentsStore(db);
      }
      this.reply({ type: 'ready', migration, ftsBacklog: this.writer.ftsPending, spoolMark: this.writer.spoolMark() });
      this.scheduleRetention();
      if (this.writer.ftsPending > 0) this.indexSoon();
      return true;
    } catch (err) {
      this.checkpointer?.stop();
      this.checkpointer = null;
      this.reply({ type: 'open-failed', message: describeDbError(this.options.dbPath, err).message });
      return false;
    }
  }

  handle(msg: ToWriter): void {
    if (msg.type === 'close') {
      this.close();
      return;
    }
    if (msg.type === 'emit-rows') {
      this.emitRows = msg.on;
      return;
    }
    if (!this.writer || this.closed) {
      this.reply({ type: 'batch-failed', id: msg.id, items: itemCount(msg.items), message: 'storage is closed' });
      return;
    }
    this.batches++;
    if (this.options.pauseFile) waitWhileExists(this.options.pauseFile);
    if (this.options.slowBatchMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.options.slowBatchMs);
    try {
      const { rows, events, duplicates, rechecks, reboots } = this.writer.write(decodeItems(msg.items), msg.index === true, Date.now(), msg.spoolMark);
      this.messagesStored += rows.length;
      this.reply({ type: 'stored', id: msg.id, messages: rows.length, events, duplicates, rechecks, reboots, items: itemCount(msg.items), rows: this.emitRows ? rows : null });
      this.detect(rows);
    } catch (err) {
      this.reply({ type: 'batch-failed', id: msg.id, items: itemCount(msg.items), message: describeDbError(this.options.dbPath, err).message });
    }
    this.indexIfDue();
    this.scheduleRetention();
  }

  /**
   * Deferred full-text indexing (BatchWriter.ftsDue): run it when due, after the batch was answered
   * so the live stream does not wait for it; otherwise make sure a timer will.
   */
  private indexIfDue(idle = false): void {
    const writer = this.writer;
    if (!writer || this.closed || writer.ftsPending === 0) return;
    if (!idle && !writer.ftsDue(Date.now())) {
      this.indexLater();
      return;
    }
    try {
      // A chunk at a time; what is left (a large backlog) goes on after the batches queued meanwhile.
      if (writer.indexSome() > 0) this.indexSoon();
    } catch (err) {
      // Disk full and the like: the rows stay stored and are indexed by a later attempt.
      process.emitWarning(`netconsole-hub full-text indexing failed (will retry): ${errorMessage(err)}`);
      this.indexLater(true);
    }
  }

  /**
   * Looks again after FTS_IDLE_MS: no batch since means idle (index now), else the bulk rules decide.
   * After a failure it waits FTS_MAX_DELAY_MS, so a full disk is retried a few times a second, not 200.
   */
  private indexLater(afterFailure = false): void {
    if (this.ftsTimer) return;
    const seen = this.batches;
    const delay = afterFailure ? FTS_MAX_DELAY_MS : Math.min(this.options.ftsIdleMs ?? FTS_IDLE_MS, FTS_MAX_DELAY_MS);
    this.ftsTimer = setTimeout(() => {
      this.ftsTimer = null;
      this.indexIfDue(!afterFailure && this.batches === seen);
    }, delay);
  }

  /** The next indexing chunk, after whatever is queued now. */
  private indexSoon(): void {
    if (this.indexScheduled) return;
    this.indexScheduled = true;
    setImmediate(() => {
      this.indexScheduled = false;
      this.indexIfDue(true);
    });
  }

  /** Runs one retention step after the current message, so a waiting batch goes first. */
  private scheduleRetention(): void {
    if (this.retentionScheduled || !this.retention?.due(Date.now())) return;
    // Retention first indexes all that is pending; during a large catch-up it waits for the chunks.
    if ((this.writer?.ftsPending ?? 0) > FTS_CHUNK_ROWS) return;
    this.retentionScheduled = true;
    setImmediate(() => {
      this.retentionScheduled = false;
      if (this.closed || !this.retention) return;
      try {
        // The FTS delete trigger must only see indexed rows.
        this.writer?.indexPending();
        const step = this.retention.step(Date.now());
        if (step.deleted > 0 || step.deletedEvents > 0) this.reply({ type: 'retention', deleted: step.deleted, deletedEvents: step.deletedEvents });
        if (step.more) this.scheduleRetention();
      } catch (err) {
        // Retention failing (e.g. disk full while merging) must not stop ingest; try again later.
        process.emitWarning(`netconsole-hub retention step failed: ${errorMessage(err)}`);
      }
    });
  }

  /** Crash incidents in the rows just committed: stored here, announced to the main thread. */
  private detect(rows: readonly StoredMessage[]): void {
    if (this.detector) this.saveIncidents(detectIncidents(this.detector, rows, Date.now()));
  }

  private saveIncidents(changes: IncidentChange[]): void {
    if (changes.length === 0 || !this.incidents) return;
    const notices: IncidentNotice[] = [];
    for (const c of changes) {
      try {
        const id = this.incidents.save(c.incident, Date.now());
        notices.push({ change: c.change, incident: { ...c.incident, id } as unknown as IncidentNotice['incident'] });
      } catch (err) {
        process.emitWarning(`netconsole-hub could not store an incident: ${errorMessage(err)}`);
      }
    }
    if (notices.length) this.reply({ type: 'incidents', notices });
  }

  /** Periodic check for an idle collector; the owner calls this on a timer. */
  tick(): void {
    this.idleGc.tick(Date.now(), this.messagesStored);
    this.scheduleRetention();
    if (this.detector && !this.closed) this.saveIncidents(this.detector.poll(Date.now()));
  }

  close(): void {
    if (this.closed) return;
    if (this.detector) this.saveIncidents(this.detector.flushAll(Date.now()));
    this.closed = true;
    if (this.ftsTimer) clearTimeout(this.ftsTimer);
    this.ftsTimer = null;
    try {
      // Leave nothing unindexed behind (the next open would catch up, but a reader should not wait);
      // a large catch-up is left to the next open rather than holding the stop for it.
      if ((this.writer?.ftsPending ?? 0) <= FTS_CHUNK_ROWS) this.writer?.indexPending();
    } catch (err) {
      process.emitWarning(`netconsole-hub full-text indexing at close failed (done at next start): ${errorMessage(err)}`);
    }
    this.checkpointer?.stop();
    this.checkpointer = null;
    try {
      this.db?.close();
    } finally {
      this.db = null;
      this.writer = null;
      this.reply({ type: 'closed' });
    }
  }
}
