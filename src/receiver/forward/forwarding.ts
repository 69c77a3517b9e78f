// `--forward` (repeatable): every stored record goes to each destination as RFC 5424. serve hands
// over the rows of each committed batch (push); each destination queues and sends on its own.
import type { Logger } from 'pino';
import type { StoredMessage } from '../store/types.js';
import { Destination, type DestinationOptions, type DestinationStats, type ForwardDropReason } from './destination.js';
import type { ForwardTarget } from './target.js';
import { TcpDestination } from './tcp.js';
import { UdpDestination } from './udp.js';

/** /api/stats `forward`: totals over the destinations, and each one. */
export interface ForwardStats {
  sent: number;
  dropped: Record<ForwardDropReason, number>;
  queue_depth: number;
  /** Destinations connected. */
  connected: number;
  truncated: number;
  destinations: DestinationStats[];
}

export class Forwarding {
  private readonly destinations: Destination[];
  private readonly logger: Logger;
  private faultLogged = false;

  constructor(targets: readonly ForwardTarget[], opts: DestinationOptions & { logger: Logger }) {
    this.logger = opts.logger;
    this.destinations = targets.map((t) => (t.transport === 'tcp' ? new TcpDestination(t, opts) : new UdpDestination(t, opts)));
    for (const d of this.destinations) d.start();
  }

  /** Runs on the rows of each committed batch: a fault here must never reach storage. */
  push(rows: readonly StoredMessage[]): void {
    for (const d of this.destinations) {
      try {
        d.push(rows);
      } catch (err) {
        if (!this.faultLogged) this.logger.error({ err: (err as Error).message, forward: d.target.url }, `forward ${d.target.url}: ${(err as Error).message} (records not forwarded; storage goes on)`);
        this.faultLogged = true;
      }
    }
  }

  stats(): ForwardStats {
    const destinations = this.destinations.map((d) => d.stats());
    const dropped: Record<ForwardDropReason, number> = { queue_full: 0, disconnected: 0, send_error: 0, closed: 0 };
    let sent = 0, queue = 0, connected = 0, truncated = 0;
    for (const d of destinations) {
      sent += d.sent;
      queue += d.queue_depth;
      truncated += d.truncated;
      if (d.connected) connected++;
      for (const k of Object.keys(dropped) as ForwardDropReason[]) dropped[k] += d.dropped[k];
    }
    return { sent, dropped, queue_depth: queue, connected, truncated, destinations };
  }

  /** Gives each destination up to graceMs to send what waits, then closes it. */
  async close(graceMs: number): Promise<void> {
    await Promise.all(this.destinations.map((d) => d.close(graceMs)));
  }
}
