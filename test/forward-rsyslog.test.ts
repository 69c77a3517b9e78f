// Forwarding (--forward) end to end: a real serve fed the real 6.1 captures, a real rsyslogd
// (Debian's) receiving over TCP (octet counting) and UDP on loopback, and what rsyslog wrote
// compared with the SQLite rows record by record: text, seq, boot, PRI, host, timestamp, fields.
// Also rsyslog stopped and started again mid-run, and rsyslog absent with a small queue.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import { readCaptureFile } from '../src/capture/read.js';
import { ROOT, loadJsonl } from './helpers/fixtures.js';
import { parseStructuredData } from './helpers/rfc5424.js';
import { Rsyslog, freeTcpUdpPort, rsyslogMissing, type RsyslogLine } from './helpers/rsyslog.js';
import { getJson, startServe, tempDir, waitFor, type ServeProcess } from './helpers/serve.js';

/** What one record must look like at the receiver, from the database row or from rsyslog's line. */
interface Seen {
  id: number; pri: number; hostname: string; appName: string; timestampMs: number;
  source: string; boot: number; seq: number | null; tsUsec: number | null; flags: string; truncated: boolean; fields: Record<string, string>; text: string;
}

function storedRows(dbPath: string): Seen[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db.prepare(`SELECT m.id, m.pri, coalesce(h.name, h.address) AS host, s.address AS source, b.number AS boot, m.seq,
        m.ts_usec, m.flags, m.truncated, m.fields, m.text, m.received_at
      FROM messages m JOIN hosts h ON h.id = m.host_id JOIN sources s ON s.id = m.source_id JOIN boots b ON b.id = m.boot_id ORDER BY m.id`).all() as any[];
    return rows.map((r) => ({
      // A record without PRI (legacy netconsole) is sent as kern.notice, as documented.
      id: r.id, pri: r.pri ?? 5, hostname: r.host, appName: 'kernel', timestampMs: r.received_at,
      source: r.source, boot: r.boot, seq: r.seq, tsUsec: r.ts_usec, flags: r.flags, truncated: r.truncated === 1, fields: JSON.parse(r.fields), text: r.text,
    }));
  } finally { db.close(); }
}

function received(line: RsyslogLine): Seen {
  const sd = parseStructuredData(line.structuredData);
  const own = Object.fromEntries(sd.find((e) => e.id === 'netconsole@32473')?.params ?? []);
  const fields = Object.fromEntries(sd.find((e) => e.id === 'netconsole-fields@32473')?.params ?? []);
  assert.equal(line.procId, '-');
  assert.equal(line.msgId, '-');
  return {
    id: Number(own.id), pri: line.pri, hostname: line.hostname, appName: line.appName, timestampMs: Date.parse(line.timestamp),
    source: own.source, boot: Number(own.boot), seq: own.seq === undefined ? null : Number(own.seq),
    tsUsec: own.ts_usec === undefined ? null : Number(own.ts_usec), flags: own.flags ?? '', truncated: own.truncated === '1', fields, text: line.msg,
  };
}

/** Records the core makes of one capture (the count serve must store). */
function recordCount(payloads: Buffer[]): number {
  const rx = new NetconsoleReceiver();
  let n = 0;
  const sink = { record: () => { n++; }, event: () => {} };
  payloads.forEach((p, i) => rx.push('x:1', p, i, sink));
  rx.flushAll(1e9, sink);
  return n;
}

/** Sends from `from` (a loopback address of its own: another host) to serve, `burst` datagrams a millisecond. */
async function sendFrom(from: string, port: number, payloads: Buffer[], burst = 100): Promise<void> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res) => sock.bind(0, from, () => res()));
  for (let i = 0; i < payloads.length; i++) {
    await new Promise<void>((res, rej) => sock.send(payloads[i]!, port, '127.0.0.1', (err) => (err ? rej(err) : res())));
    if (i % burst === burst - 1) await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise<void>((res) => sock.close(() => res()));
}

/** Waits until serve has stored `n` records and nothing waits for storage. */
async function stored(srv: ServeProcess, n: number): Promise<any> {
  return waitFor(`${n} records stored`, async () => {
    const s = await getJson(`${srv.http}/api/stats`);
    return s.queue_depth === 0 && s.messages >= n ? s : undefined;
  }, 60_000);
}

async function forwardStats(srv: ServeProcess): Promise<any> {
  return (await getJson(`${srv.http}/api/stats`)).forward;
}

const noDrops = { queue_full: 0, disconnected: 0, send_error: 0, closed: 0 };

test('every stored record reaches rsyslog over TCP and over UDP: what it wrote equals the rows, record by record', { timeout: 180_000 }, async (t) => {
  if (rsyslogMissing(t)) return;
  const dir = tempDir('nch-rsyslog-');
  const port = await freeTcpUdpPort();
  const rs = new Rsyslog(dir, port);
  await rs.start();
  let truncated = 0;
  const tcp = `syslog+tcp://127.0.0.1:${port}`;
  const udp = `syslog+udp://127.0.0.1:${port}`;
  // The same over UDP with the smallest limit RFC 5426 lets every IPv4 receiver accept: truncated.
  const small = `syslog+udp://127.0.0.1:${port + 1}?max=480`;
  const srv = await startServe({ extraArgs: ['--forward', tcp, '--forward', udp, '--forward', small, '--host-name', '127.0.0.1=guest-ext'] });
  try {
    // Two hosts, each a boot with two targets (one extended, one legacy): all four captures.
    const captures: [string, string][] = [['127.0.0.1', 'extended.jsonl'], ['127.0.0.1', 'extended.t2-legacy.jsonl'], ['127.0.0.2', 'legacy.jsonl'], ['127.0.0.2', 'legacy.t2-extended.jsonl']];
    const sends: [string, Buffer[]][] = captures.map(([from, name]) => [from, loadJsonl(name).map((d) => d.payload)]);
    // And a third host: Linux 6.12's userdata target (fields rack, role, long) with a record the kernel cut.
    const pcap = join(ROOT, 'test/fixtures/kernel-6.12/userdata.guest-eth0.pcap');
    sends.push(['127.0.0.3', [...readCaptureFile(pcap)].filter((d) => d.source === '10.0.2.15:6664').map((d) => Buffer.from(d.payload))]);
    let want = 0;
    for (const [from, payloads] of sends) {
      want += recordCount(payloads);
      await sendFrom(from, srv.udpPort, payloads);
    }
    await stored(srv, want);
    const fwd = await waitFor('everything forwarded', async () => {
      const f = await forwardStats(srv);
      return f.sent === 3 * want && f.queue_depth === 0 ? f : undefined;
    });
    assert.deepEqual(fwd.dropped, noDrops);
    assert.equal(fwd.connected, 3);
    assert.deepEqual(fwd.destinations.map((d: any) => [d.url, d.transport, d.sent, d.truncated > 0]), [[tcp, 'tcp', want, false], [udp, 'udp', want, false], [small, 'udp', want, true]]);
    truncated = fwd.destinations[2].truncated;
    const metrics = await (await fetch(`${srv.http}/metrics`)).text();
    assert.match(metrics, new RegExp(`netconsole_forward_sent_total\\{destination="${tcp.replace(/[+.?]/g, '\\$&')}"\\} ${want}`));
    assert.match(metrics, /netconsole_forward_dropped_total\{destination="[^"]+",reason="queue_full"\} 0/);
    await waitFor(`rsyslog wrote ${3 * want} lines`, () => rs.lines().length >= 3 * want);
  } finally {
    assert.equal(await srv.stop(), 0, srv.log());
    await rs.stop();
  }
  const rows = storedRows(srv.db);
  const lines = rs.lines();
  assert.equal(lines.length, 3 * rows.length);
  t.diagnostic(`stored ${rows.length} records; rsyslog wrote ${lines.length} lines (tcp, udp, udp max=480: ${truncated} truncated)`);
  const byTcp = lines.filter((l) => l.input === 'imtcp').map(received);
  const byUdp = lines.filter((l) => l.input === 'imudp').map(received);
  // TCP: in order, each once. UDP: each once (loopback keeps the order, but UDP does not promise it).
  assert.deepEqual(byTcp, rows);
  assert.deepEqual(byUdp.sort((a, b) => a.id - b.id), rows);
  // Truncated to 480 octets: every record arrives, well-formed, with its header and its own SD
  // intact, its text a prefix of the stored one (the fields element goes first), as many shortened
  // as the counter says.
  const bySmall = lines.filter((l) => l.input === 'imudp-small').map(received).sort((a, b) => a.id - b.id);
  assert.equal(bySmall.length, rows.length);
  let shortened = 0;
  bySmall.forEach((got, i) => {
    const row = rows[i]!;
    const { text, fields, ...rest } = got;
    const { text: fullText, fields: fullFields, ...fullRest } = row;
    assert.deepEqual(rest, fullRest);
    assert.ok(fullText.startsWith(text), `record ${row.id}: a prefix of the text`);
    assert.ok(Object.keys(fields).length === 0 || JSON.stringify(fields) === JSON.stringify(fullFields));
    if (text !== fullText || JSON.stringify(fields) !== JSON.stringify(fullFields)) shortened++;
  });
  assert.equal(shortened, truncated);
  // The captures' variety arrived intact: both hosts, legacy (no PRI) and extended, dictionary fields,
  // the boot log's facility 0 and /dev/kmsg's facility 1 and local7, control characters and UTF-8.
  assert.deepEqual(new Set(rows.map((r) => r.hostname)), new Set(['guest-ext', '127.0.0.2', '127.0.0.3']));
  assert.ok(rows.some((r) => r.fields.rack === 'r12' && r.fields.long === 'u'.repeat(150)));
  assert.ok(rows.some((r) => r.truncated));
  assert.ok(rows.some((r) => r.seq === null && r.pri === 5 && r.flags === ''));
  assert.ok(rows.some((r) => r.fields.SUBSYSTEM === 'pci' && r.fields.DEVICE?.startsWith('+pci:')));
  assert.ok(rows.some((r) => r.pri === 190) && rows.some((r) => r.pri === 0) && rows.some((r) => r.pri === 14));
  assert.ok(rows.some((r) => r.text.includes('\u001b[31m') && r.text.includes('日本語')));
  assert.ok(rows.some((r) => r.text.includes('\n')) && rows.some((r) => r.text.includes('\\')));
});

test('rsyslog stopped and started again mid-run: the forwarder reconnects, nothing is dropped or sent twice', { timeout: 180_000 }, async (t) => {
  if (rsyslogMissing(t)) return;
  const dir = tempDir('nch-rsyslog-');
  const port = await freeTcpUdpPort();
  const rs = new Rsyslog(dir, port);
  await rs.start();
  const payloads = loadJsonl('extended.jsonl').map((d) => d.payload);
  const first = payloads.slice(0, 1200);
  const rest = payloads.slice(1200);
  const srv = await startServe({ extraArgs: ['--forward', `syslog+tcp://127.0.0.1:${port}`] });
  try {
    await sendFrom('127.0.0.1', srv.udpPort, first);
    const n1 = (await stored(srv, recordCount(first))).messages;
    await waitFor('the first part in rsyslog\'s file', () => rs.lines().length >= n1);
    await rs.stop();
    // The receiver's close is seen at once (the forwarder reads its socket), not at the next write.
    await waitFor('the forwarder sees the connection closed', async () => (await forwardStats(srv)).connected === 0);
    await sendFrom('127.0.0.1', srv.udpPort, rest);
    const n = (await stored(srv, recordCount(payloads))).messages;
    const waiting = await forwardStats(srv);
    assert.equal(waiting.sent, n1);
    assert.equal(waiting.queue_depth, n - n1, 'the records stored meanwhile wait in the queue');
    await rs.start();
    const fwd = await waitFor('the queue sent after the reconnect', async () => {
      const f = await forwardStats(srv);
      return f.queue_depth === 0 && f.sent === n ? f : undefined;
    }, 90_000);
    assert.deepEqual(fwd.dropped, noDrops);
    assert.equal(fwd.destinations[0].reconnects, 1);
    await waitFor(`rsyslog wrote ${n} lines`, () => rs.lines().length >= n);
  } finally {
    assert.equal(await srv.stop(), 0, srv.log());
    await rs.stop();
  }
  const rows = storedRows(srv.db);
  t.diagnostic(`stored ${rows.length} records; rsyslog wrote ${rs.lines().length} lines across its restart`);
  assert.deepEqual(rs.lines().map(received), rows);
  assert.match(srv.log(), /connection lost/);
  assert.match(srv.log(), /connected again/);
});

test('rsyslog absent at start, queue=1000: the oldest records are dropped and counted, the newest 1000 arrive once it listens', { timeout: 180_000 }, async (t) => {
  if (rsyslogMissing(t)) return;
  const dir = tempDir('nch-rsyslog-');
  const port = await freeTcpUdpPort();
  const rs = new Rsyslog(dir, port);
  const payloads = loadJsonl('extended.jsonl').map((d) => d.payload);
  const srv = await startServe({ extraArgs: ['--forward', `syslog+tcp://127.0.0.1:${port}?queue=1000`] });
  try {
    await sendFrom('127.0.0.1', srv.udpPort, payloads);
    const n = (await stored(srv, recordCount(payloads))).messages;
    const waiting = await forwardStats(srv);
    assert.deepEqual([waiting.connected, waiting.sent, waiting.queue_depth], [0, 0, 1000]);
    assert.deepEqual(waiting.dropped, { ...noDrops, queue_full: n - 1000 });
    await rs.start();
    await waitFor('the queue sent once rsyslog listens', async () => {
      const f = await forwardStats(srv);
      return f.queue_depth === 0 && f.sent === 1000;
    }, 90_000);
    await waitFor('rsyslog wrote 1000 lines', () => rs.lines().length >= 1000);
  } finally {
    assert.equal(await srv.stop(), 0, srv.log());
    await rs.stop();
  }
  const rows = storedRows(srv.db);
  t.diagnostic(`stored ${rows.length} records; rsyslog wrote ${rs.lines().length} lines (the newest 1000)`);
  assert.deepEqual(rs.lines().map(received), rows.slice(-1000));
  assert.match(srv.log(), /cannot connect \(ECONNREFUSED\)/);
  assert.match(srv.log(), /queue full \(1000 records\), dropping the oldest/);
});

test('a frozen rsyslog (SIGSTOP) never slows storage: every record is stored, the forwarder drops the oldest it cannot queue and counts them, and resumes', { timeout: 180_000 }, async (t) => {
  if (rsyslogMissing(t)) return;
  const dir = tempDir('nch-rsyslog-');
  const port = await freeTcpUdpPort();
  const rs = new Rsyslog(dir, port);
  await rs.start();
  // 15 000 records of 1 KB: far more than the socket buffers between the two processes hold
  // (a few MB), so with rsyslog frozen the forwarder's queue of 200 overflows.
  const total = 15_000;
  const payloads = Array.from({ length: total }, (_, i) => Buffer.from(`6,${i},${1_000_000 + i},-;load ${String(i).padStart(5, '0')} ${'x'.repeat(990)}`));
  const srv = await startServe({ extraArgs: ['--forward', `syslog+tcp://127.0.0.1:${port}?queue=200`] });
  let droppedTotal = 0;
  try {
    await waitFor('the forwarder connected', async () => (await forwardStats(srv)).connected === 1);
    rs.freeze();
    // 1 KB datagrams, 10 a millisecond: slow enough for serve's receive buffer to take them all.
    await sendFrom('127.0.0.1', srv.udpPort, payloads, 10);
    // Stored in full while the receiver does not read at all.
    assert.equal((await stored(srv, total)).messages, total);
    const frozen = await forwardStats(srv);
    assert.ok(frozen.dropped.queue_full > 0, `nothing dropped: ${JSON.stringify(frozen)}`);
    assert.equal(frozen.connected, 1, 'a receiver that stops reading is not a lost connection');
    rs.thaw();
    const fwd = await waitFor('the queue drained after SIGCONT', async () => {
      const f = await forwardStats(srv);
      return f.queue_depth === 0 && f.sent + f.dropped.queue_full === total ? f : undefined;
    }, 90_000);
    assert.deepEqual(fwd.dropped, { ...noDrops, queue_full: fwd.dropped.queue_full });
    droppedTotal = fwd.dropped.queue_full;
    await waitFor(`rsyslog wrote ${fwd.sent} lines`, () => rs.lines().length >= fwd.sent);
    t.diagnostic(`stored ${total}; forwarded ${fwd.sent}, dropped ${fwd.dropped.queue_full} (queue_full) while rsyslog was frozen; rsyslog wrote ${rs.lines().length} lines`);
  } finally {
    assert.equal(await srv.stop(), 0, srv.log());
    await rs.stop();
  }
  // What arrived is the stored rows in order, each once and unaltered; what is missing is exactly
  // what was counted as dropped.
  const rows = new Map(storedRows(srv.db).map((r) => [r.id, r]));
  const got = rs.lines().map(received);
  let last = 0;
  for (const g of got) {
    assert.ok(g.id > last, `record ${g.id} after ${last}: out of order or twice`);
    last = g.id;
    assert.deepEqual(g, rows.get(g.id));
  }
  assert.ok(got.length > 0);
  assert.equal(rows.size - got.length, droppedTotal);
});

test('rsyslog stopped while records flow: nothing twice, nothing altered, and what is lost is one run at the stop (at most once over TCP)', { timeout: 180_000 }, async (t) => {
  if (rsyslogMissing(t)) return;
  const dir = tempDir('nch-rsyslog-');
  const port = await freeTcpUdpPort();
  const rs = new Rsyslog(dir, port);
  await rs.start();
  const total = 20_000;
  const payloads = Array.from({ length: total }, (_, i) => Buffer.from(`6,${i},${1_000_000 + i},-;flow ${String(i).padStart(5, '0')}`));
  const srv = await startServe({ extraArgs: ['--forward', `syslog+tcp://127.0.0.1:${port}`] });
  let fwd: any;
  try {
    await waitFor('the forwarder connected', async () => (await forwardStats(srv)).connected === 1);
    // About 2 s of traffic; rsyslog is stopped after a third of it and started again soon after.
    const sending = sendFrom('127.0.0.1', srv.udpPort, payloads, 10);
    await waitFor('some records forwarded', async () => (await forwardStats(srv)).sent >= 3000);
    await rs.stop();
    await waitFor('the forwarder sees the connection closed', async () => (await forwardStats(srv)).connected === 0);
    await rs.start();
    await sending;
    assert.equal((await stored(srv, total)).messages, total);
    fwd = await waitFor('the queue sent after the reconnect', async () => {
      const f = await forwardStats(srv);
      return f.queue_depth === 0 && f.connected === 1 ? f : undefined;
    }, 90_000);
    await waitFor("rsyslog's file settled", async () => {
      const a = rs.lines().length;
      await new Promise((r) => setTimeout(r, 300));
      return rs.lines().length === a;
    });
  } finally {
    assert.equal(await srv.stop(), 0, srv.log());
    await rs.stop();
  }
  const rows = new Map(storedRows(srv.db).map((r) => [r.id, r]));
  const got = rs.lines().map(received);
  let last = 0;
  const gaps: Array<[number, number]> = [];
  for (const g of got) {
    assert.ok(g.id > last, `record ${g.id} after ${last}: out of order or twice`);
    if (g.id > last + 1) gaps.push([last + 1, g.id - 1]);
    last = g.id;
    assert.deepEqual(g, rows.get(g.id));
  }
  if (last < rows.size) gaps.push([last + 1, rows.size]);
  const lost = gaps.reduce((n, [a, b]) => n + b - a + 1, 0);
  t.diagnostic(`stored ${rows.size}; rsyslog wrote ${got.length}; lost ${lost} (${fwd.dropped.disconnected} counted as disconnected, the rest were in the sockets' buffers when rsyslog stopped): runs ${JSON.stringify(gaps)}`);
  assert.ok(gaps.length <= 1, 'what is lost is one run, at the stop');
  assert.equal(got.length + lost, rows.size);
  assert.ok(lost >= fwd.dropped.disconnected, 'every record counted as dropped is missing');
  assert.deepEqual(fwd.dropped, { ...noDrops, disconnected: fwd.dropped.disconnected });
  assert.equal(fwd.sent + fwd.dropped.disconnected, total);
});
