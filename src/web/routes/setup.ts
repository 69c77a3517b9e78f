// GET /api/setup: what a kernel needs to send here (the UDP listeners and this machine's own
// addresses), so the dashboard's empty state can print the exact netconsole= line and configfs steps.
import { networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';

export interface UdpListenerInfo { host: string; port: number }

/** Non-loopback addresses of this machine, IPv4 first: the candidates for a wildcard listener. */
function ownAddresses(): string[] {
  const out: { address: string; v4: boolean }[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80'))) out.push({ address: a.address, v4: a.family === 'IPv4' });
  }
  return out.sort((a, b) => Number(b.v4) - Number(a.v4)).map((a) => a.address);
}

export function registerSetupRoute(app: FastifyInstance, udp: () => UdpListenerInfo[]): void {
  app.get('/api/setup', async () => ({ udp: udp(), addresses: ownAddresses() }));
}
