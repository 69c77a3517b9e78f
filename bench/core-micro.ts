// Micro-benchmark of the pure core alone: 100-byte extended records from 256 sources through
// NetconsoleReceiver with a sink that only counts. `node dist/bench/core-micro.js [records]`
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import type { Sink } from '../src/netconsole/types.js';

const total = Number(process.argv[2] ?? 1_000_000);
const SOURCES = 256;
const sources = Array.from({ length: SOURCES }, (_, i) => `10.0.${i >> 8}.${i & 255}:6665`);
// Built before the clock starts: every source's seq rises by one per record, as a kernel's does.
const payloads: Buffer[] = [];
for (let i = 0; i < total; i++) {
  const seq = Math.floor(i / SOURCES);
  const head = `6,${seq},${1_000_000 + seq * 137},-;`;
  payloads.push(Buffer.from(head + `kn-bench record ${i} `.padEnd(99 - head.length, 'x') + '\n'));
}
function run(n: number): number {
  const rx = new NetconsoleReceiver();
  let records = 0;
  const sink: Sink = { record: () => { records++; }, event: () => {} };
  const t0 = process.hrtime.bigint();
  let now = 0;
  for (let i = 0; i < n; i++) {
    const k = i % SOURCES;
    rx.push(sources[k], payloads[i], now, sink);
    if ((i & 1023) === 0) { now += 10; rx.poll(now, sink); }
  }
  rx.flushAll(now + 10_000, sink);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return n / secs;
}
run(Math.min(total, 100_000)); // warm up
const rates = [run(total), run(total), run(total)].sort((a, b) => a - b);
console.log(JSON.stringify({ bench: 'core', records: total, per_sec_median: Math.round(rates[1]), range: rates.map(Math.round) }));
