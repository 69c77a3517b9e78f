-- 005_truncated: messages.truncated = 1 for a record the kernel cut at its 2048-byte printk buffer
-- (kernels >= 6.3; src/netconsole/body.ts): its text is only the beginning of what was logged.
-- Existing rows were stored before the cut was recognised and keep 0.
ALTER TABLE messages ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1));
