// The packet layer netpoll puts around a netconsole payload (spec §6): Ethernet II, IPv4 or IPv6,
// UDP. Builders produce the kernel's exact bytes; parsers accept anything and never throw.
import { ipv4HeaderChecksum, ipv4HeaderChecksumOk, udpChecksum, verifyUdpChecksum, type UdpChecksumStatus } from './checksum.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = [0x8100, 0x88a8, 0x9100];

/** pcap LINKTYPE_* values understood by parseFrame. */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte host-order address family
  ETHERNET: 1,
  RAW: 101, // raw IPv4/IPv6
  RAW_DLT12: 12, // DLT_RAW as some systems write it
  RAW_DLT14: 14, // DLT_RAW on OpenBSD
  LOOP: 108, // OpenBSD loopback: 4-byte network-order family
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

// ---------------------------------------------------------------- addresses

/** Parses `192.0.2.1` or `fc00::1` (also `::ffff:1.2.3.4`) into 4 or 16 bytes; null if invalid. */
export function parseIpAddress(text: string): Uint8Array | null {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const words = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const groups = s.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
        out.push(parseInt(g, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Text form of 4 or 16 address bytes, IPv6 compressed as node (libuv's inet_ntop) prints it. */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Longest run (first on a tie) of at least two zero words becomes `::`.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) tails, as inet_ntop writes them.
    if (i === 6 && bestStart === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      if (!out.endsWith(':')) out += ':';
      out += `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      break;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += w[i]!.toString(16);
  }
  return out;
}

/** `ip:port`, IPv6 as `[addr]:port` (the receiver's source notation). */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function requireAddress(text: string, family: 4 | 6, what: string): Uint8Array {
  const bytes = parseIpAddress(text);
  if (!bytes || bytes.length !== (family === 4 ? 4 : 16)) throw new Error(`invalid IPv${family} ${what} address: ${JSON.stringify(text)}`);
  return bytes;
}

function requirePort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new Error(`invalid ${what} port: ${port}`);
  return port;
}

// ---------------------------------------------------------------- builders

export interface UdpPacketSpec {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** UDP header + payload with the checksum for the given pseudo-header addresses. */
function buildUdpSegment(spec: UdpPacketSpec, srcAddr: Uint8Array, dstAddr: Uint8Array): Uint8Array {
  const seg = new Uint8Array(8 + spec.payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, requirePort(spec.srcPort, 'source'));
  dv.setUint16(2, requirePort(spec.dstPort, 'destination'));
  dv.setUint16(4, seg.length);
  seg.set(spec.payload, 8);
  dv.setUint16(6, udpChecksum(seg, srcAddr, dstAddr));
  return seg;
}

/** IPv4 + UDP exactly as netpoll: TOS 0, DF clear, TTL 64, id from the caller's counter. */
export function buildIpv4Udp(spec: UdpPacketSpec & { ipId: number }): Uint8Array {
  const src = requireAddress(spec.src, 4, 'source');
  const dst = requireAddress(spec.dst, 4, 'destination');
  if (spec.payload.length > 0xffff - 28) throw new Error(`UDP payload too large for IPv4: ${spec.payload.length} bytes`);
  const seg = buildUdpSegment(spec, src, dst);
  const pkt = new Uint8Array(20 + seg.length);
  const dv = new DataView(pkt.buffer);
  pkt[0] = 0x45;
  dv.setUint16(2, pkt.length);
  dv.setUint16(4, spec.ipId & 0xffff);
  pkt[8] = 64;
  pkt[9] = 17;
  pkt.set(src, 12);
  pkt.set(dst, 16);
  dv.setUint16(10, ipv4HeaderChecksum(pkt.subarray(0, 20)));
  pkt.set(seg, 20);
  return pkt;
}

/** IPv6 + UDP exactly as netpoll: traffic class and flow label 0, hop limit 32. */
export function buildIpv6Udp(spec: UdpPacketSpec): Uint8Array {
  const src = requireAddress(spec.src, 6, 'source');
  const dst = requireAddress(spec.dst, 6, 'destination');
  if (spec.payload.length > 0xffff - 8) throw new Error(`UDP payload too large: ${spec.payload.length} bytes`);
  const seg = buildUdpSegment(spec, src, dst);
  const pkt = new Uint8Array(40 + seg.length);
  const dv = new DataView(pkt.buffer);
  pkt[0] = 0x60;
  dv.setUint16(4, seg.length);
  pkt[6] = 17;
  pkt[7] = 32;
  pkt.set(src, 8);
  pkt.set(dst, 24);
  pkt.set(seg, 40);
  return pkt;
}

/** IPv4 or IPv6 by the address family of `src`/`dst` (ipId is ignored for IPv6). */
export function buildIpUdp(spec: UdpPacketSpec & { ipId: number }): Uint8Array {
  return spec.dst.includes(':') ? buildIpv6Udp(spec) : buildIpv4Udp(spec);
}

/** Parses `aa:bb:cc:dd:ee:ff` (also `-` separated); null if invalid. */
export function parseMac(text: string): Uint8Array | null {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return null;
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Ethernet II frame around an IP packet; EtherType defaults from the IP version nibble. No padding. */
export function buildEthernetFrame(opts: { srcMac: string; dstMac?: string; etherType?: number; ip: Uint8Array }): Uint8Array {
  const src = parseMac(opts.srcMac);
  const dst = parseMac(opts.dstMac ?? 'ff:ff:ff:ff:ff:ff');
  if (!src) throw new Error(`invalid source MAC address: ${JSON.stringify(opts.srcMac)}`);
  if (!dst) throw new Error(`invalid destination MAC address: ${JSON.stringify(opts.dstMac)}`);
  const etherType = opts.etherType ?? ((opts.ip[0] ?? 0) >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
  const frame = new Uint8Array(14 + opts.ip.length);
  frame.set(dst, 0);
  frame.set(src, 6);
  frame[12] = etherType >> 8;
  frame[13] = etherType & 0xff;
  frame.set(opts.ip, 14);
  return frame;
}

// ---------------------------------------------------------------- parsers

export interface UdpPacket {
  kind: 'udp';
  family: 4 | 6;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** A view into the input bytes (not a copy). */
  payload: Uint8Array;
  /** IPv4 header checksum: 'ok' | 'bad'; null for IPv6 (it has none). */
  ipChecksum: 'ok' | 'bad' | null;
  udpChecksum: UdpChecksumStatus;
  /** Both checksums acceptable: UDP `ok`, `none` (IPv4 only) or `partial` (locally sent, see checksum.ts). */
  checksumOk: boolean;
  /** IPv4 identification, null for IPv6. */
  ipId: number | null;
  /** TTL or hop limit. */
  ttl: number;
}

/** Well-formed but not a UDP datagram we can read (ARP, TCP, an IP fragment, …). */
export interface OtherPacket {
  kind: 'other';
  reason: string;
}

/** Bytes that do not hold what their headers claim. */
export interface MalformedPacket {
  kind: 'malformed';
  reason: string;
}

export type PacketParse = UdpPacket | OtherPacket | MalformedPacket;

const other = (reason: string): OtherPacket => ({ kind: 'other', reason });
const malformed = (reason: string): MalformedPacket => ({ kind: 'malformed', reason });

/**
 * Reads the UDP header of `segment` (trailing bytes past the UDP length are ignored) and verifies its
 * checksum against the given pseudo-header addresses (text or bytes). This is what an IPv6 raw
 * socket needs: it hands over the UDP segment and the source, the destination must come from elsewhere.
 */
export function parseUdpSegment(
  segment: Uint8Array,
  src: string | Uint8Array,
  dst: string | Uint8Array,
  ip: { ipChecksum?: 'ok' | 'bad' | null; ipId?: number | null; ttl?: number } = {},
): UdpPacket | MalformedPacket {
  const srcAddr = typeof src === 'string' ? parseIpAddress(src) : src;
  const dstAddr = typeof dst === 'string' ? parseIpAddress(dst) : dst;
  if (!srcAddr || !dstAddr || srcAddr.length !== dstAddr.length) return malformed('invalid or mixed-family addresses');
  if (segment.length < 8) return malformed(`UDP header truncated (${segment.length} bytes)`);
  const udpLen = (segment[4]! << 8) | segment[5]!;
  if (udpLen < 8) return malformed(`UDP length ${udpLen} below 8`);
  if (udpLen > segment.length) return malformed(`UDP length ${udpLen} exceeds the ${segment.length} bytes present`);
  const seg = segment.subarray(0, udpLen);
  const udp = verifyUdpChecksum(seg, srcAddr, dstAddr);
  const ipChecksum = ip.ipChecksum ?? null;
  return {
    kind: 'udp',
    family: srcAddr.length === 4 ? 4 : 6,
    src: formatIpAddress(srcAddr),
    dst: formatIpAddress(dstAddr),
    srcPort: (seg[0]! << 8) | seg[1]!,
    dstPort: (seg[2]! << 8) | seg[3]!,
    payload: seg.subarray(8),
    ipChecksum,
    udpChecksum: udp,
    checksumOk: udp !== 'bad' && ipChecksum !== 'bad',
    ipId: ip.ipId ?? null,
    ttl: ip.ttl ?? 0,
  };
}

function parseIpv4Packet(b: Uint8Array): PacketParse {
  if (b.length < 20) return malformed(`IPv4 header truncated (${b.length} bytes)`);
  const ihl = (b[0]! & 0x0f) * 4;
  if (ihl < 20) return malformed(`IPv4 header length ${ihl} below 20`);
  const total = (b[2]! << 8) | b[3]!;
  if (total < ihl) return malformed(`IPv4 total length ${total} below header length ${ihl}`);
  if (total > b.length) return malformed(`IPv4 packet truncated (total length ${total}, ${b.length} bytes present)`);
  const ipChecksum = ipv4HeaderChecksumOk(b) ? 'ok' : 'bad';
  const fragField = (b[6]! << 8) | b[7]!;
  const proto = b[9]!;
  if (proto !== 17) return other(`IPv4 protocol ${proto} is not UDP`);
  if ((fragField & 0x3fff) !== 0) return other('IPv4 fragment (not reassembled)');
  return parseUdpSegment(b.subarray(ihl, total), b.subarray(12, 16), b.subarray(16, 20), {
    ipChecksum,
    ipId: (b[4]! << 8) | b[5]!,
    ttl: b[8]!,
  });
}

// Extension headers that only need skipping (hop-by-hop, routing, destination options).
const IPV6_SKIPPABLE = new Set([0, 43, 60]);

function parseIpv6Packet(b: Uint8Array): PacketParse {
  if (b.length < 40) return malformed(`IPv6 header truncated (${b.length} bytes)`);
  const payloadLen = (b[4]! << 8) | b[5]!;
  if (payloadLen === 0) return other('IPv6 jumbogram or empty payload');
  if (40 + payloadLen > b.length) return malformed(`IPv6 packet truncated (payload length ${payloadLen}, ${b.length - 40} bytes present)`);
  const end = 40 + payloadLen;
  let next = b[6]!;
  let off = 40;
  for (let hops = 0; next !== 17; hops++) {
    if (next === 44) return other('IPv6 fragment (not reassembled)');
    if (!IPV6_SKIPPABLE.has(next) || hops > 16) return other(`IPv6 next header ${next} is not UDP`);
    if (off + 8 > end) return malformed('IPv6 extension header truncated');
    const len = (b[off + 1]! + 1) * 8;
    next = b[off]!;
    off += len;
  }
  if (off > end) return malformed('IPv6 extension header truncated');
  return parseUdpSegment(b.subarray(off, end), b.subarray(8, 24), b.subarray(24, 40), { ttl: b[7]! });
}

/** An IPv4 or IPv6 packet (trailing link padding past the IP length is ignored). Never throws. */
export function parseIpPacket(bytes: Uint8Array): PacketParse {
  if (bytes.length === 0) return malformed('empty packet');
  const version = bytes[0]! >> 4;
  if (version === 4) return parseIpv4Packet(bytes);
  if (version === 6) return parseIpv6Packet(bytes);
  return malformed(`IP version ${version} is neither 4 nor 6`);
}

function byEtherType(etherType: number, rest: Uint8Array): PacketParse {
  if (etherType === ETHERTYPE_IPV4 || etherType === ETHERTYPE_IPV6) {
    const r = parseIpPacket(rest);
    const want = etherType === ETHERTYPE_IPV4 ? 4 : 6;
    if (r.kind === 'udp' && r.family !== want) return malformed(`EtherType 0x${etherType.toString(16)} carries IPv${r.family}`);
    return r;
  }
  return other(`EtherType 0x${etherType.toString(16).padStart(4, '0')} is not IP`);
}

function parseEthernet(b: Uint8Array): PacketParse {
  let off = 12;
  if (b.length < off + 2) return malformed(`Ethernet header truncated (${b.length} bytes)`);
  let etherType = (b[off]! << 8) | b[off + 1]!;
  // Skip VLAN tags (802.1Q / QinQ): 4 bytes each.
  for (let tags = 0; ETHERTYPE_VLAN.includes(etherType) && tags < 4; tags++) {
    off += 4;
    if (b.length < off + 2) return malformed('VLAN tag truncated');
    etherType = (b[off]! << 8) | b[off + 1]!;
  }
  if (etherType < 0x0600) return other('IEEE 802.3 length frame (not Ethernet II)');
  return byEtherType(etherType, b.subarray(off + 2));
}

/** A captured frame of the given pcap link type down to its UDP payload. Never throws. */
export function parseFrame(bytes: Uint8Array, linkType: number): PacketParse {
  switch (linkType) {
    case LinkType.ETHERNET:
      return parseEthernet(bytes);
    case LinkType.RAW:
    case LinkType.RAW_DLT12:
    case LinkType.RAW_DLT14:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return parseIpPacket(bytes);
    case LinkType.NULL:
    case LinkType.LOOP:
      if (bytes.length < 4) return malformed('loopback header truncated');
      return parseIpPacket(bytes.subarray(4));
    case LinkType.LINUX_SLL:
      if (bytes.length < 16) return malformed(`Linux cooked header truncated (${bytes.length} bytes)`);
      return byEtherType((bytes[14]! << 8) | bytes[15]!, bytes.subarray(16));
    case LinkType.LINUX_SLL2:
      if (bytes.length < 20) return malformed(`Linux cooked v2 header truncated (${bytes.length} bytes)`);
      return byEtherType((bytes[0]! << 8) | bytes[1]!, bytes.subarray(20));
    default:
      return other(`link type ${linkType} not supported`);
  }
}
