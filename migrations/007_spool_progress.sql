-- 007_spool_progress: how far the disk spool (src/receiver/store/spool.ts) has been committed.
--
-- When the writer falls behind, batches wait in a spool on disk, each with a batch number. A batch
-- read back from the spool is committed together with its number here, in the same transaction, so
-- after a crash the next start skips exactly the spooled batches that are already stored and
-- replays the rest: every spooled record is stored once.
CREATE TABLE spool_progress (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  committed_through INTEGER NOT NULL
);
INSERT INTO spool_progress (id, committed_through) VALUES (1, 0);
