// Turns records into datagrams for every target, as the kernel does for each enabled console:
// the formatter gives the payloads, the transport sends them in order, failures are counted.
import { readFileSync } from 'node:fs';
import { formatRecord, validateFormatOptions, type FormatOptions, type KernelBehaviour, type KernelRecord } from '../netconsole/format.js';
import type { SendTarget } from './targets.js';
import { SendErrorCounter, type Route, type Transport } from './transport.js';

export type SysdataKey = 'cpu' | 'taskname' | 'release' | 'msgid';
export const SYSDATA_KEYS: readonly SysdataKey[] = ['cpu', 'taskname', 'release', 'msgid'];

export interface EmitterOptions {
  kernel: KernelBehaviour;
  /** Release string for `r` targets and the `release` sysdata line. */
  release: string;
  userdata: Array<[string, string]>;
  sysdata: SysdataKey[];
  timestamps: boolean;
}

/** How a simulated host's datagrams differ in origin from the target's configured source. */
export interface SourceOverride {
  srcPortOffset?: number;
  srcIp?: string;
  slot?: number;
}

export interface TargetStats {
  target: string;
  records: number;
  datagrams: number;
  bytes: number;
  sendErrors: number;
}

/** The CPU this process last ran on (field 39 of /proc/self/stat), 0 if unknown. */
function currentCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = Number(fields[36]);
    return Number.isInteger(cpu) ? cpu : 0;
  } catch {
    return 0;
  }
}

function taskName(): string {
  try {
    return readFileSync('/proc/self/comm', 'utf8').trim().slice(0, 15);
  } catch {
    return 'netconsole-hub'.slice(0, 15);
  }
}

class TargetState {
  msgid = 0;
  readonly stats: TargetStats;
  constructor(readonly target: SendTarget, readonly base: FormatOptions) {
    this.stats = { target: target.label, records: 0, datagrams: 0, bytes: 0, sendErrors: 0 };
  }
}

export class RecordEmitter {
  private readonly states: TargetState[];
  readonly errors = new SendErrorCounter();
  private readonly task = taskName();

  constructor(targets: SendTarget[], private readonly transport: Transport, private readonly opts: EmitterOptions) {
    this.states = targets.map((t) => {
      const base: FormatOptions = { format: t.format, kernel: opts.kernel, timestamps: opts.timestamps };
      if (t.format === 'extended') {
        if (t.release) base.release = opts.release;
        if (opts.userdata.length > 0) base.userdata = opts.userdata;
        if (opts.sysdata.length > 0) base.sysdata = {};
      }
      // Validate once with sample sysdata so option errors surface before anything is sent.
      validateFormatOptions({ ...base, sysdata: base.sysdata ? this.sysdataFor(1) : undefined });
      return new TargetState(t, base);
    });
  }

  private sysdataFor(msgid: number): FormatOptions['sysdata'] {
    const s: NonNullable<FormatOptions['sysdata']> = {};
    const want = new Set(this.opts.sysdata);
    if (want.has('cpu')) s.cpu = currentCpu();
    if (want.has('taskname')) s.taskname = this.task;
    if (want.has('release')) s.release = this.opts.release;
    if (want.has('msgid')) s.msgid = msgid;
    return s;
  }

  /** The payloads each target would get for one record (msgid advanced per target). */
  private payloadsFor(st: TargetState, r: KernelRecord): Buffer[] {
    let o = st.base;
    if (o.sysdata) {
      st.msgid = (st.msgid + 1) >>> 0;
      o = { ...o, sysdata: this.sysdataFor(st.msgid) };
    }
    return formatRecord(r, o);
  }

  /** Sends one record to every target; `srcPortOffset`/`srcIp` let simulated hosts differ. */
  async emit(r: KernelRecord, source?: SourceOverride): Promise<number> {
    let sent = 0;
    for (const st of this.states) {
      const payloads = this.payloadsFor(st, r);
      st.stats.records++;
      const route = this.routeFor(st.target, source);
      for (const p of payloads) {
        try {
          await this.transport.send(p, route);
          st.stats.datagrams++;
          st.stats.bytes += p.length;
          sent++;
        } catch (err) {
          st.stats.sendErrors++;
          this.errors.add(err);
        }
      }
    }
    return sent;
  }

  routeFor(t: SendTarget, source?: SourceOverride): Route {
    const srcIp = source?.srcIp ?? t.srcIp;
    return {
      host: t.host,
      port: t.port,
      family: t.family,
      // An ephemeral source port (0) stays ephemeral: hosts then differ by slot (own socket).
      srcPort: t.srcPort === 0 ? 0 : (t.srcPort + (source?.srcPortOffset ?? 0)) & 0xffff,
      ...(srcIp !== undefined ? { srcIp } : {}),
      ...(source?.slot !== undefined ? { slot: source.slot } : {}),
    };
  }

  stats(): TargetStats[] {
    return this.states.map((s) => ({ ...s.stats }));
  }
}
