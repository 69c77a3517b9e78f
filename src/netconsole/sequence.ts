// Sequence tracking for one extended source (spec §7). Records are never held back here: each is
// classified on arrival. A hole is only reported as a `gap` once it has stayed open for the
// reorder window, so a late record that fills it yields `reorder`, not a false gap.
//
// Compact on purpose (≤ ~1 KB per source): a bitmap of the last WINDOW seqs answers "seen
// before?", and the ts of the boot's first few records tells a replay of the same boot's ring
// buffer (same seq, same ts: duplicates) from a reboot (seq falls back, ts differs).

const WINDOW = 1024;
const FIRST_KEEP = 8;
/** How far before the first tracked seq a late record still counts as reordered, not a reboot. */
const EARLY_SLACK = 64;
/** Largest number of separate holes remembered; beyond it the oldest is reported at once. */
const MAX_HOLES = 32;
/** ts going back by more than this while seq moves forward means a new boot. */
const TS_REGRESSION_USEC = 2_000_000;

export type SeqVerdict = 'new' | 'duplicate' | 'reorder' | 'reboot' | 'first';

export interface SeqObservation {
  verdict: SeqVerdict;
  /** For reboot: the last seq of the previous boot. */
  previousSeq?: number;
}

interface Hole { from: number; to: number; deadline: number }

export interface GapReport { from: number; to: number }

export class SequenceTracker {
  private started = false;
  private maxSeq = -1;
  private tsOfMax = 0;
  /** Ring bitmap: bit (seq mod WINDOW) is set when seq was seen; valid for maxSeq - WINDOW < seq ≤ maxSeq. */
  private seen = new Uint8Array(WINDOW / 8);
  private firstSeqs: number[] = [];
  private firstTs: number[] = [];
  private holes: Hole[] = [];
  /** After a ring-buffer replay, seqs up to this are duplicates. */
  private replayUntil = -1;

  constructor(private readonly reorderWindowMs: number) {}

  nextDeadline(): number | null { return this.holes.length ? this.holes[0].deadline : null; }

  observe(seq: number, tsUsec: number, now: number, gaps: (g: GapReport) => void): SeqObservation {
    if (!this.started) { this.startBoot(seq, tsUsec); return { verdict: 'first' }; }
    if (seq > this.maxSeq) {
      if (tsUsec + TS_REGRESSION_USEC < this.tsOfMax) return this.reboot(seq, tsUsec, gaps);
      if (seq <= this.replayUntil) { this.advance(seq, tsUsec); return { verdict: 'duplicate' }; }
      if (seq > this.maxSeq + 1) this.openHole(this.maxSeq + 1, seq - 1, now, gaps);
      this.advance(seq, tsUsec);
      return { verdict: 'new' };
    }
    const back = this.maxSeq - seq;
    if (back < WINDOW) {
      if (this.isSeen(seq)) return { verdict: 'duplicate' };
      if (this.fillHole(seq)) { this.markSeen(seq); return { verdict: 'reorder' }; }
      // Just before the first record we tracked, and older: it was overtaken on the way.
      const first = this.firstSeqs[0];
      if (seq < first && first - seq <= EARLY_SLACK && tsUsec <= this.firstTs[0]) {
        this.markSeen(seq);
        return { verdict: 'reorder' };
      }
      // Inside the window but neither seen nor a known hole: an old record we never tracked.
      if (seq <= this.replayUntil) return { verdict: 'duplicate' };
    }
    // Far behind: the same boot replaying its ring buffer, or a new boot.
    const k = this.firstSeqs.indexOf(seq);
    if (k >= 0 && tsUsec > 0 && this.firstTs[k] === tsUsec) {
      this.replayUntil = this.maxSeq;
      return { verdict: 'duplicate' };
    }
    if (seq <= this.replayUntil) return { verdict: 'duplicate' };
    return this.reboot(seq, tsUsec, gaps);
  }

  /** Reports holes whose reorder window has passed. */
  expire(now: number, gaps: (g: GapReport) => void): void {
    while (this.holes.length && this.holes[0].deadline <= now) {
      const h = this.holes.shift() as Hole;
      gaps({ from: h.from, to: h.to });
    }
  }

  /** Reports every open hole (shutdown). */
  drain(gaps: (g: GapReport) => void): void {
    for (const h of this.holes) gaps({ from: h.from, to: h.to });
    this.holes = [];
  }

  private reboot(seq: number, tsUsec: number, gaps: (g: GapReport) => void): SeqObservation {
    const previousSeq = this.maxSeq;
    this.drain(gaps);
    this.startBoot(seq, tsUsec);
    return { verdict: 'reboot', previousSeq };
  }

  private startBoot(seq: number, tsUsec: number): void {
    this.started = true;
    this.maxSeq = seq;
    this.tsOfMax = tsUsec;
    this.seen.fill(0);
    this.markSeen(seq);
    this.firstSeqs = [seq];
    this.firstTs = [tsUsec];
    this.holes = [];
    this.replayUntil = -1;
  }

  private advance(seq: number, tsUsec: number): void {
    // Forget the seqs that fall out of the window as it moves up to `seq`.
    if (seq - this.maxSeq >= WINDOW) this.seen.fill(0);
    else for (let s = this.maxSeq + 1; s < seq; s++) this.clearSeen(s);
    this.markSeen(seq);
    this.maxSeq = seq;
    this.tsOfMax = Math.max(this.tsOfMax, tsUsec);
    if (this.firstSeqs.length < FIRST_KEEP) { this.firstSeqs.push(seq); this.firstTs.push(tsUsec); }
  }

  private openHole(from: number, to: number, now: number, gaps: (g: GapReport) => void): void {
    if (this.holes.length >= MAX_HOLES) {
      const h = this.holes.shift() as Hole;
      gaps({ from: h.from, to: h.to });
    }
    this.holes.push({ from, to, deadline: now + this.reorderWindowMs });
  }

  /** Removes seq from an open hole (splitting it); true if it was missing. */
  private fillHole(seq: number): boolean {
    for (let i = 0; i < this.holes.length; i++) {
      const h = this.holes[i];
      if (seq < h.from || seq > h.to) continue;
      const parts: Hole[] = [];
      if (h.from < seq) parts.push({ from: h.from, to: seq - 1, deadline: h.deadline });
      if (seq < h.to) parts.push({ from: seq + 1, to: h.to, deadline: h.deadline });
      this.holes.splice(i, 1, ...parts);
      return true;
    }
    return false;
  }

  private isSeen(seq: number): boolean { const i = seq & (WINDOW - 1); return (this.seen[i >> 3] & (1 << (i & 7))) !== 0; }
  private markSeen(seq: number): void { const i = seq & (WINDOW - 1); this.seen[i >> 3] |= 1 << (i & 7); }
  private clearSeen(seq: number): void { const i = seq & (WINDOW - 1); this.seen[i >> 3] &= ~(1 << (i & 7)); }
}
