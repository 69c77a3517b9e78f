// Messages between StorageWriter (main thread) and the write service (worker thread or inline).
import type { MigrationResult } from './migrate.js';
import type { EncodedBatch } from './batch-codec.js';
import type { RetentionOptions, StoredMessage } from './types.js';

export interface WriteServiceOptions {
  dbPath: string;
  /** A clickhouse:// URL: the worker writes into ClickHouse instead of the SQLite file dbPath. */
  store?: string;
  /** ClickHouse: this collector's id (0-63) and the name it registers under (default: the host name). */
  collectorId?: number;
  collectorName?: string;
  migrationsDir?: string;
  retention?: RetentionOptions;
  /** Whether 'stored' replies carry the message rows (someone listens for them); changed later by 'emit-rows'. */
  emitRows: boolean;
  /** Run crash-incident detection on each committed batch, here on the write side (rows and ids are at hand). */
  detectIncidents?: boolean;
  /** Deferred full-text indexing runs once no batch has come for this long, ms (default FTS_IDLE_MS). */
  ftsIdleMs?: number;
  /** Test hooks: while this file exists, batches wait (a stalled disk, to make the spool fill); each batch waits this long first (a slow disk). */
  pauseFile?: string;
  slowBatchMs?: number;
}

/** An incident that opened, closed or changed, with its database id. */
export interface IncidentNotice {
  change: 'open' | 'close' | 'update';
  incident: Record<string, unknown> & { id: number; kind: string; host: string; headline: string };
}

export type ToWriter =
  /** `index`: index every stored row for full-text search before answering (flush). `spoolMark`: read back from the disk spool, its batch number (committed with it). */
  | { type: 'batch'; id: number; items: EncodedBatch; index?: boolean; spoolMark?: number }
  | { type: 'emit-rows'; on: boolean }
  | { type: 'close' };

export type FromWriter =
  /** `ftsBacklog`: stored messages still to be indexed for full-text search, in the background. `spoolMark`: the highest spool batch number committed. */
  | { type: 'ready'; migration: MigrationResult; ftsBacklog: number; spoolMark: number; collector?: number }
  | { type: 'open-failed'; message: string }
  /**
   * `also`: further batches committed with this one in a single write (the ClickHouse side groups
   * the batches waiting behind a write into one insert); `items` is then this batch's own.
   */
  | { type: 'stored'; id: number; messages: number; events: number; duplicates: number; rechecks: number; reboots: number; items: number; rows: StoredMessage[] | null; after?: number; also?: { id: number; items: number }[] }
  | { type: 'batch-failed'; id: number; items: number; message: string }
  | { type: 'retention'; deleted: number; deletedEvents: number }
  | { type: 'incidents'; notices: IncidentNotice[] }
  /** The store stopped answering (why), or answers again (null): batches wait and are retried meanwhile. */
  | { type: 'store-state'; failing: string | null }
  | { type: 'closed' };
