// Messages between StorageWriter (main thread) and the write service (worker thread or inline).
import type { MigrationResult } from './migrate.js';
import type { RetentionOptions, StoreItem, StoredMessage } from './types.js';

export interface WriteServiceOptions {
  dbPath: string;
  migrationsDir?: string;
  retention?: RetentionOptions;
  /** Whether 'stored' replies carry the message rows (someone listens for them). */
  emitRows: boolean;
}

export type ToWriter =
  | { type: 'batch'; id: number; items: StoreItem[] }
  | { type: 'close' };

export type FromWriter =
  | { type: 'ready'; migration: MigrationResult }
  | { type: 'open-failed'; message: string }
  | { type: 'stored'; id: number; messages: number; events: number; items: number; rows: StoredMessage[] | null }
  | { type: 'batch-failed'; id: number; items: number; message: string }
  | { type: 'retention'; deleted: number; deletedEvents: number }
  | { type: 'closed' };
