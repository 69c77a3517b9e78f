// Crash incident detection (issue 6): finds the kernel's panic / Oops / BUG / lockup / ... reports
// in each host's record stream and groups every report into one Incident. Pure: no I/O, no clocks;
// `now` is a parameter and the caller polls.
//
// How a report is grouped, per stream (the records of one sender, ip:port, in order; ref.host names
// the host it belongs to, so a host with two netconsole targets reports each crash once):
//  - A headline (incident-rules.ts) opens an incident; a `[ cut here ]` / `=====` line right before
//    it is taken along. Kernel lines then join it until the rule's end line (`---[ end trace`,
//    `---[ end Kernel panic`, the KASAN `====` rule), or, for rules that end after their stack dump,
//    the closing `</TASK>` plus trailer lines (`Modules linked in:`, `CR2:`, ...). A quiet host
//    (quietMs without records), a reboot, or a headline of a rule that does not join ends it too.
//  - Records from user space (facility != 0, e.g. written to /dev/kmsg) never start or join an
//    incident: "panic" in a user message is not a kernel panic. Legacy records have no facility;
//    there a forged kernel line cannot be told apart.
//  - `NMI backtrace for cpu N` (sysrq `l`, RCU stalls, hard lockups) is kind `nmi-backtrace`
//    (severity info), or joins the incident that is open; a bare `Call Trace:` with no headline
//    before it is kind `call-trace`. Neither is ever a `panic`.
//  - Changes are returned as IncidentChange: 'open' when the headline is seen (so a panic shows at
//    once), 'close' when it ends (the report is complete), 'update' when something is learned
//    afterwards (the host went silent, the next boot came). `key` identifies the incident in all
//    three; the store upserts by it.
//  - The same report arriving through a second target of the host (same kind, headline and kernel
//    timestamp, within dedupeMs) is followed but not reported again.
import { createHash } from 'node:crypto';
import type { LogRecord } from './types.js';
import {
  matchRule,
  PREAMBLE_LINE,
  TRACE_CLOSE,
  TRACE_OPEN,
  TRAILER_LINE,
  type IncidentRule,
  type IncidentSeverity,
} from './incident-rules.js';

export type IncidentEndedBy =
  | 'end-marker' // the rule's end line (`---[ end trace`, `---[ end Kernel panic`, ...)
  | 'trace-end' // the stack dump and its trailer lines ended
  | 'report-end' // a line that is not part of a line-by-line report (rule.members)
  | 'next-incident' // another report started
  | 'quiet' // the host sent nothing for quietMs
  | 'reboot' // the host rebooted
  | 'flush' // flushAll (shutdown)
  | 'evicted'; // too many hosts tracked; the least recently seen was dropped

export interface Incident {
  /** Store id, when the incident came back from the store. The detector never sets it. */
  id?: number;
  /** Stable identity across open/close/update changes: upsert by it. */
  key: string;
  host: string;
  boot?: number | null;
  kind: string;
  severity: IncidentSeverity;
  headline: string;
  started_at: number;
  ended_at: number | null;
  /** null while the incident is still open. */
  ended_by: IncidentEndedBy | null;
  /** Kernel timestamp of the headline record, when known. */
  ts_usec: number | null;
  first_message_id: number | null;
  last_message_id: number | null;
  lines: string[];
  modules: string[];
  release: string | null;
  signature: string;
  /** The normalised frames the signature was made from (or empty: headline-based signature). */
  signature_frames: string[];
  context_before: string[];
  silent_after?: boolean;
  next_boot?: number;
}

export type IncidentChangeType = 'open' | 'close' | 'update';

export interface IncidentChange {
  change: IncidentChangeType;
  /** A snapshot: later changes of the same incident are new objects. */
  incident: Incident;
}

/** What the detector reads of a record (a LogRecord or a stored row mapped to it). */
export type DetectorRecord = Pick<LogRecord, 'text' | 'facility' | 'tsUsec' | 'receivedAt'> & { release?: string | null };

/** What the caller knows about a record beyond the record itself. */
export interface RecordRef {
  /** The host the stream belongs to (its address); incidents report it. Default: the stream key. */
  host?: string;
  /** messages.id of the stored record. */
  id?: number | null;
  /** Boot number of the host the record belongs to. */
  boot?: number | null;
}

export interface IncidentDetectorOptions {
  /** An open incident is closed after this long without records from its host. */
  quietMs: number;
  /** After an incident, this long without records marks the host silent_after. */
  silenceMs: number;
  /** How many lines before the headline are kept as context_before. */
  contextLines: number;
  /** Member lines kept per incident; further lines are counted, not kept. */
  maxLines: number;
  /** Top frames that make up the signature. */
  signatureFrames: number;
  /** Hosts tracked at once; the least recently seen is dropped beyond it. */
  maxHosts: number;
  /** Closed incidents per host remembered for silent_after / next_boot. */
  maxRemembered: number;
  /** A report seen again through another stream of the same host within this long is a duplicate. */
  dedupeMs: number;
  /**
   * A stream quiet this long with nothing open, watched or remembered is forgotten (its context lines
   * and release); it starts afresh when it speaks again. Idle senders then cost nothing here.
   */
  forgetIdleMs: number;
}

export const DEFAULT_INCIDENT_OPTIONS: IncidentDetectorOptions = {
  quietMs: 5_000,
  silenceMs: 60_000,
  contextLines: 20,
  maxLines: 500,
  signatureFrames: 5,
  maxHosts: 4096,
  maxRemembered: 16,
  dedupeMs: 30_000,
  forgetIdleMs: 600_000,
};

/** poll() looks for streams to forget at most this often (a scan of every stream). */
const FORGET_SCAN_MS = 10_000;

type Phase = 'body' | 'trace' | 'trailing';

interface OpenIncident {
  inc: Incident;
  rule: IncidentRule;
  phase: Phase;
  /** Inside the current Call Trace: a `<TASK>`-style marker was seen (x86); else frames are indented lines (arm64). */
  sawMarker: boolean;
  omitted: number;
  /** The same report already reported through another stream of the host: followed, never emitted. */
  duplicate: boolean;
}

interface Fingerprint {
  stream: string;
  kind: string;
  headline: string;
  tsUsec: number | null;
  at: number;
}

interface ContextLine {
  text: string;
  id: number | null;
}

interface HostState {
  /** The host this stream belongs to (RecordRef.host). */
  host: string;
  context: ContextLine[];
  lastSeen: number;
  /** Release from the record or the boot banner (`Linux version X`). */
  release: string | null;
  boot: number | null;
  open: OpenIncident | null;
  /** Closed incidents of this boot, newest last, for silent_after / next_boot. */
  recent: Incident[];
  /** Closed incidents not yet followed by any record (silence watch). */
  watching: Incident[];
  /** Lines seen since the last incident closed, so a following panic can find its cause. */
  linesSinceClose: number;
  lastClosed: Incident | null;
}

const LINUX_VERSION = /^Linux version (\S+)/;
const TAINT_RELEASE = /(?:Not tainted|Tainted: [A-Z ]*?) *(\d[^\s#]*) #/;
const CALL_TRACE = /^Call [Tt]race:\s*$/;
const MODULES = /^Modules linked in:(.*)$/;
const RIP_FN = /^(?:RIP: [0-9a-f]{4}:|pc : )(?:\[<[0-9a-f]+>\] )?([A-Za-z_.$][\w.$]*)\+0x/;
/** A panic this many lines after another incident is taken to be caused by it. */
const CAUSE_WINDOW_LINES = 60;

/** Frames that belong to the reporting machinery, not to the crash. */
const GENERIC_FRAMES = new Set([
  'dump_stack', 'dump_stack_lvl', 'show_stack', 'show_trace_log_lvl', 'panic', 'vpanic', '__warn',
  'warn_slowpath_fmt', 'warn_slowpath_null', 'report_bug', 'handle_bug', 'exc_invalid_op',
  'asm_exc_invalid_op', 'die', 'oops_end', 'nmi_cpu_backtrace', 'nmi_trigger_cpumask_backtrace',
  'arch_trigger_cpumask_backtrace', 'print_report', 'kasan_report', 'ubsan_epilogue',
  'check_panic_on_warn', 'rcu_dump_cpu_stacks', 'print_cpu_stall', 'check_cpu_stall',
  'dump_header', 'oom_kill_process', 'out_of_memory', 'watchdog_timer_fn', 'watchdog_overflow_callback',
]);
const GENERIC_FRAME_PREFIX = /^(?:__ubsan_handle_|__asan_|kasan_|__kasan_)/;

/** Strips offsets, addresses, module tags and compiler suffixes from one trace line; null if it is no frame. */
export function normaliseFrame(line: string): string | null {
  let t = line.trim();
  t = t.replace(/^\[<[0-9a-f]+>\]\s*/, '');
  if (t.startsWith('?')) return null; // unreliable frame
  const m = /^([A-Za-z_.$][\w.$]*)\+0x[0-9a-f]+\/0x[0-9a-f]+(?:\s+\[[\w-]+\])?\s*$/.exec(t);
  if (!m) return null;
  return m[1].replace(/(?:\.(?:cold|isra|constprop|part|lto_priv|llvm|localalias)(?:\.\d+)?)+$/, '');
}

/** Top frames of the first Call Trace block (after dropping reporting machinery), RIP function first. */
export function signatureFrames(lines: readonly string[], max: number): string[] {
  const frames: string[] = [];
  let rip: string | null = null;
  let inTrace = false;
  let sawMarker = false;
  for (const line of lines) {
    if (rip === null) {
      const r = RIP_FN.exec(line);
      if (r) rip = normaliseFrame(`${r[1]}+0x0/0x0`);
    }
    if (CALL_TRACE.test(line)) {
      if (frames.length > 0) break;
      inTrace = true;
      sawMarker = false;
      continue;
    }
    if (!inTrace) continue;
    if (TRACE_OPEN.test(line)) { sawMarker = true; continue; }
    if (TRACE_CLOSE.test(line)) {
      if (/TASK/.test(line) && frames.length > 0) break;
      continue;
    }
    if (!sawMarker && !/^\s/.test(line)) { if (frames.length > 0) break; inTrace = false; continue; }
    const f = normaliseFrame(line);
    if (f !== null && !GENERIC_FRAMES.has(f) && !GENERIC_FRAME_PREFIX.test(f)) frames.push(f);
  }
  const out = rip !== null && rip !== frames[0] && !GENERIC_FRAMES.has(rip) ? [rip, ...frames] : frames;
  return out.slice(0, max);
}

/** Headline without the numbers and addresses that differ between occurrences of the same problem. */
export function normaliseHeadline(headline: string): string {
  return headline
    .replace(/0x[0-9a-f]+/gi, '#')
    .replace(/\b[0-9a-f]{8,}\b/gi, '#')
    .replace(/\d+/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
}

export function computeSignature(kind: string, frames: readonly string[], headline: string): string {
  const basis = frames.length > 0 ? `${kind}\n${frames.join('\n')}` : `${kind}\n@${normaliseHeadline(headline)}`;
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

/** Module names from `Modules linked in: a(O) b c [last unloaded: d]`, taint flags dropped. */
export function parseModules(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const m = MODULES.exec(line);
    if (!m) continue;
    const list = m[1].replace(/\[last unloaded: [^\]]*\]/, '');
    for (const tok of list.trim().split(/\s+/)) {
      const name = tok.replace(/\([A-Z+\-]*\)$/, '');
      if (/^[\w-]+$/.test(name) && !out.includes(name)) out.push(name);
    }
  }
  return out;
}

function releaseFromLines(lines: readonly string[]): string | null {
  for (const line of lines) {
    const m = TAINT_RELEASE.exec(line);
    if (m) return m[1];
  }
  return null;
}

function isUserRecord(r: DetectorRecord): boolean {
  return r.facility !== null && r.facility !== 0;
}

function snapshot(inc: Incident): Incident {
  return { ...inc, lines: [...inc.lines], modules: [...inc.modules], context_before: [...inc.context_before], signature_frames: [...inc.signature_frames] };
}

export class IncidentDetector {
  private readonly opts: IncidentDetectorOptions;
  /** State per stream key. */
  private readonly hosts = new Map<string, HostState>();
  /** Hosts with an open or silence-watched incident: the only ones poll() has to look at. */
  private readonly pending = new Set<string>();
  /** Recently opened reports by host, to recognise one crash arriving through two targets. */
  private readonly recentByHost = new Map<string, Fingerprint[]>();
  private counter = 0;
  private forgetScanAt = -Infinity;

  constructor(options: Partial<IncidentDetectorOptions> = {}) {
    this.opts = { ...DEFAULT_INCIDENT_OPTIONS, ...options };
  }

  /** Feeds one record of a stream (records of a stream in order). Returns what changed. */
  push(stream: string, record: DetectorRecord, now: number, ref: RecordRef = {}): IncidentChange[] {
    const host = stream;
    const out: IncidentChange[] = [];
    const st = this.touch(host, now, out);
    st.lastSeen = now;
    if (ref.host !== undefined) st.host = ref.host;
    // A new boot number on the stream is a reboot, whether or not the caller also calls onReboot.
    if (ref.boot !== undefined && ref.boot !== null && st.boot !== null && ref.boot !== st.boot) out.push(...this.onReboot(host, now, ref.boot));
    if (ref.boot !== undefined && ref.boot !== null) st.boot = ref.boot;
    if (record.release) st.release = record.release;
    st.watching.length = 0; // the host spoke: not silent after those
    const user = isUserRecord(record);
    const text = record.text;
    // Nearly every record is one line: no array for it.
    if (text.indexOf('\n') < 0) this.pushLine(host, st, text, user, record, ref, now, out);
    else for (const line of text.split('\n')) this.pushLine(host, st, line, user, record, ref, now, out);
    this.updatePending(host, st);
    return out;
  }

  private pushLine(host: string, st: HostState, line: string, user: boolean, record: DetectorRecord, ref: RecordRef, now: number, out: IncidentChange[]): void {
    if (!user) {
      if (line.startsWith('Linux version ')) {
        const v = LINUX_VERSION.exec(line);
        if (v) st.release = v[1];
      }
      this.line(host, st, line, record, ref, now, out);
    }
    st.context.push({ text: line, id: ref.id ?? null });
    if (st.context.length > this.opts.contextLines) st.context.shift();
    st.linesSinceClose++;
  }

  /** Closes incidents of quiet hosts and marks hosts that went silent after an incident. */
  poll(now: number): IncidentChange[] {
    const out: IncidentChange[] = [];
    for (const host of [...this.pending]) {
      const st = this.hosts.get(host);
      if (!st) { this.pending.delete(host); continue; }
      if (st.open && now - st.lastSeen >= this.opts.quietMs) this.close(host, st, 'quiet', out);
      if (st.watching.length > 0 && now - st.lastSeen >= this.opts.silenceMs) {
        for (const inc of st.watching) {
          inc.silent_after = true;
          out.push({ change: 'update', incident: snapshot(inc) });
        }
        st.watching.length = 0;
      }
      this.updatePending(host, st);
    }
    if (now - this.forgetScanAt >= FORGET_SCAN_MS) {
      this.forgetScanAt = now;
      this.forgetIdle(now);
    }
    return out;
  }

  /** Drops idle streams that hold nothing but context, and fingerprints long past matching. */
  private forgetIdle(now: number): void {
    for (const [key, st] of this.hosts) {
      if (st.open || st.watching.length > 0 || st.recent.length > 0 || now - st.lastSeen < this.opts.forgetIdleMs) continue;
      this.hosts.delete(key);
      this.pending.delete(key);
    }
    for (const [host, list] of this.recentByHost) {
      // (generously past dedupeMs: `at` is the record's time, not poll's)
      while (list.length > 0 && now - list[0].at > this.opts.forgetIdleMs) list.shift();
      if (list.length === 0) this.recentByHost.delete(host);
    }
  }

  /** Streams tracked right now (metrics, tests). */
  get streamCount(): number { return this.hosts.size; }

  /** The earliest time poll() has something to do, or null. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const host of this.pending) {
      const st = this.hosts.get(host);
      if (!st) continue;
      const t = st.open ? st.lastSeen + this.opts.quietMs : st.lastSeen + this.opts.silenceMs;
      if (next === null || t < next) next = t;
    }
    return next;
  }

  /**
   * The host rebooted (the sequence tracker saw its records start over): its open incident ends,
   * and the incidents of the boot that ended learn which boot came next.
   */
  onReboot(host: string, now: number, nextBoot: number | null = null): IncidentChange[] {
    const out: IncidentChange[] = [];
    const st = this.hosts.get(host);
    if (!st) return out;
    if (st.open) this.close(host, st, 'reboot', out);
    for (const inc of st.recent) {
      if (nextBoot !== null) {
        inc.next_boot = nextBoot;
        out.push({ change: 'update', incident: snapshot(inc) });
      }
    }
    st.recent.length = 0;
    st.watching.length = 0;
    st.context.length = 0;
    st.lastClosed = null;
    st.release = null;
    if (nextBoot !== null) st.boot = nextBoot;
    st.lastSeen = now;
    this.updatePending(host, st);
    return out;
  }

  /** Closes every open incident (shutdown). */
  flushAll(_now: number): IncidentChange[] {
    const out: IncidentChange[] = [];
    for (const [host, st] of this.hosts) {
      if (st.open) this.close(host, st, 'flush', out);
      this.updatePending(host, st);
    }
    return out;
  }

  /** How many incidents are open right now (metrics). */
  openCount(): number {
    let n = 0;
    for (const st of this.hosts.values()) if (st.open) n++;
    return n;
  }

  private touch(host: string, now: number, out: IncidentChange[]): HostState {
    let st = this.hosts.get(host);
    if (st) return st;
    st = {
      host,
      context: [], lastSeen: now, release: null, boot: null, open: null, recent: [], watching: [],
      linesSinceClose: 0, lastClosed: null,
    };
    if (this.hosts.size >= this.opts.maxHosts) this.evictLeastRecent(out);
    this.hosts.set(host, st);
    return st;
  }

  /** Drops the stream seen least recently (a scan, but only when a new stream arrives at the bound). */
  private evictLeastRecent(out: IncidentChange[]): void {
    let oldest: string | null = null;
    let oldestSeen = Infinity;
    for (const [key, st] of this.hosts) if (st.lastSeen < oldestSeen) { oldest = key; oldestSeen = st.lastSeen; }
    if (oldest === null) return;
    const old = this.hosts.get(oldest) as HostState;
    if (old.open) this.close(oldest, old, 'evicted', out);
    this.hosts.delete(oldest);
    this.pending.delete(oldest);
  }

  private updatePending(host: string, st: HostState): void {
    if (st.open || st.watching.length > 0) this.pending.add(host);
    else this.pending.delete(host);
  }

  /** One kernel line: continue, end or start an incident. */
  private line(host: string, st: HostState, line: string, rec: DetectorRecord, ref: RecordRef, now: number, out: IncidentChange[]): void {
    const o = st.open;
    if (o) {
      if (o.rule.end && o.rule.end.test(line)) {
        this.add(o, line, ref);
        this.close(host, st, 'end-marker', out);
        return;
      }
      const rule = matchRule(line);
      if (o.phase === 'trailing') {
        const continues = o.rule.continues?.test(line) ?? false;
        if (continues || (TRAILER_LINE.test(line) && !rule)) {
          this.add(o, line, ref);
          if (continues) o.phase = 'body';
          return;
        }
        this.close(host, st, 'trace-end', out);
      } else if (rule && !rule.joinsOpen && (rule !== o.rule || o.rule.endsAfterTrace)) {
        // (a repeat of a report-style rule's own headline, e.g. the oom-kill line of an OOM report, stays in it)
        this.close(host, st, 'next-incident', out);
      } else if (o.rule.members && !o.rule.members.test(line)) {
        this.close(host, st, 'report-end', out);
      } else if (o.phase === 'trace' && !o.sawMarker && !/^\s/.test(line) && !CALL_TRACE.test(line)) {
        // an unmarked (arm64 / old x86) trace ends at its first non-indented line, which is not part of it
        o.phase = o.rule.endsAfterTrace ? 'trailing' : 'body';
        this.line(host, st, line, rec, ref, now, out);
        return;
      } else {
        this.advance(o, line);
        this.add(o, line, ref);
        return;
      }
    }
    const rule = matchRule(line);
    if (rule) this.open(host, st, rule, line, rec, ref, out);
  }

  /** Follows the Call Trace state of an open incident through one member line. */
  private advance(o: OpenIncident, line: string): void {
    if (CALL_TRACE.test(line)) {
      o.phase = 'trace';
      o.sawMarker = false;
      return;
    }
    if (o.phase !== 'trace') return;
    if (TRACE_OPEN.test(line)) o.sawMarker = true;
    else if (TRACE_CLOSE.test(line) && /TASK/.test(line)) o.phase = o.rule.endsAfterTrace ? 'trailing' : 'body';
  }

  private add(o: OpenIncident, line: string, ref: RecordRef): void {
    if (o.inc.lines.length < this.opts.maxLines) o.inc.lines.push(line);
    else o.omitted++;
    if (ref.id !== undefined && ref.id !== null) {
      o.inc.last_message_id = ref.id;
      if (o.inc.first_message_id === null) o.inc.first_message_id = ref.id;
    }
  }

  private open(host: string, st: HostState, rule: IncidentRule, line: string, rec: DetectorRecord, ref: RecordRef, out: IncidentChange[]): void {
    const ctx = [...st.context];
    const taken: ContextLine[] = [];
    let headline = line;
    const prev = ctx[ctx.length - 1];
    if (prev !== undefined && PREAMBLE_LINE.test(prev.text)) taken.push(ctx.pop() as ContextLine);
    if (rule.kind === 'call-trace') {
      // dump_stack(): "<reason>", "CPU: …", "Hardware name: …", "Call Trace:"; the reason is the headline
      const lead: ContextLine[] = [];
      while (ctx.length > 0 && /^(?:CPU: \d+ PID: |Hardware name: )/.test(ctx[ctx.length - 1].text) && lead.length < 2) lead.unshift(ctx.pop() as ContextLine);
      taken.push(...lead);
      if (lead.length > 0 && ctx.length > 0) headline = ctx[ctx.length - 1].text;
    }
    const lines = [...taken.map((c) => c.text), line];
    const ids = [...taken.map((c) => c.id), ref.id ?? null].filter((x): x is number => x !== null);
    this.counter++;
    const startedAt = rec.receivedAt;
    const inc: Incident = {
      key: `${host}|${startedAt}|${this.counter}`,
      host: st.host,
      boot: ref.boot ?? st.boot,
      kind: rule.kind,
      severity: rule.severity,
      headline,
      started_at: startedAt,
      ended_at: null,
      ended_by: null,
      ts_usec: rec.tsUsec,
      first_message_id: ids.length > 0 ? ids[0] : null,
      last_message_id: ids.length > 0 ? ids[ids.length - 1] : null,
      lines,
      modules: [],
      release: st.release,
      signature: computeSignature(rule.kind, [], headline),
      signature_frames: [],
      context_before: ctx.map((c) => c.text),
    };
    const duplicate = this.seenElsewhere(host, st.host, inc);
    const o: OpenIncident = { inc, rule, phase: CALL_TRACE.test(line) ? 'trace' : 'body', sawMarker: false, omitted: 0, duplicate };
    st.open = o;
    if (!duplicate) out.push({ change: 'open', incident: snapshot(inc) });
    if (rule.end && rule.end.test(line)) this.close(host, st, 'end-marker', out);
  }

  private close(host: string, st: HostState, endedBy: IncidentEndedBy, out: IncidentChange[]): void {
    const o = st.open;
    if (!o) return;
    st.open = null;
    const inc = o.inc;
    if (o.omitted > 0) inc.lines.push(`[netconsole-hub: ${o.omitted} more lines of this report not kept]`);
    inc.ended_by = endedBy;
    inc.ended_at = st.lastSeen;
    inc.modules = parseModules(inc.lines);
    inc.release = releaseFromLines(inc.lines) ?? st.release ?? inc.release;
    let frames = signatureFrames(inc.lines, this.opts.signatureFrames);
    if (frames.length === 0 && inc.kind === 'panic' && st.lastClosed && st.linesSinceClose <= CAUSE_WINDOW_LINES) {
      frames = st.lastClosed.signature_frames; // "Fatal exception" panic after an Oops: same crash
    }
    inc.signature_frames = frames;
    inc.signature = computeSignature(inc.kind, frames, inc.headline);
    st.lastClosed = inc;
    st.linesSinceClose = 0;
    if (o.duplicate) return;
    out.push({ change: 'close', incident: snapshot(inc) });
    st.recent.push(inc);
    if (st.recent.length > this.opts.maxRemembered) st.recent.shift();
    st.watching.push(inc);
    if (st.watching.length > this.opts.maxRemembered) st.watching.shift();
    this.updatePending(host, st);
  }

  /** True when another stream of the same host opened the same report recently; else remembers this one. */
  private seenElsewhere(stream: string, host: string, inc: Incident): boolean {
    let list = this.recentByHost.get(host);
    const at = inc.started_at;
    const same = list?.some((f) => f.stream !== stream && f.kind === inc.kind && f.headline === inc.headline &&
      Math.abs(f.at - at) <= this.opts.dedupeMs && (f.tsUsec === null || inc.ts_usec === null || f.tsUsec === inc.ts_usec));
    if (same) return true;
    if (!list) {
      list = [];
      this.recentByHost.set(host, list);
      if (this.recentByHost.size > this.opts.maxHosts) this.recentByHost.delete(this.recentByHost.keys().next().value as string);
    }
    list.push({ stream, kind: inc.kind, headline: inc.headline, tsUsec: inc.ts_usec, at });
    if (list.length > this.opts.maxRemembered) list.shift();
    return false;
  }
}
