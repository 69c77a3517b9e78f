// Issue 8: the UDP allow-list and per-source limits, against a real serve on loopback.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isAllowed, parseAllowList, SourceBucket } from '../src/receiver/admission.js';
import { settingsFromArgv } from '../src/commands/serve.js';
import { loadJsonl } from './helpers/fixtures.js';
import { getJson, sendDatagrams, startServe, waitFor } from './helpers/serve.js';

test('allow-list parsing and matching, IPv4 and IPv6', () => {
  const l = parseAllowList(['10.0.0.0/8', 'fd00::/8', '192.0.2.7'])!;
  assert.equal(isAllowed(l, '10.1.2.3'), true);
  assert.equal(isAllowed(l, '11.1.2.3'), false);
  assert.equal(isAllowed(l, '::ffff:10.9.9.9'), true);
  assert.equal(isAllowed(l, 'fd12::1'), true);
  assert.equal(isAllowed(l, 'fe80::1'), false);
  assert.equal(isAllowed(l, '192.0.2.7'), true);
  assert.equal(isAllowed(l, '192.0.2.8'), false);
  assert.throws(() => settingsFromArgv(['--allow', '10.0.0.0/33']), /not a CIDR/);
  assert.throws(() => settingsFromArgv(['--allow', 'example.com']), /not a CIDR/);
});

test('token bucket: a burst of one second, then the rate', () => {
  const b = new SourceBucket({ datagramsPerSec: 10, bytesPerSec: 0 }, 0);
  let ok = 0;
  for (let i = 0; i < 50; i++) if (b.take(100, 0)) ok++;
  assert.equal(ok, 10);
  assert.equal(b.take(100, 500), true);
  let later = 0;
  for (let i = 0; i < 50; i++) if (b.take(100, 500)) later++;
  assert.equal(later, 4);
});

test('only allowed sources are stored; the rest are counted as refused', async () => {
  const srv = await startServe({ extraArgs: ['--allow', '127.0.0.2/32'] });
  try {
    const payloads = loadJsonl('extended.jsonl').slice(0, 50).map((d) => d.payload);
    await sendDatagrams(srv.udpPort, payloads, { host: '127.0.0.1' });
    // the listener is on 127.0.0.1; send from 127.0.0.2 by binding the sender there
    const dgram = await import('node:dgram');
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.2', () => r()));
    for (const p of payloads) await new Promise<void>((r) => s.send(p, srv.udpPort, '127.0.0.1', () => r()));
    s.close();
    const stats = await waitFor('stored', async () => {
      const st = await getJson(`${srv.http}/api/stats`);
      return st.messages === 50 && st.dropped.not_allowed === 50 ? st : undefined;
    });
    assert.equal(stats.hosts, 1);
    const hosts = await getJson(`${srv.http}/api/hosts`);
    assert.ok(JSON.stringify(hosts).includes('127.0.0.2'));
    assert.ok(!JSON.stringify(hosts).includes('"127.0.0.1"'));
  } finally {
    await srv.stop('SIGKILL');
  }
});

test('flood: 50,000 garbage and never-completing fragments from one source, 1,000 valid records from another', async () => {
  const srv = await startServe({ extraArgs: ['--limit-datagrams', '5000'] });
  try {
    const flood: Buffer[] = [];
    for (let i = 0; i < 50_000; i++) {
      flood.push(i % 2 ? Buffer.from(`4,${i},${i},-,ncfrag=0/50000;` + 'f'.repeat(400)) : Buffer.from(`garbage ${i} \x00\x01\xff`.repeat(3), 'latin1'));
    }
    const ext = loadJsonl('extended.jsonl');
    const valid = ext.filter((d) => !d.payload.toString('latin1').split(';')[0].includes('ncfrag')).slice(0, 1000).map((d) => d.payload);
    // Paced (about 20k datagrams/s) so that what is measured is the collector, not the kernel's socket buffer.
    const [floodPort, validPort] = await Promise.all([sendDatagrams(srv.udpPort, flood, { burst: 20 }), sendDatagrams(srv.udpPort, valid, { burst: 5 })]);
    // Processed when the counters stop moving and nothing waits for storage.
    let last = -1;
    const stats = await waitFor('flood processed', async () => {
      const st = await getJson(`${srv.http}/api/stats`);
      const seen = st.datagrams + st.dropped.rate_limited;
      const settled = seen === last && st.queue_depth === 0;
      last = seen;
      await new Promise((r) => setTimeout(r, 400));
      return settled ? st : undefined;
    }, 60_000);
    assert.ok(stats.dropped.rate_limited > 0, 'the flood was limited and counted');
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${srv.child.pid}/status`, 'utf8'))![1]) * 1024;
    assert.ok(rss < 400 * 1024 * 1024, `memory bounded (${(rss / 1048576).toFixed(0)} MiB)`);
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(await srv.stop(), 0);
    const db = new Database(srv.db, { readonly: true });
    const n = db.prepare('SELECT COUNT(*) n FROM messages m JOIN sources s ON s.id = m.source_id WHERE s.address = ?').get(`127.0.0.1:${validPort}`) as { n: number };
    assert.equal(n.n, 1000, 'all 1,000 valid records stored');
    const fc = db.prepare('SELECT c.dropped FROM source_counters c JOIN sources s ON s.id = c.source_id WHERE s.address = ?').get(`127.0.0.1:${floodPort}`) as { dropped: number } | undefined;
    assert.ok(fc && fc.dropped > 0, 'refusals counted for the flooding source');
    db.close();
  } finally {
    await srv.stop('SIGKILL');
  }
});
