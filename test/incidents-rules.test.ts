// One case per incident rule, from real-looking kernel reports (x86-64 and arm64 6.x text), plus
// negative cases and the detector's timing, reboot, bounds and grouping behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncidentDetector, normaliseFrame, type Incident, type IncidentChange } from '../src/netconsole/incidents.js';
import { INCIDENT_RULES, matchRule } from '../src/netconsole/incident-rules.js';
import type { LogRecord } from '../src/netconsole/types.js';

const HOST = '192.0.2.7';

function rec(text: string, facility: number | null = 0, at = 1000): LogRecord {
  return {
    source: `${HOST}:6665`, format: 'extended', seq: null, pri: facility === null ? null : facility * 8 + 4,
    level: 4, facility, tsUsec: null, flags: '-', text, fields: {}, release: null, complete: true, receivedAt: at,
  };
}

/** Feeds each line as its own kernel record; returns the closed incidents after a quiet poll. */
function detect(lines: string[], d = new IncidentDetector()): Incident[] {
  const changes: IncidentChange[] = [];
  let id = 100;
  for (const l of lines) changes.push(...d.push(HOST, rec(l), 1000, { id: id++ }));
  changes.push(...d.poll(1000 + 5000));
  return changes.filter((c) => c.change === 'close').map((c) => c.incident);
}

function one(lines: string[]): Incident {
  const inc = detect(lines);
  assert.equal(inc.length, 1, `expected one incident, got ${JSON.stringify(inc.map((i) => [i.kind, i.headline, i.ended_by]))}`);
  return inc[0];
}

const WARNING = [
  '------------[ cut here ]------------',
  'WARNING: CPU: 1 PID: 342 at net/core/dev.c:5421 __netif_receive_skb_core+0x9c4/0xe80',
  'Modules linked in: nf_tables nfnetlink e1000(E) netconsole [last unloaded: floppy]',
  'CPU: 1 PID: 342 Comm: kworker/1:2 Tainted: G            E      6.1.0-56-amd64 #1  Debian 6.1.192-2',
  'Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014',
  'Workqueue: events e1000_watchdog [e1000]',
  'RIP: 0010:__netif_receive_skb_core+0x9c4/0xe80',
  'Code: 0f 0b e9 2e fd ff ff 48 8b 45 00 <0f> 0b 48 8b 45 00',
  'RSP: 0018:ffffb1c2c0003e08 EFLAGS: 00010246',
  'Call Trace:',
  ' <IRQ>',
  ' ? __warn+0x7d/0xc0',
  ' __netif_receive_skb_one_core+0x3c/0x90',
  ' process_backlog+0x7d/0x130',
  ' __napi_poll+0x28/0x160',
  ' net_rx_action+0x29e/0x350',
  ' </IRQ>',
  ' <TASK>',
  ' do_softirq.part.0+0x7d/0xa0',
  ' </TASK>',
  '---[ end trace 0000000000000000 ]---',
];

test('warning: cut-here preamble, modules, release, frames, ends at end trace', () => {
  const i = one(WARNING);
  assert.equal(i.kind, 'warning');
  assert.equal(i.severity, 'warning');
  assert.equal(i.headline, WARNING[1]);
  assert.equal(i.lines[0], '------------[ cut here ]------------');
  assert.equal(i.lines.length, WARNING.length);
  assert.deepEqual(i.modules, ['nf_tables', 'nfnetlink', 'e1000', 'netconsole']);
  assert.equal(i.release, '6.1.0-56-amd64');
  assert.equal(i.ended_by, 'end-marker');
  assert.deepEqual(i.signature_frames, ['__netif_receive_skb_core', '__netif_receive_skb_one_core', 'process_backlog', '__napi_poll', 'net_rx_action']);
  assert.equal(i.first_message_id, 100);
  assert.equal(i.last_message_id, 100 + WARNING.length - 1);
});

const NULL_DEREF = [
  'BUG: kernel NULL pointer dereference, address: 0000000000000008',
  '#PF: supervisor read access in kernel mode',
  '#PF: error_code(0x0000) - not-present page',
  'PGD 0 P4D 0 ',
  'Oops: 0000 [#1] PREEMPT SMP NOPTI',
  'CPU: 0 PID: 311 Comm: insmod Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2',
  'RIP: 0010:crashme_init+0x15/0x1000 [crashme]',
  'Code: Unable to access opcode bytes at 0xffffffffc0657feb.',
  'RSP: 0018:ffffa5a8c046bc88 EFLAGS: 00010246',
  'Call Trace:',
  ' <TASK>',
  ' ? 0xffffffffc0658000',
  ' do_one_initcall+0x5b/0x220',
  ' do_init_module+0x4a/0x1f0',
  ' __do_sys_finit_module+0xac/0x120',
  ' do_syscall_64+0x5d/0xb0',
  ' entry_SYSCALL_64_after_hwframe+0x6e/0xd8',
  ' </TASK>',
  'Modules linked in: crashme(OE+) netconsole e1000',
  'CR2: 0000000000000008',
  '---[ end trace 0000000000000000 ]---',
];

test('page-fault (x86 NULL dereference): the Oops line joins it, trailers after </TASK> too', () => {
  const i = one(NULL_DEREF);
  assert.equal(i.kind, 'page-fault');
  assert.equal(i.lines.length, NULL_DEREF.length);
  assert.ok(i.lines.includes('Oops: 0000 [#1] PREEMPT SMP NOPTI'));
  assert.deepEqual(i.modules, ['crashme', 'netconsole', 'e1000']);
  assert.equal(i.ended_by, 'end-marker');
  assert.deepEqual(i.signature_frames, ['crashme_init', 'do_one_initcall', 'do_init_module', '__do_sys_finit_module', 'do_syscall_64']);
});

test('an Oops followed by "Kernel panic - not syncing: Fatal exception": two incidents, the panic takes the Oops frames', () => {
  const d = new IncidentDetector();
  const inc = detect([...NULL_DEREF, 'RIP: 0010:crashme_init+0x15/0x1000 [crashme]', 'Kernel panic - not syncing: Fatal exception',
    'Kernel Offset: 0x3a000000 from 0xffffffff81000000', '---[ end Kernel panic - not syncing: Fatal exception ]---'], d);
  assert.deepEqual(inc.map((i) => i.kind), ['page-fault', 'panic']);
  assert.deepEqual(inc[1].signature_frames, inc[0].signature_frames);
  assert.notEqual(inc[1].signature, inc[0].signature); // kind is part of the signature
  assert.equal(inc[1].ended_by, 'end-marker');
  assert.equal(inc[1].lines.length, 3);
});

test('page-fault (arm64): unmarked Call trace, pc function, Code trailer, end trace', () => {
  const i = one([
    'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008',
    'Mem abort info:',
    '  ESR = 0x0000000096000004',
    'Internal error: Oops: 0000000096000004 [#1] PREEMPT SMP',
    'Modules linked in: foo',
    'CPU: 2 PID: 1 Comm: sh Not tainted 6.1.0-rpi7-rpi-v8 #1 Debian 1:6.1.63-1+rpt1',
    'pc : foo_read+0x10/0x40 [foo]',
    'lr : vfs_read+0xa4/0x1c0',
    'Call trace:',
    ' foo_read+0x10/0x40 [foo]',
    ' vfs_read+0xa4/0x1c0',
    ' ksys_read+0x70/0x100',
    'Code: f9400260 (b9400800) ',
    '---[ end trace 0000000000000000 ]---',
  ]);
  assert.equal(i.kind, 'page-fault');
  assert.equal(i.release, '6.1.0-rpi7-rpi-v8');
  assert.equal(i.ended_by, 'end-marker');
  assert.equal(i.lines.length, 14);
  assert.deepEqual(i.signature_frames, ['foo_read', 'vfs_read', 'ksys_read']);
});

test('oops: a report whose first line is the Oops line', () => {
  const i = one(['Oops: 0002 [#1] SMP', 'CPU: 0 PID: 5 Comm: kworker/0:0 Not tainted 5.10.0-28-amd64 #1 Debian 5.10.209-2',
    'RIP: 0010:foo_work+0x22/0x40 [foo]', 'Call Trace:', ' process_one_work+0x1b6/0x350', ' worker_thread+0x53/0x3e0',
    '---[ end trace 1234abcd5678ef90 ]---']);
  assert.equal(i.kind, 'oops');
  assert.equal(i.release, '5.10.0-28-amd64');
  assert.deepEqual(i.signature_frames, ['foo_work', 'process_one_work', 'worker_thread']);
});

test('gpf', () => {
  const i = one([
    'general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI',
    'CPU: 0 PID: 77 Comm: kworker/0:2 Not tainted 6.1.0-56-amd64 #1  Debian 6.1.192-2',
    'RIP: 0010:list_del+0x1a/0x60',
    'Call Trace:', ' <TASK>', ' foo_remove+0x22/0x50 [foo]', ' process_one_work+0x1c7/0x380', ' </TASK>',
    'Modules linked in: foo(OE) bar',
    '---[ end trace 0000000000000000 ]---',
  ]);
  assert.equal(i.kind, 'gpf');
  assert.deepEqual(i.modules, ['foo', 'bar']);
  assert.deepEqual(i.signature_frames, ['list_del', 'foo_remove', 'process_one_work']);
});

test('bug: kernel BUG at, with its invalid opcode line', () => {
  const i = one(['------------[ cut here ]------------', 'kernel BUG at mm/slub.c:379!', 'invalid opcode: 0000 [#1] PREEMPT SMP NOPTI',
    'CPU: 0 PID: 1 Comm: init Not tainted 6.1.0-56-amd64 #1', 'RIP: 0010:__slab_free+0x2c5/0x3a0', 'Call Trace:', ' <TASK>',
    ' kfree+0x7b/0x120', ' foo_release+0x1c/0x30 [foo]', ' </TASK>', 'Modules linked in: foo', '---[ end trace 0000000000000000 ]---']);
  assert.equal(i.kind, 'bug');
  assert.equal(i.headline, 'kernel BUG at mm/slub.c:379!');
  assert.equal(i.lines.length, 12);
});

test('bug: "BUG: scheduling while atomic" ends with its stack dump (no end trace)', () => {
  const d = new IncidentDetector();
  const inc = detect(['BUG: scheduling while atomic: swapper/0/0/0x00000002', 'Modules linked in: foo', 'CPU: 0 PID: 0 Comm: swapper/0 Not tainted 6.1.0 #1',
    'Call Trace:', ' <TASK>', ' dump_stack_lvl+0x44/0x5c', ' __schedule_bug.cold+0x47/0x53', ' __schedule+0x7a1/0x9e0', ' </TASK>',
    'e1000: eth1 NIC Link is Up 1000 Mbps Full Duplex'], d);
  assert.equal(inc.length, 1);
  assert.equal(inc[0].kind, 'bug');
  assert.equal(inc[0].ended_by, 'trace-end');
  assert.equal(inc[0].lines[inc[0].lines.length - 1], ' </TASK>');
  assert.deepEqual(inc[0].signature_frames, ['__schedule_bug', '__schedule']);
});

test('kasan: ends at the closing ==== rule, keeps the allocation stacks', () => {
  const lines = [
    '==================================================================',
    'BUG: KASAN: slab-out-of-bounds in foo_write+0x4e/0x90 [foo]',
    'Write of size 1 at addr ffff888004d1b0c8 by task sh/101',
    '',
    'CPU: 0 PID: 101 Comm: sh Tainted: G    B      O       6.1.0 #3',
    'Call Trace:', ' <TASK>', ' dump_stack_lvl+0x44/0x5c', ' print_report+0x17f/0x47b', ' kasan_report+0xad/0x130',
    ' foo_write+0x4e/0x90 [foo]', ' vfs_write+0xc7/0x3f0', ' </TASK>', '',
    'Allocated by task 101:', ' kasan_save_stack+0x1e/0x40', ' __kasan_kmalloc+0x7f/0x90', ' foo_open+0x20/0x40 [foo]', '',
    'The buggy address belongs to the object at ffff888004d1b0c0',
    '==================================================================',
  ];
  const i = one(lines);
  assert.equal(i.kind, 'kasan');
  assert.equal(i.lines.length, lines.length);
  assert.equal(i.ended_by, 'end-marker');
  assert.equal(i.release, '6.1.0');
  assert.deepEqual(i.signature_frames, ['foo_write', 'vfs_write']);
});

test('ubsan', () => {
  const i = one(['================================================================================',
    'UBSAN: array-index-out-of-bounds in drivers/foo/foo.c:42:9', "index 8 is out of range for type 'int [8]'",
    'CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1', 'Call Trace:', ' <TASK>', ' dump_stack_lvl+0x44/0x5c',
    ' __ubsan_handle_out_of_bounds+0x85/0xa0', ' foo_init+0x39/0x50', ' do_one_initcall+0x44/0x200', ' </TASK>',
    '================================================================================']);
  assert.equal(i.kind, 'ubsan');
  assert.equal(i.lines.length, 12);
  assert.deepEqual(i.signature_frames, ['foo_init', 'do_one_initcall']);
});

test('soft-lockup', () => {
  const inc = detect(['watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [spin:123]', 'Modules linked in: spin(O)',
    'CPU: 0 PID: 123 Comm: spin Tainted: G           O L     6.1.0-56-amd64 #1', 'RIP: 0010:spin_thread+0x10/0x20 [spin]',
    'Call Trace:', ' <TASK>', ' kthread+0xe9/0x110', ' ret_from_fork+0x22/0x30', ' </TASK>', 'e1000: eth1 NIC Link is Down']);
  assert.equal(inc.length, 1);
  assert.equal(inc[0].kind, 'soft-lockup');
  assert.equal(inc[0].release, '6.1.0-56-amd64');
  assert.deepEqual(inc[0].signature_frames, ['spin_thread', 'kthread', 'ret_from_fork']);
});

test('hard-lockup, then its panic', () => {
  const inc = detect(['NMI watchdog: Watchdog detected hard LOCKUP on cpu 1', 'Modules linked in: foo',
    'CPU: 1 PID: 0 Comm: swapper/1 Not tainted 6.1.0 #1', 'RIP: 0010:native_safe_halt+0xb/0x10', 'Call Trace:', ' <TASK>',
    ' default_idle+0xa/0x20', ' </TASK>', 'Kernel panic - not syncing: Hard LOCKUP']);
  assert.deepEqual(inc.map((i) => [i.kind, i.ended_by]), [['hard-lockup', 'trace-end'], ['panic', 'quiet']]);
  assert.equal(inc[0].severity, 'critical');
});

test('rcu-stall: the NMI backtrace and the next CPU belong to it', () => {
  const i = one(['rcu: INFO: rcu_preempt self-detected stall on CPU',
    'rcu: \t0-....: (5249 ticks this GP) idle=2f4/1/0x4000000000000000 softirq=1234/1234 fqs=2500',
    '\t(t=5250 jiffies g=1017 q=155 ncpus=2)', 'NMI backtrace for cpu 0', 'CPU: 0 PID: 55 Comm: stall Not tainted 6.1.0 #1',
    'Call Trace:', ' <IRQ>', ' dump_stack_lvl+0x44/0x5c', ' nmi_cpu_backtrace.cold+0x30/0x70', ' rcu_dump_cpu_stacks+0xc2/0xf0',
    ' rcu_sched_clock_irq.cold+0x4a/0x1f1', ' update_process_times+0x8c/0xc0', ' </IRQ>', ' <TASK>', ' busy_loop+0x10/0x20 [stall]',
    ' </TASK>', 'NMI backtrace for cpu 1', 'Call Trace:', ' <TASK>', ' default_idle+0xa/0x20', ' </TASK>']);
  assert.equal(i.kind, 'rcu-stall');
  assert.equal(i.lines.length, 21);
  assert.deepEqual(i.signature_frames, ['rcu_sched_clock_irq', 'update_process_times', 'busy_loop']);
});

test('hung-task: each blocked task is one incident', () => {
  const report = (n: number): string[] => [`INFO: task kworker/u4:${n}:4${n} blocked for more than 120 seconds.`,
    '      Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2', '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    `task:kworker/u4:${n}    state:D stack:0     pid:4${n}    ppid:2      flags:0x00004000`, 'Call Trace:', ' <TASK>',
    ' __schedule+0x34d/0x9e0', ' schedule+0x5a/0xd0', ' io_schedule+0x42/0x70', ' </TASK>'];
  const inc = detect([...report(1), ...report(2)]);
  assert.deepEqual(inc.map((i) => i.kind), ['hung-task', 'hung-task']);
  assert.equal(inc[0].release, '6.1.0-56-amd64');
  assert.equal(inc[0].signature, inc[1].signature); // same hang, different task numbers
  assert.equal(inc[0].lines.length, 10);
});

test('oom: from "invoked oom-killer" to "Out of memory: Killed process"; a lone kill line is its own incident', () => {
  const inc = detect(['stress invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0',
    'CPU: 0 PID: 200 Comm: stress Not tainted 6.1.0-56-amd64 #1', 'Call Trace:', ' <TASK>', ' dump_stack_lvl+0x44/0x5c',
    ' dump_header+0x4a/0x211', ' oom_kill_process.cold+0xb/0x10', ' out_of_memory+0x1ed/0x2e0',
    ' __alloc_pages_slowpath.constprop.0+0xc5e/0xd80', ' </TASK>', 'Mem-Info:', 'active_anon:1 inactive_anon:60000 isolated_anon:0',
    'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=stress,pid=201,uid=0',
    'Out of memory: Killed process 201 (stress) total-vm:266276kB, anon-rss:240000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:520kB oom_score_adj:0',
    'Memory cgroup out of memory: Killed process 305 (java) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:52kB oom_score_adj:0']);
  assert.deepEqual(inc.map((i) => [i.kind, i.ended_by, i.lines.length]), [['oom', 'end-marker', 14], ['oom', 'end-marker', 1]]);
  assert.deepEqual(inc[0].signature_frames, ['__alloc_pages_slowpath']);
  assert.deepEqual(inc[1].signature_frames, []);
});

test('mce: consecutive [Hardware Error] lines are one incident, the next other line ends it', () => {
  const inc = detect(['mce: [Hardware Error]: Machine check events logged', 'mce: [Hardware Error]: CPU 0: Machine Check: 0 Bank 4: b200000000070005',
    'mce: [Hardware Error]: TSC 0 ADDR 1234 MISC 0 PROCESSOR 0:306a9 TIME 1700000000 SOCKET 0 APIC 0 microcode 21', 'e1000: eth1 NIC Link is Up',
    '{1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 0']);
  assert.deepEqual(inc.map((i) => [i.kind, i.ended_by, i.lines.length]), [['mce', 'report-end', 3], ['mce', 'quiet', 1]]);
  assert.equal(inc[0].severity, 'critical');
});

test('call-trace: a bare dump_stack() takes the line before it as headline', () => {
  const inc = detect(['foo: unexpected state 3, dumping stack', 'CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1',
    'Hardware name: QEMU Standard PC (i440FX + PIIX, 1996)', 'Call Trace:', ' <TASK>', ' dump_stack_lvl+0x44/0x5c',
    ' foo_probe+0x40/0x90 [foo]', ' </TASK>', 'foo: probe failed']);
  assert.equal(inc.length, 1);
  assert.equal(inc[0].kind, 'call-trace');
  assert.equal(inc[0].headline, 'foo: unexpected state 3, dumping stack');
  assert.equal(inc[0].lines[0], 'CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1');
  assert.equal(inc[0].lines.length, 7);
  assert.deepEqual(inc[0].signature_frames, ['foo_probe']);
});

test('panic with the lines of a multi-line record, release from the boot banner', () => {
  const d = new IncidentDetector();
  const changes = [
    ...d.push(HOST, rec('Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP'), 1000),
    ...d.push(HOST, rec('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\nsecond line'), 1000),
    ...d.push(HOST, rec('---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---'), 1000),
  ];
  const closedInc = changes.filter((c) => c.change === 'close').map((c) => c.incident);
  assert.equal(closedInc.length, 1);
  assert.equal(closedInc[0].release, '6.1.0-56-amd64');
  assert.deepEqual(closedInc[0].lines, ['Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', 'second line',
    '---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---']);
});

test('every rule in the table is exercised by a headline above (no dead rules)', () => {
  const covered = new Set(['panic', 'kasan', 'ubsan', 'soft-lockup', 'hard-lockup', 'rcu-stall', 'hung-task', 'page-fault', 'gpf', 'bug',
    'oops', 'warning', 'oom', 'mce', 'nmi-backtrace', 'call-trace']);
  for (const r of INCIDENT_RULES) assert.ok(covered.has(r.kind), `rule ${r.kind} has no test`);
});

// ---- negative cases ----

test('user-space messages (facility user) never start an incident, whatever they say', () => {
  const d = new IncidentDetector();
  const changes: IncidentChange[] = [];
  for (const t of ['Kernel panic - not syncing: just testing', 'BUG: KASAN: fake', 'WARNING: CPU: 0 PID: 1 at fake.c:1 fake+0x0/0x1',
    'Call Trace:', 'Out of memory: Killed process 1 (init)']) {
    changes.push(...d.push(HOST, rec(t, 1), 1000));
  }
  changes.push(...d.poll(100_000), ...d.flushAll(100_000));
  assert.deepEqual(changes, []);
});

test('kernel lines that merely mention the words are not incidents', () => {
  const inc = detect([
    'kn-harness: scenario panic',
    'audit: panic=0 backlog_limit=64',
    'Kernel command line: panic=10 oops=panic',
    'usb 1-1: WARNING: this device needs a quirk',
    'EXT4-fs (sda1): found BUG: in journal replay? no',
    'NMI backtrace for cpu 1 skipped: idling at native_safe_halt+0xb/0x10',
    'systemd[1]: Started Kernel panic - not syncing watcher.',
    'Call Trace: disabled',
    'hung_task: blocked for more than 120 seconds is the default',
  ]);
  assert.deepEqual(inc, []);
});

// ---- detector behaviour ----

test('quiet host: an open incident closes after quietMs, then silent_after after silenceMs', () => {
  const d = new IncidentDetector({ quietMs: 5000, silenceMs: 60_000 });
  const opened = d.push(HOST, rec('Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009', 0, 1000), 1000);
  assert.deepEqual(opened.map((c) => c.change), ['open']);
  assert.equal(opened[0].incident.ended_by, null);
  assert.equal(d.nextDeadline(), 6000);
  assert.deepEqual(d.poll(5999), []);
  const closedC = d.poll(6000);
  assert.deepEqual(closedC.map((c) => [c.change, c.incident.ended_by]), [['close', 'quiet']]);
  assert.equal(closedC[0].incident.key, opened[0].incident.key);
  assert.equal(d.nextDeadline(), 61_000);
  const upd = d.poll(61_000);
  assert.deepEqual(upd.map((c) => [c.change, c.incident.silent_after]), [['update', true]]);
  assert.equal(d.nextDeadline(), null);
  assert.deepEqual(d.poll(1_000_000), []);
});

test('a host that keeps talking is not silent_after', () => {
  const d = new IncidentDetector({ silenceMs: 60_000 });
  detect(WARNING, d);
  d.push(HOST, rec('all fine'), 7000);
  assert.deepEqual(d.poll(200_000), []);
});

test('reboot: the open incident ends and the boot\'s incidents learn next_boot', () => {
  const d = new IncidentDetector();
  d.push(HOST, rec('BUG: unable to handle page fault for address: ffffc90000a3f000'), 1000, { boot: 3 });
  const ch = d.onReboot(HOST, 20_000, 4);
  assert.deepEqual(ch.map((c) => [c.change, c.incident.ended_by, c.incident.next_boot]), [['close', 'reboot', undefined], ['update', 'reboot', 4]]);
  assert.equal(ch[1].incident.boot, 3);
  assert.deepEqual(d.onReboot('unknown-host', 1, 2), []);
});

test('a new boot number on the stream (stored rows carry it) is a reboot too', () => {
  const d = new IncidentDetector();
  d.push(HOST, rec('Kernel panic - not syncing: Fatal exception'), 1000, { boot: 1 });
  d.push(HOST, rec('---[ end Kernel panic - not syncing: Fatal exception ]---'), 1000, { boot: 1 });
  const ch = d.push(HOST, rec('Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)'), 30_000, { boot: 2 });
  assert.deepEqual(ch.map((c) => [c.change, c.incident.kind, c.incident.boot, c.incident.next_boot]), [['update', 'panic', 1, 2]]);
  assert.deepEqual(d.poll(1_000_000), [], 'the host spoke again: not silent');
});

test('snapshots: a change\'s incident is not modified by later changes', () => {
  const d = new IncidentDetector();
  const open = d.push(HOST, rec('Kernel panic - not syncing: x'), 1000)[0].incident;
  d.push(HOST, rec('CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1'), 1000);
  assert.deepEqual(open.lines, ['Kernel panic - not syncing: x']);
});

test('bounds: lines beyond maxLines are counted, hosts beyond maxHosts are evicted', () => {
  const d = new IncidentDetector({ maxLines: 5, maxHosts: 2 });
  d.push('a', rec('Kernel panic - not syncing: a'), 1);
  for (let i = 0; i < 10; i++) d.push('a', rec(`line ${i}`), 1);
  d.push('b', rec('x'), 2);
  const ev = d.push('c', rec('x'), 3);
  assert.deepEqual(ev.map((c) => [c.change, c.incident.host, c.incident.ended_by]), [['close', 'a', 'evicted']]);
  const lines = ev[0].incident.lines;
  assert.equal(lines.length, 6);
  assert.equal(lines[5], '[netconsole-hub: 6 more lines of this report not kept]');
});

test('hosts are independent streams', () => {
  const d = new IncidentDetector();
  d.push('a', rec('Kernel panic - not syncing: a'), 1);
  d.push('b', rec('Call Trace:'), 1);
  const ch = d.push('a', rec('---[ end Kernel panic - not syncing: a ]---'), 2);
  assert.deepEqual(ch.map((c) => [c.incident.host, c.incident.kind, c.incident.lines.length]), [['a', 'panic', 2]]);
  assert.equal(d.openCount(), 1);
});

test('normaliseFrame strips offsets, modules, addresses, compiler suffixes; drops unreliable frames', () => {
  assert.equal(normaliseFrame(' __handle_sysrq.cold+0x44/0x11c'), '__handle_sysrq');
  assert.equal(normaliseFrame(' foo_write.isra.0.constprop.1+0x4e/0x90 [foo]'), 'foo_write');
  assert.equal(normaliseFrame(' [<ffffffff8108a1b2>] bar+0x12/0x30'), 'bar');
  assert.equal(normaliseFrame(' ? lapic_can_unplug_cpu+0x70/0x70'), null);
  assert.equal(normaliseFrame(' <TASK>'), null);
  assert.equal(normaliseFrame('RIP: 0033:0x47b7a0'), null);
});

test('an idle stream with nothing open, watched or remembered is forgotten; one with incidents is kept', () => {
  const d = new IncidentDetector({ silenceMs: 60_000, forgetIdleMs: 600_000 });
  d.push('idle', rec('eth0: link up'), 1000);
  d.push('crashed', rec('Kernel panic - not syncing: x'), 1000);
  d.push('crashed', rec('---[ end Kernel panic - not syncing: x ]---'), 1000);
  assert.equal(d.streamCount, 2);
  d.poll(100_000);
  assert.equal(d.streamCount, 2, 'not idle long enough');
  const later = d.poll(601_000);
  assert.deepEqual(later, []);
  assert.equal(d.streamCount, 1, 'the idle stream is forgotten; the one whose incident may still learn next_boot stays');
  // The forgotten stream starts afresh: no context from before its silence.
  const ch = d.push('idle', rec('Kernel panic - not syncing: y'), 602_000);
  assert.deepEqual(ch.map((c) => [c.change, c.incident.context_before]), [['open', []]]);
  // The kept one still learns its next boot.
  const rb = d.onReboot('crashed', 603_000, 2);
  assert.deepEqual(rb.map((c) => [c.change, c.incident.next_boot]), [['update', 2]]);
});

test('matchRule: the OOM "invoked oom-killer" headline is found anywhere after the first character, and only there', () => {
  // The gate looks for this branch as a substring (the regex would scan every line); the rule decides.
  assert.equal(matchRule('stress invoked oom-killer: gfp_mask=0x140dca, order=0, oom_score_adj=0')?.kind, 'oom');
  assert.equal(matchRule('x invoked oom-killer: ')?.kind, 'oom');
  assert.equal(matchRule(' invoked oom-killer: gfp_mask=0x0'), null, 'nothing before it: not the headline');
  assert.equal(matchRule('stress invoked oom-killer gfp_mask=0x0'), null, 'no colon: not the headline');
  assert.equal(matchRule('oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null)')?.kind, 'oom');
  assert.equal(matchRule('Out of memory: Killed process 123 (stress)')?.kind, 'oom');
  assert.equal(matchRule('e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex'), null);
});
