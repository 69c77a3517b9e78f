// The running collector: UDP listeners → NetconsoleReceiver (the pure core) → StorageWriter
// (batched, in a worker) → live stream. One datagram's path, in order:
//   listenUdp's reader (a recvmmsg batch, or dgram 'message'; or the raw receiver, which checks
//   checksums first) → onDatagramFrom →
//   allow-list, per-source limits and counters → rx.push → Sink.record/event → writer.enqueue
//   … the storage worker commits a batch and runs incident detection on it → writer 'stored' rows
//   (only while a live client watches or --forward is on) → live.publish and onRows (forwarding);
//   'incidents' → onIncidents
// The core never sees a clock: `now` is read here, once per datagram, and by the poll timer.
import { parseClickHouseReadUrl } from './store/clickhouse/url-read.js';
import { promises as dns } from 'node:dns';
import { isIPv6 } from 'node:net';
import { openRawUdpReceiver, type RawUdpReceiver } from '../net/raw-socket.js';
import type { Logger } from 'pino';
import { NetconsoleReceiver } from '../netconsole/pipeline.js';
import { DEFAULT_FRAGMENT_LIMITS } from '../netconsole/reassembly.js';
import type { LogRecord, SeqEvent, Sink } from '../netconsole/types.js';
import { StorageWriter } from './store/writer.js';
import type { RetentionOptions, StoredMessage, WriterStats } from './store/types.js';
import type { IncidentNotice } from './store/write-protocol.js';
import { isAllowed, parseAllowList, SourceBucket, type SourceLimits } from './admission.js';
import { sourceName, type Endpoint, formatEndpoint } from './endpoint.js';
import { batchedReaderUnavailable, listenUdp, MAX_DATAGRAM, type UdpListener, type UdpReaderKind } from './udp-listener.js';
import type { DatagramSource } from './udp-batch.js';
import { LiveHub } from './live-hub.js';
import { IdleGc } from './idle-gc.js';
import type { ReceiverStats } from './stats.js';

/** The core's deadlines (≤ 1 s holds) are served by a poll at this period. */
const POLL_MS = 5;
/** Per-source counters are written to the database this often. */
const COUNTERS_MS = 5000;

/** A source's counts not yet written (since its last snapshot), and its rate-limit bucket. */
export interface SourceCounters {
  datagrams: number; bytes: number; badPackets: number; checksumErrors: number;
  /** Datagrams a per-source limit refused. */
  dropped: number;
  bucket: SourceBucket | null;
}

export interface CollectorOptions {
  dbPath: string;
  /** A clickhouse:// URL: store there instead of the SQLite file dbPath (whose directory keeps the spool). */
  store?: string;
  collectorId?: number;
  collectorName?: string;
  udp: Endpoint[];
  retention?: RetentionOptions;
  logger: Logger;
  /** Display names by host address (config `hostNames`, `--host-name ADDR=NAME`). */
  hostNames?: Map<string, string>;
  /** Look up unnamed hosts by reverse DNS (once per host, cached, off the datagram path). */
  reverseDns?: boolean;
  /** `udp`: plain sockets (the kernel verified checksums). `raw`: a raw socket sees every packet with its headers and verifies the IPv4 header and UDP checksums itself. */
  capture?: 'udp' | 'raw';
  /** Only these sources may send (CIDR list); everything else is counted as refused. */
  allow?: string[];
  /** Per-source datagram and byte rate limits (0 = unlimited). */
  limits?: SourceLimits;
  /** Sources tracked at once (the least recently active is flushed and forgotten beyond it). */
  maxSources?: number;
  /** In-flight fragment bytes per source (the oldest set is stored as partial beyond it). */
  maxFragmentBytes?: number;
  /** Write on this thread instead of a worker (in-process measurements: one heap holds everything). */
  inlineStorage?: boolean;
  /** How often per-source counts are written (default 5 s; tests shorten it). */
  countersIntervalMs?: number;
  /** Plain UDP reader: batched recvmmsg when built (`auto`, the default), or node's dgram. */
  udpReader?: UdpReaderKind;
  /** Gets the rows of every committed batch, whether or not a live client watches (--forward). */
  onRows?: (rows: readonly StoredMessage[]) => void;
  /** Disk spool bound in MiB for what the storage queue cannot hold (default 1024; 0: none, drop and count). */
  spoolMaxMb?: number;
  /** Storage queue bound (records and events in memory; default the writer's). */
  maxQueue?: number;
  /** Test hooks: the storage worker holds batches while this file exists, or waits this long before each. */
  pauseFile?: string;
  slowBatchMs?: number;
}

/** Default bound of the disk spool, MiB (`--spool-max-mb`). */
export const DEFAULT_SPOOL_MAX_MB = 1024;

/**
 * The spool's directory: beside the database, named after it (like SQLite's -wal file). With a
 * ClickHouse store, named after the ClickHouse database too, and still beside --db: collectors on one
 * machine share the ClickHouse database but never a spool (the spool's lock refuses that).
 */
export function spoolDirFor(dbPath: string, clickhouseDatabase?: string): string {
  return clickhouseDatabase === undefined ? `${dbPath}-spool` : `${dbPath}-clickhouse-${clickhouseDatabase}-spool`;
}

/** The spool's figures for /api/stats and /metrics (zeros without a spool). */
function spoolFields(sp: WriterStats['spool']): Record<string, number> {
  return {
    spool_bytes: sp?.bytes ?? 0, spool_max_bytes: sp?.maxBytes ?? 0, spool_records: sp?.records ?? 0,
    spool_oldest_age_ms: sp?.oldestAgeMs ?? 0, spool_drain_per_sec: sp?.drainPerSec ?? 0,
    spooled: sp?.spooled ?? 0, spool_replayed: sp?.replayed ?? 0, spool_corrupt_batches: sp?.corruptBatches ?? 0,
  };
}

export class Collector {
  readonly rx: NetconsoleReceiver;
  readonly live = new LiveHub();
  readonly sourceCounters = new Map<string, SourceCounters>();
  /** Crash incidents the storage worker found and stored. */
  onIncidents: ((notices: IncidentNotice[]) => void) | null = null;
  private listeners: UdpListener[] = [];
  private rawReceivers: RawUdpReceiver[] = [];
  private badPacketsLogged = 0;
  private storageFailing = false;
  private lostRecords = 0;
  private gapsAtLastSummary = 0;
  private lostAtLastSummary = 0;
  private gapsLoggedThisInterval = 0;
  private pollTimer: NodeJS.Timeout | null = null;
  private countersTimer: NodeJS.Timeout | null = null;
  private idleGcTimer: NodeJS.Timeout | null = null;
  private readonly idleGc = new IdleGc();
  private records = 0;
  private gaps = 0;
  private badPackets = 0;
  private checksumErrors = 0;
  private stopping = false;
  private refusedNotAllowed = 0;
  private rateLimited = 0;
  /** Datagrams longer than MAX_DATAGRAM, dropped unread. */
  private oversized = 0;
  private readonly allowList: ReturnType<typeof parseAllowList>;
  private readonly limits: SourceLimits | null;
  private readonly namedHosts = new Set<string>();
  private readonly sink: Sink;

  private constructor(readonly writer: StorageWriter, private readonly opts: CollectorOptions) {
    const log = opts.logger;
    this.rx = new NetconsoleReceiver({
      ...(opts.maxSources ? { maxSources: opts.maxSources } : {}),
      ...(opts.maxFragmentBytes ? { fragmentLimits: { ...DEFAULT_FRAGMENT_LIMITS, maxBytesPerSource: opts.maxFragmentBytes } } : {}),
    });
    this.allowList = parseAllowList(opts.allow ?? []);
    this.limits = opts.limits && (opts.limits.datagramsPerSec || opts.limits.bytesPerSec) ? opts.limits : null;
    this.sink = {
      record: (r: LogRecord) => { this.records++; writer.record(r); },
      event: (e: SeqEvent) => {
        if (e.type === 'gap') {
          // The first gaps are logged as they come; past a few per interval, only the summary is.
          this.gaps++;
          this.lostRecords += (e.to ?? 0) - (e.from ?? 0) + 1;
          if (this.gapsLoggedThisInterval++ < 5) log.info({ source: e.source, from: e.from, to: e.to }, 'records lost (sequence gap)');
        }
        if (e.type === 'reboot') log.info({ source: e.source, detail: e.detail }, 'reboot detected: new boot');
        writer.event(e);
      },
    };
    // Rows come back from the storage worker only while someone needs them: a live client, or
    // forwarding (onRows), which needs every row.
    const forwarding = opts.onRows !== undefined;
    writer.setEmitRows(forwarding);
    this.live.onClientCountChange = (n) => writer.setEmitRows(forwarding || n > 0);
    writer.on('stored', (rows, after) => {
      this.live.publish(rows, after);
      opts.onRows?.(rows);
    });
    writer.on('incidents', (notices) => this.onIncidents?.(notices));
    // One line when storage starts failing and one when it recovers (checked with the counters), not one per batch.
    writer.on('spool-state', (state) => {
      if (state === 'spooling') log.warn({ queue_bound: writer.stats().maxQueue }, 'storage is behind: records now wait in the disk spool, stored in order as it catches up');
      else log.info({ spool: writer.stats().spool }, 'storage caught up: the spool is read back');
    });
    writer.on('spool-notice', (message) => log.warn(message));
    writer.on('write-error', (message) => {
      if (!this.storageFailing) {
        log.error({ message }, opts.store
          ? 'ClickHouse does not answer: batches are retried, new records wait in the queue and then the disk spool'
          : 'storage write failed: records are counted as dropped (write_error) until it recovers');
      }
      this.storageFailing = true;
    });
  }

  static async start(opts: CollectorOptions): Promise<Collector> {
    const spoolMb = opts.spoolMaxMb ?? DEFAULT_SPOOL_MAX_MB;
    const spoolDir = spoolDirFor(opts.dbPath, opts.store ? parseClickHouseReadUrl(opts.store).database : undefined);
    const writer = await StorageWriter.open({
      dbPath: opts.dbPath, retention: opts.retention, detectIncidents: true, worker: !opts.inlineStorage,
      store: opts.store, collectorId: opts.collectorId, collectorName: opts.collectorName,
      spool: spoolMb > 0 ? { dir: spoolDir, maxBytes: spoolMb * 1024 * 1024 } : undefined,
      maxQueue: opts.maxQueue, pauseFile: opts.pauseFile, slowBatchMs: opts.slowBatchMs,
    });
    const c = new Collector(writer, opts);
    for (const n of writer.spoolStartNotices) opts.logger.warn(n);
    if (writer.ftsBacklog > 0) {
      opts.logger.info({ fts_backlog: writer.ftsBacklog }, `full-text index: indexing ${writer.ftsBacklog} stored messages in the background (an upgrade rebuilt it); until done, searches miss older messages`);
    }
    const raw = opts.capture === 'raw';
    try {
      if (raw) c.openRaw();
      for (const ep of opts.udp) {
        // In raw mode the plain socket still holds the port (so senders get no ICMP port
        // unreachable) but its copies are ignored: the raw socket is the one that is read.
        const onData = raw ? () => {} : (msg: Uint8Array, from: DatagramSource, now: number, length: number) => c.onDatagramFrom(msg, from, now, length);
        const l = await listenUdp(ep, onData, (err) => opts.logger.error({ err: err.message }, 'UDP socket error'), opts.udpReader);
        c.listeners.push(l);
        opts.logger.info({ udp: formatEndpoint(l.endpoint), receive_buffer: l.receiveBuffer, reader: l.reader }, `listening on UDP ${formatEndpoint(l.endpoint)} (receive buffer granted: ${l.receiveBuffer} bytes, reader: ${l.reader})`);
      }
      if (!raw && (opts.udpReader ?? 'auto') === 'auto' && c.listeners.some((l) => l.reader === 'dgram')) {
        const reason = batchedReaderUnavailable();
        opts.logger.warn({ reason }, `UDP is read with node's dgram, which needs about 4x the CPU per datagram: ${reason}`);
      }
    } catch (err) {
      await c.stop();
      throw err;
    }
    c.pollTimer = setInterval(() => c.rx.poll(Date.now(), c.sink), POLL_MS);
    c.countersTimer = setInterval(() => c.saveCounters(), opts.countersIntervalMs ?? COUNTERS_MS);
    c.idleGcTimer = setInterval(() => c.idleGc.tick(Date.now(), c.rx.counters.datagrams), 1000);
    c.idleGcTimer.unref();
    return c;
  }

  /** One raw receiver per address family in use, filtered to the listening ports and addresses. */
  private openRaw(): void {
    const log = this.opts.logger;
    for (const family of [4, 6] as const) {
      const eps = this.opts.udp.filter((e) => (family === 6) === isIPv6(e.host));
      if (eps.length === 0) continue;
      const anyAddr = eps.some((e) => e.host === '0.0.0.0' || e.host === '::');
      const hosts = new Set(eps.map((e) => e.host));
      const r = openRawUdpReceiver({
        family,
        ports: eps.map((e) => e.port),
        onPacket: (p) => {
          // (An IPv6 segment with a bad checksum has no trustworthy destination: the raw socket
          // does not hand over the IPv6 header, so it is counted whatever address it was for.)
          if (p.checksumOk && !anyAddr && !hosts.has(p.dst)) return;
          if (!p.checksumOk) this.countBadPacket(p.src, p.srcPort, 'checksum_error');
          else this.onDatagram(p.payload, p.src, p.srcPort);
        },
        onMalformed: (_reason, source) => this.countBadPacket(source, 0, 'malformed'),
        onError: (err) => log.error({ err: err.message }, 'raw socket failed'),
      });
      this.rawReceivers.push(r);
      log.info({ family, receive_buffer: r.receiveBufferBytes }, `raw capture on IPv${family} (checksums verified here)`);
    }
  }

  get udpEndpoints(): Endpoint[] { return this.listeners.map((l) => l.endpoint); }
  get listening(): boolean { return this.listeners.length > 0 && !this.stopping; }

  /** One datagram from `address`:`port` (raw capture, tests, in-process benchmarks). */
  onDatagram(msg: Uint8Array, address: string, port: number, now = Date.now()): void {
    this.onDatagramFrom(msg, { address, port, name: sourceName(address, port) }, now);
  }

  /**
   * The hot path: no allocation (the batched reader caches `from` per source), no I/O, no SQLite.
   * `length` is the datagram's true length (more than `msg.length` when read truncated).
   */
  onDatagramFrom(msg: Uint8Array, from: DatagramSource, now: number, length = msg.length): void {
    if (this.stopping) return;
    // Refused sources are counted in total only: per-source state for them would let spoofed
    // addresses grow memory without bound.
    if (this.allowList && !(from.allowed ??= isAllowed(this.allowList, from.address))) { this.refusedNotAllowed++; return; }
    const source = from.name;
    const sc = this.countersFor(source, from.address, now);
    sc.datagrams++;
    sc.bytes += length;
    // Far larger than anything netconsole sends: parsing and storing it would only cost the others.
    if (length > MAX_DATAGRAM) { sc.dropped++; this.oversized++; return; }
    if (sc.bucket && !sc.bucket.take(msg.length, now)) { sc.dropped++; this.rateLimited++; return; }
    this.rx.push(source, msg, now, this.sink);
  }

  private countersFor(source: string, address: string, now: number): SourceCounters {
    let sc = this.sourceCounters.get(source);
    if (!sc) {
      if (this.sourceCounters.size >= this.rx.options.maxSources) this.retireOldestCounters(now);
      sc = { datagrams: 0, bytes: 0, badPackets: 0, checksumErrors: 0, dropped: 0, bucket: this.limits ? new SourceBucket(this.limits, now) : null };
      this.sourceCounters.set(source, sc);
      this.nameHost(address);
    }
    return sc;
  }

  /** Bounds the per-source table: the oldest entry's counts go to the database, then it is dropped. */
  private retireOldestCounters(now: number): void {
    const [source, sc] = this.sourceCounters.entries().next().value as [string, SourceCounters];
    this.saveSourceCounters(source, sc, now);
    this.sourceCounters.delete(source);
  }

  /** Enqueues what `sc` counted since its last snapshot (the worker adds it to the stored totals); false if nothing. */
  private saveSourceCounters(source: string, sc: SourceCounters, at: number): boolean {
    if (sc.datagrams === 0 && sc.badPackets === 0) return false;
    const { datagrams, bytes, badPackets, checksumErrors, dropped } = sc;
    this.writer.enqueue({ kind: 'counters', source, at, counters: { datagrams, bytes, badPackets, checksumErrors, dropped } });
    sc.datagrams = sc.bytes = sc.badPackets = sc.checksumErrors = sc.dropped = 0;
    return true;
  }

  /** First sight of a host: give it its configured name, or ask reverse DNS in the background. */
  private nameHost(address: string): void {
    if (!this.opts.hostNames?.size && !this.opts.reverseDns) return;
    const addr = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
    if (this.namedHosts.has(addr)) return;
    // Bounded like the source table; naming a host again later is harmless.
    if (this.namedHosts.size >= this.rx.options.maxSources) this.namedHosts.clear();
    this.namedHosts.add(addr);
    const name = this.opts.hostNames?.get(addr);
    if (name) { this.writer.enqueue({ kind: 'host-name', address: addr, name }); return; }
    if (!this.opts.reverseDns) return;
    dns.reverse(addr).then(
      (names) => { if (names[0] && !this.stopping) this.writer.enqueue({ kind: 'host-name', address: addr, name: names[0] }); },
      () => { /* no PTR record: the address stays the name */ },
    );
  }

  /** A packet that never reached the core (raw capture: bad checksum or malformed). */
  countBadPacket(address: string, port: number, kind: 'checksum_error' | 'malformed'): void {
    if (this.allowList && !isAllowed(this.allowList, address)) { this.refusedNotAllowed++; return; }
    const sc = this.countersFor(sourceName(address, port), address, Date.now());
    sc.badPackets++;
    this.badPackets++;
    if (kind === 'checksum_error') { sc.checksumErrors++; this.checksumErrors++; }
  }

  stats(): ReceiverStats {
    const w = this.writer.stats();
    const c = this.rx.counters;
    // Dropped in the kernel: a full receive buffer, and oversized datagrams the sink could not hold.
    let kernel = 0;
    let oversizedInKernel = 0;
    // (Not under raw capture: the plain sockets are only read to be emptied; the raw socket counts.)
    for (const l of this.opts.capture === 'raw' ? [] : this.listeners) {
      const d = l.kernelDrops();
      if (d) { kernel += d.socket; oversizedInKernel += d.oversized; }
    }
    return {
      datagrams: c.datagrams, bytes: c.bytes, bad_packets: this.badPackets + c.badFragments,
      checksum_errors: this.checksumErrors,
      dropped: { ...w.dropped, fragment_evictions: c.fragmentEvictions, source_evictions: c.sourceEvictions, not_allowed: this.refusedNotAllowed, rate_limited: this.rateLimited, oversized: this.oversized + oversizedInKernel, kernel },
      queue_depth: w.queued, reassembly_timeouts: c.reassemblyTimeouts, records: this.records, gaps: this.gaps,
      sources: this.rx.sourceCount, udp_receive_buffer_bytes: this.listeners[0]?.receiveBuffer ?? 0,
      stored: w.written, legacy_timeouts: c.legacyTimeouts, duplicates: w.duplicates, rechecks: w.rechecks,
      fragments: c.fragments,
      bad_fragments: { total_out_of_range: c.badFragmentsTotalOutOfRange, overrun: c.badFragmentsOverrun },
      ...spoolFields(w.spool),
    };
  }

  private saveCounters(): void {
    const at = Date.now();
    if (this.storageFailing && !this.writer.stats().failing) {
      this.storageFailing = false;
      this.opts.logger.info({ dropped_write_error: this.writer.stats().dropped.write_error }, 'storage writes recovered');
    }
    if (this.gapsLoggedThisInterval > 5) {
      this.opts.logger.info({ gaps: this.gaps - this.gapsAtLastSummary, lost_records: this.lostRecords - this.lostAtLastSummary }, 'sequence gaps in the last interval (summary)');
    }
    this.gapsAtLastSummary = this.gaps;
    this.lostAtLastSummary = this.lostRecords;
    this.gapsLoggedThisInterval = 0;
    // Bad packets are logged as a summary, never one line per packet.
    if (this.badPackets > this.badPacketsLogged) {
      this.opts.logger.warn({ bad_packets: this.badPackets - this.badPacketsLogged, checksum_errors_total: this.checksumErrors }, 'bad packets dropped (checksum or malformed)');
      this.badPacketsLogged = this.badPackets;
    }
    // Only sources that counted something are written; one quiet for a whole interval is forgotten
    // here (its rate bucket, one second's burst, is full again), so idle sources cost nothing.
    for (const [source, sc] of this.sourceCounters) {
      if (!this.saveSourceCounters(source, sc, at)) this.sourceCounters.delete(source);
    }
    const c = this.rx.counters;
    this.writer.enqueue({ kind: 'hub-counters', at, counters: { ...c } as unknown as Record<string, number> });
  }

  /** Stop reading, emit everything partial, write it all, close. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.countersTimer) clearInterval(this.countersTimer);
    if (this.idleGcTimer) clearInterval(this.idleGcTimer);
    for (const r of this.rawReceivers) r.close();
    await Promise.all(this.listeners.map((l) => l.close()));
    this.rx.flushAll(Date.now(), this.sink);
    this.saveCounters();
    await this.writer.close();
  }
}
