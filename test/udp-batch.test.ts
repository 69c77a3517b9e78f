// The batched UDP reader (recvmmsg addon) against node's dgram on real loopback sockets: the same
// datagrams, bytes and sources; the kernel captures stored identically through the collector with
// either reader; bind errors as clear as dgram's; close() gives the port back.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Collector } from '../src/receiver/collector.js';
import { BatchReader, batchReaderBinding } from '../src/receiver/udp-batch.js';
import { listenUdp, MAX_DATAGRAM, type UdpListener, type UdpReaderKind } from '../src/receiver/udp-listener.js';
import { UsageError } from '../src/errors.js';
import { loadJsonl, ROOT } from './helpers/fixtures.js';
import { getJson, sendDatagrams, startServe, tempDir, waitFor } from './helpers/serve.js';

/** True (test skipped with the reason, or failed under NCH_REQUIRE_NATIVE=1) without the addon. */
function addonMissing(t: TestContext): boolean {
  const { binding, why } = batchReaderBinding();
  if (binding) return false;
  if (process.env.NCH_REQUIRE_NATIVE === '1') assert.fail(`NCH_REQUIRE_NATIVE=1 but the batched UDP reader is unavailable: ${why}`);
  t.skip(`batched UDP reader unavailable (${why}); NCH_REQUIRE_NATIVE=1 makes this mandatory`);
  return true;
}

interface Got { bytes: Buffer; address: string; port: number; name: string; length: number }

async function listenCollecting(reader: UdpReaderKind, host: string): Promise<{ l: UdpListener; got: Got[]; errors: Error[] }> {
  const got: Got[] = [];
  const errors: Error[] = [];
  // The view is only valid during the call: copy, as the core does with what it keeps.
  const l = await listenUdp({ host, port: 0 }, (msg, from, _now, length) => got.push({ bytes: Buffer.from(msg), address: from.address, port: from.port, name: from.name, length }), (e) => errors.push(e), reader);
  return { l, got, errors };
}

test('batched reader: the extended capture arrives byte-identical, in order, with the sender as source (IPv4)', async (t) => {
  if (addonMissing(t)) return;
  const payloads = loadJsonl('extended.jsonl').map((d) => d.payload);
  const b = await listenCollecting('recvmmsg', '127.0.0.1');
  const d = await listenCollecting('dgram', '127.0.0.1');
  try {
    assert.equal(b.l.reader, 'recvmmsg');
    assert.equal(d.l.reader, 'dgram');
    // Bursts of 500 fill several 64-slot batches in a row: slots are reused within one wake-up.
    const fromB = await sendDatagrams(b.l.endpoint.port, payloads, { burst: 500 });
    const fromD = await sendDatagrams(d.l.endpoint.port, payloads, { burst: 500 });
    await waitFor('every datagram read by both readers', () => (b.got.length >= payloads.length && d.got.length >= payloads.length) || undefined, 10_000);
    assert.equal(b.got.length, payloads.length);
    for (let i = 0; i < payloads.length; i++) assert.ok(b.got[i]!.bytes.equals(payloads[i]!), `datagram ${i} intact`);
    assert.deepEqual(b.got.map((g) => g.bytes), d.got.map((g) => g.bytes), 'both readers deliver the same datagrams');
    assert.deepEqual(new Set(b.got.map((g) => `${g.address}|${g.port}|${g.name}`)), new Set([`127.0.0.1|${fromB}|127.0.0.1:${fromB}`]));
    assert.deepEqual(new Set(d.got.map((g) => `${g.address}|${g.port}|${g.name}`)), new Set([`127.0.0.1|${fromD}|127.0.0.1:${fromD}`]));
    assert.deepEqual(b.errors, []);
  } finally {
    await b.l.close();
    await d.l.close();
  }
});

test('batched reader: IPv6 sources are named as dgram names them; empty and MAX_DATAGRAM-byte datagrams arrive whole, a longer one with its true length and no bytes', async (t) => {
  if (addonMissing(t)) return;
  const v6 = await listenCollecting('recvmmsg', '::1');
  const v4 = await listenCollecting('recvmmsg', '127.0.0.1');
  const d4 = await listenCollecting('dgram', '127.0.0.1');
  try {
    const from6 = await sendDatagrams(v6.l.endpoint.port, [Buffer.from('6,1,0,-;over ipv6\n')], { host: '::1' });
    const big = Buffer.alloc(65507);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const largest = big.subarray(0, MAX_DATAGRAM);
    const from4 = await sendDatagrams(v4.l.endpoint.port, [Buffer.alloc(0), largest, big]);
    await sendDatagrams(d4.l.endpoint.port, [big]);
    await waitFor('the datagrams', () => (v6.got.length >= 1 && v4.got.length >= 3 && d4.got.length >= 1) || undefined, 5000);
    assert.equal(v6.got[0]!.address, '::1');
    assert.equal(v6.got[0]!.port, from6);
    assert.equal(v6.got[0]!.name, `[::1]:${from6}`);
    assert.equal(v6.got[0]!.bytes.toString(), '6,1,0,-;over ipv6\n');
    // The oversized one is kept apart by the kernel (its own socket), so it may come first.
    const byLength = new Map(v4.got.map((g) => [g.length, g]));
    assert.equal(byLength.get(0)!.bytes.length, 0);
    assert.ok(byLength.get(MAX_DATAGRAM)!.bytes.equals(largest), 'a datagram of MAX_DATAGRAM bytes is intact');
    // The largest IPv4 UDP payload: none of its bytes are copied, its length is the true one.
    const over = byLength.get(65507)!;
    assert.equal(over.bytes.length, 0, 'the oversized datagram is read without its bytes');
    assert.equal(over.port, from4);
    assert.deepEqual(v4.l.kernelDrops(), { socket: 0, oversized: 0 });
    // dgram cannot truncate: it delivers the datagram whole, with the same length.
    assert.ok(d4.got[0]!.bytes.equals(big));
    assert.equal(d4.got[0]!.length, 65507);
  } finally {
    await v6.l.close();
    await v4.l.close();
    await d4.l.close();
  }
});

test('batched reader: a port in use is the same clear error as with dgram; close() gives the port back', async (t) => {
  if (addonMissing(t)) return;
  const holder = dgram.createSocket('udp4');
  await new Promise<void>((res) => holder.bind(0, '127.0.0.1', () => res()));
  const port = holder.address().port;
  try {
    for (const reader of ['recvmmsg', 'dgram'] as const) {
      await assert.rejects(listenUdp({ host: '127.0.0.1', port }, () => {}, () => {}, reader), (err: Error) => {
        assert.ok(err instanceof UsageError, `${reader}: a UsageError`);
        assert.equal(err.message, `UDP 127.0.0.1:${port} is already in use: stop the other receiver or pick another port with --udp HOST:PORT`);
        return true;
      });
    }
  } finally {
    await new Promise<void>((res) => holder.close(() => res()));
  }
  const first = await listenUdp({ host: '127.0.0.1', port: 0 }, () => {}, () => {}, 'recvmmsg');
  const p = first.endpoint.port;
  // Its two sockets share the port (SO_REUSEPORT), yet a second listener cannot join them.
  await assert.rejects(listenUdp({ host: '127.0.0.1', port: p }, () => {}, () => {}, 'recvmmsg'), /already in use/);
  await first.close();
  const again = await listenUdp({ host: '127.0.0.1', port: p }, () => {}, () => {}, 'recvmmsg');
  assert.equal(again.endpoint.port, p, 'the closed socket released its port');
  await again.close();
});

/** What the collector stored, in a reader-independent form. */
function storedRows(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT seq, level, facility, ts_usec, text, fields, complete, format, flags FROM messages ORDER BY id').all() as Record<string, unknown>[]).map((r) => JSON.stringify(r));
  } finally {
    db.close();
  }
}

test('collector: both kernel captures (extended with fragments, legacy with split lines) are stored identically with either reader', async (t) => {
  if (addonMissing(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'nch-udp-batch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const extended = loadJsonl('extended.jsonl').map((d) => d.payload);
  const legacy = loadJsonl('legacy.jsonl').map((d) => d.payload);
  const results: Record<string, string[]> = {};
  for (const reader of ['recvmmsg', 'dgram'] as const) {
    const dbPath = join(dir, `${reader}.db`);
    const c = await Collector.start({ dbPath, udp: [{ host: '127.0.0.1', port: 0 }], logger: pino({ level: 'silent' }), udpReader: reader });
    try {
      const port = c.udpEndpoints[0]!.port;
      // One source after the other, so the stored order does not depend on scheduling.
      await sendDatagrams(port, extended, { burst: 300 });
      await waitFor('the extended capture received', () => c.stats().datagrams >= extended.length || undefined, 10_000);
      await sendDatagrams(port, legacy, { burst: 300 });
      await waitFor('the legacy capture received', () => c.stats().datagrams >= extended.length + legacy.length || undefined, 10_000);
    } finally {
      await c.stop();
    }
    results[reader] = storedRows(dbPath);
  }
  assert.ok(results.recvmmsg!.length > 2479, 'both captures stored');
  assert.deepEqual(results.recvmmsg, results.dgram);
});

test('serve: the default reader is recvmmsg, --udp-reader dgram is node\'s; each names itself at start and stores what it reads', async (t) => {
  if (addonMissing(t)) return;
  const payloads = loadJsonl('extended.jsonl').slice(0, 200).map((d) => d.payload);
  for (const [args, reader] of [[[], 'recvmmsg'], [['--udp-reader', 'dgram'], 'dgram']] as const) {
    const srv = await startServe({ extraArgs: [...args] });
    try {
      assert.match(srv.log(), new RegExp(`listening on UDP 127\\.0\\.0\\.1:${srv.udpPort} \\(receive buffer granted: \\d+ bytes, reader: ${reader}\\)`));
      await sendDatagrams(srv.udpPort, payloads);
      const stats = await waitFor('the datagrams stored', async () => {
        const s = await getJson(`${srv.http}/api/stats`);
        return s.datagrams >= payloads.length ? s : undefined;
      }, 10_000);
      assert.equal(stats.datagrams, payloads.length, `${reader}: each datagram counted once`);
    } finally {
      await srv.stop();
    }
  }
});

test('batched reader: every oversized datagram is read from the sink (no bytes) or counted by the kernel there; none reaches the listening socket', async (t) => {
  if (addonMissing(t)) return;
  const binding = batchReaderBinding().binding!;
  const [fd, port, , sink] = binding.bind(4, '127.0.0.1', 0, 0, MAX_DATAGRAM);
  assert.ok(sink >= 0, 'the kernel steers oversized datagrams to their own socket');
  let read = 0;
  let small = 0;
  const r = new BatchReader(binding, fd, (msg, _from, _now, length) => { if (length > MAX_DATAGRAM) { read++; assert.equal(msg.length, 0); } else small++; }, (e) => assert.fail(e), sink);
  const s = dgram.createSocket('udp4');
  t.after(() => s.close());
  try {
    // Sent in one go: far more than the sink's small buffer holds, should its reader fall behind.
    const big = Buffer.alloc(48 * 1024, 0x41);
    let sent = 0;
    await new Promise<void>((res) => { for (let i = 0; i < 300; i++) s.send(big, port, '127.0.0.1', () => { if (++sent === 300) res(); }); });
    s.send('6,1,0,-;small\n', port, '127.0.0.1');
    await waitFor('every datagram read or counted', () => (small === 1 && read + r.kernelDrops().oversized >= 300) || undefined, 5000);
    const d = r.kernelDrops();
    t.diagnostic(`read from the sink: ${read}, dropped there by the kernel: ${d.oversized}`);
    assert.equal(read + d.oversized, 300, 'each one read or counted');
    assert.equal(d.socket, 0, 'the listening socket lost nothing');
  } finally {
    r.close();
  }
});

test('batched reader: a sender unseen for a whole sweep period leaves the name cache; an active one stays', async (t) => {
  if (addonMissing(t)) return;
  const binding = batchReaderBinding().binding!;
  const [fd, port] = binding.bind(4, '127.0.0.1', 0, 0, 0);
  let got = 0;
  const r = new BatchReader(binding, fd, () => { got++; }, (e) => assert.fail(e));
  try {
    const quiet = dgram.createSocket('udp4');
    const busy = dgram.createSocket('udp4');
    t.after(() => { quiet.close(); busy.close(); });
    const send = (s: dgram.Socket) => new Promise<void>((res, rej) => s.send('6,1,0,-;x\n', port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    await send(quiet);
    await send(busy);
    await waitFor('both datagrams', () => got >= 2 || undefined, 5000);
    assert.equal(r.cachedSources, 2);
    r.sweepCache(); // ends the period both were seen in
    assert.equal(r.cachedSources, 2, 'seen in the period that just ended: kept');
    await send(busy);
    await waitFor('the busy sender again', () => got >= 3 || undefined, 5000);
    r.sweepCache();
    assert.equal(r.cachedSources, 1, 'the quiet sender is dropped, the busy one kept');
    r.sweepCache();
    assert.equal(r.cachedSources, 0);
  } finally {
    r.close();
  }
});

test('a build without the addon: serve warns once and reads with dgram; --udp-reader recvmmsg refuses to start', async (t) => {
  // A checkout whose build has no dist/native (as on a machine without a C compiler): the real
  // bin/ and dist/, with node_modules and the migrations shared.
  const root = tempDir('nch-no-addon-');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(ROOT, 'dist'), join(root, 'dist'), { recursive: true, filter: (src) => !src.startsWith(join(ROOT, 'dist', 'native')) });
  mkdirSync(join(root, 'bin'));
  cpSync(join(ROOT, 'bin', 'netconsole-hub'), join(root, 'bin', 'netconsole-hub'));
  for (const shared of ['node_modules', 'migrations', 'package.json']) symlinkSync(join(ROOT, shared), join(root, shared));
  const srv = await startServe({ root });
  try {
    assert.match(srv.log(), /reader: dgram\)/);
    assert.match(srv.log(), /UDP is read with node's dgram, which needs about 4x the CPU per datagram: .*udp-batch\.node was not built/);
    await sendDatagrams(srv.udpPort, [Buffer.from('6,1,0,-;read by dgram\n')]);
    await waitFor('the datagram stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === 1 || undefined, 10_000);
  } finally {
    await srv.stop();
  }
  await assert.rejects(startServe({ root, extraArgs: ['--udp-reader', 'recvmmsg'] }), /--udp-reader recvmmsg: the batched reader is not available: .*was not built/);
});
