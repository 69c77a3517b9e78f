// IdleGc: one real V8 full collection per quiet period, never while the activity count moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDLE_GC_TIMES, IdleGc } from '../src/receiver/idle-gc.js';

test('collects a few times per quiet period, spaced, with the real gc', () => {
  const g = new IdleGc(1000);
  assert.equal(g.tick(0, 5), false, 'activity just seen');
  assert.equal(g.tick(500, 5), false, 'not quiet long enough');
  assert.equal(g.tick(1500, 6), false, 'activity moved: the quiet period starts again');
  assert.equal(g.tick(2499, 6), false);
  assert.equal(g.tick(2500, 6), true, 'quiet for 1 s: collected (gc is available at run time)');
  assert.equal(g.tick(3000, 6), false, 'not again at once');
  assert.equal(g.tick(3500, 6), true, 'quiet for 2 s: the second collection');
  assert.equal(g.tick(4500, 6), true, 'the third');
  assert.equal(g.tick(60_000, 6), false, `at most ${IDLE_GC_TIMES} per quiet period`);
  assert.equal(g.tick(60_001, 7), false);
  assert.equal(g.tick(61_001, 7), true, 'the next quiet period collects again');
});

test('without a gc function it never claims to collect', () => {
  const g = new IdleGc(0, null);
  assert.equal(g.tick(0, 1), false);
  assert.equal(g.tick(1, 1), false);
});
