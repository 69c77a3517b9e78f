// The write side's message loop, identical whether it runs in the worker thread or inline: opens the
// database (migrating it), writes each batch in one transaction, runs retention steps between
// batches, and answers with what was stored.
import { openDatabase, type Db } from './database.js';
import { BatchWriter } from './batch-writer.js';
import { Retention } from './retention.js';
import { describeDbError, errorMessage } from './errors.js';
import type { FromWriter, IncidentNotice, ToWriter, WriteServiceOptions } from './write-protocol.js';
import { IncidentDetector, type IncidentChange } from '../../netconsole/incidents.js';
import { detectorInput, IncidentsStore } from '../incidents-store.js';
import type { StoredMessage } from './types.js';

export class WriteService {
  private db: Db | null = null;
  private writer: BatchWriter | null = null;
  private retention: Retention | null = null;
  private retentionScheduled = false;
  private closed = false;
  private emitRows: boolean;
  private detector: IncidentDetector | null = null;
  private incidents: IncidentsStore | null = null;

  constructor(private readonly options: WriteServiceOptions, private readonly reply: (msg: FromWriter) => void) {
    this.emitRows = options.emitRows;
  }

  open(): boolean {
    try {
      const { db, migration } = openDatabase(this.options.dbPath, { migrationsDir: this.options.migrationsDir });
      this.db = db;
      this.writer = new BatchWriter(db);
      this.retention = new Retention(db, this.options.retention ?? {});
      if (this.options.detectIncidents) {
        this.detector = new IncidentDetector();
        this.incidents = new IncidentsStore(db);
      }
      this.reply({ type: 'ready', migration });
      this.scheduleRetention();
      return true;
    } catch (err) {
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
      this.reply({ type: 'batch-failed', id: msg.id, items: msg.items.length, message: 'storage is closed' });
      return;
    }
    try {
      const { rows, events } = this.writer.write(msg.items);
      this.reply({ type: 'stored', id: msg.id, messages: rows.length, events, items: msg.items.length, rows: this.emitRows ? rows : null });
      this.detect(rows);
    } catch (err) {
      this.reply({ type: 'batch-failed', id: msg.id, items: msg.items.length, message: describeDbError(this.options.dbPath, err).message });
    }
    this.scheduleRetention();
  }

  /** Runs one retention step after the current message, so a waiting batch goes first. */
  private scheduleRetention(): void {
    if (this.retentionScheduled || !this.retention?.due(Date.now())) return;
    this.retentionScheduled = true;
    setImmediate(() => {
      this.retentionScheduled = false;
      if (this.closed || !this.retention) return;
      try {
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
    if (!this.detector) return;
    const now = Date.now();
    const changes: IncidentChange[] = [];
    for (const row of rows) {
      const x = detectorInput(row);
      const c = this.detector.push(x.stream, x.record, now, x.ref);
      if (c.length) changes.push(...c);
    }
    this.saveIncidents(changes);
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
    this.scheduleRetention();
    if (this.detector && !this.closed) this.saveIncidents(this.detector.poll(Date.now()));
  }

  close(): void {
    if (this.closed) return;
    if (this.detector) this.saveIncidents(this.detector.flushAll(Date.now()));
    this.closed = true;
    try {
      this.db?.close();
    } finally {
      this.db = null;
      this.writer = null;
      this.reply({ type: 'closed' });
    }
  }
}
