// The raw transport: builds IPv4/IPv6 + UDP exactly as netpoll does (src/netconsole/packet.ts:
// TTL 64 / hop limit 32, DF clear, checksum with 0 sent as 0xFFFF, one IP id counter for all
// targets starting at 1) and sends it header-included, so the source address can be anything
// (simulated hosts, spoofing for tests). `corruptRate` spoils that share of UDP checksums.
import { networkInterfaces } from 'node:os';
import { buildIpv4Udp, buildIpv6Udp } from '../netconsole/packet.js';
import { openRawUdpSender, type RawUdpSender } from '../net/raw-socket.js';
import type { Route, Transport } from './transport.js';

/** A local address of the family to use as source when none was given. */
function defaultSource(route: Route): string {
  if (route.family === 4 && route.host.startsWith('127.')) return '127.0.0.1';
  if (route.family === 6 && route.host === '::1') return '::1';
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (route.family === 4 && a.family === 'IPv4') return a.address;
      if (route.family === 6 && a.family === 'IPv6' && !a.address.startsWith('fe80')) return a.address;
    }
  }
  return route.family === 4 ? '127.0.0.1' : '::1';
}

export class RawTransport implements Transport {
  private readonly senders = new Map<4 | 6, RawUdpSender>();
  private ipId = 0;
  corrupted = 0;

  constructor(private readonly corruptRate = 0, private readonly random: () => number = Math.random) {
    if (!(corruptRate >= 0 && corruptRate <= 1)) throw new Error(`invalid --corrupt-checksum rate ${corruptRate}: must be 0..1`);
  }

  /** Opens the raw sockets needed now, so a missing CAP_NET_RAW is reported before starting. */
  prepare(routes: Route[]): void {
    for (const r of routes) this.sender(r.family);
  }

  private sender(family: 4 | 6): RawUdpSender {
    let s = this.senders.get(family);
    if (!s) {
      s = openRawUdpSender({ family });
      this.senders.set(family, s);
    }
    return s;
  }

  async send(payload: Buffer, route: Route): Promise<void> {
    const spec = { src: route.srcIp ?? defaultSource(route), dst: route.host, srcPort: route.srcPort, dstPort: route.port, payload };
    let pkt: Uint8Array;
    let csumAt: number;
    if (route.family === 4) {
      this.ipId = (this.ipId + 1) & 0xffff;
      pkt = buildIpv4Udp({ ...spec, ipId: this.ipId });
      csumAt = 20 + 6;
    } else {
      pkt = buildIpv6Udp(spec);
      csumAt = 40 + 6;
    }
    if (this.corruptRate > 0 && this.random() < this.corruptRate) {
      // Flip bits but never produce 0 (which means "no checksum" on IPv4, i.e. not a bad one).
      let bad = ((pkt[csumAt] << 8) | pkt[csumAt + 1]) ^ 0x5a5a;
      if (bad === 0) bad = 0x0101;
      pkt[csumAt] = bad >> 8;
      pkt[csumAt + 1] = bad & 0xff;
      this.corrupted++;
    }
    await this.sender(route.family).send(pkt);
  }

  sourceAddress(route: Route): string {
    const ip = route.srcIp ?? defaultSource(route);
    return route.family === 6 ? `[${ip}]:${route.srcPort}` : `${ip}:${route.srcPort}`;
  }

  async close(): Promise<void> {
    for (const s of this.senders.values()) s.close();
    this.senders.clear();
  }
}
