// The storage ports: what the rest of the collector asks of a store, whatever the store is.
//
// - The write port is the message protocol of write-protocol.ts (batches in, 'stored' rows with
//   their ids out), served by a WriteSide: SQLite's WriteService or ClickHouse's.
// - The read port, StoreQueries, is everything the web side (API, live replay, dashboard) reads.
//   Every method returns a promise: SQLite answers at once, ClickHouse over HTTP.
// The web imports this file (and filters.ts) only, never an adapter: serve picks the adapter
// (open-store.ts) and hands the web a StoreQueries.
import type { FromWriter, ToWriter } from './write-protocol.js';
import type { StoredMessage } from './types.js';
import type { LiveFilter } from './filters.js';
import type { IncidentEndedBy } from '../../netconsole/incidents.js';
import type { IncidentSeverity } from '../../netconsole/incident-rules.js';

export type { LiveFilter } from './filters.js';

/** The write side behind the write protocol: opened once, then fed every message the writer posts. */
export interface WriteSide {
  /** Opens (creating or migrating) the store; answers 'ready' or 'open-failed' through `reply`. */
  open(): boolean | Promise<boolean>;
  handle(msg: ToWriter): void;
  /** About once a second: retention, idle work, incident timeouts. */
  tick(): void;
}
export type WriteSideReply = (msg: FromWriter) => void;

export interface MessageFilters {
  host?: string;
  /** Any of these hosts (addresses or names); combined with `host` when both are given. */
  hosts?: string[];
  boot?: number;
  /** This boot number and later ones (a history that runs on into the live stream without a hole). */
  boot_from?: number;
  /** At most this severity: level <= N (0 = emerg). */
  level?: number;
  facility?: number;
  /** received_at bounds, epoch ms, inclusive. */
  since?: number;
  until?: number;
  /** Full-text query over the text (SQLite: FTS5 syntax; ClickHouse: its words, all of them, as substrings). */
  q?: string;
  /** Case-insensitive (ASCII) substring of the text, as the live stream's `text`. */
  text?: string;
  /** A JavaScript regular expression over the text, `/source/flags` or a bare source (text-filter.ts). */
  regex?: string;
  seq_from?: number;
  seq_to?: number;
  /** Cursors: rows with id < before (older page) or id > after (newer page). */
  before?: number;
  after?: number;
  limit: number;
  order: 'desc' | 'asc';
}

export interface HistogramFilters {
  since: number;
  until: number;
  bucketMs: number;
  hosts: string[];
  level?: number;
  facility?: number;
  text?: string;
  regex?: string;
  q?: string;
}

export interface HistogramBucket {
  t: number;
  level: number | null;
  n: number;
}

export interface MessagePage {
  messages: StoredMessage[];
  /** Pass as `before` for the next older page (null: nothing older). */
  older: number | null;
  /** Pass as `after` for the next newer page (null: nothing newer right now). */
  newer: number | null;
}

export interface MessageContext {
  message: StoredMessage;
  before: StoredMessage[];
  after: StoredMessage[];
}

export interface BootSummary {
  boot: number;
  started_at: number;
  first_seq: number | null;
  reason: string;
  release: string | null;
  messages: number;
  gaps: number;
  lost_records: number;
}

export interface HostSummary {
  host: string;
  address: string;
  name: string | null;
  first_seen: number;
  last_seen: number;
  messages: number;
  current_boot: number | null;
  /** The current boot started because the sequence numbers started over. */
  rebooted: boolean;
  boots: BootSummary[];
  gaps: number;
  /** Records lost in gaps (sum of the gap ranges). */
  lost_records: number;
  checksum_errors: number;
  bad_packets: number;
  dropped: number;
  sources: { address: string; format: string; last_seen: number }[];
}

/** A host as a name resolves to it. `id` is the adapter's own key (SQLite's row id; 0 where there is none). */
export interface HostRef {
  id: number;
  address: string;
  name: string | null;
}

/** One boot of one host, as findBoot found it; `bootId` is the adapter's own key for bootLogPage. */
export interface BootRef {
  host: HostRef;
  number: number;
  bootId: number;
}

export interface StoredTotals {
  messages: number;
  hosts: number;
  boots: number;
  datagrams: number;
  bytes: number;
  bad_packets: number;
  checksum_errors: number;
  dropped: number;
  gaps: number;
}

/** The read port. Errors a user caused are RegexFilterError and FullTextQueryError (filters.ts). */
export interface StoreQueries {
  /** 'sqlite' or 'clickhouse': shown in /api/stats. */
  readonly kind: string;
  /**
   * Whether the live queries (liveAfter, liveBetween, replayStart, maxMessageId) see ids in commit
   * order, so rows committed but never published can be read back to fill the live stream's holes.
   * SQLite: ids are dense commit order. ClickHouse: true once scoped to one collector's rows
   * (its ids rise, sparse; several collectors' interleave).
   */
  readonly idsInCommitOrder: boolean;
  /** Hosts a name refers to: its address or its display name. */
  resolveHost(nameOrAddress: string): Promise<HostRef[]>;
  listMessages(f: MessageFilters): Promise<MessagePage>;
  /** Records per time bucket and level over [since, until] (received_at), with the list's filters. */
  histogram(f: HistogramFilters): Promise<HistogramBucket[]>;
  /** Records around one, in kernel order (same boot and source by seq; arrival order without seq). */
  context(id: number, before: number, after: number): Promise<MessageContext | undefined>;
  hosts(): Promise<HostSummary[]>;
  findBoot(host: string, bootNumber: number): Promise<BootRef | undefined>;
  /** One page of a boot's log in kernel order (seq, then arrival; records without seq first), after a keyset position. */
  bootLogPage(boot: BootRef, after: { seq: number; id: number } | null, limit: number): Promise<StoredMessage[]>;
  /** Live replay: rows after `cursor` matching the filter, oldest first. */
  liveAfter(cursor: number, filter: LiveFilter, limit: number): Promise<StoredMessage[]>;
  /** Rows strictly between two ids matching a live filter, oldest first. */
  liveBetween(after: number, before: number, filter: LiveFilter, limit: number): Promise<StoredMessage[]>;
  /** Where a replay from `cursor` should start so at most `keep` rows are replayed, and how many it skips (counted up to countCap). */
  replayStart(cursor: number, filter: LiveFilter, keep: number, countCap: number): Promise<{ cursor: number; skipped: number }>;
  maxMessageId(): Promise<number>;
  storedTotals(): Promise<StoredTotals>;
  listIncidents(f: IncidentFilter): Promise<IncidentSummary[]>;
  getIncident(id: number): Promise<IncidentDetail | undefined>;
  /** Throws (with a one-line message) when the store cannot be read: /healthz. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** One incident in the list: everything but the report's lines. */
export interface IncidentSummary {
  id: number;
  key: string;
  /** Display name  or the address. */
  host: string;
  address: string;
  boot: number | null;
  kind: string;
  severity: IncidentSeverity;
  headline: string;
  started_at: number;
  ended_at: number | null;
  ended_by: IncidentEndedBy | null;
  ts_usec: number | null;
  release: string | null;
  signature: string;
  /** How many stored incidents share this signature (this one included). */
  seen: number;
  silent_after: boolean | null;
  next_boot: number | null;
}

/** The full report. */
export interface IncidentDetail extends IncidentSummary {
  first_message_id: number | null;
  last_message_id: number | null;
  lines: string[];
  modules: string[];
  context_before: string[];
  signature_frames: string[];
}

export interface IncidentFilter {
  /** Address or display name. */
  host?: string;
  kind?: string;
  /** started_at >= since (epoch ms). */
  since?: number;
  signature?: string;
  /** Only incidents with id < before (paging, newest first). */
  before?: number;
  limit?: number;
}

export const MAX_INCIDENT_LIMIT = 1000;
