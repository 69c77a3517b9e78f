// This host's IPv6 addresses: candidates for the destination of a packet an IPv6 raw socket
// received (it reports only the source, but the UDP checksum covers the destination too).
import { networkInterfaces } from 'node:os';

export function localIpv6Addresses(): string[] {
  const out = new Set<string>(['::1']);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv6') out.add(a.address.split('%')[0]!);
  }
  return [...out];
}
