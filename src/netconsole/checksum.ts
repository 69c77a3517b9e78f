// Internet checksums (RFC 1071) as netpoll computes them: the IPv4 header checksum and the UDP
// checksum over the IPv4/IPv6 pseudo-header. Pure functions over bytes.

/**
 * Adds the big-endian 16-bit words of `bytes[start, end)` to `acc` (an odd last byte counts as its
 * high half). The result is not folded; callers fold once at the end. Safe for any packet size:
 * 32 KiB words of at most 0xffff stay far below 2^53.
 */
export function sumWords(bytes: Uint8Array, start = 0, end = bytes.length, acc = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) acc += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) acc += bytes[i]! << 8;
  return acc;
}

/** Folds carries back into 16 bits (one's-complement addition). */
export function foldSum(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/** One's complement of the folded sum: the value a checksum field carries. */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return ~foldSum(sumWords(bytes, start, end)) & 0xffff;
}

/** IPv4 header checksum of `header` (its IHL*4 bytes), computed as if the checksum field were 0. */
export function ipv4HeaderChecksum(header: Uint8Array): number {
  const ihl = ((header[0] ?? 0) & 0x0f) * 4;
  const end = Math.min(ihl, header.length);
  const stored = end >= 12 ? (header[10]! << 8) | header[11]! : 0;
  // Subtracting the stored field equals summing with it zeroed: add its one's-complement negation.
  return ~foldSum(sumWords(header, 0, end) + (~stored & 0xffff)) & 0xffff;
}

/** True when the stored IPv4 header checksum is right (sum over the whole header folds to 0xffff). */
export function ipv4HeaderChecksumOk(header: Uint8Array): boolean {
  const ihl = ((header[0] ?? 0) & 0x0f) * 4;
  if (ihl < 20 || header.length < ihl) return false;
  return foldSum(sumWords(header, 0, ihl)) === 0xffff;
}

/** Sum of the pseudo-header words: addresses (4 or 16 bytes each), protocol 17, UDP length. */
function pseudoHeaderSum(srcAddr: Uint8Array, dstAddr: Uint8Array, udpLength: number): number {
  // IPv4 has a 16-bit length and IPv6 a 32-bit one; as words both are (length >> 16) + (length & 0xffff).
  return sumWords(srcAddr) + sumWords(dstAddr) + 17 + (udpLength >>> 16) + (udpLength & 0xffff);
}

/**
 * The UDP checksum to transmit for `segment` (UDP header + payload; its checksum field is treated
 * as 0) between the given raw addresses. A computed 0 is returned as 0xffff (CSUM_MANGLED_0), as
 * the kernel sends it for IPv4 and IPv6 alike.
 */
export function udpChecksum(segment: Uint8Array, srcAddr: Uint8Array, dstAddr: Uint8Array): number {
  const stored = segment.length >= 8 ? (segment[6]! << 8) | segment[7]! : 0;
  const acc = pseudoHeaderSum(srcAddr, dstAddr, segment.length) + sumWords(segment) + (~stored & 0xffff);
  const sum = ~foldSum(acc) & 0xffff;
  return sum === 0 ? 0xffff : sum;
}

/**
 * - `ok`: verifies.
 * - `none`: an IPv4 checksum field of 0 (the sender computed none; legal).
 * - `partial`: the field holds only the pseudo-header sum, i.e. checksum offload had not filled it
 *   in yet: a packet seen on the host that sent it (loopback, or tcpdump on the sender). Linux
 *   delivers such local packets as valid; netpoll never produces them (it checksums in software).
 * - `bad`: anything else (and 0 on IPv6, RFC 8200 §8.1).
 */
export type UdpChecksumStatus = 'ok' | 'none' | 'partial' | 'bad';

/** Verifies the checksum stored in `segment` (exactly the UDP length's bytes). */
export function verifyUdpChecksum(segment: Uint8Array, srcAddr: Uint8Array, dstAddr: Uint8Array): UdpChecksumStatus {
  if (segment.length < 8) return 'bad';
  const stored = (segment[6]! << 8) | segment[7]!;
  const ipv6 = srcAddr.length === 16;
  if (stored === 0) return ipv6 ? 'bad' : 'none';
  const pseudo = pseudoHeaderSum(srcAddr, dstAddr, segment.length);
  if (foldSum(pseudo + sumWords(segment)) === 0xffff) return 'ok';
  // CHECKSUM_PARTIAL: the kernel stores ~csum_tcpudp_magic(...) = the folded pseudo-header sum.
  return stored === foldSum(pseudo) ? 'partial' : 'bad';
}
