// /metrics for `--forward`: one series per destination (labelled by its URL), read from the
// snapshot a scrape takes.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ForwardStats } from '../../receiver/forward/forwarding.js';
import type { DestinationStats } from '../../receiver/forward/destination.js';

export function registerForwardMetrics(registry: Registry, read: () => ForwardStats | undefined): void {
  const each = (f: (d: DestinationStats) => void) => { for (const d of read()?.destinations ?? []) f(d); };
  new Counter({
    name: 'netconsole_forward_sent_total', help: 'Records forwarded as syslog (handed to the kernel), by destination', labelNames: ['destination'], registers: [registry],
    collect() { this.reset(); each((d) => this.inc({ destination: d.url }, d.sent)); },
  });
  new Counter({
    name: 'netconsole_forward_dropped_total', help: 'Records not forwarded, by destination and reason (queue_full, disconnected, send_error, closed)', labelNames: ['destination', 'reason'], registers: [registry],
    collect() { this.reset(); each((d) => { for (const [reason, n] of Object.entries(d.dropped)) this.inc({ destination: d.url, reason }, n); }); },
  });
  new Counter({
    name: 'netconsole_forward_truncated_total', help: 'Records forwarded shortened to the destination\'s size limit', labelNames: ['destination'], registers: [registry],
    collect() { this.reset(); each((d) => this.inc({ destination: d.url }, d.truncated)); },
  });
  new Counter({
    name: 'netconsole_forward_reconnects_total', help: 'Connections to a forwarding destination after the first', labelNames: ['destination'], registers: [registry],
    collect() { this.reset(); each((d) => this.inc({ destination: d.url }, d.reconnects)); },
  });
  new Gauge({
    name: 'netconsole_forward_queue_depth', help: 'Records waiting to be forwarded, by destination', labelNames: ['destination'], registers: [registry],
    collect() { this.reset(); each((d) => this.set({ destination: d.url }, d.queue_depth)); },
  });
  new Gauge({
    name: 'netconsole_forward_connected', help: '1 while the destination is connected (UDP: its socket is set up)', labelNames: ['destination'], registers: [registry],
    collect() { this.reset(); each((d) => this.set({ destination: d.url }, d.connected ? 1 : 0)); },
  });
}
