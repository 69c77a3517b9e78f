// Writes what a harness run's frames must decode to (one JSON line per record), from the harness's
// own sent.jsonl (its independent pcap reader) and the userdata the run gave each target:
//   node scripts/kernel-fixture-expected.mjs SENT.jsonl OUT.jsonl PORT=extended[:k=v,k=v] PORT=legacy …
// Needs a build (npm run build): the oracle is test/helpers/kernel-oracle.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { expectedExtended, expectedLegacy } from '../dist/test/helpers/kernel-oracle.js';

const [sentPath, outPath, ...targets] = process.argv.slice(2);
if (!sentPath || !outPath || targets.length === 0) {
  console.error('usage: kernel-fixture-expected.mjs SENT.jsonl OUT.jsonl PORT=extended[:k=v,...]|PORT=legacy ...');
  process.exit(2);
}
const sent = readFileSync(sentPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const lines = [];
for (const t of targets) {
  const m = /^(\d+)=(extended|legacy)(?::(.*))?$/.exec(t);
  if (!m) throw new Error(`bad target ${t}`);
  const frames = sent.filter((s) => s.port === Number(m[1]));
  const source = frames[0].src;
  const payloads = frames.map((s) => Buffer.from(s.b64, 'base64'));
  if (m[2] === 'legacy') {
    for (const r of expectedLegacy(payloads)) lines.push({ source, format: 'legacy', ...r });
  } else {
    const userdata = (m[3] ?? '').split(',').filter(Boolean).map((kv) => {
      const [k, v] = [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)];
      return [k, /^@\d+$/.test(v) ? 'u'.repeat(Number(v.slice(1))) : v];
    });
    for (const r of expectedExtended(payloads, userdata)) lines.push({ source, format: 'extended', ...r });
  }
}
writeFileSync(outPath, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
console.log(`${outPath}: ${lines.length} records`);
