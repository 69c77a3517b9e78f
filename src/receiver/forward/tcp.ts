// syslog over TCP (RFC 6587, octet counting): one connection, records written in chunks of many
// frames while the socket takes them (its 'drain' resumes), reconnected with backoff when it drops.
// Delivery is at most once: a record is never written twice. Records still in node's buffer when a
// connection breaks are counted (dropped.disconnected); those already in the kernel's buffers are
// not resent and cannot be counted, since syslog over TCP has no acknowledgement (RFC 6587 §4).
import net from 'node:net';
import { Destination, errorCode } from './destination.js';
import { octetCounted, octetCountedText, rfc5424Text } from './rfc5424.js';

/** One write() holds at most this many records or (about) characters or octets. */
const CHUNK_RECORDS = 512;
const CHUNK_BYTES = 64 * 1024;
/** A connection attempt is given up after this long. */
const CONNECT_TIMEOUT_MS = 10_000;

export class TcpDestination extends Destination {
  private socket: net.Socket | null = null;

  start(): void {
    if (this.socket || this.closing) return;
    const s = net.connect({ host: this.target.host, port: this.target.port });
    this.socket = s;
    let problem = '';
    s.setNoDelay(true);
    // A receiver that vanishes without closing is noticed by keepalive instead of never.
    s.setKeepAlive(true, 30_000);
    s.setTimeout(CONNECT_TIMEOUT_MS, () => s.destroy(new Error('connect timed out')));
    s.once('connect', () => {
      s.setTimeout(0);
      this.onConnected();
    });
    // The receiver never talks; reading is what lets its close (FIN) be seen at once.
    s.on('data', () => {});
    s.on('drain', () => this.pump());
    s.on('error', (err) => { problem = errorCode(err); });
    s.on('close', () => {
      if (this.socket === s) this.socket = null;
      this.onDisconnected(problem || 'closed by the receiver');
    });
  }

  protected pump(): void {
    const s = this.socket;
    if (!this.connected || !s || !s.writable || s.writableNeedDrain) return;
    while (this.waiting() > 0) {
      // Many frames per write; without a size limit they are built as one string and encoded once.
      let n = 0;
      let chunk: Buffer;
      if (this.target.maxBytes === 0) {
        let text = '';
        for (let row; n < CHUNK_RECORDS && text.length < CHUNK_BYTES && (row = this.next()); n++) text += octetCountedText(rfc5424Text(row, this.target.bom));
        chunk = Buffer.from(text, 'utf8');
      } else {
        const parts: Buffer[] = [];
        for (let row, size = 0; n < CHUNK_RECORDS && size < CHUNK_BYTES && (row = this.next()); n++) {
          const f = this.format(row).bytes;
          parts.push(...octetCounted(f));
          size += f.length;
        }
        chunk = Buffer.concat(parts);
      }
      this.inflight += n;
      const more = s.write(chunk, (err) => {
        this.inflight -= n;
        if (err) this.dropped.disconnected += n;
        else this.sent += n;
      });
      if (!more) break;
    }
  }

  protected async shutdown(): Promise<void> {
    const s = this.socket;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    s.end();
    const timer = setTimeout(() => s.destroy(), 1000);
    await closed;
    clearTimeout(timer);
  }
}
