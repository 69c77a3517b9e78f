// "Every record the kernel sent is a row, once", end to end through a real `serve` on loopback,
// built from the real 6.1 captures: two boots of one source whose seqs fall back and whose first
// records equal the old boot's; ring-buffer replays inside and beyond the 1024-seq window and
// copies of every record (two targets with one source port); and the `c` records of a real
// `sysrq t`, each its own row. What was sent is compared with what was stored, record by record.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import type { LogRecord } from '../src/netconsole/types.js';
import { ROOT, loadJsonl, type FixtureDatagram } from './helpers/fixtures.js';
import { freeUdpPort, getJson, sendDatagrams, startServe, waitFor } from './helpers/serve.js';

const seqOf = (p: Buffer) => Number(p.toString('latin1').split(',')[1]);

/** The records a perfect receiver gets from these datagrams of one boot (the core, no judging: no seq repeats in them). */
function recordsOf(payloads: Buffer[]): LogRecord[] {
  const rx = new NetconsoleReceiver();
  const out: LogRecord[] = [];
  const sink = { record: (r: LogRecord) => out.push(r), event: () => {} };
  payloads.forEach((p, i) => rx.push('x:1', p, i, sink));
  rx.flushAll(1e9, sink);
  return out;
}

/** The same datagram with its ts moved and, unless it is a fragment, its text marked: another boot's record. */
function otherBoot(p: Buffer, shiftUsec: number, mark: string): Buffer {
  const s = p.toString('latin1');
  const semi = s.indexOf(';');
  const head = s.slice(0, semi).split(',');
  head[2] = String(Number(head[2]) + shiftUsec);
  const body = head.some((f) => f.startsWith('ncfrag=')) ? s.slice(semi + 1) : mark + s.slice(semi + 1);
  return Buffer.from(`${head.join(',')};${body}`, 'latin1');
}

function storedRows(dbPath: string): Array<{ boot: number; seq: number; text: string; flags: string; source: string }> {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare(`SELECT b.number AS boot, m.seq AS seq, m.text AS text, m.flags AS flags, s.address AS source
      FROM messages m JOIN boots b ON b.id = m.boot_id JOIN sources s ON s.id = m.source_id ORDER BY b.number, m.seq, m.id`).all() as any;
  } finally { db.close(); }
}

function eventCounts(dbPath: string): Record<string, number> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db.prepare('SELECT type, count(*) AS n FROM seq_events GROUP BY type').all() as Array<{ type: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.type, r.n]));
  } finally { db.close(); }
}

async function settled(http: string, stored: number): Promise<any> {
  return waitFor(`${stored} records stored`, async () => {
    const s = await getJson(`${http}/api/stats`);
    return s.queue_depth === 0 && s.messages >= stored ? s : undefined;
  });
}

test('two boots of one source, seq falling back, first records equal: every record of both stored once, two boots, one reboot', { timeout: 120_000 }, async () => {
  const dgs = loadJsonl('extended.jsonl').map((d) => d.payload);
  // Boot 1: a short boot, the capture's first 700 records. Boot 2: the whole capture again, from the
  // same source: its first 40 records byte-equal to boot 1's (deterministic boots), the rest with
  // ts 3 ms later and other text; its seqs fall back by 699 and run on to 2478.
  const boot1 = dgs.filter((p) => seqOf(p) < 700);
  const boot2 = dgs.map((p) => (seqOf(p) < 40 ? p : otherBoot(p, 3000, 'b2 ')));
  const want = [
    ...recordsOf(boot1).map((r) => `1/${r.seq}/${r.text}`),
    ...recordsOf(boot2).map((r) => `2/${r.seq}/${r.text}`),
  ];
  assert.equal(want.length, 700 + 2479);
  const srv = await startServe();
  try {
    const fromPort = await freeUdpPort();
    await sendDatagrams(srv.udpPort, boot1, { fromPort });
    await settled(srv.http, 700);
    await sendDatagrams(srv.udpPort, boot2, { fromPort });
    const stats = await settled(srv.http, 700 + 2479);
    const hosts = await getJson(`${srv.http}/api/hosts`);
    assert.equal(hosts.hosts.length, 1);
    assert.deepEqual(hosts.hosts[0].boots.map((b: any) => [b.boot, b.messages, b.reason]), [[1, 700, 'first'], [2, 2479, 'reboot']]);
    assert.equal(await srv.stop(), 0);
    const rows = storedRows(srv.db);
    assert.equal(new Set(rows.map((r) => r.source)).size, 1, 'one source');
    assert.deepEqual(rows.map((r) => `${r.boot}/${r.seq}/${r.text}`), want, 'every record of both boots, once, in its boot');
    const events = eventCounts(srv.db);
    assert.equal(events.reboot, 1, 'one reboot event');
    assert.equal(events.duplicate ?? 0, 0, "no record taken for a duplicate");
    assert.equal(stats.duplicates, 0, "the look-alikes first counted as duplicates are counted back");
    console.log(`two boots: sent ${want.length} records (700 + 2479), stored ${rows.length}; rechecks ${stats.rechecks}, duplicates ${stats.duplicates}, reboots ${events.reboot}`);
  } finally {
    await srv.stop('SIGKILL');
  }
});

test('replays inside and beyond the 1024 window, and a copy of every record: stored once, counted as duplicates', { timeout: 120_000 }, async () => {
  const dgs = loadJsonl('extended.jsonl').map((d) => d.payload);
  const records = recordsOf(dgs);
  // The whole boot, a replay of the whole ring buffer (back 2478 seqs: beyond the window), a replay
  // of the last 100 (inside it), then 20 new records each sent twice (two targets, one source port).
  const tail = dgs.filter((p) => seqOf(p) >= 2379);
  const extra: Buffer[] = [];
  for (let seq = 2479; seq < 2499; seq++) {
    const p = Buffer.from(`6,${seq},${9_000_000_000 + seq},-;after the replays ${seq}`);
    extra.push(p, p);
  }
  const srv = await startServe();
  try {
    const fromPort = await freeUdpPort();
    await sendDatagrams(srv.udpPort, dgs, { fromPort });
    await settled(srv.http, 2479);
    // The two records the kernel sent in ncfrag pieces say so in the API (the dashboard marks them).
    const around = (await getJson(`${srv.http}/api/messages?seq_from=385&seq_to=389&order=asc`)).messages;
    assert.deepEqual(around.map((m: any) => [m.seq, m.fragmented]), [[385, false], [386, true], [387, false], [388, true], [389, false]]);
    await sendDatagrams(srv.udpPort, [...dgs, ...tail, ...extra], { fromPort });
    const want = [...records.map((r) => `1/${r.seq}/${r.text}`), ...Array.from({ length: 20 }, (_, i) => `1/${2479 + i}/after the replays ${2479 + i}`)];
    const stats = await settled(srv.http, want.length);
    await waitFor('every copy judged', async () => (await getJson(`${srv.http}/api/stats`)).duplicates >= 2479 + 100 + 20 || undefined);
    assert.equal(await srv.stop(), 0);
    const rows = storedRows(srv.db);
    assert.deepEqual(rows.map((r) => `${r.boot}/${r.seq}/${r.text}`), want, 'each record once');
    const events = eventCounts(srv.db);
    assert.equal(events.duplicate, 2479 + 100 + 20, 'every copy counted as a duplicate');
    assert.equal(events.reboot ?? 0, 0, 'a replay is not a reboot');
    console.log(`replays: sent ${dgs.length * 2 + tail.length + extra.length} datagrams of ${want.length} records, stored ${rows.length}, duplicates ${events.duplicate} (stats ${stats.duplicates})`);
  } finally {
    await srv.stop('SIGKILL');
  }
});

test('a real sysrq-t capture (Linux 6.1): each of its 112 `c` records is its own row, text as sent', { timeout: 60_000 }, async () => {
  const file = join(ROOT, 'test/fixtures/kernel-6.1-tasks/tasks.jsonl');
  const dgs: FixtureDatagram[] = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const o = JSON.parse(l);
    return { ...o, payload: Buffer.from(o.b64, 'base64') };
  });
  const sent = dgs.filter((d) => d.port === 7310).map((d) => d.payload);
  // What the guest sent, record by record (no record of this capture is fragmented).
  const want = sent.map((p) => {
    const s = p.toString('latin1');
    const head = s.slice(0, s.indexOf(';')).split(',');
    return { seq: Number(head[1]), flags: head[3] };
  });
  assert.equal(want.length, 1014);
  assert.equal(want.filter((w) => w.flags === 'c').length, 112);
  const srv = await startServe();
  try {
    await sendDatagrams(srv.udpPort, sent);
    await settled(srv.http, 1014);
    // The API shows the flag, and the boot download one line per record.
    const page = await getJson(`${srv.http}/api/messages?q=nr_running&limit=1000`);
    assert.ok(page.messages.length > 0 && page.messages.every((m: any) => m.flags === 'c'), 'nr_running lines are c records in the API');
    const log = await (await fetch(`${srv.http}/api/hosts/127.0.0.1/boots/1/log`)).text();
    assert.equal(await srv.stop(), 0);
    const rows = storedRows(srv.db);
    assert.deepEqual(rows.map((r) => [r.seq, r.flags]), want.map((w) => [w.seq, w.flags]), 'one row per record, its own seq and flag');
    const expectedText = recordsOf(sent).map((r) => r.text);
    assert.deepEqual(rows.map((r) => r.text), expectedText);
    const sched = rows.find((r) => r.text.startsWith('Sched Debug Version:'));
    assert.ok(sched && sched.flags === 'c', 'the scheduler dump header is its own c row');
    assert.ok(!rows.some((r) => /<\/TASK>Sched Debug/.test(r.text)), 'no line that never existed');
    const logLines = log.split('\n').filter(Boolean);
    assert.equal(logLines.length, 1014, 'the boot download has one line per record');
    assert.ok(logLines.some((l) => l.includes('Sched Debug Version:') && !l.includes('</TASK>')));
    console.log(`sysrq t: sent 1014 records (112 with flag c), stored ${rows.length}, c rows ${rows.filter((r) => r.flags === 'c').length}`);
  } finally {
    await srv.stop('SIGKILL');
  }
});
