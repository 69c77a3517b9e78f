-- 001_init: the receiver's storage schema.
--
-- Migrations are applied in order by src/receiver/store/migrate.ts, each inside one transaction, and
-- recorded in schema_migrations (created by the migrator itself, not here). Never edit a migration
-- that has shipped: add NNN_next.sql instead. All times are wall-clock milliseconds since the epoch.
--
-- hosts            one row per sending machine, identified by its address without port. `name` is
--                  the display name (host-name map or reverse DNS) or NULL; show COALESCE(name,
--                  address). current_boot_id is the host's newest boot.
-- sources          one row per sender address:port (one per netconsole target of a host). `format`
--                  is the last format seen ('extended' | 'legacy'); boot_id is the boot this source is
--                  currently in (two targets of one host join the same boot after a reboot).
-- boots            one row per boot of a host; `number` counts from 1 within the host. reason is
--                  'first' (first record ever seen from the host) or 'reboot' (the sequence tracker
--                  saw the record numbers start over). first_seq is the seq of its first record.
-- messages         one row per kernel log record, in arrival order (id is the arrival order and the
--                  API's cursor). fields is a JSON object text (dictionary, sysdata, caller, ...).
--                  complete = 0 for a partial record (missing fragments, cut-off line).
-- messages_fts     FTS5 index over messages.text, external content (content='messages'), so text is
--                  stored once and snippet()/highlight() still work. INSERTS: the writer indexes each
--                  batch itself, in the same transaction, with one statement
--                  (INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages WHERE id >= ?):
--                  measured 4x faster than a per-row AFTER INSERT trigger (25k vs 100k rows/s), so
--                  anything else inserting into messages must do the same. DELETES and text UPDATES
--                  are kept in step by the triggers below (retention deletes in small chunks).
--                  Tokenizer: unicode61 (not trigram). Ingest must keep up with 100k records/s on two
--                  cores and full-text queries must stay fast on 10M rows; a trigram index is about
--                  three times larger, slower to write, and cannot match queries under 3 characters.
--                  Kernel searches are words and identifiers ('panic', 'eth0', 'kworker'), which
--                  unicode61 handles; '_' is a token character so identifiers like
--                  'ext4_find_entry' stay one token. Prefix queries ('ext4*') cover the rest; a
--                  substring search can fall back to LIKE within a filtered range.
-- seq_events       what the sequence tracker noticed: 'gap' (seq_from..seq_to missing, inclusive),
--                  'duplicate' / 'reorder' (seq_from = seq_to = the seq), 'reboot' (seq_from = last
--                  seq of the old boot, seq_to = first seq of the new one; boot_id = the new boot).
-- source_counters  per-source totals (upserted, never incremented row by row). Totals survive a
--                  restart: the writer adds this run's counts to what was stored before it started.
--                  `other` holds any further counters as a JSON object.
-- hub_counters     collector-wide totals by name, e.g. 'dropped.queue_full' (records the storage
--                  queue bound dropped), kept across restarts like source_counters.

CREATE TABLE hosts (
  id              INTEGER PRIMARY KEY,
  address         TEXT    NOT NULL UNIQUE,
  name            TEXT,
  first_seen      INTEGER NOT NULL,
  last_seen       INTEGER NOT NULL,
  current_boot_id INTEGER REFERENCES boots(id)
);

CREATE TABLE sources (
  id          INTEGER PRIMARY KEY,
  host_id     INTEGER NOT NULL REFERENCES hosts(id),
  address     TEXT    NOT NULL UNIQUE,          -- 'ip:port', IPv6 as '[addr]:port'
  format      TEXT    NOT NULL CHECK (format IN ('extended', 'legacy')),
  boot_id     INTEGER REFERENCES boots(id),
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL
);
CREATE INDEX sources_host ON sources(host_id);

CREATE TABLE boots (
  id          INTEGER PRIMARY KEY,
  host_id     INTEGER NOT NULL REFERENCES hosts(id),
  number      INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  first_seq   INTEGER,
  reason      TEXT    NOT NULL CHECK (reason IN ('first', 'reboot')),
  release     TEXT,
  UNIQUE (host_id, number)
);

CREATE TABLE messages (
  id          INTEGER PRIMARY KEY,
  host_id     INTEGER NOT NULL REFERENCES hosts(id),
  source_id   INTEGER NOT NULL REFERENCES sources(id),
  boot_id     INTEGER NOT NULL REFERENCES boots(id),
  seq         INTEGER,
  pri         INTEGER,
  level       INTEGER,
  facility    INTEGER,
  ts_usec     INTEGER,
  received_at INTEGER NOT NULL,
  text        TEXT    NOT NULL,
  fields      TEXT    NOT NULL DEFAULT '{}',
  complete    INTEGER NOT NULL DEFAULT 1 CHECK (complete IN (0, 1)),
  format      TEXT    NOT NULL CHECK (format IN ('extended', 'legacy')),
  flags       TEXT    NOT NULL DEFAULT '',
  release     TEXT
);
-- A host's latest lines / cursor pagination per host.
CREATE INDEX messages_host_id ON messages(host_id, id);
-- One boot's log in kernel order, context around a record, seq ranges.
CREATE INDEX messages_boot_seq ON messages(boot_id, seq);
-- since/until filters and age-based retention.
CREATE INDEX messages_received_at ON messages(received_at);
-- "at most this severity" filters, newest first.
CREATE INDEX messages_level_id ON messages(level, id);

CREATE VIRTUAL TABLE messages_fts USING fts5(
  text,
  content = 'messages',
  content_rowid = 'id',
  tokenize = "unicode61 remove_diacritics 2 tokenchars '_'"
);
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE seq_events (
  id         INTEGER PRIMARY KEY,
  host_id    INTEGER NOT NULL REFERENCES hosts(id),
  source_id  INTEGER NOT NULL REFERENCES sources(id),
  boot_id    INTEGER REFERENCES boots(id),
  type       TEXT    NOT NULL CHECK (type IN ('gap', 'duplicate', 'reorder', 'reboot')),
  at         INTEGER NOT NULL,
  seq_from   INTEGER,
  seq_to     INTEGER,
  detail     TEXT
);
CREATE INDEX seq_events_host_id ON seq_events(host_id, id);
CREATE INDEX seq_events_boot ON seq_events(boot_id, type);

CREATE TABLE source_counters (
  source_id       INTEGER PRIMARY KEY REFERENCES sources(id),
  datagrams       INTEGER NOT NULL DEFAULT 0,
  bytes           INTEGER NOT NULL DEFAULT 0,
  bad_packets     INTEGER NOT NULL DEFAULT 0,
  checksum_errors INTEGER NOT NULL DEFAULT 0,
  evictions       INTEGER NOT NULL DEFAULT 0,
  dropped         INTEGER NOT NULL DEFAULT 0,
  other           TEXT    NOT NULL DEFAULT '{}',
  updated_at      INTEGER NOT NULL
);

CREATE TABLE hub_counters (
  name        TEXT    PRIMARY KEY,
  value       INTEGER NOT NULL DEFAULT 0,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
