// Sequence tracking for one extended source (spec §7). Records are never held back here: each is
// classified on arrival. A hole is only reported as a `gap` once it has stayed open for the
// reorder window, so a late record that fills it yields `reorder`, not a false gap.
//
// A seq at or below the highest one seen is never judged here: it may be a replay of the same
// boot (the kernel replays its ring buffer when a console is registered again), a second copy, or
// a new boot whose seqs fell back a little; boots are deterministic, so seq and ts alone cannot
// tell. Such a record is `recheck`: the store compares it with the row it holds for that seq and
// source in the current boot (ts and text) and decides, so nothing is ever discarded on a guess.
//
// Compact on purpose: an idle source must cost little (issue 7: 65 536 sources). A WINDOW-bit
// bitmap of the last seqs tells a hole being filled from a seq seen before, but only while the
// stream has a hole in the window: in order, the seen seqs are just the run (lastGap, maxSeq], and
// no bitmap is kept.

const WINDOW = 1024;
/** How far before the first tracked seq a late record still counts as reordered. */
const EARLY_SLACK = 64;
/** Largest number of separate holes remembered; beyond it the oldest is reported at once. */
const MAX_HOLES = 32;
/** ts going back by more than this while seq moves forward means a new boot. */
export const TS_REGRESSION_USEC = 2_000_000;

/**
 * `recheck`: the seq is not above the highest seen and fills no known hole: a replay, a copy or a
 * new boot, for the store to judge. `reorder`: a late record that fills a hole (or came just before
 * the first one tracked).
 */
export type SeqVerdict = 'new' | 'recheck' | 'reorder' | 'reboot' | 'first';

export interface SeqObservation {
  verdict: SeqVerdict;
  /** For reboot: the last seq of the previous boot. */
  previousSeq?: number;
}

interface Hole { from: number; to: number; deadline: number }

export interface GapReport { from: number; to: number }

export class SequenceTracker {
  /** -1: nothing seen yet (seqs are never negative). */
  private maxSeq = -1;
  private tsOfMax = 0;
  /**
   * Highest seq known missing (skipped by the stream); every seq in (lastGap, maxSeq] was seen.
   * While `seen` is null that is all there is to know about the window.
   */
  private lastGap = -1;
  /** Ring bitmap while the window has holes: bit (seq mod WINDOW) set when seq was seen; valid for maxSeq - WINDOW < seq ≤ maxSeq. */
  private seen: Uint8Array | null = null;
  /** The boot's first tracked record (records overtaken by it are `reorder`). */
  private firstSeq = 0;
  private firstTs = 0;
  /** Open holes, oldest first (null when none). */
  private holes: Hole[] | null = null;

  constructor(private readonly reorderWindowMs: number) {}

  nextDeadline(): number | null { return this.holes ? this.holes[0].deadline : null; }

  /** The highest ts of the boot so far (the ts of the latest recheck while the seq is falling back). */
  get latestTs(): number { return this.tsOfMax; }

  observe(seq: number, tsUsec: number, now: number, gaps: (g: GapReport) => void): SeqObservation {
    if (this.maxSeq < 0) { this.startBoot(seq, tsUsec); return { verdict: 'first' }; }
    if (seq > this.maxSeq) {
      if (tsUsec + TS_REGRESSION_USEC < this.tsOfMax) return this.reboot(seq, tsUsec, gaps);
      if (seq > this.maxSeq + 1) this.openHole(this.maxSeq + 1, seq - 1, now, gaps);
      this.advance(seq, tsUsec);
      return { verdict: 'new' };
    }
    if (this.maxSeq - seq < WINDOW) {
      if (!this.isSeen(seq) && this.fillHole(seq)) { this.markSeen(seq); return { verdict: 'reorder' }; }
      // Just before the first record we tracked, and older: it was overtaken on the way.
      const first = this.firstSeq;
      if (seq < first && first - seq <= EARLY_SLACK && tsUsec <= this.firstTs && !this.isSeen(seq)) {
        this.markSeen(seq);
        return { verdict: 'reorder' };
      }
    }
    // Seen before, or older than anything tracked. If it is a new boot, its records keep coming
    // as rechecks until they pass maxSeq; the ts they carry is the stream's ts from now on, so the
    // first record past maxSeq is not taken for a second reboot. The holes still open are reported
    // now: a new boot's records must not fill the old boot's holes (a replay that does fill one
    // has the record stored all the same; only its gap event was early).
    this.tsOfMax = tsUsec;
    this.drain(gaps);
    return { verdict: 'recheck' };
  }

  /** Reports holes whose reorder window has passed. */
  expire(now: number, gaps: (g: GapReport) => void): void {
    while (this.holes && this.holes[0].deadline <= now) {
      const h = this.holes.shift() as Hole;
      if (this.holes.length === 0) this.holes = null;
      gaps({ from: h.from, to: h.to });
    }
  }

  /** Reports every open hole (shutdown). */
  drain(gaps: (g: GapReport) => void): void {
    const holes = this.holes;
    this.holes = null;
    if (holes) for (const h of holes) gaps({ from: h.from, to: h.to });
  }

  private reboot(seq: number, tsUsec: number, gaps: (g: GapReport) => void): SeqObservation {
    const previousSeq = this.maxSeq;
    this.drain(gaps);
    this.startBoot(seq, tsUsec);
    return { verdict: 'reboot', previousSeq };
  }

  private startBoot(seq: number, tsUsec: number): void {
    this.maxSeq = seq;
    this.tsOfMax = tsUsec;
    this.lastGap = seq - 1;
    this.seen = null;
    this.firstSeq = seq;
    this.firstTs = tsUsec;
    this.holes = null;
  }

  private advance(seq: number, tsUsec: number): void {
    if (seq > this.maxSeq + 1) {
      // Seqs skipped on the way up to `seq` are unseen; those that fall out of the window are forgotten.
      if (this.seen === null && seq - this.maxSeq < WINDOW) this.materialize();
      if (this.seen !== null) {
        if (seq - this.maxSeq >= WINDOW) this.seen.fill(0);
        else for (let s = this.maxSeq + 1; s < seq; s++) this.clearSeen(s);
      }
      this.lastGap = seq - 1;
    }
    this.maxSeq = seq;
    this.tsOfMax = Math.max(this.tsOfMax, tsUsec);
    if (this.seen !== null) {
      this.markSeen(seq);
      // The window has moved past every seq ever missing: the run says it all again.
      if (this.holes === null && seq - WINDOW >= this.lastGap) this.seen = null;
    }
  }

  private openHole(from: number, to: number, now: number, gaps: (g: GapReport) => void): void {
    const holes = (this.holes ??= []);
    if (holes.length >= MAX_HOLES) {
      const h = holes.shift() as Hole;
      gaps({ from: h.from, to: h.to });
    }
    holes.push({ from, to, deadline: now + this.reorderWindowMs });
  }

  /** Removes seq from an open hole (splitting it); true if it was missing. */
  private fillHole(seq: number): boolean {
    const holes = this.holes;
    if (holes === null) return false;
    for (let i = 0; i < holes.length; i++) {
      const h = holes[i];
      if (seq < h.from || seq > h.to) continue;
      const parts: Hole[] = [];
      if (h.from < seq) parts.push({ from: h.from, to: seq - 1, deadline: h.deadline });
      if (seq < h.to) parts.push({ from: seq + 1, to: h.to, deadline: h.deadline });
      holes.splice(i, 1, ...parts);
      if (holes.length === 0) this.holes = null;
      return true;
    }
    return false;
  }

  /** The bitmap of the run (lastGap, maxSeq], for a window about to get a hole. */
  private materialize(): void {
    const seen = new Uint8Array(WINDOW / 8);
    this.seen = seen;
    for (let s = Math.max(this.lastGap + 1, this.maxSeq - WINDOW + 1); s <= this.maxSeq; s++) this.markSeen(s);
  }

  // Only called for maxSeq - WINDOW < seq ≤ maxSeq.
  private isSeen(seq: number): boolean {
    if (this.seen === null) return seq > this.lastGap;
    const i = seq & (WINDOW - 1);
    return (this.seen[i >> 3] & (1 << (i & 7))) !== 0;
  }

  private markSeen(seq: number): void {
    if (this.seen === null) {
      if (seq > this.lastGap) return;
      if (seq === this.lastGap) { this.lastGap--; return; } // the run grows down by one
      this.materialize();
    }
    const seen = this.seen as Uint8Array;
    const i = seq & (WINDOW - 1);
    seen[i >> 3] |= 1 << (i & 7);
  }

  private clearSeen(seq: number): void { const i = seq & (WINDOW - 1); (this.seen as Uint8Array)[i >> 3] &= ~(1 << (i & 7)); }
}
