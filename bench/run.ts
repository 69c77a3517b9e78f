// `npm run bench [-- --only ingest,latency --quick]`: the collector (`serve`, its own process, temp
// DB) on loopback, driven by a separate load process (load.ts); every figure is the median of
// --runs (default 3) runs with the range; everything is bounded in count and time. Writes
// bench/out/results-<time>.json, bench/out/latest.json (sections merged with earlier partial runs)
// and the generated part of bench/RESULTS.md.
//
// Parts (--only, comma-separated; default all):
//   ingest   lossless ingest rate (stepped), loss at fixed rates, the do-nothing receiver's ceiling
//   frag     fragment-heavy load: 3000-byte records, 4 ncfrag datagrams each
//   latency  send -> WebSocket arrival, p50/p99 at 1k and 20k records/s
//   query    query latency on a generated big DB (--db-rows, default 2M; 10M is the issue's target)
//   memory   RSS with 1000 and 65536 sources active, and after they go idle
//   sender   `send --simulate` records/s, udp and raw transports
//   profile  `node --cpu-prof` of the collector at 100k records/s; where the time goes
//   burst    a burst far above the storage rate (default 300 000/s for 10 s): is all of it stored
//            (through the disk spool), and how long after the burst is the last record searchable
//   fleet    stored rate into a real ClickHouse, one collector and two (--fleet-rate per collector)
//   fleet-query  search latency through the API on --db-rows rows in ClickHouse (fleet.ts)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release as osRelease } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import dgram from 'node:dgram';
import Database from 'better-sqlite3';
import { batchReaderBinding } from '../src/receiver/udp-batch.js';
import WebSocket from 'ws';
import {
  Child, ROOT, cpuSecondsOf, pinThread, threadCpuDelta, threadCpuOf, figure, getJson, note, percentile, pollUntil, removeDir, rssOf, runCli, sleep,
  startServe, tempDir, timeQuery, udpCounters, type Figure, type QueryFigure, type QueryKind, type ServeProcess,
} from './common.js';
import type { LoadConfig, LoadResult } from './load.js';
import { generate, hostAddress } from './gen-db.js';
import { summarizeDir, type ThreadProfile } from './profile.js';
import { renderMarkdown } from './report.js';
import { coreRecordsPerSec } from './core-rate.js';
import { partFleet, partFleetQuery } from './fleet.js';

const PARTS = ['ingest', 'frag', 'latency', 'query', 'memory', 'sender', 'profile', 'burst', 'fleet', 'fleet-query'] as const;
type Part = (typeof PARTS)[number];

export interface BenchOptions {
  only: Part[];
  quick: boolean;
  runs: number;
  rates: number[];
  fixedRates: number[];
  durationSec: number;
  sources: number;
  fragRate: number;
  dbRows: number;
  out: string;
  /** Do not rewrite bench/RESULTS.md (smoke test). */
  noReport: boolean;
  memorySources: number[];
  idleSec: number;
  senderCount: number;
  queryReps: number;
  /** The load generator's sending loop (load.ts): 'c' (blast.c, falls back to node without cc) or 'node'. */
  generator: 'c' | 'node';
  /** Seconds of load each fresh collector gets before its measured runs (JIT warm-up), at up to 20 000/s; 0: none. */
  warmupSec: number;
  /**
   * Pin the receiving thread (collector's datagram thread, or the do-nothing receiver) to CPU 0 and
   * the C load generator to the last CPU, for ingest and frag. On loopback the sender's send(2) wakes
   * the receiver, and the scheduler tends to run the woken thread on the sender's core.
   */
  pin: boolean;
  /** The collector's UDP reader (serve --udp-reader): auto (recvmmsg when built), recvmmsg or dgram. */
  reader: 'auto' | 'recvmmsg' | 'dgram';
  /** The burst part: records/s and seconds. */
  burstRate: number;
  burstSec: number;
  /** The fleet part: records/s sent to each collector. */
  fleetRate: number;
}

function readerArg(v: string | undefined): BenchOptions['reader'] {
  if (v === undefined || v === 'auto' || v === 'recvmmsg' || v === 'dgram') return v ?? 'auto';
  throw new Error(`--reader: '${v}' is not auto, recvmmsg or dgram`);
}

function generatorArg(v: string | undefined): 'c' | 'node' {
  if (v === undefined || v === 'c' || v === 'node') return v ?? 'c';
  throw new Error(`--generator: '${v}' is neither 'c' nor 'node'`);
}

/** Flags that take a value, and flags that stand alone; anything else is refused. */
const VALUE_FLAGS = new Set(['only', 'runs', 'rates', 'duration', 'sources', 'frag-rate', 'db-rows', 'out', 'memory-sources', 'idle',
  'sender-count', 'query-reps', 'generator', 'warmup', 'reader', 'burst-rate', 'burst-seconds', 'fleet-rate']);
const BOOL_FLAGS = new Set(['quick', 'no-report', 'pin', 'report-only', 'help']);
/** Flags whose value must be a number (rates may end in k), and the least they may be. */
const NUMBER_FLAGS: Record<string, number> = {
  runs: 1, duration: 0.1, sources: 1, 'frag-rate': 1, 'db-rows': 1, idle: 0, 'sender-count': 1, 'query-reps': 1, warmup: 0,
  'burst-rate': 1, 'burst-seconds': 0.1, 'fleet-rate': 1,
};

export const USAGE = `usage: npm run bench [-- --only PARTS] [--quick] [--runs N] [flags]
  --only ${PARTS.join(',')}
  --runs N  --rates R,R  --duration S  --sources N  --frag-rate R  --db-rows N  --out DIR  --no-report
  --memory-sources N,N  --idle S  --sender-count N  --query-reps N  --generator c|node  --warmup S  --pin
  --reader auto|recvmmsg|dgram  --burst-rate R  --burst-seconds S  --fleet-rate R  --report-only  --help
(the parts and flags are described at the top of bench/run.ts)`;

/** True when the command line asks for the usage text only. */
export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** A number as the bench's flags write it: `200k` is 200000. */
function numberArg(v: string): number {
  return Number(v.replace(/k$/i, '000'));
}

/** Unknown flags, missing values and values that are not numbers are refused before anything runs. */
function checkArgv(argv: string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2) : null;
    if (name === null) throw new Error(`bench: unexpected argument '${a}' (flags start with --; see --help)`);
    if (BOOL_FLAGS.has(name)) continue;
    if (!VALUE_FLAGS.has(name)) throw new Error(`bench: unknown flag --${name} (see --help)`);
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`bench: --${name} needs a value (see --help)`);
    const least = NUMBER_FLAGS[name];
    if (least !== undefined) {
      const n = numberArg(v);
      if (!Number.isFinite(n) || n < least) throw new Error(`bench: --${name} '${v}' is not a number of at least ${least}`);
    }
    if (name === 'rates' || name === 'memory-sources') {
      for (const x of v.split(',')) if (!(numberArg(x) > 0)) throw new Error(`bench: --${name}: '${x}' is not a positive number`);
    }
    i++;
  }
}

export function parseArgs(argv: string[]): BenchOptions {
  checkArgv(argv);
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const list = (s: string | undefined, def: number[]): number[] => (s ? s.split(',').map(numberArg) : def);
  const only = (get('only') ?? PARTS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of only) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only: unknown part '${p}' (known: ${PARTS.join(', ')})`);
  const fixedRates = [20_000, 50_000, 100_000, 150_000];
  return {
    only: only as Part[],
    quick,
    runs: Number(get('runs') ?? 3),
    fixedRates,
    rates: list(get('rates'), quick ? fixedRates : [20_000, 50_000, 75_000, 100_000, 125_000, 150_000]),
    durationSec: Number(get('duration') ?? (quick ? 2 : 4)),
    sources: Number(get('sources') ?? 256),
    fragRate: Number(get('frag-rate') ?? 10_000),
    dbRows: Number(get('db-rows') ?? (quick ? 300_000 : 2_000_000)),
    out: get('out') ?? join(ROOT, 'bench', 'out'),
    noReport: argv.includes('--no-report'),
    memorySources: list(get('memory-sources'), [1000, 65536]),
    idleSec: Number(get('idle') ?? (quick ? 5 : 15)),
    senderCount: Number(get('sender-count') ?? (quick ? 50_000 : 200_000)),
    queryReps: Number(get('query-reps') ?? (quick ? 10 : 30)),
    generator: generatorArg(get('generator')),
    warmupSec: Number(get('warmup') ?? 1),
    pin: argv.includes('--pin'),
    reader: readerArg(get('reader')),
    burstRate: numberArg(get('burst-rate') ?? '300000'),
    burstSec: Number(get('burst-seconds') ?? (quick ? 3 : 10)),
    fleetRate: numberArg(get('fleet-rate') ?? '100000'),
  };
}

// ---------------------------------------------------------------------------------------------
// Measuring one load run against a collector.

/** Stored-message total straight from the DB (the writer's own counter): no load on the collector. */
class StoredCounter {
  private db: Database.Database | null = null;
  constructor(private readonly path: string) {}
  read(): number {
    this.db ??= new Database(this.path, { readonly: true, fileMustExist: true });
    const row = this.db.prepare(`SELECT value FROM hub_counters WHERE name = 'messages.stored'`).get() as { value: number } | undefined;
    return row?.value ?? 0;
  }
  close(): void { this.db?.close(); this.db = null; }
}

export interface IngestRun {
  target: number;
  achieved: number;
  sent: number;
  stored: number;
  lost: number;
  lossPct: number;
  lossless: boolean;
  /** CPU seconds of the collector's main (datagram) thread and of its busiest other thread (the storage worker). */
  threadCpuSec: { main: number; busiestOther: number };
  /** ms from the last send until every record was stored and the tail was found by ?q= (null: not within 1 s). */
  searchableMs: number | null;
  /** ms from the last send until every record was stored (null: never), polled every 10 ms up to 1 s, then every 100 ms. */
  allStoredMs: number | null;
  /** Datagrams the collector's socket delivered (from /api/stats), and the kernel's receive-buffer drops (system-wide). */
  received: number;
  kernelDrops: number;
  collectorCpuSec: number;
  loaderTimedOut: boolean;
  /** The load generator's sending loop: 'c' (blast.c) or 'node' (dgram). */
  generator: 'c' | 'node';
}

let tagCounter = 0;
function newTag(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${(tagCounter++).toString(36)}`;
}

/** The sending loop chosen for load runs (set from --generator by runBench). */
let generator: 'c' | 'node' = 'c';
/** --pin: the CPU the load generator runs on (the receiving thread gets CPU 0). */
let loadCpu: number | undefined;

async function loadRun(load: Child, cfg: LoadConfig): Promise<LoadResult & { generator: 'c' | 'node' }> {
  const ready = await load.request({ generator, pinCpu: loadCpu, ...cfg }, 'ready', 120_000);
  if (ready.error) throw new Error(`load: ${ready.error}`);
  const done = await load.request<LoadResult & { error?: string }>({ type: 'go' }, 'done', cfg.maxMs + 30_000);
  if (done.error) throw new Error(`load: ${done.error}`);
  return { ...done, generator: ready.generator };
}

async function ingestRun(srv: ServeProcess, stored: StoredCounter, load: Child, o: { rate: number; count: number; sources: number; recordBytes: number; mode: 'plain' | 'frag'; maxMs: number }): Promise<IngestRun> {
  const tag = newTag('r');
  const before = stored.read();
  const stats0 = await getJson(`${srv.http}/api/stats`);
  const udp0 = udpCounters();
  const cpu0 = cpuSecondsOf(srv.pid);
  const threads0 = threadCpuOf(srv.pid);
  const res = await loadRun(load, { type: 'prepare', host: '127.0.0.1', port: srv.udpPort, sources: o.sources, rate: o.rate, count: o.count, maxMs: o.maxMs, tag, recordBytes: o.recordBytes, mode: o.mode, stamp: false } as LoadConfig & { type: string });
  // Lossless: every record stored AND the tail (last record of each source) found by the API
  // within 1 s of the last send.
  const deadline = res.lastAt + 1000;
  let searchableMs: number | null = null;
  let allStoredMs: number | null = null;
  for (;;) {
    const n = stored.read() - before;
    if (n >= res.sent) {
      allStoredMs ??= Date.now() - res.lastAt;
      const page = await getJson(`${srv.http}/api/messages?q=e${tag}&limit=1000`).catch(() => null);
      if (page && page.messages.length === Math.min(o.sources, res.sent)) { searchableMs = Date.now() - res.lastAt; break; }
    }
    if (Date.now() > deadline) break;
    await sleep(10);
  }
  if (searchableMs !== null && searchableMs > 1000) searchableMs = null;
  // Loss: wait until storage is quiet (bounded).
  let last = stored.read();
  let stableSince = Date.now();
  const quietBy = Date.now() + 20_000;
  while (last - before < res.sent && Date.now() < quietBy && Date.now() - stableSince < 1500) {
    await sleep(100);
    const n = stored.read();
    if (n !== last) { last = n; stableSince = Date.now(); }
    if (n - before >= res.sent) allStoredMs ??= Date.now() - res.lastAt;
  }
  const cpu1 = cpuSecondsOf(srv.pid);
  const threads1 = threadCpuOf(srv.pid);
  const udp1 = udpCounters();
  const stats1 = await getJson(`${srv.http}/api/stats`);
  const storedN = stored.read() - before;
  const lost = Math.max(0, res.sent - storedN);
  return {
    target: o.rate, achieved: Math.round(res.achievedRate), sent: res.sent, stored: storedN, lost,
    lossPct: (100 * lost) / Math.max(1, res.sent), lossless: searchableMs !== null && lost === 0, searchableMs, allStoredMs,
    received: stats1.datagrams - stats0.datagrams, kernelDrops: udp1.RcvbufErrors - udp0.RcvbufErrors,
    collectorCpuSec: cpu1 - cpu0, loaderTimedOut: res.timedOut, generator: res.generator,
    // The storage worker is the busiest thread other than main (thread ids are stable within a serve).
    threadCpuSec: threadCpuDelta(srv.pid, threads0, threads1),
  };
}

/**
 * A fresh collector's first second runs cold code (the JIT has not optimised the datagram path yet);
 * the issue asks for the steady rate, so each new `serve` first gets `--warmup` seconds of load at
 * the part's rate capped at 20 000/s, measured like a run but not counted.
 */
async function warmUp(srv: ServeProcess, stored: StoredCounter, load: Child, o: BenchOptions, w: { rate: number; recordBytes: number; mode: 'plain' | 'frag' }): Promise<void> {
  const rate = Math.min(20_000, w.rate);
  const count = Math.round(rate * o.warmupSec);
  if (count <= 0) return;
  const r = await ingestRun(srv, stored, load, { rate, count, sources: o.sources, recordBytes: w.recordBytes, mode: w.mode, maxMs: o.warmupSec * 2000 + 2000 });
  note(`warm-up at ${rate}/s: ${r.stored}/${r.sent} stored (not counted)`);
}

export interface CeilingRun { target: number; achieved: number; sent: number; received: number; lossPct: number; kernelDrops: number; generator: 'c' | 'node' }

async function ceilingRun(sink: Child, port: number, load: Child, o: { rate: number; count: number; sources: number; maxMs: number }): Promise<CeilingRun> {
  const c0 = await sink.request<{ datagrams: number }>({ type: 'count' }, 'count');
  const udp0 = udpCounters();
  const res = await loadRun(load, { type: 'prepare', host: '127.0.0.1', port, sources: o.sources, rate: o.rate, count: o.count, maxMs: o.maxMs, tag: newTag('c'), recordBytes: 100, mode: 'plain', stamp: false } as LoadConfig & { type: string });
  await sleep(300);
  const c1 = await sink.request<{ datagrams: number }>({ type: 'count' }, 'count');
  const received = c1.datagrams - c0.datagrams;
  return {
    target: o.rate, achieved: Math.round(res.achievedRate), sent: res.datagrams, received,
    lossPct: (100 * Math.max(0, res.datagrams - received)) / Math.max(1, res.datagrams), kernelDrops: udpCounters().RcvbufErrors - udp0.RcvbufErrors,
    generator: res.generator,
  };
}

// ---------------------------------------------------------------------------------------------
// Parts.

export interface RateResult {
  rate: number;
  runs: IngestRun[];
  lossPct: Figure;
  achieved: Figure;
  searchableMs: Figure;
  cpuPerMillion: Figure;
  lossless: boolean;
  ceiling?: { runs: CeilingRun[]; lossPct: Figure; achieved: Figure };
}

async function partIngest(o: BenchOptions): Promise<{ rates: RateResult[]; losslessRate: number | null; durationSec: number; sources: number }> {
  const load = Child.fork('load.js');
  const sink = Child.fork('sink.js');
  const { port: sinkPort } = await sink.next<{ port: number }>('listening');
  if (o.pin) pinThread(sink.proc.pid!, 0);
  const rates: RateResult[] = [];
  try {
    for (const rate of o.rates) {
      const dir = tempDir();
      const srv = await startServe({ db: join(dir, 'bench.db') });
      if (o.pin) pinThread(srv.pid, 0);
      const stored = new StoredCounter(srv.db);
      const runs: IngestRun[] = [];
      const count = Math.round(rate * o.durationSec);
      const maxMs = o.durationSec * 1000 * 2 + 2000;
      try {
        await warmUp(srv, stored, load, o, { rate, recordBytes: 100, mode: 'plain' });
        for (let i = 0; i < o.runs; i++) {
          const r = await ingestRun(srv, stored, load, { rate, count, sources: o.sources, recordBytes: 100, mode: 'plain', maxMs });
          note(`ingest ${rate}/s run ${i + 1}: achieved ${r.achieved}/s, stored ${r.stored}/${r.sent} (loss ${r.lossPct.toFixed(2)}%), all stored after ${r.allStoredMs ?? '-'} ms, searchable ${r.searchableMs === null ? '-' : Math.round(r.searchableMs)} ms, kernel drops ${r.kernelDrops}, collector CPU ${r.collectorCpuSec.toFixed(2)} s (main ${r.threadCpuSec.main.toFixed(2)}, worker ${r.threadCpuSec.busiestOther.toFixed(2)})`);
          runs.push(r);
        }
      } finally {
        stored.close();
        await srv.stop();
        removeDir(dir);
      }
      const ceilRuns: CeilingRun[] = [];
      for (let i = 0; i < o.runs; i++) {
        const c = await ceilingRun(sink, sinkPort, load, { rate, count, sources: o.sources, maxMs });
        note(`ceiling ${rate}/s run ${i + 1}: achieved ${c.achieved}/s, received ${c.received}/${c.sent} (loss ${c.lossPct.toFixed(2)}%)`);
        ceilRuns.push(c);
      }
      rates.push({
        rate, runs,
        lossPct: figure(runs.map((r) => r.lossPct)),
        achieved: figure(runs.map((r) => r.achieved)),
        searchableMs: figure(runs.map((r) => r.searchableMs ?? NaN)),
        cpuPerMillion: figure(runs.map((r) => (r.collectorCpuSec / Math.max(1, r.sent)) * 1e6)),
        lossless: runs.every((r) => r.lossless),
        ceiling: { runs: ceilRuns, lossPct: figure(ceilRuns.map((c) => c.lossPct)), achieved: figure(ceilRuns.map((c) => c.achieved)) },
      });
    }
  } finally {
    await load.close();
    await sink.close();
  }
  // The lossless rate: the highest step with every run lossless, every lower step lossless too.
  let losslessRate: number | null = null;
  for (const r of [...rates].sort((a, b) => a.rate - b.rate)) {
    if (!r.lossless) break;
    losslessRate = r.rate;
  }
  return { rates, losslessRate, durationSec: o.durationSec, sources: o.sources };
}

async function partFrag(o: BenchOptions): Promise<{ rate: number; recordBytes: number; datagramsPerRecord: number; runs: IngestRun[]; lossPct: Figure; searchableMs: Figure; achieved: Figure; lossless: boolean }> {
  const load = Child.fork('load.js');
  const dir = tempDir();
  const srv = await startServe({ db: join(dir, 'bench.db') });
  if (o.pin) pinThread(srv.pid, 0);
  const stored = new StoredCounter(srv.db);
  const runs: IngestRun[] = [];
  const count = Math.round(o.fragRate * o.durationSec);
  try {
    await warmUp(srv, stored, load, o, { rate: o.fragRate, recordBytes: 3000, mode: 'frag' });
    for (let i = 0; i < o.runs; i++) {
      const r = await ingestRun(srv, stored, load, { rate: o.fragRate, count, sources: o.sources, recordBytes: 3000, mode: 'frag', maxMs: o.durationSec * 2000 + 2000 });
      note(`frag ${o.fragRate}/s run ${i + 1}: achieved ${r.achieved}/s, stored ${r.stored}/${r.sent} (loss ${r.lossPct.toFixed(2)}%), datagrams ${r.received}, searchable ${r.searchableMs ?? '-'} ms`);
      runs.push(r);
    }
  } finally {
    stored.close();
    await srv.stop();
    removeDir(dir);
    await load.close();
  }
  return {
    rate: o.fragRate, recordBytes: 3000, datagramsPerRecord: Math.max(...runs.map((r) => r.received / Math.max(1, r.sent))), runs,
    lossPct: figure(runs.map((r) => r.lossPct)), searchableMs: figure(runs.map((r) => r.searchableMs ?? NaN)),
    achieved: figure(runs.map((r) => r.achieved)), lossless: runs.every((r) => r.lossless),
  };
}

interface LatencyRun { rate: number; samples: number; p50: number; p99: number; max: number; missed: number }

async function partLatency(o: BenchOptions): Promise<{ rates: { rate: number; runs: LatencyRun[]; p50: Figure; p99: Figure }[]; sources: number }> {
  const load = Child.fork('load.js');
  const dir = tempDir();
  const srv = await startServe({ db: join(dir, 'bench.db') });
  const out: { rate: number; runs: LatencyRun[]; p50: Figure; p99: Figure }[] = [];
  try {
    for (const rate of [1000, 20_000]) {
      const runs: LatencyRun[] = [];
      for (let i = 0; i < o.runs; i++) {
        const tag = newTag('l');
        const ws = new WebSocket(`${srv.http.replace('http', 'ws')}/api/live`);
        const lat: number[] = [];
        let missed = 0;
        let subscribed!: () => void;
        const isSubscribed = new Promise<void>((r) => (subscribed = r));
        ws.on('message', (data) => {
          const now = performance.timeOrigin + performance.now();
          const m = JSON.parse(data.toString());
          if (m.type === 'subscribed') subscribed();
          else if (m.type === 'missed') missed += m.count;
          else if (m.type === 'messages') {
            for (const row of m.rows) {
              const at = / at=(\d+\.\d+)/.exec(row.text);
              if (at && row.text.includes(`t${tag}`)) lat.push(now - Number(at[1]));
            }
          }
        });
        await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
        ws.send(JSON.stringify({ filters: {} }));
        await Promise.race([isSubscribed, sleep(5000)]);
        const count = Math.round(rate * o.durationSec);
        const res = await loadRun(load, { type: 'prepare', host: '127.0.0.1', port: srv.udpPort, sources: o.sources, rate, count, maxMs: o.durationSec * 2000 + 2000, tag, recordBytes: 100, mode: 'plain', stamp: true } as LoadConfig & { type: string });
        await pollUntil(async () => lat.length >= res.sent, 3000, 20);
        ws.close();
        lat.sort((a, b) => a - b);
        const r: LatencyRun = { rate, samples: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN, missed: missed + (res.sent - lat.length) };
        note(`latency ${rate}/s run ${i + 1}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms over ${r.samples} records (missed ${r.missed})`);
        runs.push(r);
      }
      out.push({ rate, runs, p50: figure(runs.map((r) => r.p50)), p99: figure(runs.map((r) => r.p99)) });
    }
  } finally {
    await srv.stop();
    removeDir(dir);
    await load.close();
  }
  return { rates: out, sources: o.sources };
}


async function partQuery(o: BenchOptions): Promise<{ rows: number; hosts: number; gen: unknown; dbBytes: number; queries: { name: string; what: string; p50: Figure; p95: Figure; results: number }[] }> {
  const dir = tempDir();
  const db = join(dir, 'big.db');
  note(`query: generating ${o.dbRows} rows across 1000 hosts`);
  const gen = generate({ out: db, rows: o.dbRows, hosts: 1000, boots: 3, days: 30, seed: 1, progress: (d, t) => { if (d % 1_000_000 === 0) note(`query: generated ${d}/${t}`); } });
  note(`query: generated in ${gen.seconds.toFixed(1)} s (${Math.round(gen.rowsPerSec)} rows/s), ${(gen.dbBytes / 1e9).toFixed(2)} GB`);
  const srv = await startServe({ db });
  const day = 86_400_000;
  const host = (i: number) => hostAddress((i * 37) % 1000);
  const kinds: QueryKind[] = [
    { name: 'fts_rare', what: 'full text, rare word (~0.01%): ?q=panic', url: () => '/api/messages?q=panic' },
    { name: 'fts_uncommon', what: 'full text, uncommon word (~0.5%): ?q=segfault', url: () => '/api/messages?q=segfault' },
    { name: 'fts_common', what: 'full text, common word (~15%): ?q=eth0', url: () => '/api/messages?q=eth0' },
    { name: 'fts_host', what: 'full text + host: ?q=segfault&host=H', url: (i) => `/api/messages?q=segfault&host=${host(i)}` },
    { name: 'host_last200', what: "a host's last 200 lines: ?host=H&limit=200", url: (i) => `/api/messages?host=${host(i)}&limit=200` },
    { name: 'host_range', what: 'host + one-day time range: ?host=H&since&until', url: (i) => `/api/messages?host=${host(i)}&since=${gen.firstAt + (5 + (i % 20)) * day}&until=${gen.firstAt + (6 + (i % 20)) * day}` },
    { name: 'boot_download', what: "one boot's download (text, whole boot)", url: (i) => `/api/hosts/${host(i)}/boots/${1 + (i % 3)}/log`, stream: true },
  ];
  const results: QueryFigure[] = [];
  try {
    for (const k of kinds) {
      const f = await timeQuery(srv.http, k, o.runs, o.queryReps);
      note(`query ${k.name}: p50 ${f.p50.median.toFixed(1)} ms, p95 ${f.p95.median.toFixed(1)} ms (${f.results} results)`);
      results.push(f);
    }
  } finally {
    await srv.stop();
    removeDir(dir);
  }
  return { rows: o.dbRows, hosts: 1000, gen, dbBytes: gen.dbBytes, queries: results };
}

/** Sends one record from each of n distinct sources (127.3.A.B : port), a few hundred sockets at a time. */
async function sendFromSources(port: number, n: number, tag: string): Promise<number> {
  let sent = 0;
  const perAddr = 256;
  const one = async (i: number): Promise<void> => {
    const addr = `127.3.${Math.floor(i / perAddr) >> 8 & 255}.${(Math.floor(i / perAddr) & 255) + 1}`;
    const s = dgram.createSocket('udp4');
    s.on('error', () => {});
    for (let attempt = 0; attempt < 5; attempt++) {
      const p = 30000 + (i % perAddr) * 100 + attempt;
      const ok = await new Promise<boolean>((res) => {
        s.once('error', () => res(false));
        s.bind(p, addr, () => res(true));
      });
      if (ok) break;
    }
    const rec = Buffer.from(`6,1,1000,-;bench t${tag} idle source ${i}\n`);
    await new Promise<void>((res) => s.send(rec, port, '127.0.0.1', () => res()));
    sent++;
    await new Promise<void>((res) => s.close(() => res()));
  };
  // Paced (~10k new sources/s): a burst of first datagrams overflows the socket buffer while the
  // collector registers each new source.
  const CONC = 128;
  for (let i = 0; i < n; i += CONC) {
    await Promise.all(Array.from({ length: Math.min(CONC, n - i) }, (_, k) => one(i + k)));
    await sleep(12);
  }
  return sent;
}

interface MemoryRun { sources: number; rssBefore: number; rssActive: number; rssIdle: number; perSourceActive: number; perSourceIdle: number; trackedSources: number }

async function partMemory(o: BenchOptions): Promise<{ idleSec: number; results: { sources: number; runs: MemoryRun[]; rssActiveMb: Figure; rssIdleMb: Figure; perSourceIdleBytes: Figure; perSourceActiveBytes: Figure }[] }> {
  const results = [];
  for (const n of o.memorySources) {
    const runs: MemoryRun[] = [];
    for (let run = 0; run < o.runs; run++) {
      const dir = tempDir();
      const srv = await startServe({ db: join(dir, 'bench.db') });
      try {
        await sleep(1500);
        const rssBefore = rssOf(srv.pid);
        const sent = await sendFromSources(srv.udpPort, n, newTag('m'));
        const stored = new StoredCounter(srv.db);
        await pollUntil(async () => stored.read() >= sent, 20_000, 100);
        stored.close();
        const st = await getJson(`${srv.http}/api/stats`);
        // Per source = over the sources the collector actually saw (a few first datagrams may be lost).
        const seen = Math.max(1, st.receiver.sources);
        const rssActive = rssOf(srv.pid);
        await sleep(o.idleSec * 1000);
        const rssIdle = rssOf(srv.pid);
        const r: MemoryRun = {
          sources: n, rssBefore, rssActive, rssIdle, trackedSources: st.receiver.sources,
          perSourceActive: (rssActive - rssBefore) / seen, perSourceIdle: (rssIdle - rssBefore) / seen,
        };
        note(`memory ${n} sources run ${run + 1}: RSS ${(rssBefore / 1e6).toFixed(1)} -> ${(rssActive / 1e6).toFixed(1)} MB active -> ${(rssIdle / 1e6).toFixed(1)} MB idle (${Math.round(r.perSourceIdle)} B/source idle, ${st.receiver.sources} tracked)`);
        runs.push(r);
      } finally {
        await srv.stop();
        removeDir(dir);
      }
    }
    results.push({
      sources: n, runs,
      rssActiveMb: figure(runs.map((r) => r.rssActive / 1e6)), rssIdleMb: figure(runs.map((r) => r.rssIdle / 1e6)),
      perSourceIdleBytes: figure(runs.map((r) => r.perSourceIdle)), perSourceActiveBytes: figure(runs.map((r) => r.perSourceActive)),
    });
  }
  return { idleSec: o.idleSec, results };
}

async function partSender(o: BenchOptions): Promise<{ count: number; hosts: number; transports: { transport: string; runs: { records: number; datagrams: number; elapsedMs: number; recordsPerSec: number; received: number; error?: string }[]; recordsPerSec: Figure }[] }> {
  const sink = Child.fork('sink.js');
  const { port } = await sink.next<{ port: number }>('listening');
  const transports = [];
  try {
    for (const transport of ['udp', 'raw']) {
      const runs = [];
      for (let i = 0; i < o.runs; i++) {
        const c0 = (await sink.request<{ datagrams: number }>({ type: 'count' }, 'count')).datagrams;
        const r = await runCli(['send', '--simulate', '256', '--count', String(o.senderCount), '--duration', '60', '--target', `127.0.0.1:${port}`, '--transport', transport, '--kernel', '6.1', '--seed', String(i + 1)], 90_000);
        await sleep(200);
        const c1 = (await sink.request<{ datagrams: number }>({ type: 'count' }, 'count')).datagrams;
        const line = r.stdout.trim().split('\n').pop() ?? '';
        let s: { records: number; datagrams: number; elapsedMs: number } | null = null;
        try { s = JSON.parse(line); } catch { /* below */ }
        if (r.code !== 0 || !s) {
          note(`sender ${transport} run ${i + 1}: failed (${r.code}): ${r.stderr.trim().split('\n').pop()}`);
          runs.push({ records: 0, datagrams: 0, elapsedMs: 0, recordsPerSec: NaN, received: c1 - c0, error: r.stderr.trim().split('\n').pop() ?? `exit ${r.code}` });
          continue;
        }
        const run = { records: s.records, datagrams: s.datagrams, elapsedMs: s.elapsedMs, recordsPerSec: s.records / (s.elapsedMs / 1000), received: c1 - c0 };
        note(`sender ${transport} run ${i + 1}: ${Math.round(run.recordsPerSec)} records/s (${s.records} records, ${s.datagrams} datagrams, ${run.received} received)`);
        runs.push(run);
      }
      transports.push({ transport, runs, recordsPerSec: figure(runs.map((r) => r.recordsPerSec)) });
    }
  } finally {
    await sink.close();
  }
  return { count: o.senderCount, hosts: 256, transports };
}

async function partProfile(o: BenchOptions): Promise<{ rate: number; seconds: number; profileDir: string; run: IngestRun; threads: ThreadProfile[] }> {
  const dir = tempDir();
  const profDir = join(o.out, `profile-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(profDir, { recursive: true });
  const srv = await startServe({ db: join(dir, 'bench.db'), nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] });
  const load = Child.fork('load.js');
  const stored = new StoredCounter(srv.db);
  const rate = 100_000;
  const seconds = o.quick ? 3 : 5;
  let run: IngestRun;
  try {
    await sleep(500);
    run = await ingestRun(srv, stored, load, { rate, count: rate * seconds, sources: o.sources, recordBytes: 100, mode: 'plain', maxMs: seconds * 2000 + 2000 });
    note(`profile: ${run.stored}/${run.sent} stored at ${run.achieved}/s`);
  } finally {
    stored.close();
    await load.close();
    await srv.stop('SIGTERM', 60_000);
    removeDir(dir);
  }
  const threads = summarizeDir(profDir);
  for (const t of threads) note(`profile ${t.file}: busy ${(t.busyShare * 100).toFixed(0)}% of ${(t.totalMs / 1000).toFixed(1)} s; top: ${t.byArea.slice(0, 5).map((a) => `${a.area} ${(a.share * 100).toFixed(0)}%`).join(', ')}`);
  return { rate, seconds, profileDir: profDir, run: run!, threads };
}

export interface BurstRun {
  target: number;
  achieved: number;
  sent: number;
  received: number;
  kernelDrops: number;
  stored: number;
  lost: number;
  /** The collector's drops by reason during the run (queue_full, spool_full, …). */
  dropped: Record<string, number>;
  /** ms from the last send until every record was stored, and until each source's last record was found by ?q= (null: not within the bound). */
  allStoredMs: number | null;
  searchableMs: number | null;
  /** ms from the last send until every record that reached the collector (kernel drops aside) was stored. */
  receivedStoredMs: number | null;
  /** The spool's peak during the run (sampled every 250 ms). */
  peakSpoolRecords: number;
  peakSpoolBytes: number;
  collectorCpuSec: number;
  threadCpuSec: { main: number; busiestOther: number };
  generator: 'c' | 'node';
}

/** How long after a burst the bench waits for it to be stored and searchable. */
const BURST_CATCH_UP_MS = 120_000;

async function burstRun(srv: ServeProcess, stored: StoredCounter, load: Child, o: { rate: number; count: number; sources: number; maxMs: number }): Promise<BurstRun> {
  const tag = newTag('b');
  const before = stored.read();
  const stats0 = await getJson(`${srv.http}/api/stats`);
  const udp0 = udpCounters();
  const cpu0 = cpuSecondsOf(srv.pid);
  const threads0 = threadCpuOf(srv.pid);
  let peakRecords = 0;
  let peakBytes = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const st = await getJson(`${srv.http}/api/stats`).catch(() => null);
      if (st?.spool) {
        peakRecords = Math.max(peakRecords, st.spool.records);
        peakBytes = Math.max(peakBytes, st.spool.bytes);
      }
      await sleep(250);
    }
  })();
  const res = await loadRun(load, { type: 'prepare', host: '127.0.0.1', port: srv.udpPort, sources: o.sources, rate: o.rate, count: o.count, maxMs: o.maxMs, tag, recordBytes: 100, mode: 'plain', stamp: false } as LoadConfig & { type: string });
  const deadline = res.lastAt + BURST_CATCH_UP_MS;
  let allStoredMs: number | null = null;
  let searchableMs: number | null = null;
  let receivedStoredMs: number | null = null;
  let last = stored.read();
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    const n = stored.read();
    if (receivedStoredMs === null) {
      const st = await getJson(`${srv.http}/api/stats`).catch(() => null);
      if (st && st.lag_records === 0 && n - before >= st.datagrams - stats0.datagrams) receivedStoredMs = Date.now() - res.lastAt;
    }
    if (n - before >= res.sent) {
      allStoredMs ??= Date.now() - res.lastAt;
      const page = await getJson(`${srv.http}/api/messages?q=e${tag}&limit=1000`).catch(() => null);
      if (page && page.messages.length === Math.min(o.sources, res.sent)) { searchableMs = Date.now() - res.lastAt; break; }
    }
    if (n !== last) { last = n; stableSince = Date.now(); }
    // Nothing stored for 5 s and nothing spooled: what is missing was lost.
    if (Date.now() - stableSince > 5000) {
      const st = await getJson(`${srv.http}/api/stats`).catch(() => null);
      if (st && st.lag_records === 0) break;
    }
    await sleep(50);
  }
  sampling = false;
  await sampler;
  const stats1 = await getJson(`${srv.http}/api/stats`);
  const dropped: Record<string, number> = {};
  for (const [reason, v] of Object.entries(stats1.dropped as Record<string, number>)) {
    const d = v - ((stats0.dropped as Record<string, number>)[reason] ?? 0);
    if (d > 0) dropped[reason] = d;
  }
  const storedN = stored.read() - before;
  const udp1 = udpCounters();
  return {
    target: o.rate, achieved: Math.round(res.achievedRate), sent: res.sent, received: stats1.datagrams - stats0.datagrams,
    kernelDrops: udp1.RcvbufErrors - udp0.RcvbufErrors, stored: storedN, lost: Math.max(0, res.sent - storedN), dropped,
    allStoredMs, searchableMs, receivedStoredMs, peakSpoolRecords: peakRecords, peakSpoolBytes: peakBytes,
    collectorCpuSec: cpuSecondsOf(srv.pid) - cpu0, threadCpuSec: threadCpuDelta(srv.pid, threads0, threadCpuOf(srv.pid)), generator: res.generator,
  };
}

async function partBurst(o: BenchOptions): Promise<{ rate: number; seconds: number; sources: number; runs: BurstRun[]; allStoredMs: Figure; searchableMs: Figure; lossless: boolean }> {
  const load = Child.fork('load.js');
  const runs: BurstRun[] = [];
  try {
    for (let i = 0; i < o.runs; i++) {
      // A fresh collector per burst: the spool starts empty, the database small.
      const dir = tempDir();
      const srv = await startServe({ db: join(dir, 'bench.db') });
      const stored = new StoredCounter(srv.db);
      try {
        await warmUp(srv, stored, load, o, { rate: o.burstRate, recordBytes: 100, mode: 'plain' });
        const count = Math.round(o.burstRate * o.burstSec);
        const r = await burstRun(srv, stored, load, { rate: o.burstRate, count, sources: o.sources, maxMs: o.burstSec * 2000 + 2000 });
        note(`burst ${o.burstRate}/s for ${o.burstSec} s, run ${i + 1}: achieved ${r.achieved}/s, received ${r.received}/${r.sent}, kernel drops ${r.kernelDrops}, stored ${r.stored} (lost ${r.lost}; dropped ${JSON.stringify(r.dropped)}), all received stored ${r.receivedStoredMs ?? '-'} ms, all stored ${r.allStoredMs ?? '-'} ms and searchable ${r.searchableMs ?? '-'} ms after the last send, spool peak ${r.peakSpoolRecords} records / ${(r.peakSpoolBytes / 1e6).toFixed(1)} MB, collector CPU ${r.collectorCpuSec.toFixed(2)} s (main ${r.threadCpuSec.main.toFixed(2)}, worker ${r.threadCpuSec.busiestOther.toFixed(2)})`);
        runs.push(r);
      } finally {
        stored.close();
        await srv.stop('SIGTERM', 120_000);
        removeDir(dir);
      }
    }
  } finally {
    await load.close();
  }
  return {
    rate: o.burstRate, seconds: o.burstSec, sources: o.sources, runs,
    allStoredMs: figure(runs.map((r) => r.allStoredMs ?? NaN)), searchableMs: figure(runs.map((r) => r.searchableMs ?? NaN)),
    lossless: runs.every((r) => r.lost === 0 && r.searchableMs !== null),
  };
}

// ---------------------------------------------------------------------------------------------

export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryGb: +(totalmem() / 2 ** 30).toFixed(1), node: process.version,
    kernel: osRelease(), rmemMax: Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim()),
  };
}

export async function runBench(o: BenchOptions, argv: string[]): Promise<Record<string, any>> {
  mkdirSync(o.out, { recursive: true });
  generator = o.generator;
  // Every serve this run starts reads UDP this way (the flag's environment variable).
  process.env.NCH_UDP_READER = o.reader;
  const udpReader = o.reader === 'dgram' || !batchReaderBinding().binding ? 'dgram' : 'recvmmsg';
  loadCpu = o.pin ? cpus().length - 1 : undefined;
  const started = new Date().toISOString();
  const command = `npm run bench -- ${argv.join(' ')}`.trim();
  const sections: Record<string, any> = {};
  const runners: Record<Part, (o: BenchOptions) => Promise<unknown>> = {
    ingest: partIngest, frag: partFrag, latency: partLatency, query: partQuery, memory: partMemory, sender: partSender, profile: partProfile, burst: partBurst,
    fleet: partFleet, 'fleet-query': partFleetQuery,
  };
  for (const part of o.only) {
    note(`--- ${part}`);
    const t0 = Date.now();
    // How fast the machine is right now: on a shared VM it drifts by a third within minutes.
    const coreProbe = coreRecordsPerSec(o.quick ? 50_000 : 200_000).median;
    note(`machine speed probe: core ${coreProbe} records/s`);
    try {
      sections[part] = { at: new Date().toISOString(), command, quick: o.quick, runs: o.runs, coreProbe, pinned: o.pin && (part === 'ingest' || part === 'frag'), udpReader, result: await runners[part](o), seconds: (Date.now() - t0) / 1000 };
    } catch (err) {
      note(`${part} failed: ${(err as Error).stack ?? err}`);
      sections[part] = { at: new Date().toISOString(), command, error: String((err as Error).message ?? err) };
    }
  }
  const result = { started, finished: new Date().toISOString(), command, machine: machine(), options: o, sections };
  writeFileSync(join(o.out, `results-${started.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2));
  // latest.json: every part's newest result, so `--only` reruns keep the others.
  const latestPath = join(o.out, 'latest.json');
  let latest: Record<string, any> = { sections: {} };
  if (existsSync(latestPath)) try { latest = JSON.parse(readFileSync(latestPath, 'utf8')); } catch { /* start over */ }
  latest.machine = result.machine;
  latest.sections = { ...(latest.sections ?? {}), ...sections };
  writeFileSync(latestPath, JSON.stringify(latest, null, 2));
  if (!o.noReport) writeReport(latest);
  note(`wrote ${latestPath}`);
  return result;
}

/** `--report-only`: rewrite the generated part of RESULTS.md from bench/out/latest.json. */
function reportOnly(o: BenchOptions): void {
  const latest = JSON.parse(readFileSync(join(o.out, 'latest.json'), 'utf8'));
  const prof = latest.sections?.profile?.result;
  if (prof?.profileDir && existsSync(prof.profileDir)) prof.threads = summarizeDir(prof.profileDir);
  writeFileSync(join(o.out, 'latest.json'), JSON.stringify(latest, null, 2));
  writeReport(latest);
}

function writeReport(latest: Record<string, any>): void {
  const md = join(ROOT, 'bench', 'RESULTS.md');
  const generated = renderMarkdown(latest);
  const START = '<!-- generated:start -->';
  const END = '<!-- generated:end -->';
  let text = existsSync(md) ? readFileSync(md, 'utf8') : `# Benchmark results\n\n${START}\n${END}\n`;
  if (!text.includes(START)) text += `\n${START}\n${END}\n`;
  text = text.slice(0, text.indexOf(START) + START.length) + '\n' + generated + '\n' + text.slice(text.indexOf(END));
  writeFileSync(md, text);
  note(`wrote ${md}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) { console.log(USAGE); process.exit(0); }
  let o: BenchOptions;
  try { o = parseArgs(argv); } catch (err) { console.error((err as Error).message); process.exit(2); }
  if (argv.includes('--report-only')) { reportOnly(o); process.exit(0); }
  runBench(o, argv).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
}
