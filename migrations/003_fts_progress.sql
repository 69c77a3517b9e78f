-- 003_fts_progress: how far messages_fts has indexed messages.
--
-- Until 003 the writer indexed every batch in the batch's own transaction. That costs one FTS
-- segment per commit, and small commits (what low latency needs) make FTS the largest part of the
-- write cost. Now a small batch is still indexed in its own transaction, but when the writer falls
-- behind (large batches) indexing is deferred and done in bulk, at most 250 ms later: every message
-- with id <= indexed_through is in messages_fts and no message above it is (ids only grow:
-- retention never deletes the newest message). The writer reads and advances it inside the
-- indexing transaction, indexes whatever is above it when it opens (after a crash), and before a
-- retention step, so the FTS delete trigger only ever sees indexed rows.
CREATE TABLE fts_progress (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_through INTEGER NOT NULL
);
-- Everything written before this migration was indexed with its batch.
INSERT INTO fts_progress (id, indexed_through) SELECT 1, coalesce(max(id), 0) FROM messages;
