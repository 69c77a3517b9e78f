-- 004_lighter_indexes: less index work per stored record (issue 7: 100k records/s on two cores).
-- Together the two changes below took the storage worker from 9.2 to 7.9 us of CPU per record
-- (node dist/bench/writer-micro.js --variants 1 --runs 5; the FTS change alone: 8.6 us).
--
-- messages_fts is rebuilt with columnsize=0. FTS5 then keeps no per-row length table
-- (messages_fts_docsize): one b-tree insert less per record. The lengths only serve bm25()
-- ranking, which nothing here uses (results are ordered by id); snippet() and highlight() still
-- work. The new index starts empty and fts_progress is reset: the writer indexes the existing
-- messages after it opens, 100 000 per transaction with new batches in between (about 2.6 s per
-- million messages, src/receiver/store/batch-writer.ts FTS_CHUNK_ROWS), and logs that it does.
-- Until it is done a search misses the older messages; nothing else waits.
--
-- messages_level_id only covers warnings and worse (level <= 4). Most kernel records are notice or
-- info, which a level filter barely narrows (a scan newest-first finds them at once); the rare severe
-- ones are what the index is for. Queries name the `level <= 4` term literally so the planner can
-- use it (src/web/queries.ts).
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
  text,
  content = 'messages',
  content_rowid = 'id',
  tokenize = "unicode61 remove_diacritics 2 tokenchars '_'",
  columnsize = 0
);
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
UPDATE fts_progress SET indexed_through = 0;

DROP INDEX messages_level_id;
CREATE INDEX messages_level_id ON messages(level, id) WHERE level <= 4;
