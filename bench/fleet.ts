// The fleet parts of `npm run bench` (issue 20), against a real ClickHouse (Debian's
// clickhouse-server, started like the tests start it: test/helpers/clickhouse.ts).
//
//   fleet        stored rate into ClickHouse: one collector, then two collectors into one database,
//                each driven by its own load generator at the same rate; the rate is records stored
//                (counted in ClickHouse) over the time from the first send until the last is stored.
//   fleet-query  search latency through a collector's API on --db-rows rows generated in ClickHouse
//                (1000 hosts, 30 days, the word mix of gen-db.ts: eth0 ~15%, segfault ~0.5%, panic ~0.01%).
import { join } from 'node:path';
import { startClickHouse, type ClickHouse } from '../test/helpers/clickhouse.js';
import { Child, cpuSecondsOf, figure, getJson, note, removeDir, sleep, startServe, tempDir, timeQuery, type Figure, type QueryFigure, type QueryKind, type ServeProcess } from './common.js';
import type { LoadConfig, LoadResult } from './load.js';

export interface FleetOptions {
  runs: number;
  quick: boolean;
  durationSec: number;
  sources: number;
  /** Records/s each collector is sent. */
  fleetRate: number;
  dbRows: number;
  queryReps: number;
  generator: 'c' | 'node';
}

async function storedIn(ch: ClickHouse, db: string): Promise<number> {
  const [r] = await ch.rows<{ n: string }>(`SELECT count() AS n FROM ${db}.messages`);
  return Number(r?.n ?? 0);
}

/** Rows the collectors say they inserted (their messages.stored counters in ClickHouse). */
async function insertedIn(ch: ClickHouse, db: string): Promise<number> {
  const [r] = await ch.rows<{ n: string }>(`SELECT sum(value) AS n FROM ${db}.hub_counters WHERE name = 'messages.stored'`);
  return Number(r?.n ?? 0);
}

/** One load run; `cpuAtGo`: the generator's CPU seconds once its datagrams were prepared (preparing is not sending). */
async function load(child: Child, cfg: LoadConfig, generator: 'c' | 'node'): Promise<LoadResult & { cpuAtGo: number }> {
  const ready = await child.request({ type: 'prepare', generator, ...cfg }, 'ready', 120_000);
  if (ready.error) throw new Error(`load: ${ready.error}`);
  const cpuAtGo = child.proc.pid === undefined ? 0 : cpuSecondsOf(child.proc.pid, true);
  const done = await child.request<LoadResult & { error?: string }>({ type: 'go' }, 'done', cfg.maxMs + 30_000);
  if (done.error) throw new Error(`load: ${done.error}`);
  return { ...done, cpuAtGo };
}

export interface FleetRun {
  collectors: number; sent: number; stored: number; allStoredMs: number | null; storedPerSec: number; achievedPerCollector: number;
  /** Records the collectors parsed (their /api/stats `records`): sent minus this is lost before them (socket buffers). */
  received: number;
  /** Records the collectors still held (queue + spool) when the wait ended: not lost, not yet stored. */
  lagAtEnd: number;
  /** Rows the collectors inserted, by their own count: more than `stored` means ClickHouse collapsed rows. */
  inserted: number;
  /**
   * CPU (user + system, all threads) per stored record until the end of the wait: the ClickHouse
   * server (its background merges of the time included) and the collectors from before the load,
   * the load generators (with the senders they ran, whose send(2) pays for loopback delivery) from
   * when their datagrams were ready. On a shared machine these add up to its limit.
   */
  cpuUsPerRecord: { clickhouse: number; collectors: number; load: number };
}

/** CPU seconds so far of the ClickHouse server, the collectors, and the load generators (with their reaped senders). */
function cpuNow(ch: ClickHouse, serves: ServeProcess[], loads: Child[]): { clickhouse: number; collectors: number; load: number } {
  const pid = ch.pid();
  const sum = (pids: (number | undefined)[], children: boolean) => pids.reduce<number>((a, p) => a + (p === undefined ? 0 : cpuSecondsOf(p, children)), 0);
  return { clickhouse: pid === null ? 0 : cpuSecondsOf(pid), collectors: sum(serves.map((s) => s.pid), false), load: sum(loads.map((l) => l.proc.pid), true) };
}

/** Each collector's records parsed so far and records held (queue + spool). */
async function collectorState(serves: ServeProcess[]): Promise<{ records: number; lag: number }> {
  const all = await Promise.all(serves.map((s) => getJson(`${s.http}/api/stats`) as Promise<{ records: number; lag_records: number }>));
  return { records: all.reduce((a, x) => a + x.records, 0), lag: all.reduce((a, x) => a + x.lag_records, 0) };
}

/** Every collector gets `rate`/s for the duration at once; waits (bounded) until ClickHouse holds all. */
async function fleetRun(ch: ClickHouse, db: string, serves: ServeProcess[], loads: Child[], o: FleetOptions, rate: number, seconds: number): Promise<FleetRun> {
  const before = await storedIn(ch, db);
  const receivedBefore = (await collectorState(serves)).records;
  const insertedBefore = await insertedIn(ch, db);
  const count = Math.round(rate * seconds);
  const maxMs = seconds * 2000 + 2000;
  const cpu0 = cpuNow(ch, serves, loads);
  const results = await Promise.all(serves.map((s, i) => load(loads[i]!, {
    host: '127.0.0.1', port: s.udpPort, sources: o.sources, rate, count, maxMs, tag: `f${Date.now().toString(36)}${i}`, recordBytes: 100, mode: 'plain', stamp: false, addressBlock: i,
  }, o.generator)));
  const sent = results.reduce((a, r) => a + r.sent, 0);
  const firstAt = Math.min(...results.map((r) => r.firstAt));
  const lastAt = Math.max(...results.map((r) => r.lastAt));
  let allStoredAt: number | null = null;
  let stored = 0;
  let last = -1;
  let stableSince = Date.now();
  let state = await collectorState(serves);
  // Bounded: 120 s after the last send, or 5 s without progress while no collector holds a record
  // (a collector still holding records is behind, not done: ClickHouse may be delaying inserts).
  while (Date.now() < lastAt + 120_000 && (Date.now() - stableSince < 5000 || state.lag > 0)) {
    stored = (await storedIn(ch, db)) - before;
    if (stored >= sent) { allStoredAt = Date.now(); break; }
    if (stored !== last) { last = stored; stableSince = Date.now(); }
    await sleep(50);
    state = await collectorState(serves);
  }
  const cpu1 = cpuNow(ch, serves, loads);
  state = await collectorState(serves);
  const end = allStoredAt ?? Date.now();
  const perRecord = (s: number) => +((s * 1e6) / Math.max(1, stored)).toFixed(2);
  if (allStoredAt === null) {
    note(`fleet: ${sent - stored} records not stored when the wait ended; collectors: ${JSON.stringify(state)}`);
    for (const s of serves) note(`fleet: collector dropped by reason: ${JSON.stringify((await getJson(`${s.http}/api/stats`)).dropped)}`);
  }
  return {
    collectors: serves.length, sent, stored, allStoredMs: allStoredAt === null ? null : allStoredAt - lastAt,
    storedPerSec: Math.round(stored / ((end - firstAt) / 1000)),
    achievedPerCollector: Math.round(results.reduce((a, r) => a + r.achievedRate, 0) / results.length),
    received: state.records - receivedBefore, lagAtEnd: state.lag, inserted: (await insertedIn(ch, db)) - insertedBefore,
    cpuUsPerRecord: {
      clickhouse: perRecord(cpu1.clickhouse - cpu0.clickhouse), collectors: perRecord(cpu1.collectors - cpu0.collectors),
      load: perRecord(cpu1.load - results.reduce((a, r) => a + r.cpuAtGo, 0)),
    },
  };
}

export async function partFleet(o: FleetOptions): Promise<{ rate: number; seconds: number; sources: number; one: { runs: FleetRun[]; storedPerSec: Figure; lossless: boolean }; two: { runs: FleetRun[]; storedPerSec: Figure; lossless: boolean }; ratio: number }> {
  const ch = await startClickHouse();
  const dir = tempDir();
  const out: Record<'one' | 'two', { runs: FleetRun[]; storedPerSec: Figure; lossless: boolean }> = {} as never;
  try {
    for (const [key, n] of [['one', 1], ['two', 2]] as const) {
      const db = `bench_${key}`;
      const serves: ServeProcess[] = [];
      const loads: Child[] = [];
      try {
        for (let i = 0; i < n; i++) {
          serves.push(await startServe({ db: join(dir, `${key}-${i}.db`), extraArgs: ['--store', ch.storeUrl(db), '--collector-name', `bench-${key}-${i}`] }));
          loads.push(Child.fork('load.js'));
        }
        const warm = await fleetRun(ch, db, serves, loads, o, Math.min(20_000, o.fleetRate), 1);
        note(`fleet ${n} collector(s) warm-up: ${warm.stored}/${warm.sent} stored (not counted)`);
        const runs: FleetRun[] = [];
        for (let r = 0; r < o.runs; r++) {
          const run = await fleetRun(ch, db, serves, loads, o, o.fleetRate, o.durationSec);
          note(`fleet ${n} collector(s) run ${r + 1}: ${run.stored}/${run.sent} stored (${run.received} received, ${run.inserted} inserted, ${run.lagAtEnd} still held), ${run.storedPerSec}/s stored, all stored ${run.allStoredMs === null ? "-" : Math.round(run.allStoredMs)} ms after the last send (sent at ${run.achievedPerCollector}/s per collector); CPU µs per stored record: ClickHouse ${run.cpuUsPerRecord.clickhouse}, collector(s) ${run.cpuUsPerRecord.collectors}, load ${run.cpuUsPerRecord.load}`);
          runs.push(run);
        }
        out[key] = { runs, storedPerSec: figure(runs.map((r) => r.storedPerSec)), lossless: runs.every((r) => r.stored === r.sent) };
      } finally {
        for (const s of serves) await s.stop();
        for (const l of loads) await l.close();
      }
    }
  } finally {
    await ch.close();
    removeDir(dir);
  }
  return { rate: o.fleetRate, seconds: o.durationSec, sources: o.sources, ...out, ratio: +(out.two.storedPerSec.median / out.one.storedPerSec.median).toFixed(2) };
}

const EPOCH_MS = Date.UTC(2024, 0, 1);

/**
 * Fills `db` (schema created by a collector first) with `rows` messages over 30 days before now,
 * in ClickHouse itself (INSERT … SELECT FROM numbers), then merges the partitions (OPTIMIZE … FINAL:
 * what a day's partition looks like once background merges are done with it).
 */
export async function generateRows(ch: ClickHouse, db: string, rows: number, hosts: number): Promise<{ firstAt: number; lastAt: number; seconds: number }> {
  const t0 = Date.now();
  const lastAt = Date.now();
  const firstAt = lastAt - 30 * 86_400_000;
  const span = lastAt - firstAt;
  const host = `concat('10.0.', toString(intDiv(cityHash64(number, 7) % ${hosts}, 256)), '.', toString(cityHash64(number, 7) % ${hosts} % 256))`;
  const at = `toUInt64(${firstAt} + intDiv(number * ${span}, ${rows}))`;
  const text = `multiIf(
      cityHash64(number, 1) % 10000 < 1, concat('Kernel panic - not syncing: Fatal exception in interrupt [', toString(number % 97), ']'),
      cityHash64(number, 1) % 10000 < 51, concat('traps: worker[', toString(number % 30011), '] segfault at ', lower(hex(cityHash64(number, 3))), ' ip 00007f3a error 4 in libc.so.6'),
      cityHash64(number, 1) % 10000 < 1551, concat('e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx (', toString(number % 1009), ')'),
      concat(arrayElement(['EXT4-fs (sda1): mounted filesystem with ordered data mode', 'audit: type=1400 apparmor="STATUS" operation="profile_load"', 'usb 1-1: new high-speed USB device number', 'systemd[1]: Started Journal Service', 'nf_conntrack: default automatic helper assignment has been turned off', 'kworker/u16:3 ext4_find_entry: reading directory lblock', 'TCP: request_sock_TCP: Possible SYN flooding on port 22', 'perf: interrupt took too long, lowering kernel.perf_event_max_sample_rate'], 1 + cityHash64(number, 2) % 8), ' ', lower(hex(cityHash64(number, 4)))))`;
  await ch.query(`INSERT INTO ${db}.messages (id, collector, host, source, boot, seq, lkey, level, facility, ts_usec, received_at, text, fields, complete, flags, truncated, fragmented)
    SELECT ((${at} - ${EPOCH_MS}) * 256 + number % 256) * 64, 0, ${host}, concat(${host}, ':6665'), toUInt32(1 + intDiv(number * 3, ${rows})), toInt64(number), 0,
      toInt8(cityHash64(number, 5) % 8), 0, toInt64(number * 1000), ${at}, ${text}, '{}', 1, '-', 0, 0
    FROM numbers(${rows})`);
  await ch.query(`INSERT INTO ${db}.hosts SELECT concat('10.0.', toString(intDiv(number, 256)), '.', toString(number % 256)), '', 0, ${firstAt}, ${lastAt}, 1 FROM numbers(${hosts})`);
  await ch.query(`INSERT INTO ${db}.sources SELECT concat('10.0.', toString(intDiv(number, 256)), '.', toString(number % 256), ':6665'), concat('10.0.', toString(intDiv(number, 256)), '.', toString(number % 256)), 'extended', ${lastAt} FROM numbers(${hosts})`);
  await ch.query(`INSERT INTO ${db}.boots SELECT concat('10.0.', toString(intDiv(intDiv(number, 3), 256)), '.', toString(intDiv(number, 3) % 256)), toUInt32(1 + number % 3),
    toUInt64(${firstAt} + intDiv((number % 3) * ${span}, 3)), -1, if(number % 3 = 0, 'first', 'reboot'), '', 0, 1 FROM numbers(${hosts * 3})`);
  await ch.query(`OPTIMIZE TABLE ${db}.messages FINAL`);
  return { firstAt, lastAt, seconds: (Date.now() - t0) / 1000 };
}


export async function partFleetQuery(o: FleetOptions): Promise<{ rows: number; hosts: number; genSeconds: number; queries: QueryFigure[] }> {
  const ch = await startClickHouse();
  const dir = tempDir();
  const db = 'bench_query';
  let srv: ServeProcess | undefined;
  const results: QueryFigure[] = [];
  let genSeconds = 0;
  try {
    // The collector creates the schema; the rows are generated beside it; a new collector reads them.
    srv = await startServe({ db: join(dir, 'a.db'), extraArgs: ['--store', ch.storeUrl(db), '--collector-name', 'bench-query'] });
    await srv.stop();
    note(`fleet-query: generating ${o.dbRows} rows in ClickHouse`);
    const gen = await generateRows(ch, db, o.dbRows, 1000);
    genSeconds = gen.seconds;
    note(`fleet-query: generated and merged in ${gen.seconds.toFixed(1)} s`);
    srv = await startServe({ db: join(dir, 'a.db'), extraArgs: ['--store', ch.storeUrl(db), '--collector-name', 'bench-query'] });
    const day = 86_400_000;
    // Records to open in context: each the newest of a different host.
    const contextIds = (await ch.rows<{ id: string }>(`SELECT toString(max(id)) AS id FROM ${db}.messages GROUP BY host ORDER BY host LIMIT 50`)).map((r) => r.id);
    const host = (i: number) => `10.0.${((i * 37) % 1000) >> 8}.${((i * 37) % 1000) & 255}`;
    const kinds: QueryKind[] = [
      { name: 'substring_rare', what: 'substring, rare (~0.01%): ?text=Kernel panic', url: () => '/api/messages?text=Kernel%20panic' },
      { name: 'substring_uncommon', what: 'substring, uncommon (~0.5%): ?text=segfault', url: () => '/api/messages?text=segfault' },
      { name: 'substring_common', what: 'substring, common (~15%): ?text=eth0', url: () => '/api/messages?text=eth0' },
      { name: 'fulltext_uncommon', what: 'full text: ?q=segfault', url: () => '/api/messages?q=segfault' },
      { name: 'regex_uncommon', what: 'regular expression: ?regex=/segfault at [0-9a-f]+/', url: () => `/api/messages?regex=${encodeURIComponent('/segfault at [0-9a-f]+/')}` },
      { name: 'substring_host', what: 'substring + host: ?text=segfault&host=H', url: (i) => `/api/messages?text=segfault&host=${host(i)}` },
      { name: 'host_last200', what: "a host's last 200 lines: ?host=H&limit=200", url: (i) => `/api/messages?host=${host(i)}&limit=200` },
      { name: 'host_range', what: 'host + one-day time range', url: (i) => `/api/messages?host=${host(i)}&since=${gen.firstAt + (5 + (i % 20)) * day}&until=${gen.firstAt + (6 + (i % 20)) * day}` },
      // The dashboard's other reads: its header's counts every 5 s, the hosts page, a search's histogram, a record's context.
      { name: 'stats', what: '/api/stats (counts)', url: () => '/api/stats', count: () => 1 },
      { name: 'hosts', what: '/api/hosts (every host with its boots)', url: () => '/api/hosts', count: (b) => b.hosts.length },
      { name: 'histogram_30d', what: 'histogram of 30 days, ?q=segfault', url: () => `/api/histogram?since=${gen.firstAt}&until=${gen.lastAt}&q=segfault`, count: (b) => b.buckets.length },
      { name: 'context', what: "a record's context (20 lines around it)", url: (i) => `/api/messages/${contextIds[i % contextIds.length]}/context?before=10&after=10`, count: (b) => b.before.length + 1 + b.after.length },
    ];
    for (const k of kinds) {
      const f = await timeQuery(srv.http, k, o.runs, o.queryReps);
      note(`fleet-query ${k.name}: p50 ${f.p50.median.toFixed(1)} ms, p95 ${f.p95.median.toFixed(1)} ms (${f.results} results)`);
      results.push(f);
    }
    const stats = await getJson(`${srv.http}/api/stats`);
    if (stats.messages !== o.dbRows) note(`fleet-query: /api/stats says ${stats.messages} messages, ${o.dbRows} generated`);
  } finally {
    await srv?.stop();
    await ch.close();
    removeDir(dir);
  }
  return { rows: o.dbRows, hosts: 1000, genSeconds, queries: results };
}
