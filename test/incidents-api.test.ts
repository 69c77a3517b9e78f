// Incidents in a real SQLite file (all migrations applied by the storage code) and served over real
// HTTP on 127.0.0.1 by the real web server: the fixture's panic, filters, counts, JSON errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import { IncidentDetector, type IncidentChange } from '../src/netconsole/incidents.js';
import type { LogRecord } from '../src/netconsole/types.js';
import { openDatabase } from '../src/receiver/store/database.js';
import { IncidentsStore, detectorInput, hostAddressOf } from '../src/receiver/incidents-store.js';
import { LiveHub, startWebServer } from '../src/web/server.js';
import { SqliteQueries } from '../src/receiver/store/sqlite-queries.js';
import { loadJsonl } from './helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'nch-incidents-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fixtureChanges(host: string, t0: number): IncidentChange[] {
  const receiver = new NetconsoleReceiver();
  const detector = new IncidentDetector();
  const changes: IncidentChange[] = [];
  let id = 0;
  let now = t0;
  const sink = { record: (r: LogRecord) => { changes.push(...detector.push(host, r, now, { id: ++id, boot: 1 })); }, event: () => {} };
  for (const d of loadJsonl('extended.jsonl')) {
    now = t0 + Math.round((d.t - 1_700_000_000) * 1000) % 100_000;
    receiver.push(d.src, d.payload, now, sink);
  }
  receiver.flushAll(now, sink);
  changes.push(...detector.flushAll(now));
  return changes;
}

function seeded(name: string): { path: string; store: IncidentsStore; close: () => void } {
  const path = join(dir, name);
  const { db } = openDatabase(path);
  db.prepare('INSERT INTO hosts (address, name, first_seen, last_seen) VALUES (?, ?, 0, 0)').run('10.0.0.1', 'web-1');
  const store = new IncidentsStore(db);
  // the same crash on two hosts, plus the NMI backtraces
  for (const c of fixtureChanges('10.0.0.1', 1_000_000)) store.save(c.incident, 1);
  for (const c of fixtureChanges('10.0.0.2', 2_000_000)) store.save(c.incident, 2);
  return { path, store, close: () => db.close() };
}

test('store: open/close changes upsert one row per incident; signature counts; filters', () => {
  const { store, close } = seeded('store.db');
  const all = store.list();
  assert.deepEqual(all.map((i) => [i.kind, i.address]), [['panic', '10.0.0.2'], ['nmi-backtrace', '10.0.0.2'], ['panic', '10.0.0.1'], ['nmi-backtrace', '10.0.0.1']]);
  assert.equal(all[2].host, 'web-1', 'display name from hosts');
  assert.equal(all[0].host, '10.0.0.2', 'address when the host has no name');
  assert.ok(all.every((i) => i.seen === 2), 'each signature seen twice (two hosts)');
  assert.ok(all.every((i) => i.ended_by !== null));
  assert.deepEqual(store.list({ kind: 'panic' }).map((i) => i.address), ['10.0.0.2', '10.0.0.1']);
  assert.deepEqual(store.list({ host: 'web-1' }).map((i) => i.kind), ['panic', 'nmi-backtrace']);
  assert.deepEqual(store.list({ host: '10.0.0.1', kind: 'panic' }).length, 1);
  assert.deepEqual(store.list({ since: 2_000_000 }).map((i) => i.address), ['10.0.0.2', '10.0.0.2']);
  assert.equal(store.list({ signature: all[0].signature }).length, 2);
  assert.equal(store.list({ limit: 1 }).length, 1);
  assert.deepEqual(store.list({ before: all[1].id }).map((i) => i.id), [all[2].id, all[3].id]);
  const detail = store.get(all[0].id);
  assert.ok(detail);
  assert.equal(detail.lines[detail.lines.length - 1], '---[ end Kernel panic - not syncing: sysrq triggered crash ]---');
  assert.equal(detail.context_before.length, 20);
  assert.equal(store.get(999_999), undefined);
  assert.deepEqual([...store.counts([all[0].signature, 'ffffffffffffffff'])], [[all[0].signature, 2], ['ffffffffffffffff', 0]]);
  close();
});

test('store: a later update (silent_after, next_boot) keeps the report and is not undone by an older change', () => {
  const { store, close } = seeded('update.db');
  const panic = store.list({ kind: 'panic', host: '10.0.0.1' })[0];
  const d = store.get(panic.id)!;
  const inc = { ...d, host: d.address, key: d.key, silent_after: true, next_boot: 2 };
  assert.equal(store.save(inc, 3), panic.id);
  const again = store.get(panic.id)!;
  assert.equal(again.silent_after, true);
  assert.equal(again.next_boot, 2);
  assert.deepEqual(again.lines, d.lines);
  store.save({ ...inc, silent_after: undefined, next_boot: undefined }, 4);
  assert.equal(store.get(panic.id)!.next_boot, 2);
  close();
});

test('HTTP: GET /api/incidents and /api/incidents/:id through the real web server', async () => {
  const { path, close } = seeded('http.db');
  close();
  const server = await startWebServer({
    host: '127.0.0.1', port: 0, store: SqliteQueries.open(path), live: new LiveHub(),
    stats: () => ({}) as never, health: () => ({}) as never, publicDir: join(dir, 'no-dashboard'),
  });
  try {
    const get = async (p: string): Promise<{ status: number; body: any }> => {
      const r = await fetch(server.address + p);
      assert.match(r.headers.get('content-type') ?? '', /application\/json/);
      return { status: r.status, body: await r.json() };
    };
    const list = await get('/api/incidents?kind=panic');
    assert.equal(list.status, 200);
    assert.equal(list.body.incidents.length, 2);
    assert.equal(list.body.incidents[0].seen, 2);
    assert.equal(list.body.incidents[0].lines, undefined, 'the list has no report lines');
    const host = await get('/api/incidents?host=web-1&since=1970-01-01T00:00:00Z');
    assert.deepEqual(host.body.incidents.map((i: { kind: string }) => i.kind), ['panic', 'nmi-backtrace']);
    const sig = await get(`/api/incidents?signature=${list.body.incidents[0].signature}&limit=1`);
    assert.equal(sig.body.incidents.length, 1);
    assert.equal(typeof sig.body.next_before, 'number');
    const one = await get(`/api/incidents/${list.body.incidents[1].id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.incident.host, 'web-1');
    assert.equal(one.body.incident.headline, 'Kernel panic - not syncing: sysrq triggered crash');
    assert.ok(one.body.incident.lines.includes('Call Trace:'));
    assert.deepEqual(one.body.incident.signature_frames.slice(0, 1), ['sysrq_handle_crash']);

    for (const [p, status, msg] of [
      ['/api/incidents/999999', 404, /no incident 999999/],
      ['/api/incidents/abc', 400, /incident id must be an integer/],
      ['/api/incidents?kind=kaboom', 400, /unknown kind "kaboom"/],
      ['/api/incidents?since=yesterday', 400, /since must be/],
      ['/api/incidents?signature=xyz', 400, /signature must be/],
      ['/api/incidents?limit=0', 400, /limit must be an integer from 1 to 1000/],
      ['/api/incidents?colour=red', 400, /unknown parameter "colour"/],
      ['/api/incidents?kind=panic&kind=oops', 400, /more than once/],
    ] as const) {
      const r = await get(p);
      assert.equal(r.status, status, p);
      assert.equal(r.body.statusCode, status);
      assert.match(r.body.message, msg);
    }
  } finally {
    await server.close();
  }
});

test('stored rows feed the detector: one stream per source, incidents by host address', () => {
  assert.equal(hostAddressOf('10.0.0.1:6665'), '10.0.0.1');
  assert.equal(hostAddressOf('[fd00::1]:6665'), 'fd00::1');
  assert.equal(hostAddressOf('fd00::1'), 'fd00::1');
  const row = { id: 42, host: 'web-1', source: '[fd00::1]:6665', boot: 3, seq: 9, level: 0, facility: 0, ts_usec: 5,
    received_at: 1000, text: 'Kernel panic - not syncing: x', fields: {}, complete: true, flags: '-', truncated: false, fragmented: false };
  const { stream, record, ref } = detectorInput(row);
  const ch = new IncidentDetector().push(stream, record, 1000, ref);
  assert.deepEqual(ch.map((c) => [c.change, c.incident.host, c.incident.boot, c.incident.first_message_id, c.incident.ts_usec]),
    [['open', 'fd00::1', 3, 42, 5]]);
});
