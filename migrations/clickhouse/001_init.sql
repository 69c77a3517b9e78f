-- netconsole-hub on ClickHouse, schema version 1. `{db}` stands for the database name; statements
-- are separated by lines holding only `;`. Runs on ClickHouse 18.16.1 (Debian 12) and current
-- ClickHouse: no TTL, codecs, DateTime64, skip indexes or Nullable keys.
--
-- Exactly once: rows are ReplacingMergeTree, keyed so that a retried insert (a collector killed
-- mid-batch, a spool replayed) collapses into the row it repeats; reads use FINAL.
-- Several collectors write into one database: ids are `clock * 64 + collector` (ids.ts), unique in
-- the fleet and roughly in arrival order.

CREATE TABLE IF NOT EXISTS {db}.schema_versions (
  version UInt32,
  name String,
  applied_at UInt64
) ENGINE = MergeTree ORDER BY version
;
-- One row per collector that writes here; `id` is the low 6 bits of every id it assigns.
CREATE TABLE IF NOT EXISTS {db}.collectors (
  id UInt16,
  name String,
  registered_at UInt64
) ENGINE = MergeTree ORDER BY (id, registered_at)
;
-- seq -1: a legacy line (no seq). lkey 0 for extended records; for legacy lines a hash of
-- (source, received_at, text), so that the same line inserted twice is one row.
-- level, facility, ts_usec -1: none. received_at: epoch ms. fields: a JSON object.
CREATE TABLE IF NOT EXISTS {db}.messages (
  id UInt64,
  collector UInt16,
  host String,
  source String,
  boot UInt32,
  seq Int64,
  lkey UInt64,
  level Int8,
  facility Int16,
  ts_usec Int64,
  received_at UInt64,
  text String,
  fields String,
  complete UInt8,
  flags String,
  truncated UInt8,
  fragmented UInt8
) ENGINE = ReplacingMergeTree(id)
PARTITION BY toYYYYMMDD(toDateTime(intDiv(received_at, 1000)))
ORDER BY (host, boot, source, seq, lkey)
;
-- One row per (host, boot); a newer updated_at replaces the row. first_seq -1: none.
CREATE TABLE IF NOT EXISTS {db}.boots (
  host String,
  boot UInt32,
  started_at UInt64,
  first_seq Int64,
  reason String,
  release String,
  collector UInt16,
  updated_at UInt64
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (host, boot)
;
-- name '' with has_name 0: no display name.
CREATE TABLE IF NOT EXISTS {db}.hosts (
  address String,
  name String,
  has_name UInt8,
  first_seen UInt64,
  last_seen UInt64,
  updated_at UInt64
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY address
;
CREATE TABLE IF NOT EXISTS {db}.sources (
  address String,
  host String,
  format String,
  last_seen UInt64
) ENGINE = ReplacingMergeTree(last_seen)
ORDER BY address
;
-- type: gap, duplicate, reorder, reboot. A retried insert collapses on the key.
CREATE TABLE IF NOT EXISTS {db}.seq_events (
  id UInt64,
  host String,
  boot UInt32,
  source String,
  type String,
  seq_from Int64,
  seq_to Int64,
  at UInt64,
  detail String
) ENGINE = ReplacingMergeTree(id)
PARTITION BY toYYYYMM(toDateTime(intDiv(at, 1000)))
ORDER BY (host, boot, source, type, seq_from, seq_to)
;
-- Increments, summed on merge and on read.
CREATE TABLE IF NOT EXISTS {db}.source_counters (
  source String,
  collector UInt16,
  host String,
  datagrams UInt64,
  bytes UInt64,
  bad_packets UInt64,
  checksum_errors UInt64,
  evictions UInt64,
  dropped UInt64
) ENGINE = SummingMergeTree
ORDER BY (source, collector)
;
CREATE TABLE IF NOT EXISTS {db}.hub_counters (
  name String,
  collector UInt16,
  value Int64
) ENGINE = SummingMergeTree
ORDER BY (name, collector)
;
-- One row per incident key; a newer updated_at replaces it. Arrays are JSON text. boot 0,
-- ts_usec -1, message ids 0, ended_at 0, silent_after -1, next_boot 0: none.
CREATE TABLE IF NOT EXISTS {db}.incidents (
  id UInt64,
  key String,
  host String,
  boot UInt32,
  kind String,
  severity String,
  headline String,
  started_at UInt64,
  ended_at UInt64,
  ended_by String,
  ts_usec Int64,
  first_message_id UInt64,
  last_message_id UInt64,
  release String,
  signature String,
  signature_frames String,
  lines String,
  modules String,
  context_before String,
  silent_after Int8,
  next_boot UInt32,
  updated_at UInt64
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key
