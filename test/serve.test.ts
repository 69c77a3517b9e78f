// Issue 3 acceptance: a real `serve` process on loopback, real UDP, a real SQLite file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { loadJsonl } from './helpers/fixtures.js';
import { getJson, sendDatagrams, startServe, waitFor } from './helpers/serve.js';

function openDb(path: string): Database.Database {
  return new Database(path, { readonly: true, fileMustExist: true });
}

const seqOf = (p: Buffer) => Number(p.toString('latin1').split(',')[1]);

test('replaying every fixture datagram stores each record once, fragments joined, two targets as two sources', async () => {
  const srv = await startServe();
  try {
    const ext = loadJsonl('extended.jsonl');
    const leg = loadJsonl('extended.t2-legacy.jsonl');
    const [extPort, legPort] = await Promise.all([
      sendDatagrams(srv.udpPort, ext.map((d) => d.payload)),
      sendDatagrams(srv.udpPort, leg.map((d) => d.payload)),
    ]);
    const expected = 2479 + 2111;
    await waitFor('all records stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === expected);
    assert.equal(await srv.stop(), 0);
    const db = openDb(srv.db);
    const sources = db.prepare('SELECT address, format FROM sources ORDER BY address').all() as Array<{ address: string; format: string }>;
    assert.deepEqual(sources.map((s) => s.address).sort(), [`127.0.0.1:${extPort}`, `127.0.0.1:${legPort}`].sort());
    assert.equal((db.prepare('SELECT COUNT(*) n FROM hosts').get() as { n: number }).n, 1);
    const extRows = db.prepare(`SELECT m.seq, m.text, m.complete FROM messages m JOIN sources s ON s.id = m.source_id WHERE s.address = ? ORDER BY m.seq`).all(`127.0.0.1:${extPort}`) as Array<{ seq: number; text: string; complete: number }>;
    assert.deepEqual(extRows.map((r) => r.seq), Array.from({ length: 2479 }, (_, i) => i));
    assert.ok(extRows.every((r) => r.complete === 1));
    assert.equal(extRows[386].text.length, 987);
    assert.ok(extRows[388].text.startsWith('kn-frag utf8-long é€✓') && extRows[388].text.endsWith('END'));
    const panic = db.prepare(`SELECT COUNT(*) n FROM messages WHERE text LIKE 'Kernel panic - not syncing: sysrq triggered crash%'`).get() as { n: number };
    assert.equal(panic.n, 2, 'the panic line from both targets');
    const burst = db.prepare(`SELECT COUNT(*) n FROM messages WHERE text LIKE 'kn-burst %/02000 %'`).get() as { n: number };
    assert.equal(burst.n, 4000);
    const gaps = db.prepare(`SELECT COUNT(*) n FROM seq_events WHERE type = 'gap'`).get() as { n: number };
    assert.equal(gaps.n, 0);
    db.close();
  } finally {
    await srv.stop('SIGKILL');
  }
});

test('loss, reordering and two boots: gap ranges, correct reassembly, two boots', async () => {
  const srv = await startServe();
  try {
    const ext = loadJsonl('extended.jsonl');
    const dropped = new Set([10, 11, 12, 700, 2000]);
    const kept = ext.filter((d) => !dropped.has(seqOf(d.payload)));
    // reverse the fragments of seq 388 and swap two burst records
    const fragIdx = kept.map((d, i) => (seqOf(d.payload) === 388 ? i : -1)).filter((i) => i >= 0);
    const frags = fragIdx.map((i) => kept[i]).reverse();
    fragIdx.forEach((i, k) => (kept[i] = frags[k]));
    const i1500 = kept.findIndex((d) => seqOf(d.payload) === 1500);
    [kept[i1500], kept[i1500 + 1]] = [kept[i1500 + 1], kept[i1500]];
    const boot2 = loadJsonl('legacy.t2-extended.jsonl');
    await sendDatagrams(srv.udpPort, [...kept.map((d) => d.payload), ...boot2.map((d) => d.payload)], { fromPort: 0 });
    const expected = 2479 - 5 + 2097;
    await waitFor('records stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === expected);
    assert.equal(await srv.stop(), 0);
    const db = openDb(srv.db);
    const gaps = db.prepare(`SELECT seq_from f, seq_to t FROM seq_events WHERE type = 'gap' ORDER BY id`).all();
    assert.deepEqual(gaps, [{ f: 10, t: 12 }, { f: 700, t: 700 }, { f: 2000, t: 2000 }]);
    assert.equal((db.prepare(`SELECT COUNT(*) n FROM seq_events WHERE type = 'reorder'`).get() as { n: number }).n, 1);
    const boots = db.prepare('SELECT number, first_seq FROM boots ORDER BY number').all();
    assert.deepEqual(boots, [{ number: 1, first_seq: 0 }, { number: 2, first_seq: 369 }]);
    const t388 = db.prepare(`SELECT m.text FROM messages m JOIN boots b ON b.id = m.boot_id WHERE b.number = 1 AND m.seq = 388`).get() as { text: string };
    assert.ok(t388.text.startsWith('kn-frag utf8-long') && t388.text.endsWith('END'));
    db.close();
  } finally {
    await srv.stop('SIGKILL');
  }
});

test('bad input: random bytes, absurd ncfrag, 64 KiB datagrams, fragment flood: counted, no crash, data intact', async () => {
  const srv = await startServe();
  try {
    const good = loadJsonl('extended.jsonl').slice(0, 300).map((d) => d.payload);
    await sendDatagrams(srv.udpPort, good);
    await waitFor('good records', async () => (await getJson(`${srv.http}/api/stats`)).messages === 300);
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) & 0xff);
    const junk: Buffer[] = [];
    for (let i = 0; i < 200; i++) junk.push(Buffer.from(Array.from({ length: 1 + (i * 37) % 1400 }, rnd)));
    for (const h of ['6,1,1,-,ncfrag=5/3;x', '6,1,1,-,ncfrag=0/99999999999;x', '6,1,1,-,ncfrag=1/;x', '6,2,2,-,ncfrag=999999/1000000;abc', ',,,;', ';;;']) junk.push(Buffer.from(h));
    junk.push(Buffer.alloc(65000, 0x41), Buffer.concat([Buffer.from('6,3,3,-;'), Buffer.alloc(60000, 0x42)]));
    for (let i = 0; i < 3000; i++) junk.push(Buffer.from(`4,${10_000 + i},${i},-,ncfrag=0/60000;` + 'z'.repeat(900)));
    await sendDatagrams(srv.udpPort, junk);
    const stats = await waitFor('flood processed', async () => {
      const s = await getJson(`${srv.http}/api/stats`);
      return s.datagrams + s.dropped.oversized >= 300 + junk.length ? s : undefined;
    });
    assert.equal(stats.dropped.oversized, 2, 'the two 60+ KB datagrams dropped as oversized');
    assert.ok(stats.bad_packets >= 3, 'absurd ncfrag values counted');
    assert.ok(stats.dropped.fragment_evictions > 0, 'never-completing fragments evicted and counted');
    const health = await fetch(`${srv.http}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await srv.stop(), 0);
    const db = openDb(srv.db);
    assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    const n = db.prepare(`SELECT COUNT(*) n FROM messages WHERE seq BETWEEN 0 AND 299 AND format = 'extended' AND complete = 1`).get() as { n: number };
    assert.ok(n.n >= 300);
    db.close();
  } finally {
    await srv.stop('SIGKILL');
  }
});

test('durability: SIGTERM stores partial records; kill -9 then restart continues a consistent database', async () => {
  const srv = await startServe();
  const ext = loadJsonl('extended.jsonl');
  try {
    await sendDatagrams(srv.udpPort, ext.slice(0, 300).map((d) => d.payload));
    // the first fragment of seq 388 only: must be stored as incomplete at shutdown
    const frag = ext.find((d) => seqOf(d.payload) === 388)!;
    await sendDatagrams(srv.udpPort, [frag.payload]);
    await waitFor('records', async () => (await getJson(`${srv.http}/api/stats`)).datagrams === 301);
    assert.equal(await srv.stop('SIGTERM'), 0);
    const db = openDb(srv.db);
    const partial = db.prepare('SELECT complete, text FROM messages WHERE seq = 388').all() as Array<{ complete: number; text: string }>;
    assert.equal(partial.length, 1);
    assert.equal(partial[0].complete, 0);
    db.close();
  } finally {
    await srv.stop('SIGKILL');
  }
  // kill -9 in the middle of ingest, then restart on the same database
  const srv2 = await startServe({ db: srv.db });
  const sending = sendDatagrams(srv2.udpPort, ext.slice(400).map((d) => d.payload));
  await waitFor('ingest under way', async () => (await getJson(`${srv2.http}/api/stats`)).datagrams > 200);
  srv2.child.kill('SIGKILL');
  await srv2.stop();
  await sending.catch(() => undefined);
  const srv3 = await startServe({ db: srv.db });
  try {
    const before = (await getJson(`${srv3.http}/api/stats`)).messages;
    await sendDatagrams(srv3.udpPort, loadJsonl('legacy.t2-extended.jsonl').slice(100, 200).map((d) => d.payload));
    await waitFor('appended after restart', async () => (await getJson(`${srv3.http}/api/stats`)).messages === before + 100);
    assert.equal(await srv3.stop(), 0);
    const db = openDb(srv.db);
    assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    const ids = db.prepare('SELECT MIN(id) a, MAX(id) b, COUNT(*) n FROM messages').get() as { a: number; b: number; n: number };
    assert.equal(ids.n, before + 100);
    db.close();
  } finally {
    await srv3.stop('SIGKILL');
  }
});
