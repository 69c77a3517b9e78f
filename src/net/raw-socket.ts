// Raw-socket adapters: receive UDP with its IP/UDP headers so checksums can be verified here
// (a dgram socket never sees a bad-checksum datagram: the kernel drops it), and send
// header-included IPv4/IPv6 packets built by src/netconsole/packet.ts (source may be spoofed).
//
// Limits (Linux):
// - One raw socket per family sees every UDP packet the host receives; ports are filtered here.
// - IPv4: the packet arrives with its IP header, so both checksums are verified exactly.
// - IPv6: only the UDP segment and the source arrive. The destination, which the UDP checksum
//   covers, is taken from `ipv6Destinations` (default: this host's IPv6 addresses); a packet is good
//   when it verifies against one of them. Datagrams to other destinations (multicast) count as bad.
// - Sending IPv4: the kernel always rewrites the total length and header checksum, and replaces an
//   IP id of 0 by its own (so at the 16-bit counter's wrap the id differs from netpoll's).
// - Sending goes through the routing table: L2 is the kernel's (no broadcast MAC as netpoll uses).
// - Datagrams sent by a normal socket on this host (loopback) carry only the pseudo-header sum
//   (checksum offload never ran): udpChecksum 'partial', accepted as checksumOk.
// - raw-socket reads one packet per event-loop turn and calls back outside node's callback scope
//   (see drainMicrotasksSoon); its queued send() can hang, so sending calls sendto() directly.
import { parseIpAddress, parseIpPacket, parseUdpSegment, formatIpAddress, type UdpPacket } from '../netconsole/packet.js';
import { createNativeRawSocket, IPPROTO_RAW, IPPROTO_UDP, SO_RCVBUF, SO_RCVBUFFORCE, SOL_SOCKET, type NativeRawSocket } from './raw-binding.js';
import { describeRawSocketError, RawSocketError } from './raw-errors.js';
import { localIpv6Addresses } from './local-addresses.js';

export { RAW_CAPABILITY_HINT, RawSocketError, describeRawSocketError, isPermissionError } from './raw-errors.js';

export interface RawUdpReceiverOptions {
  family: 4 | 6;
  /** Destination ports to keep (empty: all UDP). */
  ports: number[];
  /**
   * Every UDP packet to one of `ports`, good or bad: the caller drops and counts the ones with
   * `checksumOk === false`. `payload` is the receiver's own copy.
   */
  onPacket(packet: UdpPacket): void;
  /** A packet to one of `ports` whose headers do not add up (e.g. UDP length beyond the packet). */
  onMalformed?(reason: string, source: string): void;
  /** Socket errors after opening (the socket is closed by then). */
  onError?(err: RawSocketError): void;
  /** IPv6 only: destinations to verify against. Default: this host's IPv6 addresses, re-read on a miss. */
  ipv6Destinations?: string[];
  /** SO_RCVBUF to ask for; default 8 MiB. */
  receiveBufferBytes?: number;
}

export interface RawUdpReceiver {
  readonly family: 4 | 6;
  /** What the kernel granted for SO_RCVBUF (Linux reports twice the requested value). */
  readonly receiveBufferBytes: number;
  close(): void;
}

const DEFAULT_RCVBUF = 8 * 1024 * 1024;
const ADDRESS_REFRESH_MS = 5000;

function setReceiveBuffer(sock: NativeRawSocket, bytes: number): number {
  // SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN; otherwise the capped SO_RCVBUF.
  try {
    sock.setOption(SOL_SOCKET, SO_RCVBUFFORCE, bytes);
  } catch {
    try {
      sock.setOption(SOL_SOCKET, SO_RCVBUF, bytes);
    } catch {
      // keep the default buffer
    }
  }
  try {
    const out = Buffer.alloc(4);
    sock.getOption(SOL_SOCKET, SO_RCVBUF, out, 4);
    return out.readInt32LE(0);
  } catch {
    return 0;
  }
}

/** Destination port of a raw IPv4 packet or UDP segment, read without a full parse; -1 if too short. */
function peekDstPort(bytes: Uint8Array, family: 4 | 6): number {
  const off = family === 4 ? ((bytes[0] ?? 0) & 0x0f) * 4 : 0;
  if (bytes.length < off + 4) return -1;
  return (bytes[off + 2]! << 8) | bytes[off + 3]!;
}

/** Verifies an IPv6 UDP segment against each candidate destination; the first that verifies wins. */
class Ipv6DestinationGuesser {
  private candidates: Uint8Array[];
  private refreshedAt = 0;

  constructor(private readonly fixed: string[] | undefined) {
    this.candidates = this.load();
  }

  private load(): Uint8Array[] {
    const texts = this.fixed ?? localIpv6Addresses();
    const out: Uint8Array[] = [];
    for (const t of texts) {
      const b = parseIpAddress(t);
      if (!b || b.length !== 16) throw new RawSocketError(`invalid IPv6 destination address: ${JSON.stringify(t)}`);
      out.push(b);
    }
    return out;
  }

  parse(segment: Uint8Array, source: string): ReturnType<typeof parseUdpSegment> {
    const first = this.tryAll(segment, source);
    if (first.kind === 'udp' && first.udpChecksum === 'bad' && !this.fixed && Date.now() - this.refreshedAt > ADDRESS_REFRESH_MS) {
      // Maybe an address was added since: re-read them, at most every few seconds.
      this.refreshedAt = Date.now();
      this.candidates = this.load();
      return this.tryAll(segment, source);
    }
    return first;
  }

  private tryAll(segment: Uint8Array, source: string): ReturnType<typeof parseUdpSegment> {
    let result: ReturnType<typeof parseUdpSegment> | null = null;
    for (const dst of this.candidates) {
      result = parseUdpSegment(segment, source, dst);
      if (result.kind !== 'udp' || result.udpChecksum !== 'bad') return result;
    }
    return result ?? parseUdpSegment(segment, source, new Uint8Array(16));
  }
}

/**
 * Opens a raw UDP receiver for one address family. Throws RawSocketError (one line; the
 * CAP_NET_RAW hint when not permitted). Keeps the event loop alive until close().
 */
export function openRawUdpReceiver(opts: RawUdpReceiverOptions): RawUdpReceiver {
  const { family } = opts;
  if (family !== 4 && family !== 6) throw new RawSocketError(`invalid address family: ${String(family)}`);
  for (const p of opts.ports) if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new RawSocketError(`invalid port: ${p}`);
  const ports = new Set(opts.ports);
  const guesser = family === 6 ? new Ipv6DestinationGuesser(opts.ipv6Destinations) : null;
  const sock = createNativeRawSocket(family, IPPROTO_UDP, 65536);
  const granted = setReceiveBuffer(sock, opts.receiveBufferBytes ?? DEFAULT_RCVBUF);
  let closed = false;
  // raw-socket emits outside node's callback scope, so microtasks queued by the handler (promise
  // continuations) would not run until some other event; one pending setImmediate makes them run.
  let drainPending = false;
  const drainMicrotasksSoon = (): void => {
    if (drainPending) return;
    drainPending = true;
    setImmediate(() => {
      drainPending = false;
    });
  };

  sock.on('message', (buffer, source) => {
    drainMicrotasksSoon();
    const port = peekDstPort(buffer, family);
    if (ports.size > 0 && !ports.has(port)) return;
    const r = family === 4 ? parseIpPacket(buffer) : guesser!.parse(buffer, source);
    try {
      if (r.kind === 'udp') {
        // raw-socket reuses its receive buffer for the next packet: hand out a copy.
        opts.onPacket({ ...r, payload: new Uint8Array(r.payload) });
      } else if (r.kind === 'malformed' && port >= 0) {
        opts.onMalformed?.(r.reason, source);
      }
    } catch (err) {
      // A throwing handler must not look like a socket failure (raw-socket would report it as one).
      opts.onError?.(new RawSocketError(`raw packet handler failed: ${err instanceof Error ? err.message : String(err)}`));
    }
  });
  sock.on('error', (err) => {
    if (closed) return;
    closed = true;
    sock.close();
    opts.onError?.(describeRawSocketError(err, `receive on the IPv${family} raw socket`));
  });

  return {
    family,
    receiveBufferBytes: granted,
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}

export interface RawUdpSender {
  readonly family: 4 | 6;
  /**
   * Sends a complete IPv4/IPv6 packet (header included, as built by buildIpv4Udp/buildIpv6Udp).
   * `dstAddress` defaults to the packet's own destination. Resolves with the bytes sent; rejects
   * with a one-line RawSocketError (no route, ENOBUFS, …) that the caller counts, not dies of.
   */
  send(ipPacket: Uint8Array, dstAddress?: string): Promise<number>;
  close(): void;
}

function packetDestination(pkt: Uint8Array, family: 4 | 6): string {
  const version = (pkt[0] ?? 0) >> 4;
  if (version !== family) throw new RawSocketError(`packet is IPv${version}, the raw sender is IPv${family}`);
  const [off, len] = family === 4 ? [16, 4] : [24, 16];
  if (pkt.length < off + len) throw new RawSocketError(`IPv${family} packet too short (${pkt.length} bytes)`);
  return formatIpAddress(pkt.subarray(off, off + len));
}

/** Opens a header-included raw sender (IPPROTO_RAW). Throws RawSocketError like openRawUdpReceiver. */
export function openRawUdpSender(opts: { family: 4 | 6 }): RawUdpSender {
  const { family } = opts;
  if (family !== 4 && family !== 6) throw new RawSocketError(`invalid address family: ${String(family)}`);
  const sock = createNativeRawSocket(family, IPPROTO_RAW, 16);
  // An IPPROTO_RAW socket never receives and we send synchronously: no watcher holds the event loop.
  sock.pauseRecv();
  let closed = false;
  sock.on('error', () => {
    closed = true;
  });
  return {
    family,
    send(ipPacket, dstAddress) {
      return new Promise((resolve, reject) => {
        try {
          if (closed) throw new RawSocketError(`the IPv${family} raw sender is closed`);
          const dst = dstAddress ?? packetDestination(ipPacket, family);
          const buf = Buffer.from(ipPacket.buffer, ipPacket.byteOffset, ipPacket.byteLength);
          if (parseIpAddress(dst)?.length !== (family === 4 ? 4 : 16)) throw new RawSocketError(`invalid IPv${family} destination: ${JSON.stringify(dst)}`);
          // Straight to the native sendto(): raw-socket's queued send() waits for a writable event
          // from its poll watcher, which was seen to never arrive (the promise then hangs).
          // A full socket buffer (EAGAIN/ENOBUFS) rejects; the caller counts it.
          let sent = -1;
          sock.wrap.send(buf, 0, buf.length, dst, (bytes) => {
            sent = bytes;
          });
          resolve(sent);
        } catch (err) {
          reject(describeRawSocketError(err, `send an IPv${family} packet`));
        }
      });
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}
