-- 006_boot_message_counts: boots.messages, the number of messages a boot holds, kept by the writer
-- (one update per boot per batch, and by retention as it deletes), so the host list does not count
-- every boot's rows on each request (1 000 hosts on 10 M rows: about a second of counting).
-- Existing boots are counted once here.
ALTER TABLE boots ADD COLUMN messages INTEGER NOT NULL DEFAULT 0;
UPDATE boots SET messages = (SELECT count(*) FROM messages m WHERE m.boot_id = boots.id);
