// Who may send, and how much: the UDP allow-list (CIDR, IPv4 and IPv6) and per-source token
// buckets for datagrams and bytes per second. A flood from one source must not starve the others.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';

export function parseAllowList(cidrs: string[]): BlockList | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
    const max = type === 'ipv4' ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!type || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new UsageError(`--allow '${c}' is not a CIDR such as 10.0.0.0/8 or fd00::/8`);
    }
    list.addSubnet(addr, prefix, type);
  }
  return list;
}

export function isAllowed(list: BlockList, address: string): boolean {
  if (isIPv4(address)) return list.check(address, 'ipv4');
  // IPv4-mapped IPv6 (dual-stack sockets) is checked as the IPv4 it is.
  if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) return list.check(address.slice(7), 'ipv4') || list.check(address, 'ipv6');
  return list.check(address, 'ipv6');
}

export interface SourceLimits {
  /** Datagrams per second per source (burst = one second's worth); 0 = unlimited. */
  datagramsPerSec: number;
  /** Bytes per second per source; 0 = unlimited. */
  bytesPerSec: number;
}

/** A token bucket pair, kept inline in each source's counters to avoid another map lookup. */
export class SourceBucket {
  private datagrams: number;
  private bytes: number;
  private at: number;

  constructor(private readonly limits: SourceLimits, now: number) {
    this.datagrams = limits.datagramsPerSec;
    this.bytes = limits.bytesPerSec;
    this.at = now;
  }

  /** Takes one datagram of `size` bytes; false when a limit refuses it. */
  take(size: number, now: number): boolean {
    const { datagramsPerSec: dps, bytesPerSec: bps } = this.limits;
    const dt = (now - this.at) / 1000;
    if (dt > 0) {
      this.at = now;
      if (dps) this.datagrams = Math.min(dps, this.datagrams + dt * dps);
      if (bps) this.bytes = Math.min(bps, this.bytes + dt * bps);
    }
    if ((dps && this.datagrams < 1) || (bps && this.bytes < size)) return false;
    if (dps) this.datagrams -= 1;
    if (bps) this.bytes -= size;
    return true;
  }
}
