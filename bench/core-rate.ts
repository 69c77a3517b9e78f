// The pure core alone: 100-byte extended records from 256 sources through NetconsoleReceiver with a
// sink that only counts. Used by core-micro.ts, and by run.ts as a probe of how fast this machine is
// at the moment (a shared VM's speed drifts; every part's section records the probe it started with).
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import type { Sink } from '../src/netconsole/types.js';

const SOURCES = 256;

/** Records/s of the core over `total` records: the median of three runs after a warm-up. */
export function coreRecordsPerSec(total: number): { median: number; range: number[] } {
  const sources = Array.from({ length: SOURCES }, (_, i) => `10.0.${i >> 8}.${i & 255}:6665`);
  // Built before the clock starts: every source's seq rises by one per record, as a kernel's does.
  const payloads: Buffer[] = [];
  for (let i = 0; i < total; i++) {
    const seq = Math.floor(i / SOURCES);
    const head = `6,${seq},${1_000_000 + seq * 137},-;`;
    payloads.push(Buffer.from(head + `kn-bench record ${i} `.padEnd(99 - head.length, 'x') + '\n'));
  }
  const run = (n: number): number => {
    const rx = new NetconsoleReceiver();
    const sink: Sink = { record: () => {}, event: () => {} };
    const t0 = process.hrtime.bigint();
    let now = 0;
    for (let i = 0; i < n; i++) {
      rx.push(sources[i % SOURCES]!, payloads[i]!, now, sink);
      if ((i & 1023) === 0) {
        now += 10;
        rx.poll(now, sink);
      }
    }
    rx.flushAll(now + 10_000, sink);
    return n / (Number(process.hrtime.bigint() - t0) / 1e9);
  };
  run(Math.min(total, 100_000)); // warm up
  const rates = [run(total), run(total), run(total)].sort((a, b) => a - b);
  return { median: Math.round(rates[1]!), range: rates.map(Math.round) };
}
