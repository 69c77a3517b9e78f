// The ordinary transport: a dgram socket bound to the netconsole source port (6665 by default),
// one socket per (family, source address, source port) so several targets and simulated hosts can
// each keep their own source.
import dgram from 'node:dgram';
import type { Route, Transport } from './transport.js';

export class UdpTransport implements Transport {
  private readonly sockets = new Map<string, Promise<dgram.Socket>>();
  private readonly bound = new Map<string, string>();

  private key(route: Route): string {
    return `${route.family}|${route.srcIp ?? ''}|${route.srcPort}|${route.srcPort === 0 ? (route.slot ?? 0) : ''}`;
  }

  sourceAddress(route: Route): string | undefined {
    return this.bound.get(this.key(route));
  }

  private socketFor(route: Route): Promise<dgram.Socket> {
    const key = this.key(route);
    let s = this.sockets.get(key);
    if (!s) {
      s = new Promise<dgram.Socket>((resolve, reject) => {
        const sock = dgram.createSocket({ type: route.family === 6 ? 'udp6' : 'udp4', reuseAddr: false });
        const onError = (err: Error): void => {
          sock.close();
          const where = `${route.srcIp ?? (route.family === 6 ? '::' : '0.0.0.0')}:${route.srcPort}`;
          reject(new Error(`cannot bind UDP source ${where}: ${(err as NodeJS.ErrnoException).code ?? err.message} (choose another --source-port)`));
        };
        sock.once('error', onError);
        sock.bind({ port: route.srcPort, address: route.srcIp, exclusive: true }, () => {
          sock.off('error', onError);
          // Asynchronous socket errors after binding are per-send and reported through send callbacks.
          sock.on('error', () => undefined);
          const a = sock.address();
          this.bound.set(key, a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
          resolve(sock);
        });
      });
      this.sockets.set(key, s);
    }
    return s;
  }

  /** Binds every source up front so a port conflict is reported before anything is sent. */
  async prepare(routes: Route[]): Promise<void> {
    await Promise.all(routes.map((r) => this.socketFor(r)));
  }

  async send(payload: Buffer, route: Route): Promise<void> {
    const sock = await this.socketFor(route);
    await new Promise<void>((resolve, reject) => {
      sock.send(payload, route.port, route.host, (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    const all = [...this.sockets.values()];
    this.sockets.clear();
    for (const p of all) {
      try {
        const s = await p;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      } catch {
        // never bound: nothing to close
      }
    }
  }
}
