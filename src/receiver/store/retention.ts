// Retention by age and by database size, in small steps: each step deletes at most `chunkRows` of the
// oldest messages in its own short transaction (the FTS delete trigger removes their index entries),
// and the writer runs steps between write batches, so ingest never waits behind a big delete.
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';
import type { RetentionOptions } from './types.js';
import { STORED_MESSAGES_COUNTER } from './batch-writer.js';

const DAY_MS = 86_400_000;
const MIB = 1024 * 1024;

export interface RetentionStep {
  /** Messages deleted by this step. */
  deleted: number;
  /** Sequence events deleted by this step (age only). */
  deletedEvents: number;
  /** True when there is more to delete right away. */
  more: boolean;
}

export class Retention {
  private readonly chunk: number;
  private readonly interval: number;
  private lastCheck = -Infinity;
  private pending = false;
  private readonly st: Record<string, Statement>;

  constructor(private readonly db: Db, private readonly options: RetentionOptions) {
    this.chunk = Math.max(1, Math.floor(options.chunkRows ?? 5000));
    this.interval = Math.max(0, options.checkIntervalMs ?? 10_000);
    const p = (sql: string) => db.prepare(sql);
    this.st = {
      // Never delete the newest message: ids must keep growing (clients resume with since_id).
      // RETURNING boot_id: boots.messages goes down by what each boot lost.
      deleteOlderThan: p('DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE received_at < ? AND id < (SELECT max(id) FROM messages) ORDER BY received_at LIMIT ?) RETURNING boot_id AS bootId'),
      deleteOldest: p('DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE id < (SELECT max(id) FROM messages) ORDER BY id LIMIT ?) RETURNING boot_id AS bootId'),
      subtractBootMessages: p('UPDATE boots SET messages = max(0, messages - ?) WHERE id = ?'),
      deleteEventsOlderThan: p('DELETE FROM seq_events WHERE id IN (SELECT id FROM seq_events WHERE at < ? ORDER BY id LIMIT ?)'),
      subtractStored: p('UPDATE hub_counters SET value = max(0, value - ?), updated_at = ? WHERE name = ?'),
      // Fold FTS delete markers into the index a little at a time so its size follows the table.
      ftsMerge: p("INSERT INTO messages_fts (messages_fts, rank) VALUES ('merge', 64)"),
    };
  }

  get enabled(): boolean {
    return (this.options.retainDays ?? 0) > 0 || (this.options.maxDbMb ?? 0) > 0;
  }

  /** Whether a step should run now (something left from the last step, or the check interval passed). */
  due(now: number): boolean {
    if (!this.enabled) return false;
    return this.pending || now - this.lastCheck >= this.interval;
  }

  /** Bytes of the database in use (pages not on the free list). */
  usedBytes(): number {
    const pageSize = Number(this.db.pragma('page_size', { simple: true }));
    const pages = Number(this.db.pragma('page_count', { simple: true }));
    const free = Number(this.db.pragma('freelist_count', { simple: true }));
    return (pages - free) * pageSize;
  }

  /** Takes what each boot lost off its boots.messages; returns how many rows were deleted. */
  private deleteCounted(rows: Array<{ bootId: number }>): number {
    const lost = new Map<number, number>();
    for (const r of rows) lost.set(r.bootId, (lost.get(r.bootId) ?? 0) + 1);
    for (const [id, n] of lost) this.st.subtractBootMessages.run(n, id);
    return rows.length;
  }

  /** One bounded step: age first, then size. */
  step(now: number): RetentionStep {
    this.lastCheck = now;
    const result = this.db.transaction((): RetentionStep => {
      let deleted = 0;
      let deletedEvents = 0;
      let more = false;
      const days = this.options.retainDays ?? 0;
      if (days > 0) {
        const cutoff = now - days * DAY_MS;
        deleted = this.deleteCounted(this.st.deleteOlderThan.all(cutoff, this.chunk) as Array<{ bootId: number }>);
        deletedEvents = this.st.deleteEventsOlderThan.run(cutoff, this.chunk).changes;
        more = deleted === this.chunk || deletedEvents === this.chunk;
      }
      const maxMb = this.options.maxDbMb ?? 0;
      if (!more && maxMb > 0 && this.usedBytes() > maxMb * MIB) {
        const n = this.deleteCounted(this.st.deleteOldest.all(this.chunk) as Array<{ bootId: number }>);
        deleted += n;
        // Deleting frees pages only as whole pages empty out; keep stepping while over the limit.
        more = n > 0;
      }
      if (deleted > 0) {
        this.st.subtractStored.run(deleted, now, STORED_MESSAGES_COUNTER);
        this.st.ftsMerge.run();
      }
      return { deleted, deletedEvents, more };
    }).immediate();
    this.pending = result.more;
    return result;
  }
}
