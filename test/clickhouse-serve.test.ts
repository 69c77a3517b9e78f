// `serve --store clickhouse://…` against a real ClickHouse (Debian's 18.16.1, helpers/clickhouse.ts):
// the real 6.1 capture is stored once, record by record as a perfect receiver gets it, and the
// collector's own API answers from ClickHouse; a restarted collector continues the same boot and
// stores nothing twice when the same records arrive again; two collectors writing into one
// database each find the other's records; ClickHouse stopped for 10 s under load: every record
// stored once afterwards, /healthz degraded meanwhile.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import type { LogRecord } from '../src/netconsole/types.js';
import { loadJsonl } from './helpers/fixtures.js';
import { clickhouseMissing, startClickHouse, type ClickHouse } from './helpers/clickhouse.js';
import { freeUdpPort, getJson, sendDatagrams, startServe, waitFor, type ServeProcess } from './helpers/serve.js';

const payloads = () => loadJsonl('extended.jsonl').map((d) => d.payload);

/** The records a perfect receiver gets from one source's datagrams. */
function recordsOf(ps: Buffer[]): LogRecord[] {
  const rx = new NetconsoleReceiver();
  const out: LogRecord[] = [];
  const sink = { record: (r: LogRecord) => out.push(r), event: () => {} };
  ps.forEach((p, i) => rx.push('x:1', p, i, sink));
  rx.flushAll(1e9, sink);
  return out;
}

/** Sends from `from` (another loopback address: another host) to 127.0.0.1:port, paced. */
async function sendFromHost(from: string, port: number, ps: Buffer[]): Promise<void> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res) => sock.bind(0, from, () => res()));
  for (let i = 0; i < ps.length; i++) {
    await new Promise<void>((res, rej) => sock.send(ps[i]!, port, '127.0.0.1', (err) => (err ? rej(err) : res())));
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise<void>((res) => sock.close(() => res()));
}

interface Row { source: string; boot: number; seq: string; text: string; flags: string }

async function storedRows(ch: ClickHouse, db: string): Promise<Row[]> {
  return ch.rows<Row>(`SELECT source, boot, seq, text, flags FROM ${db}.messages FINAL ORDER BY source, boot, seq`);
}

async function count(ch: ClickHouse, db: string): Promise<number> {
  return Number((await ch.rows<{ n: string }>(`SELECT count() AS n FROM ${db}.messages FINAL`))[0]!.n);
}

function serveCh(ch: ClickHouse, db: string, name: string, extra: string[] = []): Promise<ServeProcess> {
  return startServe({ extraArgs: ['--store', ch.storeUrl(db), '--collector-name', name, ...extra] });
}

test('serve --store clickhouse: the real capture stored once, record by record; the API answers from ClickHouse; a restart continues the boot', async (t) => {
  if (clickhouseMissing(t)) return;
  const ch = await startClickHouse();
  t.after(() => ch.close());
  const sent = payloads();
  const expected = recordsOf(sent);
  let serve = await serveCh(ch, 'fleet1', 'a');
  try {
    const src = await sendDatagrams(serve.udpPort, sent);
    await waitFor('every record in ClickHouse', async () => (await count(ch, 'fleet1')) >= expected.length, 60_000);
    const rows = await storedRows(ch, 'fleet1');
    assert.equal(rows.length, expected.length, 'one row per record');
    const bySeq = [...expected].sort((a, b) => a.seq! - b.seq!);
    rows.forEach((r, i) => {
      assert.equal(Number(r.seq), bySeq[i]!.seq, `row ${i} seq`);
      assert.equal(r.text, bySeq[i]!.text, `seq ${r.seq} text`);
      assert.equal(r.flags, bySeq[i]!.flags, `seq ${r.seq} flags`);
      assert.equal(Number(r.boot), 1);
      assert.equal(r.source, `127.0.0.1:${src}`);
    });
    // The API of this collector reads ClickHouse.
    const page = await getJson(`${serve.http}/api/messages?limit=5`);
    assert.equal(page.messages.length, 5);
    assert.equal(page.messages[0].seq, bySeq[bySeq.length - 1]!.seq, 'newest first');
    const word = bySeq[10]!.text.split(/\s+/).find((w) => w.length > 6)!;
    const hits = await getJson(`${serve.http}/api/messages?text=${encodeURIComponent(word)}&limit=5000`);
    assert.equal(hits.messages.length, expected.filter((r) => r.text.toLowerCase().includes(word.toLowerCase())).length, `text=${word}`);
    const hosts = await getJson(`${serve.http}/api/hosts`);
    assert.equal(hosts.hosts.length, 1);
    assert.equal(hosts.hosts[0].boots.length, 1);
    assert.equal(hosts.hosts[0].messages, expected.length);
    const stats = await getJson(`${serve.http}/api/stats`);
    assert.equal(stats.messages, expected.length, '/api/stats messages');
    const health = await fetch(`${serve.http}/healthz`);
    assert.equal(health.status, 200);

    // kill -9 and restart: the same source sends the whole boot again (a replay, as after a
    // netconsole target re-enabled): every record is a duplicate, none stored twice, still one boot.
    await serve.stop('SIGKILL');
    serve = await serveCh(ch, 'fleet1', 'a');
    await sendDatagrams(serve.udpPort, sent, { fromPort: src });
    // Every record again reached the collector and its writer is idle: what is in ClickHouse now is final.
    // (Records above the restarted tracker's first one are not rechecked: they are written again and
    // collapse into the rows they repeat, ReplacingMergeTree keyed by host, boot, source, seq.)
    await waitFor('the replay received and written', async () => {
      const s = await getJson(`${serve.http}/api/stats`);
      return s.records >= expected.length && s.queue_depth === 0 && s.lag_records === 0;
    }, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await count(ch, 'fleet1'), expected.length, 'nothing stored twice after the restart');
    const boots = await ch.rows<{ n: string }>('SELECT count() AS n FROM fleet1.boots FINAL');
    assert.equal(Number(boots[0]!.n), 1, 'one boot');
  } finally {
    await serve.stop();
  }
});

test('two collectors into one ClickHouse: each stores its sources once, a search through either finds both', async (t) => {
  if (clickhouseMissing(t)) return;
  const ch = await startClickHouse();
  t.after(() => ch.close());
  const ext = payloads();
  const expected = recordsOf(ext);
  const a = await serveCh(ch, 'fleet2', 'a');
  const b = await serveCh(ch, 'fleet2', 'b');
  try {
    // Different sources: the capture from two source addresses, one per collector.
    await Promise.all([sendFromHost('127.0.0.2', a.udpPort, ext), sendFromHost('127.0.0.3', b.udpPort, ext)]);
    await waitFor('both sources stored', async () => (await count(ch, 'fleet2')) >= 2 * expected.length, 60_000);
    assert.equal(await count(ch, 'fleet2'), 2 * expected.length, 'every record once');
    const ids = await ch.rows<{ n: string; u: string }>('SELECT count() AS n, uniqExact(id) AS u FROM fleet2.messages FINAL');
    assert.equal(ids[0]!.n, ids[0]!.u, 'ids unique across collectors');
    for (const s of [a, b]) {
      const hosts = await getJson(`${s.http}/api/hosts`);
      assert.deepEqual(hosts.hosts.map((h: { address: string }) => h.address).sort(), ['127.0.0.2', '127.0.0.3'], 'the fleet\'s hosts through either collector');
      const word = expected[20]!.text;
      const hits = await getJson(`${s.http}/api/messages?text=${encodeURIComponent(word)}`);
      assert.deepEqual([...new Set(hits.messages.map((m: { host: string }) => m.host))].sort(), ['127.0.0.2', '127.0.0.3'], 'a search finds both collectors\' records');
    }
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a source moves to another collector mid-boot, its first collector killed (-9) mid-load: every record once, one boot', async (t) => {
  if (clickhouseMissing(t)) return;
  const ch = await startClickHouse();
  t.after(() => ch.close());
  const ext = payloads();
  const expected = recordsOf(ext);
  // Split where no fragmented record straddles the cut (a record's ncfrag pieces go to one collector).
  const whole = (i: number) => !ext[i]!.includes('ncfrag=') && !ext[i - 1]!.includes('ncfrag=');
  let split = Math.floor(ext.length / 3);
  while (!whole(split)) split++;
  let kill = Math.floor((ext.length * 2) / 3);
  while (!whole(kill)) kill++;
  const firstPart = recordsOf(ext.slice(0, split)).length;
  const port = await freeUdpPort();
  let a = await serveCh(ch, 'fleet4', 'a');
  const b = await serveCh(ch, 'fleet4', 'b');
  try {
    await sendDatagrams(a.udpPort, ext.slice(0, split), { host: '127.0.0.4', fromPort: port, to: '127.0.0.1' });
    await waitFor('the first part stored by a', async () => (await count(ch, 'fleet4')) >= firstPart, 60_000);
    // More to a, and a killed right after: what it held uncommitted is gone with it.
    await sendDatagrams(a.udpPort, ext.slice(split, kill), { host: '127.0.0.4', fromPort: port, to: '127.0.0.1' });
    await a.stop('SIGKILL');
    // The source fails over to b, which is sent everything since the first part (the overlap is
    // what a may or may not have stored): it must continue the boot, not start one, nor repeat rows.
    await sendDatagrams(b.udpPort, ext.slice(split), { host: '127.0.0.4', fromPort: port, to: '127.0.0.1' });
    await waitFor('every record stored', async () => (await count(ch, 'fleet4')) >= expected.length, 60_000);
    await waitFor('b idle', async () => {
      const s = await getJson(`${b.http}/api/stats`);
      return s.queue_depth === 0 && s.lag_records === 0;
    }, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    const rows = await storedRows(ch, 'fleet4');
    assert.equal(rows.length, expected.length, 'every record once');
    const bySeq = [...expected].sort((x, y) => x.seq! - y.seq!);
    rows.forEach((r, i) => {
      assert.equal(Number(r.seq), bySeq[i]!.seq, `row ${i} seq`);
      assert.equal(r.text, bySeq[i]!.text, `seq ${r.seq} text`);
      assert.equal(Number(r.boot), 1, `seq ${r.seq}: one boot`);
      assert.equal(r.source, `127.0.0.4:${port}`);
    });
    const boots = await ch.rows<{ n: string }>('SELECT count() AS n FROM fleet4.boots FINAL');
    assert.equal(Number(boots[0]!.n), 1, 'one boot');
    // a, restarted, sees the same: one host, one boot, every record.
    a = await serveCh(ch, 'fleet4', 'a');
    for (const s of [a, b]) {
      const hosts = await getJson(`${s.http}/api/hosts`);
      assert.equal(hosts.hosts.length, 1);
      assert.equal(hosts.hosts[0].boots.length, 1);
      assert.equal(hosts.hosts[0].messages, expected.length);
    }
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('ClickHouse stopped for 10 s under load: /healthz degraded, every record stored once when it is back', async (t) => {
  if (clickhouseMissing(t)) return;
  const ch = await startClickHouse();
  t.after(() => ch.close());
  const ext = payloads();
  const expected = recordsOf(ext);
  const half = Math.floor(ext.length / 2);
  const serve = await serveCh(ch, 'fleet3', 'a');
  try {
    const src = await sendDatagrams(serve.udpPort, ext.slice(0, half));
    await waitFor('first half stored', async () => (await count(ch, 'fleet3')) > 0 && (await getJson(`${serve.http}/api/stats`)).receiver.queue_depth === 0, 60_000);
    await ch.stop();
    const outage = Date.now();
    await sendDatagrams(serve.udpPort, ext.slice(half), { fromPort: src });
    const degraded = await waitFor('healthz degraded', async () => {
      const r = await fetch(`${serve.http}/healthz`);
      const body = await r.json() as { problems: string[] };
      return r.status === 503 && body.problems.some((p) => /degraded: store unreachable/.test(p)) ? body : undefined;
    }, 30_000);
    assert.ok(degraded.problems.length > 0);
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - outage))));
    await ch.start();
    await waitFor('every record stored after the outage', async () => (await count(ch, 'fleet3')) >= expected.length, 90_000);
    assert.equal(await count(ch, 'fleet3'), expected.length, 'every record once');
    await waitFor('healthy again', async () => (await fetch(`${serve.http}/healthz`)).status === 200, 30_000);
  } finally {
    await serve.stop();
  }
});
