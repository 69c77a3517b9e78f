// `serve --capture raw`: a raw socket sees the IP/UDP headers, verifies checksums itself, and
// counts (never stores) a packet with a wrong UDP checksum. Needs root (CAP_NET_RAW).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { buildIpv4Udp, buildIpv6Udp } from '../src/netconsole/packet.js';
import { openRawUdpSender } from '../src/net/raw-socket.js';
import { ROOT } from './helpers/fixtures.js';
import { freeUdpPort, getJson, mustRun, startServe, tempDir, waitFor } from './helpers/serve.js';

const isRoot = process.getuid?.() === 0;

function skipUnlessRoot(t: { skip: (m: string) => void }): boolean {
  if (isRoot) return false;
  if (mustRun('NCH_REQUIRE_ROOT')) assert.fail('NCH_REQUIRE_ROOT=1 but not running as root');
  t.skip('not root: raw sockets need CAP_NET_RAW');
  return true;
}

function packet(family: 4 | 6, port: number, text: string, seq: number, corrupt: boolean): Uint8Array {
  const payload = Buffer.from(`6,${seq},${seq * 1000},-;${text}\n`);
  const spec = { src: family === 4 ? '127.0.0.9' : '::1', dst: family === 4 ? '127.0.0.1' : '::1', srcPort: 6665, dstPort: port, payload };
  const pkt = family === 4 ? buildIpv4Udp({ ...spec, ipId: seq + 1 }) : buildIpv6Udp(spec);
  if (corrupt) pkt[pkt.length - 2] ^= 0x01; // a payload byte changes: the UDP checksum no longer matches
  return pkt;
}

test('raw capture: good packets stored, a wrong UDP checksum counted and not stored (IPv4 and IPv6)', async (t) => {
  if (skipUnlessRoot(t)) return;
  const port = await freeUdpPort();
  const srv = await startServe({ udp: [`127.0.0.1:${port}`, `[::1]:${port}`], extraArgs: ['--capture', 'raw'] });
  try {
    for (const family of [4, 6] as const) {
      const tx = openRawUdpSender({ family });
      try {
        await tx.send(packet(family, port, `raw good one v${family}`, 1, false));
        await tx.send(packet(family, port, `raw corrupted v${family}`, 2, true));
        await tx.send(packet(family, port, `raw good two v${family}`, 3, false));
      } finally {
        tx.close();
      }
    }
    const stats = await waitFor('raw packets processed', async () => {
      const s = await getJson(`${srv.http}/api/stats`);
      return s.messages === 4 && s.checksum_errors === 2 ? s : undefined;
    });
    assert.equal(stats.bad_packets, 2);
    assert.equal(await srv.stop(), 0);
    const db = new Database(srv.db, { readonly: true });
    const texts = (db.prepare('SELECT text FROM messages ORDER BY id').all() as Array<{ text: string }>).map((r) => r.text).sort();
    assert.deepEqual(texts, ['raw good one v4', 'raw good one v6', 'raw good two v4', 'raw good two v6']);
    const c = db.prepare('SELECT SUM(checksum_errors) n FROM source_counters').get() as { n: number };
    assert.equal(c.n, 2, 'checksum errors kept per source');
    db.close();
  } finally {
    await srv.stop('SIGKILL');
  }
});

test('raw capture without CAP_NET_RAW: a one-line error naming the capability', (t) => {
  if (skipUnlessRoot(t)) return; // to take the capability away we must have it first
  const r = spawnSync('setpriv', ['--bounding-set', '-net_raw', '--inh-caps', '-net_raw', process.execPath, join(ROOT, 'bin/netconsole-hub'), 'serve',
    '--capture', 'raw', '--udp', '127.0.0.1:0', '--http', '127.0.0.1:0', '--db', join(tempDir(), 'x.db')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('netconsole-hub:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /CAP_NET_RAW/);
  assert.match(lines[0], /setpriv|AmbientCapabilities/);
});
