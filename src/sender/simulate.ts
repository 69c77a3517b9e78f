// Synthetic kernel logs for load tests, demos and benchmarks: each simulated host has its own seq
// numbers and produces realistic printk text: a boot log, device messages with SUBSYSTEM/DEVICE
// dictionaries, long lines that need ncfrag (extended) or two datagrams (legacy), and now and then
// an Oops with its Call Trace. Deterministic for a given seed; time is passed in.
import type { KernelRecord } from '../netconsole/format.js';

/** Small fast PRNG (mulberry32): reproducible runs, no dependency. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Draft = Omit<KernelRecord, 'seq' | 'tsUsec'>;

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
const hex = (r: () => number, digits: number): string =>
  Array.from({ length: digits }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');

function bootLog(host: number): Draft[] {
  const kern = (level: number, text: string): Draft => ({ pri: level, text: enc(text) });
  return [
    kern(5, `Linux version 6.1.0-${20 + (host % 10)}-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1`),
    kern(6, `Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-amd64 root=/dev/sda1 ro quiet netconsole=+6665@/eth0,6666@192.0.2.1/`),
    kern(6, 'x86/fpu: Supporting XSAVE feature 0x001: \'x87 floating point registers\''),
    kern(6, 'BIOS-provided physical RAM map:'),
    kern(6, 'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable'),
    kern(6, `DMI: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014`),
    kern(6, `Memory: ${8000000 + host * 1024}K/8388608K available (14336K kernel code, 2345K rwdata)`),
    kern(6, 'rcu: Hierarchical RCU implementation.'),
    { pri: 6, text: enc('e1000e 0000:00:19.0 eth0: (PCI Express:2.5GT/s:Width x1) 52:54:00:12:34:56'), subsystem: 'pci', device: '+pci:0000:00:19.0' },
    kern(6, 'netconsole: network logging started'),
  ];
}

function oops(r: () => number, pid: number): Draft[] {
  const addr = `ffffffff${hex(r, 8)}`;
  const frames = ['do_sys_openat2', 'do_filp_open', 'path_openat', 'vfs_write', 'ksys_write', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe'];
  const lines: Draft[] = [
    { pri: 1, text: enc(`BUG: kernel NULL pointer dereference, address: 0000000000000008`) },
    { pri: 1, text: enc('#PF: supervisor read access in kernel mode') },
    { pri: 4, text: enc('Oops: 0000 [#1] PREEMPT SMP NOPTI') },
    { pri: 4, text: enc(`CPU: ${Math.floor(r() * 8)} PID: ${pid} Comm: kworker/u16:${Math.floor(r() * 9)} Not tainted 6.1.0-amd64 #1 Debian 6.1.90-1`) },
    { pri: 4, text: enc(`RIP: 0010:mydrv_poll+0x${hex(r, 2)}/0x1f0 [mydrv]`) },
    { pri: 4, text: enc(`RSP: 0018:ffffb5a1c0a7bd88 EFLAGS: 00010246`) },
    { pri: 4, text: enc(`RAX: 0000000000000000 RBX: ${addr} RCX: 0000000000000001`) },
    { pri: 4, text: enc('Call Trace:') },
    { pri: 4, text: enc(' <TASK>') },
  ];
  for (const f of frames) lines.push({ pri: 4, text: enc(` ${f}+0x${hex(r, 2)}/0x${hex(r, 3)}`) });
  lines.push({ pri: 4, text: enc(' </TASK>') }, { pri: 4, text: enc('---[ end trace 0000000000000000 ]---') });
  return lines;
}

function steadyRecord(r: () => number): Draft {
  const x = r();
  if (x < 0.15) {
    const n = Math.floor(r() * 4);
    return { pri: 6, text: enc(`usb 1-${n}: new high-speed USB device number ${2 + n} using xhci_hcd`), subsystem: 'usb', device: `c189:${n}` };
  }
  if (x < 0.25) {
    const up = r() < 0.5;
    return {
      pri: 6,
      text: enc(up ? 'e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx' : 'e1000e 0000:00:19.0 eth0: NIC Link is Down'),
      subsystem: 'pci',
      device: '+pci:0000:00:19.0',
    };
  }
  if (x < 0.3) {
    // A long line (audit-like): over 1000 bytes escaped, so extended needs ncfrag.
    const fields = Array.from({ length: 90 }, (_, i) => `k${i}=${hex(r, 8)}`).join(' ');
    return { pri: 5, text: enc(`audit: type=1400 audit(1700000000.${Math.floor(r() * 1000)}:1): apparmor="DENIED" ${fields}`.slice(0, 990)) };
  }
  if (x < 0.33) return { pri: 4, text: enc(`EXT4-fs warning (device sda1): ext4_dx_add_entry:2457: Directory (ino: ${Math.floor(r() * 1e6)}) index full, reach max htree level :2\tcheck "é"`) };
  if (x < 0.45) return { pri: 3, text: enc(`blk_update_request: I/O error, dev sdb, sector ${Math.floor(r() * 1e9)} op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0`) };
  if (x < 0.7) return { pri: 6, text: enc(`[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56 SRC=198.51.100.${Math.floor(r() * 255)} DST=192.0.2.10 LEN=60 PROTO=TCP SPT=${Math.floor(r() * 65535)} DPT=22`) };
  if (x < 0.85) return { pri: 30, text: enc(`systemd[1]: Started session-${Math.floor(r() * 1000)}.scope - Session of User root.`) };
  return { pri: 7, text: enc(`mydrv: poll cycle ${Math.floor(r() * 1e6)} took ${Math.floor(r() * 500)} us`) };
}

export interface SimulatedHostOptions {
  index: number;
  seed?: number;
  /** Probability per steady record of starting an Oops (default 0.002). */
  oopsRate?: number;
}

/** One simulated machine: call next(tsUsec) for each record it logs. */
export class SimulatedHost {
  private readonly rand: () => number;
  private readonly queue: Draft[];
  private seq = 0;
  private readonly oopsRate: number;
  readonly bootUsec: number;

  constructor(readonly opts: SimulatedHostOptions) {
    this.rand = prng((opts.seed ?? 1) * 7919 + opts.index * 104729);
    this.queue = bootLog(opts.index);
    this.oopsRate = opts.oopsRate ?? 0.002;
    // Hosts booted at different times: the first record is a few seconds after boot.
    this.bootUsec = Math.floor(this.rand() * 5_000_000);
  }

  /** The next record; `elapsedUsec` is the time since the simulation started. */
  next(elapsedUsec: number): KernelRecord {
    if (this.queue.length === 0) {
      if (this.rand() < this.oopsRate) this.queue.push(...oops(this.rand, 100 + Math.floor(this.rand() * 30000)));
      else this.queue.push(steadyRecord(this.rand));
    }
    const d = this.queue.shift() as Draft;
    return { ...d, seq: this.seq++, tsUsec: this.bootUsec + Math.max(0, Math.floor(elapsedUsec)) };
  }

  /** Seq of the last record returned, or null before the first. */
  get lastSeq(): number | null {
    return this.seq === 0 ? null : this.seq - 1;
  }
}
