// The sender's main loop: one source of records, paced and filtered, fanned out to every target
// through the emitter. Stops at end of input, after --count records, after --duration, or when
// the signal aborts; send errors are counted, never fatal.
import { recordPri, type KernelRecord } from '../netconsole/format.js';
import { RecordEmitter, type EmitterOptions, type SourceOverride, type TargetStats } from './emitter.js';
import { LineRecordFactory } from './line-records.js';
import { Pacer } from './pacer.js';
import { followFile } from './sources/follow-file.js';
import { readKmsg, currentBootId, type KmsgStart } from './sources/kmsg-device.js';
import { readKmsgFile } from './sources/kmsg-file.js';
import { streamRecords } from './sources/stdin.js';
import { SimulatedHost } from './simulate.js';
import { loadPosition, PositionKeeper } from './state.js';
import type { SendTarget } from './targets.js';
import type { Route, Transport } from './transport.js';
import { UdpTransport } from './transport-udp.js';
import { RawTransport } from './transport-raw.js';

export type SourceConfig =
  | { kind: 'kmsg'; from: 'beginning' | 'end'; statePath?: string; device?: string }
  | { kind: 'stdin' }
  | { kind: 'file'; path: string; fromStart: boolean }
  | { kind: 'kmsg-file'; path: string }
  | { kind: 'message'; text: string }
  | { kind: 'simulate'; hosts: number; seed: number };

export interface SenderConfig {
  source: SourceConfig;
  targets: SendTarget[];
  transport: 'udp' | 'raw';
  corruptRate: number;
  emitter: EmitterOptions;
  facility: number;
  level: number;
  /** Records per second (all hosts together when simulating). */
  rate?: number;
  count?: number;
  durationSec?: number;
  /** Emulated console_loglevel: only records with level < this are sent. */
  consoleLevel?: number;
  signal?: AbortSignal;
  /** One-line notices (gaps, rotation) for stderr. */
  notice?: (msg: string) => void;
}

export interface HostSummary {
  host: number;
  source: string;
  records: number;
  datagrams: number;
  lastSeq: number | null;
}

export interface SenderSummary {
  records: number;
  datagrams: number;
  sendErrors: number;
  sendErrorsByCode: Record<string, number>;
  corruptedChecksums: number;
  kmsgGaps: Array<{ from: string; to: string }>;
  targets: TargetStats[];
  hosts?: HostSummary[];
  elapsedMs: number;
}

function makeTransport(c: SenderConfig): Transport & { prepare(routes: Route[]): unknown } {
  return c.transport === 'raw' ? new RawTransport(c.corruptRate) : new UdpTransport();
}

/** Source address of simulated host i with raw sockets: 127.1.x.y, distinct per host. */
export function simulatedHostAddress(i: number): string {
  return `127.1.${(i >> 8) & 0xff}.${(i & 0xff) + 1}`;
}

export async function runSender(c: SenderConfig): Promise<SenderSummary> {
  if (c.targets.length === 0) throw new Error('no target: give --target HOST:PORT or --netconsole SPEC');
  if (c.corruptRate > 0 && c.transport !== 'raw') throw new Error('--corrupt-checksum needs --transport raw (the kernel computes checksums for udp)');
  const started = performance.now();
  const transport = makeTransport(c);
  const emitter = new RecordEmitter(c.targets, transport, c.emitter);
  const gaps: Array<{ from: string; to: string }> = [];
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort();
  c.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = c.durationSec !== undefined ? setTimeout(() => abort.abort(), c.durationSec * 1000) : null;
  const pacer = c.rate !== undefined ? new Pacer(c.rate, abort.signal) : null;
  let records = 0;
  let datagrams = 0;
  let hosts: HostSummary[] | undefined;
  try {
    if (c.source.kind === 'simulate') {
      hosts = await simulate(c, c.source, emitter, transport, pacer, abort.signal);
      for (const h of hosts) {
        records += h.records;
        datagrams += h.datagrams;
      }
    } else {
      const routes = c.targets.map((t) => emitter.routeFor(t));
      await transport.prepare(routes);
      const keeper: { current: PositionKeeper | null } = { current: null };
      for await (const r of recordsOf(c, abort.signal, gaps, keeper)) {
        if (c.consoleLevel !== undefined && (recordPri(r) & 7) >= c.consoleLevel) continue;
        if (pacer) await pacer.next();
        if (abort.signal.aborted) break;
        datagrams += await emitter.emit(r);
        records++;
        keeper.current?.sent(BigInt(r.seq));
        if (c.count !== undefined && records >= c.count) break;
      }
      keeper.current?.finish();
    }
  } finally {
    if (timer) clearTimeout(timer);
    c.signal?.removeEventListener('abort', onOuterAbort);
    await transport.close();
  }
  return {
    records,
    datagrams,
    sendErrors: emitter.errors.total,
    sendErrorsByCode: emitter.errors.byCode,
    corruptedChecksums: transport instanceof RawTransport ? transport.corrupted : 0,
    kmsgGaps: gaps,
    targets: emitter.stats(),
    ...(hosts ? { hosts } : {}),
    elapsedMs: Math.round(performance.now() - started),
  };
}

async function* recordsOf(c: SenderConfig, signal: AbortSignal, gaps: Array<{ from: string; to: string }>, keeper: { current: PositionKeeper | null }): AsyncGenerator<KernelRecord> {
  const src = c.source;
  const lines = (): LineRecordFactory => new LineRecordFactory(c.facility, c.level);
  switch (src.kind) {
    case 'message':
      yield lines().fromLine(Buffer.from(src.text, 'utf8'));
      return;
    case 'kmsg-file':
      yield* readKmsgFile(src.path);
      return;
    case 'stdin':
      yield* streamRecords(process.stdin, lines(), signal);
      return;
    case 'file': {
      const f = lines();
      for await (const line of followFile(src.path, { fromStart: src.fromStart, signal, notice: c.notice })) yield f.fromLine(line);
      return;
    }
    case 'kmsg': {
      const bootId = currentBootId();
      let start: KmsgStart = { from: src.from };
      if (src.statePath) {
        const saved = loadPosition(src.statePath);
        if (saved && saved.bootId === bootId) {
          start = { from: 'after', seq: BigInt(saved.seq) };
          c.notice?.(`resuming /dev/kmsg after seq ${saved.seq}`);
        } else if (saved) {
          c.notice?.('saved kmsg position is from another boot; starting at the beginning');
          start = { from: 'beginning' };
        }
        keeper.current = new PositionKeeper(src.statePath, bootId);
      }
      yield* readKmsg({
        path: src.device,
        start,
        signal,
        onGap: (from, to) => {
          gaps.push({ from: String(from), to: String(to) });
          c.notice?.(`kmsg records ${from}..${to} were overwritten before they could be read`);
        },
        onBadRecord: (msg) => c.notice?.(`skipping unparsable kmsg record: ${msg}`),
        onCaughtUp: () => c.notice?.('at the end of /dev/kmsg; sending new records'),
      });
      return;
    }
    case 'simulate':
      return;
  }
}

async function simulate(
  c: SenderConfig,
  src: { hosts: number; seed: number },
  emitter: RecordEmitter,
  transport: Transport & { prepare(routes: Route[]): unknown },
  pacer: Pacer | null,
  signal: AbortSignal,
): Promise<HostSummary[]> {
  if (!Number.isInteger(src.hosts) || src.hosts < 1 || src.hosts > 65000) throw new Error(`invalid --simulate ${src.hosts}: number of hosts 1..65000`);
  if (c.count === undefined && c.durationSec === undefined) throw new Error('--simulate needs --count N or --duration S');
  const sims = Array.from({ length: src.hosts }, (_, i) => new SimulatedHost({ index: i, seed: src.seed }));
  const sourceOf = (i: number): SourceOverride => (c.transport === 'raw' ? { srcIp: simulatedHostAddress(i) } : { srcPortOffset: i, slot: i });
  const routes = sims.flatMap((_, i) => c.targets.map((t) => emitter.routeFor(t, sourceOf(i))));
  await transport.prepare(routes);
  const summary: HostSummary[] = sims.map((_, i) => {
    const r = emitter.routeFor(c.targets[0], sourceOf(i));
    const source = transport.sourceAddress?.(r) ?? `${r.srcIp ?? '*'}:${r.srcPort}`;
    return { host: i, source, records: 0, datagrams: 0, lastSeq: null };
  });
  const t0 = performance.now();
  let n = 0;
  while (!signal.aborted && (c.count === undefined || n < c.count)) {
    if (pacer) await pacer.next();
    if (signal.aborted) break;
    const i = n % sims.length;
    const rec = sims[i].next((performance.now() - t0) * 1000);
    summary[i].datagrams += await emitter.emit(rec, sourceOf(i));
    summary[i].records++;
    summary[i].lastSeq = sims[i].lastSeq;
    n++;
  }
  return summary;
}
