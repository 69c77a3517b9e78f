// The HTTP API against a real server on loopback over a real SQLite file filled by the StorageWriter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, record, getJson, T0, type World } from './web-world.js';
import type { MessageJson } from '../src/web/types.js';

const A = '10.0.0.1:6665';
const A2 = '10.0.0.1:6666';
const B = '10.0.0.2:6666';
let w: World;
let all: MessageJson[];

const seqsA = [...Array(30).keys()].filter((s) => s < 12 || s > 14); // 12..14 lost

before(async () => {
  w = await startWorld();
  const first = seqsA.map((seq, i) =>
    record(A, {
      seq, level: seq % 8, facility: seq === 3 ? 4 : 0, tsUsec: 1_000_000 + seq * 12_345, receivedAt: T0 + i * 1000,
      text: seq === 5 ? 'EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0'
        : seq === 20 ? 'sysrq: Trigger a crash' : `boot one line ${seq}`,
    }),
  );
  // The second target of host A stores the same records again (one of them here).
  first.push(record(A2, { seq: 20, level: 4, tsUsec: 1_000_000 + 20 * 12_345, receivedAt: T0 + 40_000, text: 'sysrq: Trigger a crash' }));
  await w.add([
    ...first.slice(0, 12),
    { type: 'gap', source: A, at: T0 + 12_000, from: 12, to: 14 },
    ...first.slice(12),
  ]);
  await w.add([
    { type: 'reboot', source: A, at: T0 + 100_000, from: 29, to: 0, detail: 'seq 29 -> 0' },
    ...[0, 1, 2].map((seq) => record(A, { seq, tsUsec: seq * 1000, receivedAt: T0 + 100_000 + seq, text: `second boot line ${seq}` })),
  ]);
  await w.add([...Array(5).keys()].map((i) => record(B, { format: 'legacy', level: null, facility: null, flags: '', receivedAt: T0 + 200_000 + i, text: `legacy host line ${i}` })));
  w.writer.enqueue({ kind: 'counters', source: B, at: T0 + 300_000, counters: { datagrams: 7, bytes: 300, badPackets: 3, checksumErrors: 2 } });
  await w.writer.flush();
  all = [...w.stored];
});

after(async () => {
  await w?.close();
});

test('GET /api/messages: newest first, every field of the contract', async () => {
  const r = await getJson(`${w.base}/api/messages`);
  assert.equal(r.status, 200);
  const ids = r.body.messages.map((m: MessageJson) => m.id);
  assert.deepEqual(ids, all.map((m) => m.id).reverse());
  assert.deepEqual(r.body.messages, [...all].reverse(), 'what the API returns is what the writer stored and published');
  const m = r.body.messages.find((x: MessageJson) => x.text.startsWith('EXT4'));
  assert.deepEqual(Object.keys(m).sort(), ['boot', 'complete', 'facility', 'fields', 'flags', 'fragmented', 'host', 'id', 'level', 'received_at', 'seq', 'source', 'text', 'truncated', 'ts_usec']);
  assert.equal(m.host, '10.0.0.1');
  assert.equal(m.source, A);
  assert.equal(m.boot, 1);
  assert.equal(m.seq, 5);
  assert.equal(m.complete, true);
});

test('GET /api/messages: filters host, boot, level, facility, since/until, seq range', async () => {
  const q = async (qs: string) => (await getJson(`${w.base}/api/messages?${qs}`)).body.messages as MessageJson[];
  assert.ok((await q('host=10.0.0.2')).every((m) => m.host === '10.0.0.2'));
  assert.equal((await q('host=10.0.0.2')).length, 5);
  assert.deepEqual((await q('host=10.0.0.1&boot=2')).map((m) => m.text), ['second boot line 2', 'second boot line 1', 'second boot line 0']);
  const errs = await q('level=3');
  assert.ok(errs.length > 0 && errs.every((m) => m.level !== null && m.level <= 3));
  assert.deepEqual((await q('facility=4')).map((m) => m.seq), [3]);
  const iso = new Date(T0 + 100_000).toISOString();
  assert.ok((await q(`since=${encodeURIComponent(iso)}`)).every((m) => m.received_at >= T0 + 100_000));
  assert.equal((await q(`since=${T0 + 100_000}&until=${T0 + 100_001}`)).length, 2);
  assert.deepEqual((await q('host=10.0.0.1&boot=1&seq_from=8&seq_to=11')).map((m) => m.seq), [11, 10, 9, 8]);
});

test('GET /api/messages: full-text search, and a malformed query is a 400 with a message', async () => {
  const hits = (await getJson(`${w.base}/api/messages?q=ext4_find_entry`)).body.messages as MessageJson[];
  assert.deepEqual(hits.map((m) => m.seq), [5]);
  const prefix = (await getJson(`${w.base}/api/messages?q=${encodeURIComponent('legacy AND line')}&limit=2`)).body;
  assert.equal(prefix.messages.length, 2);
  for (const bad of ['"unterminated', 'AND OR', 'nosuchcolumn:x', '(((']) {
    const r = await getJson(`${w.base}/api/messages?q=${encodeURIComponent(bad)}`);
    assert.equal(r.status, 400, bad);
    assert.match(r.body.message, /full-text query/);
    assert.equal(r.body.statusCode, 400);
  }
});

test('GET /api/messages: cursor pagination both ways visits every row once', async () => {
  const older: number[] = [];
  let url = `${w.base}/api/messages?limit=7`;
  for (let i = 0; i < 20; i++) {
    const page = (await getJson(url)).body;
    older.push(...page.messages.map((m: MessageJson) => m.id));
    if (page.older === null) break;
    url = `${w.base}/api/messages?limit=7&before=${page.older}`;
  }
  assert.deepEqual(older, all.map((m) => m.id).reverse());
  const newer: number[] = [];
  let cursor = 0;
  for (let i = 0; i < 20; i++) {
    const page = (await getJson(`${w.base}/api/messages?limit=6&after=${cursor}&order=asc`)).body;
    if (page.messages.length === 0) break;
    newer.push(...page.messages.map((m: MessageJson) => m.id));
    cursor = page.newer;
  }
  assert.deepEqual(newer, all.map((m) => m.id));
});

test('GET /api/messages: invalid parameters are 400 JSON errors', async () => {
  for (const qs of ['limit=5001', 'limit=0', 'limit=abc', 'level=9', 'since=yesterday', 'before=1&after=2', 'order=sideways']) {
    const r = await getJson(`${w.base}/api/messages?${qs}`);
    assert.equal(r.status, 400, qs);
    assert.equal(typeof r.body.message, 'string', qs);
    assert.ok(r.body.message.length > 0);
  }
  const big = await getJson(`${w.base}/api/messages?limit=5000`);
  assert.equal(big.status, 200);
  const missing = await getJson(`${w.base}/api/nothing`);
  assert.equal(missing.status, 404);
  assert.match(missing.body.message, /no route/);
});

test('GET /api/messages/:id/context: the surrounding records of the same boot and target', async () => {
  const target = all.find((m) => m.source === A && m.seq === 10 && m.boot === 1)!;
  const r = await getJson(`${w.base}/api/messages/${target.id}/context?before=3&after=4`);
  assert.equal(r.status, 200);
  assert.equal(r.body.message.id, target.id);
  assert.deepEqual(r.body.before.map((m: MessageJson) => m.seq), [7, 8, 9]);
  assert.deepEqual(r.body.after.map((m: MessageJson) => m.seq), [11, 15, 16, 17]);
  const last = all.find((m) => m.source === A && m.seq === 29)!;
  const end = await getJson(`${w.base}/api/messages/${last.id}/context`);
  assert.deepEqual(end.body.after, [], 'the next boot is not part of the context');
  const legacy = all.find((m) => m.text === 'legacy host line 2')!;
  const lc = await getJson(`${w.base}/api/messages/${legacy.id}/context?before=1&after=1`);
  assert.deepEqual([...lc.body.before, ...lc.body.after].map((m: MessageJson) => m.text), ['legacy host line 1', 'legacy host line 3']);
  assert.equal((await getJson(`${w.base}/api/messages/999999/context`)).status, 404);
  assert.equal((await getJson(`${w.base}/api/messages/abc/context`)).status, 400);
});

test('GET /api/hosts: boots, reboots, gaps, lost records, checksum errors, bad packets', async () => {
  const r = await getJson(`${w.base}/api/hosts`);
  assert.equal(r.status, 200);
  const a = r.body.hosts.find((h: { host: string }) => h.host === '10.0.0.1');
  const b = r.body.hosts.find((h: { host: string }) => h.host === '10.0.0.2');
  assert.equal(a.boots.length, 2);
  assert.equal(a.current_boot, 2);
  assert.equal(a.rebooted, true);
  assert.equal(a.gaps, 1);
  assert.equal(a.lost_records, 3);
  assert.equal(a.messages, seqsA.length + 1 + 3);
  assert.equal(a.boots[0].lost_records, 3);
  assert.equal(a.sources.length, 2);
  assert.equal(b.checksum_errors, 2);
  assert.equal(b.bad_packets, 3);
  assert.equal(b.rebooted, false);
  assert.equal(typeof a.last_seen, 'number');
});

test('GET /api/hosts/:host/boots/:boot/log: dmesg-like text and ndjson, one line per record', async () => {
  const res = await fetch(`${w.base}/api/hosts/10.0.0.1/boots/1/log`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="10.0.0.1-boot1.log"/);
  const lines = (await res.text()).trimEnd().split('\n');
  assert.equal(lines.length, seqsA.length, 'the record both targets sent appears once');
  assert.equal(lines[0], '[    1.000000] boot one line 0');
  assert.equal(lines[1], '[    1.012345] boot one line 1');
  const nd = await (await fetch(`${w.base}/api/hosts/10.0.0.1/boots/2/log?format=ndjson`)).text();
  const rows = nd.trimEnd().split('\n').map((l) => JSON.parse(l) as MessageJson);
  assert.deepEqual(rows.map((m) => m.text), ['second boot line 0', 'second boot line 1', 'second boot line 2']);
  const legacy = await (await fetch(`${w.base}/api/hosts/10.0.0.2/boots/1/log`)).text();
  assert.equal(legacy.split('\n')[0], 'legacy host line 0');
  assert.equal((await getJson(`${w.base}/api/hosts/10.0.0.9/boots/1/log`)).status, 404);
  assert.equal((await getJson(`${w.base}/api/hosts/10.0.0.1/boots/1/log?format=xml`)).status, 400);
});

test('GET /api/stats, /healthz and /metrics', async () => {
  w.stats.datagrams = 1234;
  w.stats.bytes = 99_000;
  w.stats.checksum_errors = 2;
  w.stats.dropped = { queue_full: 5, oversize: 1 };
  w.stats.queue_depth = 17;
  const s = (await getJson(`${w.base}/api/stats`)).body;
  assert.equal(s.messages, all.length);
  assert.equal(s.hosts, 2);
  assert.equal(s.datagrams, 1234);
  assert.deepEqual(s.dropped, { queue_full: 5, oversize: 1 });
  assert.equal(s.bad_packets, 0);
  assert.equal(s.stored_totals.checksum_errors, 2);

  assert.equal((await getJson(`${w.base}/healthz`)).status, 200);
  w.health.ok = false;
  w.health.problems.push('database not writable: disk full');
  const sick = await getJson(`${w.base}/healthz`);
  assert.equal(sick.status, 503);
  assert.deepEqual(sick.body.problems, ['database not writable: disk full']);
  w.health.ok = true;
  w.health.problems.length = 0;

  const res = await fetch(`${w.base}/metrics`);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  assert.match(text, /^netconsole_datagrams_total 1234$/m);
  assert.match(text, /^netconsole_bytes_total 99000$/m);
  assert.match(text, /^netconsole_dropped_total\{reason="queue_full"\} 5$/m);
  assert.match(text, /^netconsole_checksum_errors_total 2$/m);
  assert.match(text, /^netconsole_queue_depth 17$/m);
  assert.match(text, /^netconsole_websocket_clients 0$/m);
  for (const name of ['records_total', 'gaps_total', 'reassembly_timeouts_total']) assert.match(text, new RegExp(`^netconsole_${name} 0$`, 'm'));
});

test('security headers: CSP without inline script, nosniff, on the dashboard and the API', async () => {
  for (const path of ['/', '/api/hosts', '/api/nothing']) {
    const res = await fetch(`${w.base}${path}`);
    await res.arrayBuffer();
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/, path);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
  }
  const index = await fetch(`${w.base}/`);
  assert.equal(index.status, 200);
  const html = await index.text();
  assert.match(html, /<script type="module" src="app.js"><\/script>/);
  assert.doesNotMatch(html, /<script>(?!<)/, 'no inline script');
});
