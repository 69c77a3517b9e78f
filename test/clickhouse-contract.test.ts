// The API contract tests, unchanged, against ClickHouse (issue 20): one real ClickHouse server
// (Debian's clickhouse-server) for this file; every world of test/web-world.ts then writes into
// a fresh database on it through the ClickHouse write side and answers through the ClickHouse read
// adapter. The test files below are the ones that run against SQLite; they are imported, not copied.
import { after, test } from 'node:test';
import { existsSync } from 'node:fs';
import { CLICKHOUSE_SERVER, clickhouseMissing, startClickHouse } from './helpers/clickhouse.js';

const ALL_CONTRACT_TESTS = ['./web-api.test.js', './web-dashboard-api.test.js', './web-live.test.js', './web-fuzz.test.js', './browser.test.js', './browser-truncated.test.js'];
// NCH_CONTRACT_ONLY=web-fuzz (comma-separated) runs a subset while working on one of them.
const only = process.env.NCH_CONTRACT_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const CONTRACT_TESTS = only ? ALL_CONTRACT_TESTS.filter((f) => only.some((o) => f.includes(o))) : ALL_CONTRACT_TESTS;

if (!existsSync(CLICKHOUSE_SERVER)) {
  test('the API contract tests against ClickHouse', (t) => { clickhouseMissing(t); });
} else {
  const ch = await startClickHouse();
  after(() => ch.close());
  process.env.NCH_WORLD_CLICKHOUSE = ch.http;
  for (const file of CONTRACT_TESTS) await import(file);
}
