// The test harness's ClickHouse starts, answers, survives a stop and a start with its data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clickhouseMissing, startClickHouse } from './helpers/clickhouse.js';

test('a real clickhouse-server starts in a temporary directory, keeps its data across stop and start', async (t) => {
  if (clickhouseMissing(t)) return;
  const ch = await startClickHouse();
  try {
    assert.match(await ch.query('SELECT version()'), /^\d+\.\d+/);
    await ch.query('CREATE DATABASE probe');
    await ch.query('CREATE TABLE probe.t (x UInt32) ENGINE = MergeTree ORDER BY x');
    await ch.query('INSERT INTO probe.t VALUES (1), (2), (3)');
    await ch.stop();
    await assert.rejects(ch.query('SELECT 1'));
    await ch.start();
    assert.deepEqual(await ch.rows<{ n: string }>('SELECT count() AS n FROM probe.t'), [{ n: '3' }]);
  } finally {
    await ch.close();
  }
});
