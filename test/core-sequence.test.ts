// SequenceTracker against a plain model (a set of every seq seen): duplicates within the window and
// late records filling open holes are told apart whether or not the tracker is keeping its bitmap
// (it only keeps one while the window has a hole, so long in-order runs and gaps alternate here).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SequenceTracker, type GapReport } from '../src/netconsole/sequence.js';

const WINDOW = 1024;

type Op =
  | { kind: 'run'; n: number } // n records in order
  | { kind: 'jump'; by: number } // one record `by` ahead (by - 1 seqs skipped)
  | { kind: 'resend'; pick: number; oldest: boolean } // a record already seen, within the window
  | { kind: 'late'; pick: number } // a skipped record, within the window, while its hole is open
  | { kind: 'early'; back: number } // a record from before the first one (overtaken by it)
  | { kind: 'expire' }; // the reorder window passes: open holes are reported as gaps

const op: fc.Arbitrary<Op> = fc.oneof(
  // Runs and jumps of about a window: the edges where the bitmap is made or dropped.
  fc.record({ kind: fc.constant('run' as const), n: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1018, max: 1026 })) }),
  fc.record({ kind: fc.constant('jump' as const), by: fc.oneof(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1020, max: 1028 })) }),
  fc.record({ kind: fc.constant('resend' as const), pick: fc.nat(), oldest: fc.boolean() }),
  fc.record({ kind: fc.constant('late' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('early' as const), back: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 64 })) }),
  fc.record({ kind: fc.constant('expire' as const) }),
);

test('duplicates, late and early records and gaps match a model across in-order runs, gaps and window moves', () => {
  fc.assert(
    fc.property(fc.integer({ min: 64, max: 2 ** 32 }), fc.array(op, { maxLength: 40 }), (start, ops) => {
      // At most 30 jumps keep under the tracker's limit of open holes.
      const t = new SequenceTracker(1000);
      let now = 0;
      const gaps: GapReport[] = [];
      const onGap = (g: GapReport) => gaps.push(g);
      const seen = new Set<number>();
      const missing = new Set<number>();
      const lost = new Set<number>();
      let max = start;
      const tsOf = (seq: number) => 1_000_000 + (seq - start) * 10;
      const send = (seq: number) => t.observe(seq, tsOf(seq), now, onGap).verdict;
      const inWindow = (s: number) => max - s < WINDOW;
      assert.equal(send(start), 'first');
      seen.add(start);
      let jumps = 0;
      for (const o of ops) {
        if (o.kind === 'run') {
          for (let i = 0; i < o.n; i++) { max++; seen.add(max); assert.equal(send(max), 'new'); }
        } else if (o.kind === 'jump') {
          if (++jumps > 30) continue;
          for (let s = max + 1; s < max + o.by; s++) missing.add(s);
          max += o.by;
          seen.add(max);
          assert.equal(send(max), 'new');
        } else if (o.kind === 'expire') {
          now += 1000;
          t.expire(now, onGap);
          for (const s of missing) lost.add(s);
          missing.clear();
        } else if (o.kind === 'early') {
          const seq = start - o.back;
          if (seen.has(seq) || !inWindow(seq)) continue;
          assert.equal(send(seq), 'reorder', `early seq ${seq} (first ${start}, max ${max})`);
          seen.add(seq);
        } else {
          const pool = [...(o.kind === 'resend' ? seen : missing)].filter(inWindow).sort((a, b) => a - b);
          if (pool.length === 0) continue;
          const seq = pool[o.pick % (o.kind === 'resend' && o.oldest ? Math.min(4, pool.length) : pool.length)];
          assert.equal(send(seq), o.kind === 'resend' ? 'recheck' : 'reorder', `seq ${seq} (max ${max})`);
          seen.add(seq);
          missing.delete(seq);
          // A seq falling back to one seen may be a new boot: the holes still open are reported at once.
          if (o.kind === 'resend') { for (const s of missing) lost.add(s); missing.clear(); }
        }
      }
      t.drain(onGap);
      const reported = new Set<number>();
      for (const g of gaps) for (let s = g.from; s <= g.to; s++) reported.add(s);
      const expected = new Set([...missing, ...lost]);
      assert.deepEqual([...reported].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), 'gaps are exactly the seqs never received in time');
    }),
    { numRuns: 1000 },
  );
});

test('records overtaken before the first one extend the run down, then fall back to the bitmap', () => {
  const t = new SequenceTracker(1000);
  const none = () => assert.fail('no gap expected');
  const v = (seq: number, ts: number) => t.observe(seq, ts, 0, none).verdict;
  assert.equal(v(100, 5000), 'first');
  assert.equal(v(99, 4990), 'reorder');
  assert.equal(v(98, 4980), 'reorder');
  assert.equal(v(99, 4990), 'recheck');
  assert.equal(v(90, 4900), 'reorder'); // not next to the run: kept in the bitmap
  assert.equal(v(90, 4900), 'recheck');
  assert.equal(v(98, 4980), 'recheck');
  assert.equal(v(97, 4970), 'reorder');
  assert.equal(v(101, 5010), 'new');
  assert.equal(v(97, 4970), 'recheck');
});

test('window edges: a jump of just under a window, and the bitmap dropped only once the window has passed the last gap', () => {
  const none = () => {};
  const v = (t: SequenceTracker, seq: number) => t.observe(seq, 1_000_000 + seq * 10, 0, none).verdict;
  // 30 → 32 skips 31; after 1 020 more in order, 29 and 30 are still in the window.
  const a = new SequenceTracker(1000);
  for (let s = 10; s <= 30; s++) v(a, s);
  v(a, 32);
  a.expire(5000, none);
  for (let s = 33; s <= 1052; s++) assert.equal(v(a, s), 'new');
  assert.equal(v(a, 30), 'recheck');
  assert.equal(v(a, 29), 'recheck');
  for (let s = 1053; s <= 1060; s++) v(a, s);
  assert.equal(v(a, 40), 'recheck');
  // A jump of WINDOW - 1 keeps the previous record in the window; one of WINDOW does not.
  const b = new SequenceTracker(1000);
  for (let s = 500; s <= 520; s++) v(b, s);
  v(b, 520 + WINDOW - 1);
  assert.equal(v(b, 600), 'reorder');
  assert.equal(v(b, 520), 'recheck');
  // A seq falling back to one seen reports the holes at once (a new boot must not fill them).
  assert.equal(v(b, 601), 'recheck');
});
