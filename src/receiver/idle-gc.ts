// Giving memory back once traffic stops. After a burst (65 536 new sources, say) V8 keeps the heap
// it grew, garbage included, until its own memory reducer runs (20-40 s here); an idle collector
// should look idle sooner. Idle per-source state is dropped in steps (counters after a quiet
// interval, write-side caches after a sweep period), so a quiet period gets a few full collections,
// IDLE_GC_AFTER_MS apart. Never while traffic flows, so it costs ingest nothing.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const IDLE_GC_AFTER_MS = 4000;
/** Collections per quiet period. */
export const IDLE_GC_TIMES = 3;

/** V8's gc(), made available at run time (as --expose-gc would); null if this V8 refuses. */
function loadGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

export class IdleGc {
  private lastCount = -1;
  private lastChange = 0;
  /** Collections done in the current quiet period. */
  private done = IDLE_GC_TIMES;

  constructor(private readonly afterMs = IDLE_GC_AFTER_MS, private readonly gc: (() => void) | null = loadGc()) {}

  /** Call periodically with a count that moves while there is traffic; true when it collected. */
  tick(now: number, activity: number): boolean {
    if (activity !== this.lastCount) {
      this.lastCount = activity;
      this.lastChange = now;
      this.done = 0;
      return false;
    }
    if (this.done >= IDLE_GC_TIMES || !this.gc || now - this.lastChange < this.afterMs * (this.done + 1)) return false;
    this.done++;
    this.gc();
    return true;
  }
}
