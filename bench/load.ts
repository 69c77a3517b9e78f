// The load generator, run as its own process (forked by run.ts, driven over IPC): N UDP sockets (one
// source each, connected to the collector), pre-formatted extended records, paced to a target rate,
// bounded by count and by time.
//
// Records are formatted here; the sending loop is blast.c (built with `cc` on first use) unless the
// run stamps send times (latency) or `generator: 'node'` asks for node's dgram, or no compiler is
// installed. Both loops pace the same way; blast spends a fraction of node's CPU per datagram, and
// this machine's two cores are shared with the collector being measured.
//
//   {type:'prepare', ...LoadConfig} -> {type:'ready', datagrams, bytes, prepareMs, generator}
//   {type:'go'}                     -> {type:'done', ...LoadResult}
//   {type:'exit'}
//
// Records are what a 6.1 kernel's extended target sends for an ASCII record without dictionary:
// `<pri>,<seq>,<ts_usec>,-;<text>\n` (checked against the formatter at start-up). Each source counts
// its own seq from 1 so the collector sees no gap, duplicate or reboot. Every record of a run carries
// the token `t<tag>`; the last record of each source also `e<tag>` (what run.ts searches for).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './common.js';
import { buildExtendedRecord, extendedHeader, fragmentExtended } from '../src/netconsole/format.js';

export interface LoadConfig {
  host: string;
  port: number;
  sources: number;
  /** Records per second (all sources together). */
  rate: number;
  count: number;
  /** Hard time bound of the sending loop, ms. */
  maxMs: number;
  tag: string;
  /** Size of each record's extended text (header + text + LF), bytes. */
  recordBytes: number;
  /** 'plain': one datagram per record; 'frag': the record split by ncfrag like the kernel does. */
  mode: 'plain' | 'frag';
  /** Stamp each record with its send time (`at=<epoch ms>`), built at send time (latency runs). */
  stamp: boolean;
  /** Sending loop: 'c' (blast.c, the default when `cc` works) or 'node' (dgram). Stamped runs use node. */
  generator?: 'c' | 'node';
  /** Run blast on this CPU only (`taskset -c`), away from the collector's datagram thread (run.ts --pin). */
  pinCpu?: number;
  /** Load processes running at once pick different blocks: their sources are then 127.(10+block).X.Y (default 0). */
  addressBlock?: number;
}

export interface LoadResult {
  sent: number;
  datagrams: number;
  bytes: number;
  errors: number;
  /** Wall-clock ms (epoch) of the first and the last send. */
  firstAt: number;
  lastAt: number;
  elapsedMs: number;
  achievedRate: number;
  timedOut: boolean;
}

const FILLER = ' e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx kworker/u16:3 ext4_find_entry';

function recordText(tag: string, src: number, seq: number, last: boolean, textBytes: number, at?: string): string {
  let t = `bench t${tag}${last ? ` e${tag}` : ''} s${src} n${seq}${at !== undefined ? ` at=${at}` : ''}`;
  while (t.length < textBytes) t += FILLER;
  return t.slice(0, textBytes);
}

function header(seq: number, tsUsec: number): string {
  return extendedHeader({ pri: 6, seq, tsUsec, text: new Uint8Array(0) });
}

/** One record's datagrams. */
function datagramsFor(c: LoadConfig, i: number, at?: string): Buffer[] {
  const src = i % c.sources;
  const seq = Math.floor(i / c.sources) + 1;
  const perSource = Math.ceil(c.count / c.sources);
  const last = seq === perSource || i + c.sources >= c.count;
  const tsUsec = 5_000_000 + seq * 1000;
  const h = header(seq, tsUsec);
  const text = recordText(c.tag, src, seq, last, Math.max(8, c.recordBytes - h.length - 1), at);
  const msg = Buffer.from(`${h}${text}\n`, 'latin1');
  if (c.mode === 'plain') return [msg];
  // The kernel's ncfrag split (format.ts fragmentExtended, spec §3.6): records this long only exist
  // with escaping or on newer kernels' larger buffers; the split itself is the kernel's.
  return fragmentExtended(msg, Buffer.alloc(0), undefined, 'latest');
}

function selfCheck(): void {
  // The hand-built plain record must be exactly what the formatter (the kernel's rules) produces.
  const c: LoadConfig = { host: '', port: 0, sources: 1, rate: 1, count: 1, maxMs: 1, tag: 'check', recordBytes: 100, mode: 'plain', stamp: false };
  const [mine] = datagramsFor(c, 0);
  const text = mine!.subarray(mine!.indexOf(0x3b) + 1, mine!.length - 1);
  const ref = buildExtendedRecord({ pri: 6, seq: 1, tsUsec: 5_001_000, text }, '6.1');
  if (!ref.equals(mine!)) throw new Error(`load: record differs from the formatter's: ${mine} vs ${ref}`);
  if (mine!.length !== 100) throw new Error(`load: record is ${mine!.length} bytes, not 100`);
}

let config: LoadConfig | null = null;
let prepared: Buffer[][] = [];
let sockets: dgram.Socket[] = [];
let errors = 0;
/** The prepared blast process of the next run, waiting for "go". */
let blast: { child: ChildProcess; result: Promise<LoadResult> } | null = null;

const BLAST_SRC = join(ROOT, 'bench', 'blast.c');
const BLAST_BIN = join(ROOT, 'bench', 'out', 'blast');
let blastBuild: string | null | undefined;

/** blast's path, built when missing or older than its source; null (and why, once) without a compiler. */
function blastBinary(): string | null {
  if (blastBuild !== undefined) return blastBuild;
  try {
    if (!existsSync(BLAST_BIN) || statSync(BLAST_BIN).mtimeMs < statSync(BLAST_SRC).mtimeMs) {
      mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
      execFileSync('cc', ['-O2', '-Wall', '-o', BLAST_BIN, BLAST_SRC], { stdio: ['ignore', 'ignore', 'pipe'] });
    }
    blastBuild = BLAST_BIN;
  } catch (err) {
    process.stderr.write(`load: cannot build ${BLAST_SRC} (${String((err as Error).message).split('\n')[0]}); sending with node's dgram instead\n`);
    blastBuild = null;
  }
  return blastBuild;
}

/** Writes the run's datagrams for blast (u16 count, then u16 length + bytes each) and starts it. */
async function prepareBlast(bin: string, c: LoadConfig, bindAddr: string, records: Buffer[][]): Promise<void> {
  let size = 0;
  for (const d of records) { size += 2; for (const b of d) size += 2 + b.length; }
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  for (const d of records) {
    off = out.writeUInt16LE(d.length, off);
    for (const b of d) { off = out.writeUInt16LE(b.length, off); off += b.copy(out, off); }
  }
  const file = join(tmpdir(), `nch-blast-${process.pid}-${runIndex}.bin`);
  writeFileSync(file, out);
  const args = [c.host, String(c.port), bindAddr, String(c.sources), String(c.rate), String(c.maxMs), file];
  const child = c.pinCpu === undefined
    ? spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('taskset', ['-c', String(c.pinCpu), bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const lines = createInterface({ input: child.stdout! });
  const it = lines[Symbol.asyncIterator]();
  const ready = await it.next();
  if (ready.done || ready.value !== 'ready') throw new Error(`blast did not start: ${stderr.trim() || 'no output'}`);
  const result = (async (): Promise<LoadResult> => {
    const r = await it.next();
    if (r.done) throw new Error(`blast failed: ${stderr.trim() || 'no result'}`);
    return JSON.parse(r.value) as LoadResult;
  })();
  result.catch(() => {}).finally(() => rmSync(file, { force: true }));
  blast = { child, result };
}
/** Runs prepared by this process: each binds its sockets on its own loopback address. */
let runIndex = 0;

async function prepare(c: LoadConfig): Promise<{ datagrams: number; bytes: number; prepareMs: number; generator: 'c' | 'node' }> {
  const t0 = performance.now();
  for (const s of sockets) s.close();
  sockets = [];
  errors = 0;
  config = c;
  if (blast) { blast.child.kill(); blast = null; }
  const bin = !c.stamp && c.generator !== 'node' ? blastBinary() : null;
  // A fresh address per run: a reused ephemeral port would make the collector see an old source
  // start over at seq 1 (duplicates, dropped as such) instead of a new one.
  const bindAddr = `127.${10 + (c.addressBlock ?? 0)}.${(runIndex >> 8) & 255}.${(runIndex & 255) + 1}`;
  runIndex++;
  if (!bin) await Promise.all(Array.from({ length: c.sources }, async () => {
    const s = dgram.createSocket('udp4');
    s.on('error', () => errors++);
    await new Promise<void>((res, rej) => { s.once('error', rej); s.bind(0, bindAddr, () => { s.off('error', rej); res(); }); });
    await new Promise<void>((res, rej) => { s.once('error', rej); s.connect(c.port, c.host, () => { s.off('error', rej); res(); }); });
    sockets.push(s);
  }));
  let datagrams = 0;
  let bytes = 0;
  prepared = [];
  if (!c.stamp) {
    // One slab for all plain records: no per-record allocation while sending.
    for (let i = 0; i < c.count; i++) {
      const d = datagramsFor(c, i);
      prepared.push(d);
      datagrams += d.length;
      for (const b of d) bytes += b.length;
    }
  }
  if (bin) {
    await prepareBlast(bin, c, bindAddr, prepared);
    prepared = [];
  }
  return { datagrams, bytes, prepareMs: performance.now() - t0, generator: bin ? 'c' : 'node' };
}

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function run(): Promise<LoadResult> {
  if (blast) {
    const b = blast;
    blast = null;
    b.child.stdin!.end('go\n');
    return b.result;
  }
  const c = config!;
  return new Promise((resolve) => {
    let sent = 0;
    let datagrams = 0;
    let bytes = 0;
    const t0 = performance.now();
    const firstAt = wallNow();
    let lastAt = firstAt;
    let timedOut = false;
    const tick = (): void => {
      const el = performance.now() - t0;
      if (el > c.maxMs) timedOut = true;
      const due = timedOut ? sent : Math.min(c.count, Math.floor((c.rate * el) / 1000) + 1);
      let n = 0;
      while (sent < due && n < 8192) {
        const d = c.stamp ? datagramsFor(c, sent, wallNow().toFixed(3)) : prepared[sent]!;
        const s = sockets[sent % c.sources]!;
        for (const b of d) {
          s.send(b);
          datagrams++;
          bytes += b.length;
        }
        sent++;
        n++;
      }
      lastAt = wallNow();
      if (sent >= c.count || timedOut) {
        const elapsedMs = performance.now() - t0;
        resolve({ sent, datagrams, bytes, errors, firstAt, lastAt, elapsedMs, achievedRate: sent / (elapsedMs / 1000), timedOut });
        return;
      }
      // Behind: go on at once; caught up: yield the CPU (the collector shares it).
      if (sent < Math.floor((c.rate * (performance.now() - t0)) / 1000)) setImmediate(tick);
      else setTimeout(tick, 1);
    };
    tick();
  });
}

selfCheck();
process.on('message', (m: any) => {
  if (m.type === 'prepare') {
    prepare(m as LoadConfig).then((r) => process.send!({ type: 'ready', ...r }), (err) => process.send!({ type: 'ready', error: String(err) }));
  } else if (m.type === 'go') {
    // Let queued sends flush before reporting.
    run().then(
      (r) => setTimeout(() => process.send!({ type: 'done', ...r }), 20),
      (err) => process.send!({ type: 'done', error: String(err) }),
    );
  } else if (m.type === 'exit') {
    for (const s of sockets) s.close();
    blast?.child.kill();
    process.disconnect();
  }
});
// Never outlive the bench.
process.on('disconnect', () => process.exit(0));
