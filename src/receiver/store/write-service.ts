// The write side's message loop, identical whether it runs in the worker thread or inline: opens the
// database (migrating it), writes each batch in one transaction, runs retention steps between
// batches, and answers with what was stored.
import { openDatabase, type Db } from './database.js';
import { BatchWriter } from './batch-writer.js';
import { Retention } from './retention.js';
import { describeDbError, errorMessage } from './errors.js';
import type { FromWriter, ToWriter, WriteServiceOptions } from './write-protocol.js';

export class WriteService {
  private db: Db | null = null;
  private writer: BatchWriter | null = null;
  private retention: Retention | null = null;
  private retentionScheduled = false;
  private closed = false;

  constructor(private readonly options: WriteServiceOptions, private readonly reply: (msg: FromWriter) => void) {}

  open(): boolean {
    try {
      const { db, migration } = openDatabase(this.options.dbPath, { migrationsDir: this.options.migrationsDir });
      this.db = db;
      this.writer = new BatchWriter(db);
      this.retention = new Retention(db, this.options.retention ?? {});
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
    if (!this.writer || this.closed) {
      this.reply({ type: 'batch-failed', id: msg.id, items: msg.items.length, message: 'storage is closed' });
      return;
    }
    try {
      const { rows, events } = this.writer.write(msg.items);
      this.reply({ type: 'stored', id: msg.id, messages: rows.length, events, items: msg.items.length, rows: this.options.emitRows ? rows : null });
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

  /** Periodic check for an idle collector; the owner calls this on a timer. */
  tick(): void {
    this.scheduleRetention();
  }

  close(): void {
    if (this.closed) return;
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
