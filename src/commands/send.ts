// `netconsole-hub send`: a userspace netconsole. Reads records (/dev/kmsg, stdin, a followed file,
// a kmsg dump, one message, or a simulation) and sends them as the kernel would, over UDP or raw
// sockets, to one or more targets.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { release as osRelease } from 'node:os';
import { Command, Option } from 'commander';
import { KERNEL_BEHAVIOURS, type KernelBehaviour } from '../netconsole/format.js';
import { runSender, type SenderConfig, type SourceConfig } from '../sender/daemon.js';
import { SYSDATA_KEYS, type SysdataKey } from '../sender/emitter.js';
import { parseFacility, parseLevel } from '../sender/line-records.js';
import { parseRate } from '../sender/pacer.js';
import { parseHostPort, parseNetconsoleSpec, DEFAULT_SOURCE_PORT, type SendTarget, type WireFormat } from '../sender/targets.js';

interface SendCliOptions {
  kmsg?: boolean;
  stdin?: boolean;
  file?: string;
  kmsgFile?: string;
  message?: string;
  simulate?: string;
  from: string;
  state?: string;
  format: string;
  release?: string | boolean;
  userdata: string[];
  sysdata?: string;
  kernel: string;
  target: string[];
  netconsole: string[];
  transport: string;
  sourcePort: string;
  sourceIp?: string;
  corruptChecksum?: string;
  facility: string;
  level: string;
  consoleLevel?: string;
  timestamps: boolean;
  rate?: string;
  duration?: string;
  count?: string;
  seed: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function positiveInt(s: string, what: string): number {
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new Error(`invalid ${what} '${s}': must be a positive integer`);
  return Number(s);
}

function sourceOf(o: SendCliOptions): SourceConfig {
  const chosen = [o.kmsg && '--kmsg', o.stdin && '--stdin', o.file !== undefined && '--file', o.kmsgFile !== undefined && '--kmsg-file', o.message !== undefined && '--message', o.simulate !== undefined && '--simulate'].filter(Boolean);
  if (chosen.length !== 1) throw new Error(chosen.length === 0 ? 'choose a source: --kmsg, --stdin, --file PATH, --kmsg-file PATH, --message TEXT or --simulate HOSTS' : `choose one source, not ${chosen.join(' and ')}`);
  if (o.from !== 'beginning' && o.from !== 'end') throw new Error(`invalid --from '${o.from}': use beginning or end`);
  if (o.state !== undefined && !o.kmsg) throw new Error('--state only applies to --kmsg');
  if (o.kmsg) return { kind: 'kmsg', from: o.from, ...(o.state !== undefined ? { statePath: o.state } : {}) };
  if (o.stdin) return { kind: 'stdin' };
  if (o.file !== undefined) return { kind: 'file', path: o.file, fromStart: o.from === 'beginning' };
  if (o.kmsgFile !== undefined) return { kind: 'kmsg-file', path: o.kmsgFile };
  if (o.message !== undefined) return { kind: 'message', text: o.message };
  return { kind: 'simulate', hosts: positiveInt(o.simulate as string, '--simulate host count'), seed: Number(o.seed) || 1 };
}

/**
 * `--target NAME:PORT` with a host name (e.g. a compose service) is resolved once, at start: the
 * kernel's netconsole takes addresses only, and so does the rest of the sender.
 */
export async function resolveTargetName(spec: string): Promise<string> {
  const m = /^([^:[\]]+):(\d+)$/.exec(spec);
  if (!m || isIP(m[1]) !== 0 || m[1] === 'localhost') return spec;
  try {
    const { address, family } = await lookup(m[1]);
    return family === 6 ? `[${address}]:${m[2]}` : `${address}:${m[2]}`;
  } catch (err) {
    throw new Error(`cannot resolve --target host '${m[1]}': ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

function targetsOf(o: SendCliOptions, format: WireFormat, wantRelease: boolean): SendTarget[] {
  const srcPort = Number(o.sourcePort);
  if (!/^\d+$/.test(o.sourcePort) || srcPort > 65535) throw new Error(`invalid --source-port '${o.sourcePort}': must be 0..65535`);
  const targets: SendTarget[] = [];
  for (const t of o.target) targets.push(parseHostPort(t, { format, release: wantRelease && format === 'extended', srcPort, ...(o.sourceIp ? { srcIp: o.sourceIp } : {}) }));
  for (const spec of o.netconsole) {
    for (const t of parseNetconsoleSpec(spec, srcPort)) targets.push(o.sourceIp && !t.srcIp ? { ...t, srcIp: o.sourceIp } : t);
  }
  return targets;
}

function parseUserdata(items: string[]): Array<[string, string]> {
  return items.map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`invalid --userdata '${kv}': expected key=value`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

function parseSysdata(s: string | undefined): SysdataKey[] {
  if (s === undefined) return [];
  const keys = s.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of keys) if (!SYSDATA_KEYS.includes(k as SysdataKey)) throw new Error(`invalid --sysdata key '${k}': use ${SYSDATA_KEYS.join(',')}`);
  return SYSDATA_KEYS.filter((k) => keys.includes(k));
}

export function buildSenderConfig(o: SendCliOptions): SenderConfig {
  if (o.format !== 'legacy' && o.format !== 'extended') throw new Error(`invalid --format '${o.format}': use legacy or extended`);
  if (!KERNEL_BEHAVIOURS.includes(o.kernel as KernelBehaviour)) throw new Error(`invalid --kernel '${o.kernel}': use ${KERNEL_BEHAVIOURS.join(', ')}`);
  if (o.transport !== 'udp' && o.transport !== 'raw') throw new Error(`invalid --transport '${o.transport}': use udp or raw`);
  const releaseName = typeof o.release === 'string' ? o.release : osRelease();
  const corruptRate = o.corruptChecksum !== undefined ? Number(o.corruptChecksum) : 0;
  if (!(corruptRate >= 0 && corruptRate <= 1)) throw new Error(`invalid --corrupt-checksum '${o.corruptChecksum}': a rate 0..1`);
  const durationSec = o.duration !== undefined ? Number(o.duration) : undefined;
  if (durationSec !== undefined && !(durationSec > 0)) throw new Error(`invalid --duration '${o.duration}': seconds > 0`);
  const consoleLevel = o.consoleLevel !== undefined ? Number(o.consoleLevel) : undefined;
  if (consoleLevel !== undefined && !(Number.isInteger(consoleLevel) && consoleLevel >= 1 && consoleLevel <= 8)) throw new Error(`invalid --console-level '${o.consoleLevel}': 1..8`);
  return {
    source: sourceOf(o),
    targets: targetsOf(o, o.format, o.release !== undefined),
    transport: o.transport,
    corruptRate,
    emitter: {
      kernel: o.kernel as KernelBehaviour,
      release: releaseName,
      userdata: parseUserdata(o.userdata),
      sysdata: parseSysdata(o.sysdata),
      timestamps: o.timestamps,
    },
    facility: parseFacility(o.facility),
    level: parseLevel(o.level),
    ...(o.rate !== undefined ? { rate: parseRate(o.rate) } : {}),
    ...(o.count !== undefined ? { count: positiveInt(o.count, '--count') } : {}),
    ...(durationSec !== undefined ? { durationSec } : {}),
    ...(consoleLevel !== undefined ? { consoleLevel } : {}),
  };
}

export function registerSend(program: Command): void {
  program
    .command('send')
    .description('send kernel log records as netconsole datagrams, byte-identical to the kernel (UDP or raw sockets)')
    .option('--kmsg', 'read /dev/kmsg (the kernel\'s own seq, level, timestamp and dictionary)')
    .option('--stdin', 'one record per line of standard input')
    .option('--file <path>', 'follow a file like tail -F (survives rotation and truncation), one record per line')
    .option('--kmsg-file <path>', 'send the records of a /dev/kmsg text dump with their own seq/level/timestamp, then exit')
    .option('--message <text>', 'send one record and exit')
    .option('--simulate <hosts>', 'simulate HOSTS machines logging realistic kernel text (needs --count or --duration)')
    .option('--from <where>', 'where --kmsg / --file start: beginning or end', 'end')
    .option('--state <file>', 'with --kmsg: remember the last record sent, resume after it on restart')
    .option('--format <format>', 'legacy or extended, for --target targets', 'extended')
    .option('--release [name]', 'prepend the release (default: uname -r) on extended --target targets; also the name used by `r` and sysdata')
    .option('--userdata <key=value>', 'userdata line for extended targets (repeatable)', collect, [])
    .option('--sysdata <list>', 'sysdata lines for extended targets: cpu,taskname,release,msgid')
    .option('--kernel <version>', 'whose size limits and quirks to follow: 6.1, 6.9 or latest', 'latest')
    .option('--target <host:port>', 'send to HOST:PORT (repeatable)', collect, [])
    .option('--netconsole <spec>', "kernel syntax '[+][r][src-port]@[src-ip]/[dev],[tgt-port]@<tgt-ip>/[tgt-mac]' (repeatable, ';' separates targets)", collect, [])
    .option('--transport <kind>', 'udp, or raw (builds IP/UDP headers itself; needs CAP_NET_RAW)', 'udp')
    .option('--source-port <port>', 'UDP source port (simulated hosts count up from it)', String(DEFAULT_SOURCE_PORT))
    .option('--source-ip <addr>', 'source address: bound with udp, written into the header with raw')
    .option('--corrupt-checksum <rate>', 'raw only: share (0..1) of datagrams sent with a wrong UDP checksum')
    .option('--facility <facility>', 'facility of line records (number or name)', 'user')
    .option('--level <level>', 'level of line records without a <N> prefix (number or name)', '4')
    .option('--console-level <n>', 'send only records with level < n, like console_loglevel')
    .option('--no-timestamps', 'legacy targets: no [seconds.micros] prefix (printk.time=0)')
    .addOption(new Option('--rate <n/s>', 'records per second (all simulated hosts together)'))
    .option('--duration <seconds>', 'stop after this many seconds')
    .option('--count <n>', 'stop after n records')
    .option('--seed <n>', 'simulation seed', '1')
    .action(async (o: SendCliOptions) => {
      o.target = await Promise.all(o.target.map(resolveTargetName));
      const config = buildSenderConfig(o);
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      config.signal = abort.signal;
      config.notice = (msg) => process.stderr.write(`netconsole-hub send: ${msg}\n`);
      try {
        const summary = await runSender(config);
        if (config.source.kind === 'simulate') process.stdout.write(JSON.stringify(summary) + '\n');
        else if (summary.sendErrors > 0 || config.source.kind === 'kmsg' || config.source.kind === 'file' || config.source.kind === 'stdin')
          process.stderr.write(`netconsole-hub send: ${JSON.stringify({ records: summary.records, datagrams: summary.datagrams, sendErrors: summary.sendErrors, sendErrorsByCode: summary.sendErrorsByCode, kmsgGaps: summary.kmsgGaps.length })}\n`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
