// Raw sockets on loopback: hand-built IPv4/IPv6 UDP packets with right and wrong checksums, sent
// header-included and received through the raw receiver adapter. Needs CAP_NET_RAW: skipped with a
// printed reason otherwise, unless NCH_REQUIRE_ROOT=1 (then a failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessRaw } from './helpers/requirements.js';
import dgram from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildIpv4Udp, buildIpv6Udp, type UdpPacket } from '../src/netconsole/packet.js';
import {
  openRawUdpReceiver,
  openRawUdpSender,
  RAW_CAPABILITY_HINT,
  RawSocketError,
  describeRawSocketError,
  type RawUdpReceiver,
  type RawUdpSender,
} from '../src/net/raw-socket.js';

const REQUIRE_ROOT = process.env.NCH_REQUIRE_ROOT === '1';
const WAIT_LIMIT_MS = 5000;

/** A dgram socket bound to an ephemeral loopback port: gives us a free port and the kernel's view. */
async function boundDgram(family: 4 | 6): Promise<{ sock: dgram.Socket; port: number; got: Buffer[] }> {
  const sock = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => sock.bind(0, family === 4 ? '127.0.0.1' : '::1', resolve));
  return { sock, port: sock.address().port, got };
}

/** Resolves once `cond()` holds; rejects after WAIT_LIMIT_MS (bounded wait, no timed assertion). */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > WAIT_LIMIT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const family of [4, 6] as const) {
  test(`IPv${family}: raw receiver flags the wrong checksum, dgram never sees it`, async (t) => {
    if (skipUnlessRaw(t)) return;
    const dst = family === 4 ? '127.0.0.1' : '::1';
    // Spoofed sources: loopback accepts any source address.
    const src = family === 4 ? '127.0.0.5' : 'fc00::5';
    const { sock: udp, port, got: dgramGot } = await boundDgram(family);
    const other = await boundDgram(family);
    const seen: UdpPacket[] = [];
    let receiver: RawUdpReceiver | null = null;
    let sender: RawUdpSender | null = null;
    try {
      receiver = openRawUdpReceiver({ family, ports: [port], onPacket: (p) => seen.push(p), onError: (e) => assert.fail(e.message) });
      assert.ok(receiver.receiveBufferBytes > 0);
      sender = openRawUdpSender({ family });
      const build = (payload: string, dstPort: number, ipId: number): Buffer => {
        const spec = { src, dst, srcPort: 6665, dstPort, payload: Buffer.from(payload) };
        return Buffer.from(family === 4 ? buildIpv4Udp({ ...spec, ipId }) : buildIpv6Udp(spec));
      };
      const wrong = build('6,1,100,-;wrong checksum\n', port, 41);
      wrong[family === 4 ? 26 : 46]! ^= 0x5a; // UDP checksum field
      const elsewhere = build('6,2,200,-;to another port\n', other.port, 42);
      const right = build('6,3,300,-;right checksum\n', port, 43);
      // Loopback delivers in order: once `right` is seen, the two before it were processed too.
      await sender.send(wrong);
      await sender.send(elsewhere);
      assert.equal(await sender.send(right, dst), right.length);
      // A normal local datagram: on loopback its checksum is left to "offload" (CHECKSUM_PARTIAL).
      const local = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
      await new Promise((resolve) => local.send('6,4,400,-;from a dgram socket\n', port, dst, resolve));
      local.close();
      await waitFor(() => seen.length >= 3 && dgramGot.length >= 2, 'the raw receiver and the dgram socket');

      assert.equal(seen.length, 3, 'the packet to another port is filtered out');
      const [bad, good, fromDgram] = seen as [UdpPacket, UdpPacket, UdpPacket];
      assert.equal(Buffer.from(fromDgram.payload).toString(), '6,4,400,-;from a dgram socket\n');
      assert.equal(fromDgram.udpChecksum, 'partial');
      assert.equal(fromDgram.checksumOk, true);
      assert.equal(Buffer.from(bad.payload).toString(), '6,1,100,-;wrong checksum\n');
      assert.equal(bad.udpChecksum, 'bad');
      assert.equal(bad.checksumOk, false);
      assert.equal(Buffer.from(good.payload).toString(), '6,3,300,-;right checksum\n');
      assert.equal(good.udpChecksum, 'ok');
      assert.equal(good.checksumOk, true);
      assert.deepEqual([good.src, good.srcPort, good.dst, good.dstPort, good.family], [src, 6665, dst, port, family]);
      if (family === 4) {
        assert.equal(good.ipChecksum, 'ok');
        assert.equal(good.ipId, 43, 'the IP id we chose is kept');
        assert.equal(good.ttl, 64);
      }
      // The kernel dropped the bad datagram before the normal socket; the good one got through.
      assert.deepEqual(dgramGot.map(String), ['6,3,300,-;right checksum\n', '6,4,400,-;from a dgram socket\n']);
      await waitFor(() => other.got.length >= 1, 'the datagram to the other port');
    } finally {
      receiver?.close();
      sender?.close();
      udp.close();
      other.sock.close();
    }
  });
}

test('raw sender rejects a packet of the other family with a one-line error', async (t) => {
  if (skipUnlessRaw(t)) return;
  const sender = openRawUdpSender({ family: 4 });
  try {
    const v6 = buildIpv6Udp({ src: '::1', dst: '::1', srcPort: 1, dstPort: 2, payload: Buffer.from('x') });
    await assert.rejects(sender.send(v6), /packet is IPv6, the raw sender is IPv4/);
    await assert.rejects(sender.send(new Uint8Array([0x45])), /too short/);
  } finally {
    sender.close();
  }
  await assert.rejects(sender.send(new Uint8Array(28)), /closed/);
});

test('bad options are one-line errors', () => {
  assert.throws(() => openRawUdpReceiver({ family: 4, ports: [70000], onPacket: () => {} }), /invalid port: 70000/);
  assert.throws(() => openRawUdpReceiver({ family: 6, ports: [1], ipv6Destinations: ['nope'], onPacket: () => {} }), /invalid IPv6 destination/);
});

test('permission errors become the CAP_NET_RAW hint', () => {
  const eperm = Object.assign(new Error('Operation not permitted'), {});
  assert.equal(describeRawSocketError(eperm, 'open').message, RAW_CAPABILITY_HINT);
  assert.equal(describeRawSocketError({ code: 'EACCES', message: 'x' }, 'open').message, RAW_CAPABILITY_HINT);
  const other = describeRawSocketError(new Error('No buffer space available\nmore'), 'send to 10.0.0.1');
  assert.equal(other.message, 'cannot send to 10.0.0.1: No buffer space available');
  assert.ok(other instanceof RawSocketError);
  assert.match(RAW_CAPABILITY_HINT, /CAP_NET_RAW.*setpriv --ambient-caps \+net_raw.*AmbientCapabilities=CAP_NET_RAW/);
});

test('without CAP_NET_RAW, opening says which capability and how to grant it', (t) => {
  if (skipUnlessRaw(t)) return;
  // As root, drop CAP_NET_RAW from the bounding set for a child process: its socket() gets EPERM.
  const module = fileURLToPath(new URL('../src/net/raw-socket.js', import.meta.url));
  const script = `import(${JSON.stringify(module)}).then((m) => {
    for (const open of [() => m.openRawUdpReceiver({ family: 4, ports: [1], onPacket() {} }), () => m.openRawUdpSender({ family: 6 })]) {
      try { open(); console.log('opened'); } catch (e) { console.log(e.message); }
    }
  });`;
  const r = spawnSync('setpriv', ['--bounding-set', '-net_raw', process.execPath, '-e', script], { encoding: 'utf8', timeout: 20000 });
  if (r.error) {
    if (REQUIRE_ROOT) assert.fail(`setpriv is needed for this test: ${r.error.message}`);
    t.skip(`setpriv not runnable (${r.error.message})`);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [RAW_CAPABILITY_HINT, RAW_CAPABILITY_HINT]);
});
