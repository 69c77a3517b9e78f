// Micro-benchmark of the pure core alone (bench/core-rate.ts). `node dist/bench/core-micro.js [records]`
import { coreRecordsPerSec } from './core-rate.js';

const total = Number(process.argv[2] ?? 1_000_000);
const r = coreRecordsPerSec(total);
console.log(JSON.stringify({ bench: 'core', records: total, per_sec_median: r.median, range: r.range }));
