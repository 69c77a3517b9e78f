// What a record becomes in the messages table, column by column, on both insert paths: the common
// record (extended, complete, flag '-', no fields, no release) goes through a statement with those
// values as literals, every other record through the general one. Both must store what was given.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTempDatabase } from './helpers/temp-db.js';
import { BatchWriter } from '../src/receiver/store/batch-writer.js';
import type { LogRecord } from '../src/netconsole/types.js';

function rec(over: Partial<LogRecord>): LogRecord {
  return {
    source: '192.0.2.9:6666', format: 'extended', seq: 1, pri: 6, level: 6, facility: 0, tsUsec: 1000, flags: '-', text: 'plain line',
    fields: {}, release: null, complete: true, receivedAt: 1_700_000_000_000, ...over,
  };
}

test('every kind of record is stored column for column as given, whichever insert statement it takes', (t) => {
  const db = openTempDatabase(t, 'nch-store-columns-');
  const records: LogRecord[] = [
    rec({ seq: 1, text: 'the common record' }),
    rec({ seq: 2, text: 'with a caller', fields: { caller: 'T42' } }),
    rec({ seq: 3, text: 'cut off', complete: false }),
    rec({ seq: 4, text: 'a continuation', flags: 'c' }),
    rec({ seq: 5, text: 'with a release', release: '6.1.0-9-amd64' }),
    rec({ seq: 6, pri: 3, level: 3, text: 'an error' }),
    rec({ source: '192.0.2.10:6666', format: 'legacy', seq: null, pri: null, level: null, facility: null, tsUsec: 2_000_000, flags: '', text: 'legacy line' }),
  ];
  const { rows } = new BatchWriter(db).write(records);
  assert.equal(rows.length, records.length);
  const stored = db.prepare('SELECT seq, pri, level, facility, ts_usec, received_at, text, fields, complete, format, flags, release FROM messages ORDER BY id').all();
  assert.deepEqual(stored, records.map((r) => ({
    seq: r.seq, pri: r.pri, level: r.level, facility: r.facility, ts_usec: r.tsUsec, received_at: r.receivedAt, text: r.text,
    fields: JSON.stringify(r.fields), complete: r.complete ? 1 : 0, format: r.format, flags: r.flags, release: r.release,
  })));
});
