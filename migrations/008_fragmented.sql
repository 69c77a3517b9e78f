-- 008_fragmented: messages.fragmented = 1 for a record the kernel sent in several `ncfrag` pieces
-- that were put back together (the dashboard marks it). Existing rows keep 0.
ALTER TABLE messages ADD COLUMN fragmented INTEGER NOT NULL DEFAULT 0 CHECK (fragmented IN (0, 1));
