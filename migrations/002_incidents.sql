-- 002_incidents: crash incidents found in the record stream (issue 6; src/netconsole/incidents.ts).
--
-- incidents   one row per kernel report (panic, Oops, BUG, WARNING, lockup, OOM, ...). `key` is the
--             detector's identity of the incident: it is inserted when the headline is seen
--             (ended_by NULL) and updated in place when the report is complete and when more is
--             learned (silent_after, next_boot). `host` is the host key the detector was fed (the
--             host address, hosts.address); it is text, not a foreign key, so an incident outlives
--             retention of its host's rows. first/last_message_id point into messages(id) for as
--             long as those rows are kept. lines, modules, context_before and signature_frames are
--             JSON arrays of strings. `signature` groups the same crash across hosts and boots.
--             silent_after: NULL unknown/no, 1 the host sent nothing for a while after it.

CREATE TABLE incidents (
  id               INTEGER PRIMARY KEY,
  key              TEXT    NOT NULL UNIQUE,
  host             TEXT    NOT NULL,
  boot             INTEGER,
  kind             TEXT    NOT NULL,
  severity         TEXT    NOT NULL CHECK (severity IN ('critical', 'error', 'warning', 'info')),
  headline         TEXT    NOT NULL,
  started_at       INTEGER NOT NULL,
  ended_at         INTEGER,
  ended_by         TEXT,
  ts_usec          INTEGER,
  first_message_id INTEGER,
  last_message_id  INTEGER,
  release          TEXT,
  signature        TEXT    NOT NULL,
  signature_frames TEXT    NOT NULL DEFAULT '[]',
  lines            TEXT    NOT NULL DEFAULT '[]',
  modules          TEXT    NOT NULL DEFAULT '[]',
  context_before   TEXT    NOT NULL DEFAULT '[]',
  silent_after     INTEGER CHECK (silent_after IN (0, 1)),
  next_boot        INTEGER,
  updated_at       INTEGER NOT NULL
);
-- "How many times was this crash seen" and the signature filter.
CREATE INDEX incidents_signature ON incidents(signature, started_at);
-- One host's incidents, newest first.
CREATE INDEX incidents_host ON incidents(host, started_at);
-- The list (newest first) and the since filter.
CREATE INDEX incidents_started_at ON incidents(started_at);
-- The kind filter.
CREATE INDEX incidents_kind ON incidents(kind, started_at);
