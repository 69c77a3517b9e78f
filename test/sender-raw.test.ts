// `send --transport raw`: headers built like netpoll's, sent through a raw socket; a plain UDP
// socket receives them (IPv4 and IPv6), spoofed sources arrive as such, simulated hosts get their
// own 127.1.x.y addresses, and deliberately corrupted checksums are seen by a raw capture (the
// kernel drops them before any UDP socket). Needs CAP_NET_RAW: skipped with the reason otherwise,
// unless NCH_REQUIRE_ROOT=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessRaw } from './helpers/requirements.js';
import { openRawUdpReceiver } from '../src/net/raw-socket.js';
import type { UdpPacket } from '../src/netconsole/packet.js';
import { Catcher, runSend } from './sender-helpers.js';

for (const family of [4, 6] as const) {
  test(`raw IPv${family}: frames reach a plain UDP socket from the netconsole source port, spoofing works`, async (t) => {
    if (skipUnlessRaw(t)) return;
    const c = await Catcher.open(family);
    t.after(() => c.close());
    const host = family === 4 ? '127.0.0.1' : '[::1]';
    const r = await runSend(['--transport', 'raw', '--message', `hello over raw v${family}`, '--target', `${host}:${c.port}`]);
    assert.equal(r.code, 0, r.stderr);
    const args = family === 4 ? ['--source-ip', '127.0.0.9'] : ['--netconsole', `+7000@::1/lo,${c.port}@::1/`];
    const r2 = await runSend(['--transport', 'raw', '--message', 'second', ...(family === 4 ? ['--target', `${host}:${c.port}`] : []), ...args]);
    assert.equal(r2.code, 0, r2.stderr);
    const got = await c.waitFor(2);
    assert.equal(got.length, 2);
    assert.match(got[0].payload.toString(), new RegExp(`^12,0,\\d+,-;hello over raw v${family}\\n$`));
    assert.equal(got[0].from, family === 4 ? '127.0.0.1:6665' : '[::1]:6665');
    assert.match(got[1].payload.toString(), /^12,0,\d+,-;second\n$/);
    assert.equal(got[1].from, family === 4 ? '127.0.0.9:6665' : '[::1]:7000');
  });
}

test('raw: --corrupt-checksum 1 makes every datagram bad: none reaches UDP, the raw capture sees them', async (t) => {
  if (skipUnlessRaw(t)) return;
  const c = await Catcher.open(4);
  t.after(() => c.close());
  const seen: UdpPacket[] = [];
  const rx = openRawUdpReceiver({ family: 4, ports: [c.port], onPacket: (p) => seen.push(p) });
  t.after(() => rx.close());
  const r = await runSend(['--transport', 'raw', '--corrupt-checksum', '1', '--stdin', '--target', `127.0.0.1:${c.port}`], 'a\nb\nc\n');
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((res) => setTimeout(res, 50));
  assert.equal(seen.length, 3);
  assert.ok(seen.every((p) => p.udpChecksum === 'bad' && p.ipChecksum === 'ok' && p.ttl === 64));
  assert.deepEqual(seen.map((p) => p.ipId), [1, 2, 3], 'IP id counter from 1, as netpoll');
  // A good datagram sent after them arrives: the bad ones really were dropped by the kernel.
  assert.equal((await runSend(['--transport', 'raw', '--message', 'good', '--target', `127.0.0.1:${c.port}`])).code, 0);
  const got = await c.waitFor(1);
  assert.deepEqual(got.map((g) => g.payload.toString().replace(/^12,0,\d+,-;/, '')), ['good\n']);
});

test('raw: simulated hosts come from distinct 127.1.x.y addresses', async (t) => {
  if (skipUnlessRaw(t)) return;
  const c = await Catcher.open(4);
  t.after(() => c.close());
  const r = await runSend(['--transport', 'raw', '--simulate', '4', '--count', '40', '--target', `127.0.0.1:${c.port}`]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { datagrams: number; hosts: Array<{ source: string }> };
  const got = await c.waitFor(summary.datagrams);
  assert.equal(got.length, summary.datagrams);
  assert.deepEqual([...new Set(got.map((g) => g.from))].sort(), summary.hosts.map((h) => h.source).sort());
  assert.deepEqual(summary.hosts.map((h) => h.source), ['127.1.0.1:6665', '127.1.0.2:6665', '127.1.0.3:6665', '127.1.0.4:6665']);
});
