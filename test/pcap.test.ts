// The capture reader against the real kernel 6.1 captures, plus writer round trips and fuzzing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { FIXTURES } from './helpers/fixtures.js';
import { PcapFormatError, readCapture, readCaptureAll, writePcap, writePcapng, type PcapPacket } from '../src/netconsole/pcap.js';
import { buildEthernetFrame, buildIpv4Udp, buildIpv6Udp, LinkType, parseFrame, type UdpPacket } from '../src/netconsole/packet.js';


function jsonlPayloads(file: string): Buffer[] {
  return readFileSync(`${FIXTURES}/${file}`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Buffer.from((JSON.parse(l) as { b64: string }).b64, 'base64'));
}

function udpPackets(packets: PcapPacket[]): UdpPacket[] {
  const out: UdpPacket[] = [];
  for (const p of packets) {
    const r = parseFrame(p.data, p.linkType);
    if (r.kind === 'udp') out.push(r);
    else assert.notEqual(r.kind, 'malformed', `malformed packet in capture: ${'reason' in r ? r.reason : ''}`);
  }
  return out;
}

const captures = [
  { pcap: 'extended.guest-eth0.pcap', main: 'extended.jsonl', t2: 'extended.t2-legacy.jsonl' },
  { pcap: 'legacy.guest-eth0.pcap', main: 'legacy.jsonl', t2: 'legacy.t2-extended.jsonl' },
];

for (const c of captures) {
  test(`${c.pcap}: read fully, every UDP checksum verifies, payloads equal the jsonl in order`, () => {
    const packets = readCaptureAll(readFileSync(`${FIXTURES}/${c.pcap}`));
    assert.ok(packets.length > 4000);
    assert.ok(packets.every((p) => p.linkType === LinkType.ETHERNET));
    // Timestamps are real capture times (2026-ish), non-decreasing.
    for (let i = 1; i < packets.length; i++) assert.ok(packets[i]!.tsMs >= packets[i - 1]!.tsMs);
    assert.ok(packets[0]!.tsMs > Date.UTC(2020, 0, 1));
    const udp = udpPackets(packets);
    for (const u of udp) {
      assert.equal(u.checksumOk, true, `${u.src}:${u.srcPort} ipId ${u.ipId}`);
      assert.equal(u.udpChecksum, 'ok');
      assert.equal(u.ttl, 64);
    }
    const main = udp.filter((u) => u.dstPort === 6666);
    const t2 = udp.filter((u) => u.dstPort === 6667);
    assert.deepEqual(main.map((u) => Buffer.from(u.payload)), jsonlPayloads(c.main));
    assert.deepEqual(t2.map((u) => Buffer.from(u.payload)), jsonlPayloads(c.t2));
    assert.ok(main.every((u) => u.src === '10.0.2.15' && u.srcPort === 6665 && u.dst === '10.0.2.2'));
    assert.ok(t2.every((u) => u.srcPort === 6664));
    // One kernel-wide IP id counter shared by both targets: consecutive ids in send order.
    const ids = udp.map((u) => u.ipId!);
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], (ids[i - 1]! + 1) & 0xffff);
  });
}

test('a copy with one flipped payload byte gives exactly one bad UDP checksum', () => {
  const buf = Buffer.from(readFileSync(`${FIXTURES}/extended.guest-eth0.pcap`));
  const packets = readCaptureAll(buf);
  const victim = 1234;
  // Find the packet's payload inside the file buffer: data is a view into `buf`.
  const data = packets[victim]!.data;
  const pos = data.byteOffset - buf.byteOffset + 14 + 20 + 8 + 3;
  buf[pos]! ^= 0x20;
  const udp = udpPackets(readCaptureAll(buf));
  const bad = udp.map((u, i) => ({ u, i })).filter(({ u }) => !u.checksumOk);
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.u.udpChecksum, 'bad');
  assert.equal(bad[0]!.u.ipChecksum, 'ok');
  assert.equal(bad[0]!.i, victim);
});

function samplePackets(): { tsMs: number; data: Uint8Array }[] {
  const v4 = buildIpv4Udp({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 6665, dstPort: 6666, ipId: 1, payload: Buffer.from('6,1,2,-;a\n') });
  const v6 = buildIpv6Udp({ src: 'fc00::1', dst: 'fc00::2', srcPort: 6665, dstPort: 6666, payload: Buffer.from('[    1.000000] b\n') });
  return [
    { tsMs: 1_700_000_000_123.456, data: buildEthernetFrame({ srcMac: '02:00:00:00:00:01', ip: v4 }) },
    { tsMs: 1_700_000_001_000.001, data: buildEthernetFrame({ srcMac: '02:00:00:00:00:01', ip: v6 }) },
  ];
}

/** Swaps the byte order of a little-endian classic pcap (header and record header fields). */
function toBigEndian(le: Uint8Array): Buffer {
  const b = Buffer.from(le);
  const swap32 = (o: number) => b.writeUInt32BE(b.readUInt32LE(o), o);
  const swap16 = (o: number) => b.writeUInt16BE(b.readUInt16LE(o), o);
  swap32(0), swap16(4), swap16(6), swap32(8), swap32(12), swap32(16), swap32(20);
  for (let off = 24; off < b.length; ) {
    const incl = b.readUInt32LE(off + 8);
    for (let k = 0; k < 16; k += 4) swap32(off + k);
    off += 16 + incl;
  }
  return b;
}

test('classic pcap: writer round trip in µs and ns, both byte orders', () => {
  const pkts = samplePackets();
  for (const nanos of [false, true]) {
    const le = writePcap(pkts, { nanos });
    for (const file of [le, toBigEndian(le)]) {
      const got = readCaptureAll(file);
      assert.equal(got.length, 2);
      got.forEach((g, i) => {
        assert.deepEqual(Buffer.from(g.data), Buffer.from(pkts[i]!.data));
        assert.ok(Math.abs(g.tsMs - pkts[i]!.tsMs) < (nanos ? 1e-3 : 2e-3), `ts ${g.tsMs} vs ${pkts[i]!.tsMs}`);
        assert.equal(g.linkType, 1);
        assert.equal(g.origLen, pkts[i]!.data.length);
      });
    }
  }
});

test('classic pcap: raw-IP and cooked link types are handed through', () => {
  const ip = buildIpv4Udp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 6665, dstPort: 6666, ipId: 5, payload: Buffer.from('x') });
  const [p] = readCaptureAll(writePcap([{ tsMs: 0, data: ip }], { linkType: LinkType.RAW }));
  assert.equal(p!.linkType, 101);
  assert.equal(parseFrame(p!.data, p!.linkType).kind, 'udp');
  // Link-type field with FCS bits set in its upper bits (pcap-linktype(7)) still means Ethernet.
  const f = Buffer.from(writePcap([{ tsMs: 0, data: ip }], { linkType: 113 }));
  f.writeUInt32LE(113 | 0x14000000, 20);
  assert.equal(readCaptureAll(f)[0]!.linkType, 113);
});

test('pcapng: per-interface link type and timestamp resolution', () => {
  const pkts = samplePackets();
  const ip = buildIpv4Udp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 6665, dstPort: 6666, ipId: 5, payload: Buffer.from('raw') });
  const file = writePcapng(
    [
      { ...pkts[0]!, interfaceId: 0 },
      { tsMs: 1_700_000_002_000.000_5, data: ip, interfaceId: 1 },
      { ...pkts[1]!, interfaceId: 0 },
    ],
    [{ linkType: 1 }, { linkType: 101, tsResolDigits: 9 }],
  );
  const got = readCaptureAll(file);
  assert.deepEqual(got.map((g) => g.linkType), [1, 101, 1]);
  assert.ok(Math.abs(got[0]!.tsMs - pkts[0]!.tsMs) < 2e-3);
  assert.ok(Math.abs(got[1]!.tsMs - 1_700_000_002_000.000_5) < 1e-3);
  assert.deepEqual(Buffer.from(got[2]!.data), Buffer.from(pkts[1]!.data));
  for (const g of got) assert.equal((parseFrame(g.data, g.linkType) as UdpPacket).checksumOk, true);
});

test('pcapng: big-endian section, simple packet block, unknown blocks skipped', () => {
  const frame = samplePackets()[0]!.data;
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const b = Buffer.alloc(12 + padded.length);
    b.writeUInt32BE(type, 0);
    b.writeUInt32BE(b.length, 4);
    padded.copy(b, 8);
    b.writeUInt32BE(b.length, b.length - 4);
    blocks.push(b);
  };
  block(0x0a0d0d0a, Buffer.from([0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  block(1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])); // Ethernet, no snaplen
  block(4, Buffer.from([0, 0, 0, 0])); // name resolution block: skipped
  const spb = Buffer.alloc(4 + frame.length);
  spb.writeUInt32BE(frame.length, 0);
  Buffer.from(frame).copy(spb, 4);
  block(3, spb);
  const got = readCaptureAll(Buffer.concat(blocks));
  assert.equal(got.length, 1);
  assert.deepEqual(Buffer.from(got[0]!.data), Buffer.from(frame));
  assert.equal(got[0]!.linkType, 1);
});

test('truncated and corrupt files give a one-line PcapFormatError after the good packets', () => {
  const file = writePcap(samplePackets());
  const expectError = (buf: Uint8Array, re: RegExp, goodBefore: number) => {
    let n = 0;
    assert.throws(
      () => {
        for (const _ of readCapture(buf)) n++;
      },
      (e: unknown) => e instanceof PcapFormatError && re.test(e.message) && !e.message.includes('\n'),
    );
    assert.equal(n, goodBefore);
  };
  expectError(file.subarray(0, file.length - 3), /truncated: packet 2/, 1);
  expectError(file.subarray(0, 30), /truncated: record header of packet 1/, 0);
  expectError(file.subarray(0, 10), /file header truncated/, 0);
  expectError(Buffer.from('hello, this is not a capture'), /not a pcap or pcapng file/, 0);
  expectError(new Uint8Array(2), /too short/, 0);
  const ng = writePcapng(samplePackets());
  expectError(ng.subarray(0, ng.length - 8), /pcapng truncated/, 1);
  const wrongLen = Buffer.from(ng);
  wrongLen.writeUInt32LE(13, 4);
  expectError(wrongLen, /invalid length 13/, 0);
  // A header-only capture is valid and empty.
  assert.deepEqual(readCaptureAll(file.subarray(0, 24)), []);
});

// ---------------------------------------------------------------- properties

function onlyFormatErrors(buf: Uint8Array): void {
  try {
    let n = 0;
    for (const p of readCapture(buf)) {
      parseFrame(p.data, p.linkType);
      assert.ok(++n <= buf.length, 'more packets than bytes');
    }
  } catch (e) {
    if (!(e instanceof PcapFormatError)) throw e;
    assert.ok(!e.message.includes('\n'));
  }
}

test('property: arbitrary bytes, alone or after a valid header, only ever give PcapFormatError', () => {
  const classic = writePcap([]);
  const ng = writePcapng([]);
  fc.assert(
    fc.property(fc.constantFrom<Uint8Array>(new Uint8Array(0), classic, ng, classic.subarray(0, 4), ng.subarray(0, 28)), fc.uint8Array({ maxLength: 300 }), (prefix, tail) => {
      onlyFormatErrors(Buffer.concat([prefix, tail]));
    }),
    { numRuns: 2000 },
  );
});

test('property: valid captures with corrupted bytes or cut short never crash or hang', () => {
  const classic = writePcap(samplePackets());
  const ng = writePcapng(samplePackets(), [{ linkType: 1, tsResolDigits: 9 }]);
  fc.assert(
    fc.property(fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }), fc.nat(), (useNg, flips, cut) => {
      const b = Buffer.from(useNg ? ng : classic);
      for (const [pos, x] of flips) b[pos % b.length]! ^= x;
      onlyFormatErrors(b.subarray(0, b.length - (cut % 40)));
    }),
    { numRuns: 2000 },
  );
});
