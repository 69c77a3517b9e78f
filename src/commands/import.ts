// `netconsole-hub import FILE.pcap… --db PATH`: stores a capture (tcpdump during an outage, or the
// fixtures' JSON lines) through the same core and storage as `serve`, with the capture's own
// timestamps as arrival times. Packets with a bad IP/UDP checksum are counted, not stored.
import type { Command } from 'commander';
import { readCaptureFile } from '../capture/read.js';
import { NetconsoleReceiver } from '../netconsole/pipeline.js';
import type { Sink } from '../netconsole/types.js';
import { StorageWriter } from '../receiver/store/writer.js';
import { hostAddressOf } from '../receiver/store/batch-writer.js';
import { DEFAULTS } from './serve.js';

export interface ImportSummary {
  files: number; datagrams: number; records: number; incomplete: number; hosts: number; sources: number;
  gaps: number; lost_records: number; reboots: number; duplicates: number; bad_checksums: number; malformed: number;
}

export async function importCaptures(paths: string[], dbPath: string): Promise<ImportSummary> {
  // Read every file first: a malformed capture is refused before anything is written.
  const captures = paths.map((p) => [...readCaptureFile(p)]);
  const writer = await StorageWriter.open({ dbPath });
  const rx = new NetconsoleReceiver();
  const s: ImportSummary = { files: paths.length, datagrams: 0, records: 0, incomplete: 0, hosts: 0, sources: 0, gaps: 0, lost_records: 0, reboots: 0, duplicates: 0, bad_checksums: 0, malformed: 0 };
  const hosts = new Set<string>();
  const sources = new Map<string, { datagrams: number; bytes: number; badPackets: number; checksumErrors: number }>();
  const sink: Sink = {
    record: (r) => { s.records++; if (!r.complete) s.incomplete++; hosts.add(hostAddressOf(r.source)); writer.record(r); },
    event: (e) => {
      if (e.type === 'gap') { s.gaps++; s.lost_records += (e.to ?? 0) - (e.from ?? 0) + 1; }
      writer.event(e);
    },
  };
  let now = 0;
  try {
    for (const datagrams of captures) {
      for (const d of datagrams) {
        now = Math.max(now, d.atMs);
        rx.poll(now, sink);
        let sc = sources.get(d.source);
        if (!sc) { sc = { datagrams: 0, bytes: 0, badPackets: 0, checksumErrors: 0 }; sources.set(d.source, sc); }
        if (d.problem) {
          sc.badPackets++;
          if (d.problem.kind === 'checksum_error') { sc.checksumErrors++; s.bad_checksums++; } else s.malformed++;
          continue;
        }
        s.datagrams++;
        sc.datagrams++;
        sc.bytes += d.payload.length;
        rx.push(d.source, d.payload, now, sink);
        if (s.datagrams % 5000 === 0) await writer.flush(); // keep the queue far from its bound
      }
    }
    rx.flushAll(now, sink);
    for (const [source, counters] of sources) if (source !== '?') writer.enqueue({ kind: 'counters', source, at: now, counters });
  } finally {
    await writer.close();
  }
  // Reboots and duplicates are the store's findings: it judges every record whose seq fell back.
  const w = writer.stats();
  s.reboots = w.reboots;
  s.duplicates = w.duplicates;
  s.hosts = hosts.size;
  s.sources = [...sources.keys()].filter((k) => k !== '?').length;
  return s;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('store captures (pcap, pcapng, or fixture JSON lines) through the receiver pipeline, verifying checksums')
    .argument('<capture...>', 'capture files')
    .option('--db <path>', 'SQLite database to add to', process.env.NCH_DB ?? DEFAULTS.db)
    .option('--json', 'print the summary as JSON')
    .action(async (paths: string[], opts: { db: string; json?: boolean }) => {
      const s = await importCaptures(paths, opts.db);
      if (opts.json) process.stdout.write(JSON.stringify(s) + '\n');
      else {
        process.stdout.write(
          `imported ${s.records} records (${s.incomplete} incomplete) from ${s.datagrams} datagrams into ${opts.db}\n` +
          `hosts ${s.hosts}, sources ${s.sources}, gaps ${s.gaps} (${s.lost_records} records lost), reboots ${s.reboots}, ` +
          `duplicates ${s.duplicates}, bad checksums ${s.bad_checksums}, malformed packets ${s.malformed}\n`,
        );
      }
    });
}
