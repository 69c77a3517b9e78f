// syslog over UDP (RFC 5426): one datagram per record, from one connected socket (the name is
// resolved once, and the kernel reports a closed port as ECONNREFUSED on a later send, which is
// counted as dropped.send_error). Messages above the size limit are truncated (counted). Sends in
// flight are bounded, so a burst waits in the bounded queue rather than in libuv's.
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { Destination, errorCode } from './destination.js';

const MAX_SENDS_IN_FLIGHT = 64;

export class UdpDestination extends Destination {
  private socket: dgram.Socket | null = null;

  start(): void {
    if (this.socket || this.closing) return;
    lookup(this.target.host).then(
      ({ address, family }) => {
        if (this.closing) return;
        const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
        this.socket = s;
        s.on('error', (err) => this.fail(s, errorCode(err)));
        s.connect(this.target.port, address, () => this.onConnected());
      },
      (err) => this.onDisconnected(errorCode(err)),
    );
  }

  private fail(s: dgram.Socket, why: string): void {
    if (this.socket !== s) return;
    this.socket = null;
    try { s.close(); } catch { /* already closed */ }
    this.onDisconnected(why);
  }

  protected pump(): void {
    const s = this.socket;
    if (!this.connected || !s) return;
    while (this.waiting() > 0 && this.inflight < MAX_SENDS_IN_FLIGHT) {
      const f = this.format(this.next()!);
      this.inflight++;
      s.send(f.bytes, (err) => {
        this.inflight--;
        if (err) this.dropped.send_error++;
        else this.sent++;
        this.pump();
      });
    }
  }

  protected async shutdown(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    this.connected = false;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
