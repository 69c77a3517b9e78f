// Fleet-unique message and incident ids: `clock * 64 + collector`. The clock counts 1/256 ms since
// 2024-01-01 and never repeats or goes back in one collector (it runs ahead under a burst of more
// than 256 ids per ms and waits for time to catch up). So ids of different collectors never collide,
// and sorting by id is arrival order to within the clocks' skew. Fits 2^53 until about 2041.
export const MAX_COLLECTORS = 64;
const EPOCH_MS = Date.UTC(2024, 0, 1);
const TICKS_PER_MS = 256;

export class IdClock {
  private last = 0;

  constructor(private readonly collector: number) {
    if (!Number.isInteger(collector) || collector < 0 || collector >= MAX_COLLECTORS) {
      throw new Error(`collector id must be 0 to ${MAX_COLLECTORS - 1}, got ${collector}`);
    }
  }

  /** The next id, `now` in epoch ms. */
  next(now: number): number {
    const tick = Math.max(this.last + 1, Math.max(0, now - EPOCH_MS) * TICKS_PER_MS);
    this.last = tick;
    return tick * MAX_COLLECTORS + this.collector;
  }
}
