// The messages insert is TabSeparated text written by tsv.ts: every string must come back from a
// real clickhouse-server exactly as it went in (backslashes, tabs, newlines, CR, \xHH escapes the
// core writes for bytes that are not UTF-8, multi-byte UTF-8, empty), and the buffer must grow.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Readable } from 'node:stream';
import { createClient } from '@clickhouse/client';
import { clickhouseMissing, startClickHouse } from './helpers/clickhouse.js';
import { TsvBuffer, tsvField } from '../src/receiver/store/clickhouse/tsv.js';

const TRICKY = [
  '', 'plain text', 'a\\b', '\\', '\\\\n', 'tab\there', 'line\nbreak', 'cr\r\nlf', '\t\n\r\\',
  'BUG: \\x00\\xff bytes', 'ü ß 日本 😀', '{"caller":"T1","k":"a\\"b"}', 'end\\', ' lead and trail ',
];

test('tsvField escapes only backslash, tab, newline and CR', () => {
  assert.equal(tsvField('plain'), 'plain');
  assert.equal(tsvField('a\\b\tc\nd\re'), 'a\\\\b\\tc\\nd\\re');
  assert.equal(tsvField('ü😀'), 'ü😀');
});

test('TsvBuffer grows past its first size and keeps every byte', () => {
  const b = new TsvBuffer(8);
  const lines = Array.from({ length: 200 }, (_, i) => `${i}\t${'ü'.repeat(i % 7)}😀\n`);
  for (const l of lines) b.line(l);
  assert.equal(b.lines, 200);
  assert.equal(b.bytes().toString('utf8'), lines.join(''));
});

test('TabSeparated rows from TsvBuffer read back from ClickHouse exactly as written', async (t) => {
  if (clickhouseMissing(t)) return;
  const ch = await startClickHouse();
  t.after(() => ch.close());
  const client = createClient({ url: ch.http });
  t.after(() => client.close());
  await ch.query('CREATE TABLE default.tsv_check (n UInt32, a String, b String, m Int64) ENGINE = MergeTree ORDER BY n');
  const buf = new TsvBuffer(16);
  TRICKY.forEach((s, i) => buf.line(`${i}\t${tsvField(s)}\t${tsvField(s + '\t' + i)}\t${-(i + 1)}\n`));
  await client.insert({ table: 'default.tsv_check', columns: ['n', 'a', 'b', 'm'], format: 'TabSeparated', values: Readable.from([buf.bytes()], { objectMode: false }) });
  const rows = await ch.rows<{ n: number; a: string; b: string; m: string }>('SELECT n, a, b, m FROM default.tsv_check ORDER BY n');
  assert.equal(rows.length, TRICKY.length);
  rows.forEach((r, i) => {
    assert.equal(r.a, TRICKY[i], `row ${i}`);
    assert.equal(r.b, `${TRICKY[i]}\t${i}`, `row ${i}`);
    assert.equal(Number(r.m), -(i + 1));
  });
});
