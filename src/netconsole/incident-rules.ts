// Which kernel lines start a crash incident, and what ends it. Data only: adding a rule is adding
// one line to INCIDENT_RULES. The detector (incidents.ts) tries the rules in order and takes the
// first match, so more specific patterns ("BUG: KASAN:", "BUG: soft lockup") come before the
// general "BUG:". Every headline pattern is anchored at the start of the line, so a message that
// merely mentions "panic" somewhere is never a headline; records from user space (facility != 0)
// are never looked at at all.

export type IncidentSeverity = 'critical' | 'error' | 'warning' | 'info';

export interface IncidentRule {
  kind: string;
  severity: IncidentSeverity;
  /** Matches the headline line (one line of a record's text, timestamp prefix already removed). */
  headline: RegExp;
  /** A line that ends the incident and belongs to it (e.g. `---[ end trace … ]---`). */
  end: RegExp | null;
  /**
   * True: the stack dump's `</TASK>` (or `</IRQ>` at the outermost level) ends the incident,
   * except for the usual trailer lines (TRAILER_LINE) that still join it.
   */
  endsAfterTrace: boolean;
  /**
   * True: while another incident is open, this headline is part of it (the BUG: before an Oops:,
   * the NMI backtrace inside an RCU stall report) instead of starting a new incident.
   */
  joinsOpen: boolean;
  /** After the trace ended, lines matching this still belong (e.g. further CPUs of a stall). */
  continues?: RegExp;
  /** When set, only lines matching this belong; any other line ends the incident. */
  members?: RegExp;
}

const END_TRACE = /^---\[ end trace [0-9a-f]+ \]---/;
const REPORT_RULE = /^={20,}\s*$/;

export const INCIDENT_RULES: readonly IncidentRule[] = [
  { kind: 'panic', severity: 'critical', headline: /^Kernel panic - not syncing: /, end: /^---\[ end Kernel panic - not syncing: /, endsAfterTrace: false, joinsOpen: false },
  { kind: 'kasan', severity: 'error', headline: /^BUG: KASAN: /, end: REPORT_RULE, endsAfterTrace: false, joinsOpen: false },
  { kind: 'ubsan', severity: 'error', headline: /^UBSAN: /, end: REPORT_RULE, endsAfterTrace: false, joinsOpen: false },
  { kind: 'soft-lockup', severity: 'error', headline: /^(?:watchdog: )?BUG: soft lockup - CPU#\d+ stuck for /, end: END_TRACE, endsAfterTrace: true, joinsOpen: false },
  { kind: 'hard-lockup', severity: 'critical', headline: /^(?:NMI watchdog: )?Watchdog detected hard LOCKUP on cpu \d+/, end: END_TRACE, endsAfterTrace: true, joinsOpen: false },
  { kind: 'rcu-stall', severity: 'error', headline: /^(?:rcu: )?INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stalls? on /, end: null, endsAfterTrace: true, joinsOpen: false, continues: /^(?:NMI backtrace for cpu \d+|rcu: |Sending NMI from CPU \d+ to CPUs|Task dump for CPU \d+:)/ },
  { kind: 'hung-task', severity: 'error', headline: /^INFO: task .+ blocked for more than \d+ seconds\./, end: null, endsAfterTrace: true, joinsOpen: false },
  { kind: 'page-fault', severity: 'error', headline: /^(?:BUG: unable to handle page fault for address|BUG: kernel NULL pointer dereference, address|Unable to handle kernel (?:paging request|NULL pointer dereference|access to user memory|execute from non-executable memory))/, end: END_TRACE, endsAfterTrace: true, joinsOpen: true },
  { kind: 'gpf', severity: 'error', headline: /^(?:Oops: )?general protection fault/, end: END_TRACE, endsAfterTrace: true, joinsOpen: true },
  { kind: 'bug', severity: 'error', headline: /^(?:BUG: |kernel BUG at \S+!)/, end: END_TRACE, endsAfterTrace: true, joinsOpen: true },
  { kind: 'oops', severity: 'error', headline: /^(?:Internal error: )?Oops(?::| -) /, end: END_TRACE, endsAfterTrace: true, joinsOpen: true },
  { kind: 'warning', severity: 'warning', headline: /^WARNING: CPU: \d+ PID: \d+ at /, end: END_TRACE, endsAfterTrace: true, joinsOpen: false },
  { kind: 'oom', severity: 'error', headline: /^(?:.+ invoked oom-killer: |oom-kill:constraint=|(?:Memory cgroup out|Out) of memory(?: \(oom_kill_allocating_task\))?: Killed process \d+)/, end: /^(?:Memory cgroup out|Out) of memory(?: \(oom_kill_allocating_task\))?: Killed process \d+/, endsAfterTrace: false, joinsOpen: false },
  { kind: 'mce', severity: 'critical', headline: /^(?:mce: )?(?:\{\d+\})?\[Hardware Error\]: |^mce: \[Hardware Error\]: Machine check events logged|^Machine check events logged/, end: null, endsAfterTrace: false, joinsOpen: true, members: /\[Hardware Error\]|^mce: |^EDAC / },
  // Diagnostic dumps rather than crashes: kept so the trace is findable, never mistaken for a panic.
  { kind: 'nmi-backtrace', severity: 'info', headline: /^NMI backtrace for cpu \d+(?!\s+skipped)/, end: null, endsAfterTrace: true, joinsOpen: true },
  { kind: 'call-trace', severity: 'info', headline: /^Call [Tt]race:\s*$/, end: null, endsAfterTrace: true, joinsOpen: true },
];

/** Lines that may directly precede a headline and belong to the report. */
export const PREAMBLE_LINE = /^(?:-+\[ cut here \]-+|={20,})\s*$/;

/** Lines printed after the stack dump that still belong to the report. */
export const TRAILER_LINE = /^(?:Modules linked in:|CR2: |Code: |---\[ end trace |Kernel Offset: |note: .+ exited with irqs disabled|Fixing recursive fault)/;

/** Stack-dump delimiters: the report's trace ends at the outermost closing one. */
export const TRACE_OPEN = /^\s*<(?:TASK|IRQ|NMI|SOFTIRQ)>\s*$/;
export const TRACE_CLOSE = /^\s*<\/(?:TASK|IRQ|NMI|SOFTIRQ)>\s*$/;

/**
 * Every headline in one regex: most lines match none, and one test is cheaper than sixteen. The OOM
 * headline's unanchored branch (`<task> invoked oom-killer: `) would make that regex scan every line
 * to its end and back (0.2 of its 0.23 us per line), so the gate looks for it as a plain substring;
 * the rules' own regexes still decide below.
 */
const OOM_INVOKED_BRANCH = '.+ invoked oom-killer: |';
const OOM_INVOKED = ' invoked oom-killer: ';
const ALL_HEADLINES = INCIDENT_RULES.map((r) => `(?:${r.headline.source})`).join('|');
if (!ALL_HEADLINES.includes(OOM_INVOKED_BRANCH)) throw new Error('incident-rules: the OOM headline changed; update OOM_INVOKED_BRANCH');
const ANY_ANCHORED_HEADLINE = new RegExp(ALL_HEADLINES.replace(OOM_INVOKED_BRANCH, ''));

/** Which rule, if any, a line is the headline of. */
export function matchRule(line: string): IncidentRule | null {
  if (!ANY_ANCHORED_HEADLINE.test(line) && line.indexOf(OOM_INVOKED, 1) < 0) return null;
  for (const rule of INCIDENT_RULES) if (rule.headline.test(line)) return rule;
  return null;
}
