// "Every record the kernel sent is a row, once" as a property: random boots of one source (random
// lengths, seqs falling back by random amounts, timestamps close to the previous boot's, some first
// records equal to the previous boot's), random ring-buffer replays and repeated datagrams, through
// the real core and the real store (BatchWriter on a SQLite file, in batches of random sizes), and
// through the in-memory judge that `decode` uses. What is kept must equal what a perfect receiver
// keeps: the multiset of (boot, seq, text), one reboot per boot after the first, and every resent
// copy counted as a duplicate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatRecord } from '../src/netconsole/format.js';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import { MemoryReplayJudge } from '../src/netconsole/replay-judge.js';
import type { LogRecord, SeqEvent, Sink } from '../src/netconsole/types.js';
import { BatchWriter } from '../src/receiver/store/batch-writer.js';
import type { StoreItem } from '../src/receiver/store/types.js';
import { openTempDatabase } from './helpers/temp-db.js';

const SOURCE = '10.9.0.1:6665';

interface BootPlan { fallBack: number; length: number; samePrefix: number; replays: Array<{ at: number; back: number }>; repeats: number[] }

const bootPlan: fc.Arbitrary<BootPlan> = fc.record({
  // How far below the previous boot's last seq this boot starts (its seqs fall back to values seen).
  fallBack: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 200, max: 1500 })),
  length: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 300, max: 1400 })),
  // Leading records byte-equal to the previous boot's at the same seq (deterministic boots).
  samePrefix: fc.integer({ min: 0, max: 12 }),
  // After the record at index `at`, the kernel replays the boot's records from `back` before it.
  replays: fc.array(fc.record({ at: fc.nat(), back: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1000, max: 1500 })) }), { maxLength: 2 }),
  // Records sent twice in a row (two targets with the same source port).
  repeats: fc.array(fc.nat(), { maxLength: 3 }),
});

interface Sent { boot: number; seq: number; text: string; payload: Uint8Array }

/** The datagrams of a run, and the (boot, seq, text) a perfect receiver keeps. */
function plan(boots: BootPlan[]): { sends: Uint8Array[]; kept: string[]; copies: number } {
  const sends: Uint8Array[] = [];
  const kept: string[] = [];
  let copies = 0;
  let previous: Sent[] = [];
  boots.forEach((b, i) => {
    const bootNo = i + 1;
    // The seqs fall back into the previous boot's (a boot entirely below them, or equal to it
    // wherever they overlap, would be a replay of records we never had to any receiver).
    const prevFirst = previous.length ? previous[0].seq : 0;
    const prevLast = previous.length ? previous[previous.length - 1].seq : 0;
    const first = i === 0 ? 0 : Math.max(prevFirst, prevLast - b.fallBack);
    const overlap = i === 0 ? 0 : Math.min(b.length, prevLast - first + 1);
    const prevBySeq = new Map(previous.map((p) => [p.seq, p]));
    const records: Sent[] = [];
    for (let k = 0; k < b.length; k++) {
      const seq = first + k;
      const old = prevBySeq.get(seq);
      // Leading records equal to the old boot's, short of its last overlapping one.
      if (old && k < b.samePrefix && k < overlap - 1) { records.push({ ...old, boot: bootNo }); continue; }
      // ts close to the previous boot's (3 µs later per boot), text its own.
      const ts = seq * 1000 + bootNo * 3;
      const text = `boot ${bootNo} record ${seq}`;
      records.push({ boot: bootNo, seq, text, payload: formatRecord({ level: 6, facility: 0, seq, tsUsec: ts, text: Buffer.from(text) }, { format: 'extended', kernel: '6.1' })[0] });
    }
    // No replay among a new boot's look-alikes: '0 1 2 | 1 2 | 3*' is as much an old replay of 0..2
    // followed by a boot from seq 1 as a boot from 0 replaying 1..2 (no receiver can tell).
    const prefix = records.findIndex((r) => r.boot === bootNo && r.text.startsWith(`boot ${bootNo} `));
    const replaysAt = new Map(b.replays.map((r) => [Math.max(prefix, r.at % b.length), r.back]));
    const repeatAt = new Set(b.repeats.map((r) => r % b.length));
    records.forEach((r, k) => {
      sends.push(r.payload);
      kept.push(`${r.boot}/${r.seq}/${r.text}`);
      if (repeatAt.has(k)) { sends.push(r.payload); copies++; }
      const back = replaysAt.get(k);
      if (back !== undefined) {
        const from = Math.max(0, k - back);
        for (let j = from; j <= k; j++) { sends.push(records[j].payload); copies++; }
      }
    });
    previous = records;
  });
  return { sends, kept: kept.sort(), copies };
}

function run(sends: Uint8Array[], sink: Sink): void {
  const rx = new NetconsoleReceiver();
  let now = 1_000;
  for (const p of sends) rx.push(SOURCE, p, (now += 1), sink);
  rx.flushAll(now + 10_000, sink);
}

test('property: boots, fall-backs, replays and copies of one source are stored exactly once (real store)', (t) => {
  fc.assert(
    fc.property(fc.array(bootPlan, { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }), (boots, batchSizes) => {
      const { sends, kept, copies } = plan(boots);
      const db = openTempDatabase(t, 'nch-exactly-once-');
      const writer = new BatchWriter(db);
      const items: StoreItem[] = [];
      run(sends, { record: (r: LogRecord) => items.push(r), event: (e: SeqEvent) => items.push(e) });
      for (let i = 0, b = 0; i < items.length; b++) {
        const n = batchSizes[b % batchSizes.length];
        writer.write(items.slice(i, i + n), false, 2_000 + i);
        i += n;
      }
      const stored = (db.prepare('SELECT b.number AS boot, m.seq AS seq, m.text AS text FROM messages m JOIN boots b ON b.id = m.boot_id').all() as Array<{ boot: number; seq: number; text: string }>)
        .map((r) => `${r.boot}/${r.seq}/${r.text}`).sort();
      assert.deepEqual(stored, kept);
      const events = db.prepare('SELECT type, count(*) AS n FROM seq_events GROUP BY type').all() as Array<{ type: string; n: number }>;
      const count = (type: string) => events.find((e) => e.type === type)?.n ?? 0;
      assert.equal(count('reboot'), boots.length - 1, 'one reboot per boot after the first');
      assert.equal(count('duplicate'), copies, 'every copy counted as a duplicate');
      assert.equal((db.prepare('SELECT count(*) AS n FROM boots').get() as { n: number }).n, boots.length);
      // boots.messages (what the host list shows) follows the rows a reboot moved and copied.
      const counts = db.prepare('SELECT b.messages AS kept, (SELECT count(*) FROM messages m WHERE m.boot_id = b.id) AS rows FROM boots b').all() as Array<{ kept: number; rows: number }>;
      for (const c of counts) assert.equal(c.kept, c.rows, 'boots.messages equals the boot\'s rows');
    }),
    { numRuns: 200 },
  );
});

test('property: the same runs through the in-memory judge (decode) keep the same records', () => {
  fc.assert(
    fc.property(fc.array(bootPlan, { minLength: 1, maxLength: 4 }), (boots) => {
      const { sends, kept, copies } = plan(boots);
      const out: string[] = [];
      let boot = 1;
      let reboots = 0;
      let duplicates = 0;
      const judge = new MemoryReplayJudge({
        record: (r) => out.push(`${boot}/${r.seq}/${r.text}`),
        event: (e) => { if (e.type === 'reboot') { boot++; reboots++; } else if (e.type === 'duplicate') duplicates++; },
      });
      run(sends, judge);
      judge.flush();
      assert.deepEqual(out.sort(), kept);
      assert.equal(reboots, boots.length - 1);
      assert.equal(duplicates, copies);
    }),
    { numRuns: 500 },
  );
});
