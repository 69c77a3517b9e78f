// Big-database generator for the query benchmark: writes straight into the real schema
// (migrations/*.sql applied by openDatabase) with better-sqlite3, the way BatchWriter does (messages,
// then the batch's FTS rows with one INSERT … SELECT). Deterministic for a given seed.
//
//   node dist/bench/gen-db.js --out /tmp/big.db --rows 10000000 --hosts 1000 [--boots 3] [--days 30]
//
// Shape: HOSTS hosts 10.0.X.Y with one source each (ADDR:6665), BOOTS boots per host splitting the
// time range, rows spread evenly over DAYS days in arrival order, hosts picked at random per row,
// seq counting per boot. Text: realistic kernel lines; 'eth0' is in ~15% of them, 'segfault' ~0.5%,
// 'panic' ~0.01% (so the full-text queries cover common, uncommon and rare words).
import { prng } from '../src/sender/simulate.js';
import { existsSync, statSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/receiver/store/database.js';
import { STORED_MESSAGES_COUNTER } from '../src/receiver/store/batch-writer.js';

export interface GenOptions {
  out: string;
  rows: number;
  hosts: number;
  boots: number;
  days: number;
  seed: number;
  /** Wall-clock ms of the newest row (default: now). */
  endAt?: number;
  progress?: (done: number, total: number) => void;
}

export interface GenResult {
  rows: number;
  hosts: number;
  boots: number;
  seconds: number;
  rowsPerSec: number;
  dbBytes: number;
  firstAt: number;
  lastAt: number;
}


export function hostAddress(h: number): string {
  return `10.0.${(h >> 8) & 255}.${h & 255}`;
}

const hex = (r: () => number, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
};

/** [level, text] of one line; the mix is what a fleet's kernel logs look like at loglevel 7. */
function line(r: () => number): [number, string] {
  const x = r();
  const n = (m: number) => Math.floor(r() * m);
  if (x < 0.0001) return [0, `Kernel panic - not syncing: Fatal exception in interrupt`];
  if (x < 0.005) return [6, `traps: app[${1000 + n(60000)}] general protection fault ip:${hex(r, 12)} sp:${hex(r, 12)} error:0 segfault in libc.so.6[${hex(r, 12)}+${hex(r, 5)}]`];
  if (x < 0.155) return [6, `e1000e 0000:00:19.0 eth0: NIC Link is Up ${[100, 1000, 10000][n(3)]} Mbps Full Duplex, Flow Control: Rx/Tx`];
  if (x < 0.3) return [4, `EXT4-fs (sda${1 + n(4)}): warning: mounting fs with errors, running e2fsck is recommended`];
  if (x < 0.45) return [6, `audit: type=1400 audit(${1700000000 + n(9999999)}.${n(999)}:${n(99999)}): apparmor="DENIED" operation="open" profile="snap.${['firefox', 'lxd', 'core'][n(3)]}" name="/proc/${n(9999)}/mountinfo" pid=${n(99999)} comm="${['firefox', 'lxd', 'snapd'][n(3)]}"`];
  if (x < 0.6) return [3, `nvme nvme${n(2)}: I/O ${n(1000)} QID ${n(16)} timeout, completion polled`];
  if (x < 0.7) return [6, `usb ${1 + n(4)}-${1 + n(6)}: new high-speed USB device number ${n(127)} using xhci_hcd`];
  if (x < 0.8) return [5, `systemd[1]: Started Session ${n(99999)} of User ${['root', 'debian', 'admin'][n(3)]}.`];
  if (x < 0.9) return [4, `TCP: request_sock_TCP: Possible SYN flooding on port ${n(65535)}. Sending cookies.  Check SNMP counters.`];
  if (x < 0.97) return [6, `IPv6: ADDRCONF(NETDEV_CHANGE): veth${hex(r, 7)}: link becomes ready`];
  return [3, `ext4_find_entry:${1400 + n(200)}: inode #${n(9999999)}: comm kworker/u16:${n(9)}: reading directory lblock 0`];
}

export function generate(o: GenOptions): GenResult {
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(o.out + suffix)) unlinkSync(o.out + suffix);
  const t0 = performance.now();
  const { db } = openDatabase(o.out);
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -256000');
  const r = prng(o.seed);
  const endAt = o.endAt ?? Date.now();
  const span = o.days * 86_400_000;
  const firstAt = endAt - span;
  const insertHost = db.prepare('INSERT INTO hosts (id, address, name, first_seen, last_seen, current_boot_id) VALUES (?, ?, NULL, ?, ?, ?)');
  const insertSource = db.prepare(`INSERT INTO sources (id, host_id, address, format, boot_id, first_seen, last_seen) VALUES (?, ?, ?, 'extended', ?, ?, ?)`);
  const insertBoot = db.prepare(`INSERT INTO boots (id, host_id, number, started_at, first_seq, reason, release) VALUES (?, ?, ?, ?, 1, ?, '6.1.0-28-amd64')`);
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, host_id, source_id, boot_id, seq, pri, level, facility, ts_usec, received_at, text, fields, complete, format, flags, release)
     VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, '{}', 1, 'extended', '-', NULL)`,
  );
  const indexFrom = db.prepare('INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE id >= ?');
  const bootId = (h: number, b: number) => h * o.boots + b + 1;
  db.transaction(() => {
    for (let h = 0; h < o.hosts; h++) {
      const id = h + 1;
      insertHost.run(id, hostAddress(h), firstAt, endAt, null);
      for (let b = 0; b < o.boots; b++) insertBoot.run(bootId(h, b), id, b + 1, firstAt + (b * span) / o.boots, b === 0 ? 'first' : 'reboot');
      db.prepare('UPDATE hosts SET current_boot_id = ? WHERE id = ?').run(bootId(h, o.boots - 1), id);
      insertSource.run(id, id, `${hostAddress(h)}:6665`, bootId(h, o.boots - 1), firstAt, endAt);
    }
  })();
  const seqs = new Int32Array(o.hosts * o.boots);
  const BATCH = 50_000;
  let id = 1;
  const batch = db.transaction((n: number) => {
    const from = id;
    for (let k = 0; k < n; k++, id++) {
      const i = id - 1;
      const at = Math.floor(firstAt + (i * span) / o.rows);
      const h = Math.floor(r() * o.hosts);
      const b = Math.min(o.boots - 1, Math.floor((i * o.boots) / o.rows));
      const bi = bootId(h, b);
      const seq = ++seqs[bi - 1]!;
      const [level, text] = line(r);
      const bootStart = firstAt + (b * span) / o.boots;
      insertMessage.run(id, h + 1, h + 1, bi, seq, level, level, Math.max(0, Math.floor((at - bootStart) * 1000)), at, text);
    }
    indexFrom.run(from);
  });
  while (id <= o.rows) {
    batch(Math.min(BATCH, o.rows - id + 1));
    o.progress?.(id - 1, o.rows);
  }
  db.prepare('INSERT INTO hub_counters (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(STORED_MESSAGES_COUNTER, o.rows, endAt);
  // The writer keeps boots.messages; a generated file sets it once, as migration 006 does.
  db.prepare('UPDATE boots SET messages = (SELECT count(*) FROM messages m WHERE m.boot_id = boots.id)').run();
  // Every row is indexed: record it, or the writer would index them all again when serve opens the file.
  db.prepare('UPDATE fts_progress SET indexed_through = (SELECT max(id) FROM messages) WHERE id = 1').run();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const seconds = (performance.now() - t0) / 1000;
  return { rows: o.rows, hosts: o.hosts, boots: o.hosts * o.boots, seconds, rowsPerSec: o.rows / seconds, dbBytes: statSync(o.out).size, firstAt, lastAt: endAt };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string, def: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
  };
  const res = generate({
    out: arg('out', 'bench/out/big.db'),
    rows: Number(arg('rows', '1000000')),
    hosts: Number(arg('hosts', '1000')),
    boots: Number(arg('boots', '3')),
    days: Number(arg('days', '30')),
    seed: Number(arg('seed', '1')),
    progress: (d, t) => { if (d % 1_000_000 === 0 || d === t) process.stderr.write(`gen-db: ${d}/${t}\n`); },
  });
  process.stdout.write(JSON.stringify(res) + '\n');
}
