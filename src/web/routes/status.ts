// GET /api/stats, GET /healthz and GET /metrics (Prometheus text via prom-client).
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { LiveHub } from '../live.js';
import type { StoreQueries } from '../../receiver/store/port.js';
import type { HealthReport, ReceiverStats } from '../types.js';
import { registerForwardMetrics } from './forward-metrics.js';

/** An optional numeric stat (0 when the receiver does not report it). */
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** A counter whose value is read from the receiver's own totals at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset();
      this.inc(Math.max(0, read()));
    },
  });
}

function mirroredGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
}

/** The registry, and `refresh()` to take the one stats() snapshot a scrape reads. */
export function buildMetrics(stats: () => ReceiverStats, live: LiveHub): { registry: Registry; refresh(): void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'netconsole_hub_' });
  // stats() is read once per scrape, not once per metric.
  let snapshot: ReceiverStats | null = null;
  const s = (): ReceiverStats => (snapshot ??= stats());
  mirroredCounter(registry, 'netconsole_datagrams_total', 'UDP datagrams received', () => s().datagrams);
  mirroredCounter(registry, 'netconsole_bytes_total', 'UDP payload bytes received', () => s().bytes);
  mirroredCounter(registry, 'netconsole_records_total', 'Kernel log records produced by the pipeline', () => s().records);
  mirroredCounter(registry, 'netconsole_gaps_total', 'Sequence gaps (lost record ranges) detected', () => s().gaps);
  mirroredCounter(registry, 'netconsole_bad_packets_total', 'Datagrams that could not be parsed', () => s().bad_packets);
  mirroredCounter(registry, 'netconsole_checksum_errors_total', 'Packets with a wrong IP or UDP checksum (raw capture)', () => s().checksum_errors);
  mirroredCounter(registry, 'netconsole_rechecks_total', 'Records whose seq fell back (replay, copy or new boot), judged against the stored rows', () => Number(s().rechecks ?? 0));
  mirroredCounter(registry, 'netconsole_duplicates_total', 'Records equal to one already stored for the source and boot: counted, not stored again', () => Number(s().duplicates ?? 0));
  mirroredCounter(registry, 'netconsole_reassembly_timeouts_total', 'Fragmented records completed by timeout', () => s().reassembly_timeouts);
  new Counter({
    name: 'netconsole_dropped_total', help: 'Datagrams or records refused by a bound, by reason', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(s().dropped)) this.inc({ reason }, Math.max(0, n));
    },
  });
  new Counter({
    name: 'netconsole_bad_fragments_total', help: 'ncfrag fragments refused by reassembly (stored as flagged records), by reason', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      const by = s().bad_fragments;
      if (typeof by === 'object') for (const [reason, n] of Object.entries(by)) this.inc({ reason }, Math.max(0, n));
    },
  });
  mirroredGauge(registry, 'netconsole_queue_depth', 'Records waiting for the storage writer', () => s().queue_depth);
  mirroredGauge(registry, 'netconsole_spool_bytes', 'Bytes of the disk spool (records waiting on disk while storage catches up)', () => num(s().spool_bytes));
  mirroredGauge(registry, 'netconsole_spool_records', 'Records and events waiting in the disk spool', () => num(s().spool_records));
  mirroredGauge(registry, 'netconsole_spool_oldest_age_seconds', 'Age of the oldest record in the disk spool (0 when empty)', () => num(s().spool_oldest_age_ms) / 1000);
  mirroredGauge(registry, 'netconsole_spool_drain_records_per_second', 'Spooled records stored per second (last 5 s)', () => num(s().spool_drain_per_sec));
  mirroredCounter(registry, 'netconsole_spooled_records_total', 'Records and events written to the disk spool', () => num(s().spooled));
  mirroredCounter(registry, 'netconsole_spool_corrupt_batches_total', 'Torn or corrupt spool batches skipped', () => num(s().spool_corrupt_batches));
  mirroredGauge(registry, 'netconsole_sources', 'Sources currently tracked', () => s().sources);
  mirroredGauge(registry, 'netconsole_udp_receive_buffer_bytes', 'Receive buffer granted by the kernel per UDP socket', () => s().udp_receive_buffer_bytes);
  mirroredGauge(registry, 'netconsole_websocket_clients', 'Connected live-stream WebSocket clients', () => live.clientCount);
  registerForwardMetrics(registry, () => s().forward);
  return { registry, refresh: () => { snapshot = stats(); } };
}

export function registerStatusRoutes(
  app: FastifyInstance,
  queries: StoreQueries,
  stats: () => ReceiverStats,
  health: () => HealthReport,
  live: LiveHub,
): void {
  const { registry, refresh } = buildMetrics(stats, live);

  app.get('/api/stats', async () => {
    const run = stats();
    const stored = await queries.storedTotals();
    return {
      messages: stored.messages,
      hosts: stored.hosts,
      boots: stored.boots,
      datagrams: run.datagrams,
      bytes: run.bytes,
      bad_packets: run.bad_packets,
      checksum_errors: run.checksum_errors,
      dropped: run.dropped,
      bad_fragments: run.bad_fragments ?? {},
      records: run.records,
      gaps: run.gaps,
      // Records whose seq fell back, judged against the stored rows, and those of them not stored again.
      rechecks: run.rechecks ?? 0,
      duplicates: run.duplicates ?? 0,
      queue_depth: run.queue_depth,
      // Records received and not yet stored (queue + spool): what live streaming and incident detection lag by.
      lag_records: run.queue_depth + num(run.spool_records),
      spool: {
        bytes: num(run.spool_bytes),
        max_bytes: num(run.spool_max_bytes),
        records: num(run.spool_records),
        oldest_age_ms: num(run.spool_oldest_age_ms),
        drain_per_sec: num(run.spool_drain_per_sec),
        spooled: num(run.spooled),
        replayed: num(run.spool_replayed),
        corrupt_batches: num(run.spool_corrupt_batches),
      },
      reassembly_timeouts: run.reassembly_timeouts,
      udp_receive_buffer_bytes: run.udp_receive_buffer_bytes,
      websocket_clients: live.clientCount,
      // Syslog forwarding (--forward): sent, dropped by reason, queue depth, connected; and per destination.
      ...(run.forward ? { forward: run.forward } : {}),
      // Per-source totals kept in the database across restarts.
      stored_totals: stored,
      receiver: run,
    };
  });

  app.get('/healthz', async (_request, reply) => {
    const report = health();
    const problems = [...report.problems];
    try {
      await queries.check();
    } catch (err) {
      problems.push(`database not readable: ${(err as Error).message}`);
    }
    const ok = report.ok && problems.length === 0;
    return reply.status(ok ? 200 : 503).send({ ok, problems });
  });

  app.get('/metrics', async (_request, reply) => {
    refresh();
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
