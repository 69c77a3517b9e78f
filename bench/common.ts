// Shared helpers of the benchmark: starting a real `serve` process, child processes speaking a small
// IPC protocol (load generator, do-nothing sink), /proc readings, statistics.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench/ at run time. */
export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
/** The checkout (dist/bench/../..). */
export const ROOT = resolve(BENCH_DIR, '..', '..');
export const CLI = join(ROOT, 'bin', 'netconsole-hub');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix = 'nch-bench-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
}

export interface ServeProcess {
  child: ChildProcess;
  pid: number;
  udpPort: number;
  http: string;
  db: string;
  log: () => string;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/** Starts `netconsole-hub serve` on loopback (UDP and HTTP on free ports). Bounded: 30 s to start. */
export async function startServe(opts: { db: string; nodeArgs?: string[]; extraArgs?: string[] }): Promise<ServeProcess> {
  // info: the two start-up lines are info lines (a lossless run logs nothing else per record).
  const args = [...(opts.nodeArgs ?? []), CLI, 'serve', '--udp', '127.0.0.1:0', '--http', '127.0.0.1:0', '--db', opts.db, '--log-level', 'info', ...(opts.extraArgs ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const deadline = Date.now() + 30_000;
  let udpPort = 0;
  let http = '';
  while (Date.now() < deadline) {
    const u = /listening on UDP 127\.0\.0\.1:(\d+)/.exec(out);
    const h = /dashboard and API on (http:\/\/[\d.:]+)/.exec(out);
    if (u && h) { udpPort = Number(u[1]); http = h[1]!; break; }
    if (child.exitCode !== null) throw new Error(`serve exited early (${child.exitCode}): ${out}`);
    await sleep(50);
  }
  if (!http) { child.kill('SIGKILL'); throw new Error(`serve did not start within 30 s: ${out}`); }
  return {
    child, pid: child.pid!, udpPort, http, db: opts.db, log: () => out,
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (child.exitCode === null) child.kill(signal);
      const t = setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export async function getJson(url: string, timeoutMs = 30_000): Promise<any> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

/** Polls until check() is truthy or the time runs out; returns the value or undefined. */
export async function pollUntil<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 20): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(everyMs);
  }
}

/** Resident set size of a process, bytes (VmRSS). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** User + system CPU time of a process (all threads), seconds. */
export function cpuSecondsOf(pid: number, withReapedChildren = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15; the children it waited for, 16 and 17.
  const own = Number(fields[11]) + Number(fields[12]);
  return (withReapedChildren ? own + Number(fields[13]) + Number(fields[14]) : own) / 100;
}

/** CPU seconds (user + system) per thread id of a process. */
export function threadCpuOf(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100);
    } catch { /* the thread ended */ }
  }
  return out;
}

/** CPU used between two threadCpuOf() samples: by the main thread (tid = pid) and by the busiest other thread. */
export function threadCpuDelta(pid: number, before: Map<number, number>, after: Map<number, number>): { main: number; busiestOther: number } {
  let busiestOther = 0;
  for (const [tid, sec] of after) if (tid !== pid) busiestOther = Math.max(busiestOther, sec - (before.get(tid) ?? 0));
  return { main: (after.get(pid) ?? 0) - (before.get(pid) ?? 0), busiestOther };
}

/** Kernel UDP counters (system-wide): receive-buffer drops are where loopback loses datagrams. */
export function udpCounters(): { InDatagrams: number; RcvbufErrors: number; InErrors: number } {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const vals = lines[1]!.split(/\s+/).slice(1).map(Number);
  const o: Record<string, number> = {};
  names.forEach((n, i) => (o[n] = vals[i]!));
  return { InDatagrams: o.InDatagrams ?? 0, RcvbufErrors: o.RcvbufErrors ?? 0, InErrors: o.InErrors ?? 0 };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function figure(runs: number[]): Figure {
  const s = [...runs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN, runs };
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, runs };
}

/** A forked child (load generator, sink) driven by request/response messages over IPC. */
export class Child {
  private waiters: { type: string; resolve: (m: any) => void; reject: (e: Error) => void }[] = [];
  readonly exited: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: any) => {
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
    this.exited = new Promise((res) => proc.on('exit', (code) => {
      for (const w of this.waiters) w.reject(new Error(`child exited (${code}) while waiting for ${w.type}`));
      this.waiters = [];
      res(code);
    }));
  }
  static fork(script: string, nodeArgs: string[] = []): Child {
    return new Child(fork(join(BENCH_DIR, script), [], { execArgv: nodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }
  /** Sends a message and waits (bounded) for the reply of the given type. */
  request<T = any>(msg: object, replyType: string, timeoutMs = 120_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${replyType} from child within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ type: replyType, resolve: (m) => { clearTimeout(t); resolve(m); }, reject: (e) => { clearTimeout(t); reject(e); } });
      this.proc.send(msg);
    });
  }
  /** Waits (bounded) for the next message of a type the child sends on its own. */
  next<T = any>(replyType: string, timeoutMs = 30_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${replyType} from child within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ type: replyType, resolve: (m) => { clearTimeout(t); resolve(m); }, reject: (e) => { clearTimeout(t); reject(e); } });
    });
  }
  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.connected) this.proc.send({ type: 'exit' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Prints progress to stderr (stdout stays clean). */
export function note(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** `node dist/src/cli.js …` as a child, collecting stdout; bounded in time. */
export function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => { clearTimeout(t); res({ code, stdout, stderr }); });
  });
}

/**
 * Pins one thread (a process's main thread when tid = pid) to one CPU with `taskset`: `--pin` keeps
 * the receiving thread and the load generator on different cores (see load.ts). Throws with the
 * reason when taskset is missing or refuses.
 */
export function pinThread(tid: number, cpu: number): void {
  try {
    execFileSync('taskset', ['-p', '-c', String(cpu), String(tid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`--pin: taskset -p -c ${cpu} ${tid} failed (${String((err as Error).message).split('\n')[0]}); install util-linux or run without --pin`);
  }
}

/** One kind of API query the query benchmarks time: `url(i)` is the i-th repetition's path. */
/** `count`: what "rows returned" is for an answer that is not a page of messages (hosts listed, buckets). */
export interface QueryKind { name: string; what: string; url: (i: number) => string; stream?: boolean; count?: (body: any) => number }

export interface QueryFigure { name: string; what: string; p50: Figure; p95: Figure; results: number }

/** Times `reps` requests of one kind per run against `http`; p50 and p95 per run, as figures over the runs. */
export async function timeQuery(http: string, k: QueryKind, runs: number, reps: number): Promise<QueryFigure> {
  const p50s: number[] = [];
  const p95s: number[] = [];
  let results = 0;
  for (let run = 0; run < runs; run++) {
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const r = await fetch(`${http}${k.url(i + run * reps)}`, { signal: AbortSignal.timeout(60_000) });
      const body = await r.text();
      times.push(performance.now() - t0);
      if (!r.ok) throw new Error(`${k.name}: HTTP ${r.status} ${body.slice(0, 200)}`);
      results = k.stream ? body.split('\n').length - 1 : k.count ? k.count(JSON.parse(body)) : (JSON.parse(body).messages as unknown[]).length;
    }
    times.sort((a, b) => a - b);
    p50s.push(percentile(times, 50));
    p95s.push(percentile(times, 95));
  }
  return { name: k.name, what: k.what, p50: figure(p50s), p95: figure(p95s), results };
}
