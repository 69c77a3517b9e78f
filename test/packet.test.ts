// The packet layer against the spec's frame vectors (byte for byte), plus property tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import {
  buildEthernetFrame,
  buildIpv4Udp,
  buildIpv6Udp,
  formatEndpoint,
  formatIpAddress,
  LinkType,
  parseFrame,
  parseIpAddress,
  parseIpPacket,
  parseUdpSegment,
  type PacketParse,
  type UdpPacket,
} from '../src/netconsole/packet.js';
import { SHARED } from './helpers/fixtures.js';
import { internetChecksum, ipv4HeaderChecksum, udpChecksum, verifyUdpChecksum } from '../src/netconsole/checksum.js';

const VECTORS = join(SHARED, 'spec/netconsole-test-vectors.json');

interface FrameVector {
  name: string;
  src: string;
  dst: string;
  ip_id?: number;
  src_mac: string;
  dst_mac: string;
  payload_hex: string;
  frame_hex: string;
  udp_checksum: string;
  ip_checksum?: string;
}

const vectors = (JSON.parse(readFileSync(VECTORS, 'utf8')) as { frame_vectors: FrameVector[] }).frame_vectors;

/** `192.0.2.1:6665` or `[fc00::1]:6665` → address and port. */
function endpoint(s: string): { addr: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s);
  assert.ok(m, `bad endpoint ${s}`);
  return { addr: m[1]!, port: Number(m[2]) };
}

function buildVector(v: FrameVector): Uint8Array {
  const src = endpoint(v.src);
  const dst = endpoint(v.dst);
  const spec = { src: src.addr, dst: dst.addr, srcPort: src.port, dstPort: dst.port, payload: Buffer.from(v.payload_hex, 'hex') };
  const ip = src.addr.includes(':') ? buildIpv6Udp(spec) : buildIpv4Udp({ ...spec, ipId: v.ip_id! });
  return buildEthernetFrame({ srcMac: v.src_mac, dstMac: v.dst_mac, ip });
}

function asUdp(r: PacketParse): UdpPacket {
  assert.equal(r.kind, 'udp', `expected a UDP packet, got ${r.kind}: ${'reason' in r ? r.reason : ''}`);
  return r as UdpPacket;
}

test('frame vectors: built byte for byte', () => {
  assert.ok(vectors.length >= 4);
  for (const v of vectors) {
    assert.equal(Buffer.from(buildVector(v)).toString('hex'), v.frame_hex, v.name);
  }
});

test('frame vectors: parsed back, checksums verify and equal the stated values', () => {
  for (const v of vectors) {
    const frame = Buffer.from(v.frame_hex, 'hex');
    const p = asUdp(parseFrame(frame, LinkType.ETHERNET));
    const src = endpoint(v.src);
    const dst = endpoint(v.dst);
    assert.equal(p.src, src.addr, v.name);
    assert.equal(p.dst, dst.addr, v.name);
    assert.equal(p.srcPort, src.port);
    assert.equal(p.dstPort, dst.port);
    assert.equal(Buffer.from(p.payload).toString('hex'), v.payload_hex);
    assert.equal(p.udpChecksum, 'ok', v.name);
    assert.equal(p.checksumOk, true);
    const ipv4 = !src.addr.includes(':');
    assert.equal(p.family, ipv4 ? 4 : 6);
    assert.equal(p.ttl, ipv4 ? 64 : 32);
    assert.equal(p.ipChecksum, ipv4 ? 'ok' : null);
    assert.equal(p.ipId, ipv4 ? v.ip_id : null);
    const ipOff = 14;
    const udpOff = ipOff + (ipv4 ? 20 : 40);
    assert.equal(frame.readUInt16BE(udpOff + 6), Number(v.udp_checksum));
    if (ipv4) {
      assert.equal(ipv4HeaderChecksum(frame.subarray(ipOff, ipOff + 20)), Number(v.ip_checksum));
      assert.equal(frame[ipOff + 6]! & 0x40, 0, 'DF clear');
      assert.equal(frame[ipOff + 1], 0, 'TOS 0');
    }
    // The same packet without its Ethernet header, as a raw-IP capture would hold it.
    assert.deepEqual(asUdp(parseFrame(frame.subarray(14), LinkType.RAW)).payload, p.payload);
  }
});

test('frame vectors: flipping any checksummed byte makes the packet fail verification', () => {
  for (const v of vectors) {
    const frame = Buffer.from(v.frame_hex, 'hex');
    const ipv4 = frame.readUInt16BE(12) === 0x0800;
    // IPv4: the whole IP header and UDP segment are covered. IPv6: addresses (pseudo-header) and the segment.
    const first = ipv4 ? 14 : 14 + 8;
    for (let i = first; i < frame.length; i++) {
      const bad = Buffer.from(frame);
      bad[i]! ^= 0xff;
      const r = parseFrame(bad, LinkType.ETHERNET);
      assert.ok(!(r.kind === 'udp' && r.checksumOk), `${v.name}: byte ${i} flipped still verifies`);
    }
  }
});

test('a computed UDP checksum of 0 is sent as 0xffff and verifies', () => {
  const v = vectors.find((x) => x.name === 'ipv4-csum-zero-becomes-ffff');
  assert.ok(v);
  const frame = Buffer.from(buildVector(v));
  assert.equal(frame.readUInt16BE(14 + 20 + 6), 0xffff);
  assert.equal(asUdp(parseFrame(frame, LinkType.ETHERNET)).udpChecksum, 'ok');
});

test('UDP checksum 0: "none" (acceptable) on IPv4, invalid on IPv6', () => {
  const payload = Buffer.from('6,1,2,-;x\n');
  const v4 = Buffer.from(buildIpv4Udp({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 6665, dstPort: 6666, ipId: 7, payload }));
  v4.writeUInt16BE(0, 20 + 6);
  const p4 = asUdp(parseIpPacket(v4));
  assert.equal(p4.udpChecksum, 'none');
  assert.equal(p4.checksumOk, true);
  const v6 = Buffer.from(buildIpv6Udp({ src: 'fc00::1', dst: 'fc00::2', srcPort: 6665, dstPort: 6666, payload }));
  v6.writeUInt16BE(0, 40 + 6);
  const p6 = asUdp(parseIpPacket(v6));
  assert.equal(p6.udpChecksum, 'bad');
  assert.equal(p6.checksumOk, false);
});

test('a checksum field holding only the pseudo-header sum (offload not done yet) is "partial"', () => {
  // What Linux stores for CHECKSUM_PARTIAL (~csum_tcpudp_magic): the folded pseudo-header sum.
  // Captured by tcpdump -i any (SLL2) on the sending host: 127.0.0.1:56657 -> 127.0.0.1:17999, "hello any".
  const sll2Frame = Buffer.from(
    '0800000000000001030400060000000000000000' + '45000025f3814000401149447f0000017f000001' + 'dd51464f0011fe2468656c6c6f20616e79',
    'hex',
  );
  const p = asUdp(parseFrame(sll2Frame, LinkType.LINUX_SLL2));
  assert.equal(Buffer.from(p.payload).toString(), 'hello any');
  assert.equal(p.udpChecksum, 'partial');
  assert.equal(p.checksumOk, true);
  const v6 = Buffer.from(buildIpv6Udp({ src: '::1', dst: '::1', srcPort: 1, dstPort: 2, payload: Buffer.from('x') }));
  // ::1 twice + 17 + length 9 → 1 + 1 + 0x11 + 9 = 0x1c.
  v6.writeUInt16BE(0x001c, 46);
  assert.equal(asUdp(parseIpPacket(v6)).udpChecksum, 'partial');
  v6.writeUInt16BE(0x001d, 46);
  assert.equal(asUdp(parseIpPacket(v6)).udpChecksum, 'bad');
});

test('a bad IPv4 header checksum is reported, the UDP part still parsed', () => {
  const pkt = Buffer.from(buildIpv4Udp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, ipId: 1, payload: Buffer.from('hi') }));
  pkt[10]! ^= 1;
  const p = asUdp(parseIpPacket(pkt));
  assert.equal(p.ipChecksum, 'bad');
  assert.equal(p.udpChecksum, 'ok');
  assert.equal(p.checksumOk, false);
});

test('IPv6 UDP segment alone verifies with the addresses supplied (raw-socket case)', () => {
  const payload = Buffer.from('[   12.345678] hello\n');
  const pkt = buildIpv6Udp({ src: '::1', dst: '::1', srcPort: 6665, dstPort: 6666, payload });
  const seg = pkt.subarray(40);
  assert.equal(asUdp(parseUdpSegment(seg, '::1', '::1')).udpChecksum, 'ok');
  assert.equal(asUdp(parseUdpSegment(seg, '::1', '::2')).udpChecksum, 'bad');
  assert.equal(verifyUdpChecksum(seg, parseIpAddress('::1')!, parseIpAddress('::1')!), 'ok');
  assert.equal(parseUdpSegment(seg.subarray(0, 5), '::1', '::1').kind, 'malformed');
});

test('Ethernet padding, VLAN tags and Linux cooked headers', () => {
  const ip = buildIpv4Udp({ src: '10.0.2.15', dst: '10.0.2.2', srcPort: 6665, dstPort: 6666, ipId: 9, payload: Buffer.from('x') });
  const padded = new Uint8Array(60);
  padded.set(buildEthernetFrame({ srcMac: '52:54:00:12:34:56', ip }));
  assert.deepEqual(Buffer.from(asUdp(parseFrame(padded, LinkType.ETHERNET)).payload).toString(), 'x');
  const vlan = Buffer.concat([Buffer.alloc(12, 0xff), Buffer.from([0x81, 0, 0, 5, 0x08, 0]), ip]);
  assert.equal(asUdp(parseFrame(vlan, LinkType.ETHERNET)).dstPort, 6666);
  const sll = Buffer.concat([Buffer.from([0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0]), ip]);
  assert.equal(asUdp(parseFrame(sll, LinkType.LINUX_SLL)).src, '10.0.2.15');
  const sll2 = Buffer.concat([Buffer.from([0x08, 0, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0]), ip]);
  assert.equal(asUdp(parseFrame(sll2, LinkType.LINUX_SLL2)).src, '10.0.2.15');
  const bsdNull = Buffer.concat([Buffer.from([2, 0, 0, 0]), ip]);
  assert.equal(asUdp(parseFrame(bsdNull, LinkType.NULL)).dst, '10.0.2.2');
});

test('non-UDP and malformed input give a reason, not an exception', () => {
  const arp = Buffer.concat([Buffer.alloc(12, 0xff), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]);
  assert.deepEqual(parseFrame(arp, LinkType.ETHERNET), { kind: 'other', reason: 'EtherType 0x0806 is not IP' });
  const ip = Buffer.from(buildIpv4Udp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, ipId: 1, payload: Buffer.alloc(10) }));
  const truncated = parseIpPacket(ip.subarray(0, ip.length - 1));
  assert.equal(truncated.kind, 'malformed');
  assert.match((truncated as { reason: string }).reason, /truncated/);
  const tcp = Buffer.from(ip);
  tcp[9] = 6;
  assert.equal(parseIpPacket(tcp).kind, 'other');
  assert.equal(parseFrame(new Uint8Array(0), LinkType.ETHERNET).kind, 'malformed');
  assert.equal(parseFrame(ip, 9999).kind, 'other');
  assert.throws(() => buildIpv4Udp({ src: '1.2.3', dst: '1.2.3.4', srcPort: 1, dstPort: 2, ipId: 1, payload: ip }), /invalid IPv4 source address/);
  assert.throws(() => buildIpv6Udp({ src: '::1', dst: '::1', srcPort: 70000, dstPort: 2, payload: ip }), /invalid source port/);
  assert.throws(() => buildEthernetFrame({ srcMac: 'nope', ip }), /invalid source MAC/);
});

test('address text forms', () => {
  const cases: [string, string][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['fc00:0:0:0:0:0:0:1', 'fc00::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['FE80::A00:27FF:FE2A:3427', 'fe80::a00:27ff:fe2a:3427'],
  ];
  for (const [input, want] of cases) assert.equal(formatIpAddress(parseIpAddress(input)!), want, input);
  for (const bad of ['1.2.3.256', '1.2.3', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '', '1:2:3:4:5:6:7::8']) {
    assert.equal(parseIpAddress(bad), null, bad);
  }
  assert.equal(formatEndpoint('::1', 6666), '[::1]:6666');
  assert.equal(formatEndpoint('10.0.0.1', 6666), '10.0.0.1:6666');
});

// ---------------------------------------------------------------- properties

const ipv4Arb = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIpAddress(b));
const ipv6Arb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpAddress(b));
const port = fc.integer({ min: 0, max: 0xffff });
const payloadArb = fc.uint8Array({ maxLength: 1100 });

test('property: IPv6 text form equals node\'s', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 255 }), (bytes, zeros) => {
      // Plant zero runs often, so compression cases are exercised.
      for (let i = 0; i < 16; i++) if ((zeros >> (i >> 1)) & 1) bytes[i] = 0;
      // …and the IPv4-mapped prefix now and then.
      if ((zeros & 0x3f) === 0x3f) bytes[10] = bytes[11] = 0xff;
      const text = formatIpAddress(bytes);
      assert.equal(text, new SocketAddress({ address: text, family: 'ipv6' }).address);
      assert.deepEqual(parseIpAddress(text), bytes);
    }),
    { numRuns: 500 },
  );
});

test('property: IPv4 build → Ethernet → parse round trip', () => {
  fc.assert(
    fc.property(ipv4Arb, ipv4Arb, port, port, fc.integer({ min: 0, max: 0xffff }), payloadArb, (src, dst, srcPort, dstPort, ipId, payload) => {
      const ip = buildIpv4Udp({ src, dst, srcPort, dstPort, ipId, payload });
      const p = asUdp(parseFrame(buildEthernetFrame({ srcMac: '02:00:00:00:00:01', ip }), LinkType.ETHERNET));
      assert.deepEqual(
        { src: p.src, dst: p.dst, srcPort: p.srcPort, dstPort: p.dstPort, ipId: p.ipId, ok: p.checksumOk, udp: p.udpChecksum },
        { src, dst, srcPort, dstPort, ipId, ok: true, udp: 'ok' },
      );
      assert.deepEqual(Buffer.from(p.payload), Buffer.from(payload));
      assert.notEqual(Buffer.from(ip).readUInt16BE(26), 0, 'checksum 0 never sent');
    }),
    { numRuns: 300 },
  );
});

test('property: IPv6 build → parse round trip, segment verifies alone', () => {
  fc.assert(
    fc.property(ipv6Arb, ipv6Arb, port, port, payloadArb, (src, dst, srcPort, dstPort, payload) => {
      const ip = buildIpv6Udp({ src, dst, srcPort, dstPort, payload });
      const p = asUdp(parseIpPacket(ip));
      assert.deepEqual([p.src, p.dst, p.srcPort, p.dstPort, p.checksumOk, p.ttl], [src, dst, srcPort, dstPort, true, 32]);
      assert.deepEqual(Buffer.from(p.payload), Buffer.from(payload));
      assert.equal(asUdp(parseUdpSegment(ip.subarray(40), src, dst)).udpChecksum, 'ok');
      // Independent check: the one's-complement sum over pseudo-header + segment is 0xffff.
      const seg = ip.subarray(40);
      const pseudo = Buffer.concat([ip.subarray(8, 40), Buffer.from([0, 0, seg.length >> 8, seg.length & 0xff, 0, 0, 0, 17])]);
      assert.equal(internetChecksum(Buffer.concat([pseudo, seg])), 0);
      assert.equal(udpChecksum(seg, parseIpAddress(src)!, parseIpAddress(dst)!), Buffer.from(seg).readUInt16BE(6));
    }),
    { numRuns: 300 },
  );
});

const linkTypes = fc.constantFrom(0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 42);

test('property: arbitrary bytes never throw in parseFrame / parseIpPacket / parseUdpSegment', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), linkTypes, (bytes, lt) => {
      parseFrame(bytes, lt);
      parseIpPacket(bytes);
      parseUdpSegment(bytes, '10.0.0.1', '10.0.0.2');
    }),
    { numRuns: 2000 },
  );
});

test('property: mutated and truncated real packets never throw, and never verify when the checksummed part changed', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      payloadArb,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      (v6, payload, flips, cut) => {
        const ip = v6
          ? buildIpv6Udp({ src: 'fc00::1', dst: 'fc00::2', srcPort: 6665, dstPort: 6666, payload })
          : buildIpv4Udp({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 6665, dstPort: 6666, ipId: 1, payload });
        const bad = Buffer.from(ip);
        for (const [pos, x] of flips) bad[pos % bad.length]! ^= x;
        const r = parseIpPacket(bad);
        if (r.kind === 'udp' && r.checksumOk && r.udpChecksum !== 'none' && !Buffer.from(ip).equals(bad)) {
          // Only bytes outside the checksums' coverage may differ (IPv6 version/class/flow/hop limit),
          // or bytes past a shortened IPv4 total length, or several flips cancelling out in the sum.
          const firstCovered = v6 ? 8 : 0;
          const diff = [...bad.keys()].filter((i) => bad[i] !== ip[i]);
          const coveredDiff = diff.filter((i) => i >= firstCovered);
          assert.ok(coveredDiff.length !== 1 || flips.length > 1, `single covered flip at ${coveredDiff[0]} verified`);
        }
        parseIpPacket(bad.subarray(0, cut % (bad.length + 1)));
        parseFrame(bad.subarray(0, cut % (bad.length + 1)), LinkType.RAW);
      },
    ),
    { numRuns: 1000 },
  );
});
