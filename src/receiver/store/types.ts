// What the storage layer accepts and gives back. Everything here crosses the worker boundary, so it
// is plain data (structured-clone safe).
import type { LogRecord, SeqEvent } from '../../netconsole/types.js';

/**
 * Per-source counts since the previous snapshot of the source (increments): the writer adds them to
 * the stored row, so the database holds lifetime totals and the write side keeps nothing per source.
 * (A batch that fails to commit loses its increments, like its records.) Keys: datagrams, bytes,
 * badPackets, checksumErrors, evictions, dropped get their own columns; any other key (e.g.
 * CoreCounters fields) is added into `other` JSON.
 */
export interface CountersSnapshot {
  kind: 'counters';
  source: string;
  at: number;
  counters: Record<string, number>;
}

/** Collector-wide totals since this process started (same rules as CountersSnapshot). */
export interface HubCountersSnapshot {
  kind: 'hub-counters';
  at: number;
  counters: Record<string, number>;
}

/** Display name of a host (host-name map or reverse DNS); null clears it. */
export interface HostNameItem {
  kind: 'host-name';
  address: string;
  name: string | null;
}

export type StoreItem = LogRecord | SeqEvent | CountersSnapshot | HubCountersSnapshot | HostNameItem;

/** A stored message exactly as the HTTP API returns it (and the live stream pushes it). */
export interface StoredMessage {
  id: number;
  /** Host display name: its name if known, else its address. */
  host: string;
  /** Sender `ip:port`. */
  source: string;
  /** Boot number within the host (1, 2, ...). */
  boot: number;
  seq: number | null;
  level: number | null;
  facility: number | null;
  ts_usec: number | null;
  received_at: number;
  text: string;
  fields: Record<string, string>;
  complete: boolean;
  /** The extended record's flag as sent (`-`, or `c` for a continuation); '' for legacy. */
  flags: string;
  /** The kernel cut the record at 2048 bytes (>= 6.3): the text is only its beginning. */
  truncated: boolean;
  /** Reassembled from `ncfrag` pieces. */
  fragmented: boolean;
}

export interface RetentionOptions {
  /** Delete messages (and events) received more than this many days ago. */
  retainDays?: number;
  /** Keep the database's used size under this many MiB by deleting the oldest messages. */
  maxDbMb?: number;
  /** Rows deleted per step; steps run between write batches. */
  chunkRows?: number;
  /** How often to check whether anything is due, in ms. */
  checkIntervalMs?: number;
}

/** spool_full: past the spool's bound; spool_error: the spool could not be written; spool_corrupt: a torn or corrupt spooled batch, skipped. */
export type DropReason = 'queue_full' | 'closed' | 'write_error' | 'writer_failed' | 'invalid' | 'spool_full' | 'spool_error' | 'spool_corrupt';

/** The disk spool behind the queue (spool.ts), as the writer reports it. */
export interface SpoolWriterStats {
  /** Bytes of its segment files. */
  bytes: number;
  /** Its bound now: --spool-max-mb, or half the disk's free space if that is less. */
  maxBytes: number;
  /** Records and events in it, not yet stored: what live streaming and incident detection lag by (besides the queue). */
  records: number;
  /** Age of its oldest record, ms (0 when empty). */
  oldestAgeMs: number;
  /** Spooled items stored per second, over about the last 5 s. */
  drainPerSec: number;
  /** Items written to it, and read back and stored, since start. */
  spooled: number;
  replayed: number;
  /** Torn or corrupt batches found and skipped since start. */
  corruptBatches: number;
}

export interface WriterStats {
  /** Items accepted and not yet committed (waiting + being written). */
  queued: number;
  /** Messages committed since start. */
  written: number;
  /** Sequence events committed since start. */
  writtenEvents: number;
  /** Records whose seq fell back (a replay, a copy or a new boot), judged against the stored rows since start. */
  rechecks: number;
  /** Of those, records equal to one already stored for the source and boot: counted, not stored again. */
  duplicates: number;
  /** Boots started because a host rebooted (a second target joining the same boot is not counted). */
  reboots: number;
  /** Batches committed since start. */
  batches: number;
  /** Items not stored, by reason. */
  dropped: Record<DropReason, number>;
  /** Messages deleted by retention since start. */
  retentionDeleted: number;
  /** The queue bound. */
  maxQueue: number;
  /** Why the last batch could not be written (disk full, read-only…), null once a batch commits again. */
  failing: string | null;
  /** The disk spool, null when there is none (--spool-max-mb 0). */
  spool: SpoolWriterStats | null;
}
