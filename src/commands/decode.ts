// `netconsole-hub decode CAPTURE…`: runs captures through the protocol core exactly as the
// receiver would and prints one JSON object per record (and, with --events, per event).
import type { Command } from 'commander';
import { readCaptureFile } from '../capture/read.js';
import { NetconsoleReceiver } from '../netconsole/pipeline.js';
import { MemoryReplayJudge } from '../netconsole/replay-judge.js';
import { eventToJson, recordToJson } from '../netconsole/record-json.js';

export interface DecodeOptions { events?: boolean }

export function decodeCaptures(paths: string[], opts: DecodeOptions, write: (line: string) => void): void {
  const rx = new NetconsoleReceiver();
  // No store to ask: a seq that falls back is judged in memory, by the store's rule.
  const sink = new MemoryReplayJudge({
    record: (r) => write(JSON.stringify(recordToJson(r))),
    event: (e) => { if (opts.events) write(JSON.stringify(eventToJson(e))); },
  });
  let now = 0;
  for (const path of paths) {
    // Read the whole file first: a malformed capture fails before anything is printed.
    for (const d of [...readCaptureFile(path)]) {
      now = Math.max(now, d.atMs);
      const deadline = rx.nextDeadline();
      if (deadline !== null && now >= deadline) rx.poll(now, sink);
      if (d.problem) {
        if (opts.events) write(JSON.stringify({ event: d.problem.kind, source: d.source, packet: d.problem.packet, detail: d.problem.detail, at: d.atMs }));
        continue;
      }
      rx.push(d.source, d.payload, now, sink);
    }
  }
  rx.flushAll(now, sink);
  sink.flush();
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('decode captures (fixture JSON lines, pcap, pcapng) and print one JSON record per line')
    .argument('<capture...>', 'capture files: JSON lines ({"src","t","b64"} per datagram) or pcap/pcapng')
    .option('--events', 'also print sequence events (gap, duplicate, reorder, reboot) and packets with bad checksums')
    .action((paths: string[], opts: DecodeOptions) => {
      const out: string[] = [];
      const flush = () => { if (out.length) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; } };
      decodeCaptures(paths, opts, (line) => { out.push(line); if (out.length >= 512) flush(); });
      flush();
    });
}
