// Judges `recheck` records where there is no store to ask (`decode`, tests of the core): it keeps
// every record of each source's current boot by seq, in memory, and applies the rule the store
// applies (src/receiver/store/batch-writer.ts, writeRechecked):
//   - no record kept for that seq: the record is new (a replay of what never arrived, a late
//     one): pass it on;
//   - one kept with the same ts and text (or the same ts, and this is only part of it): a
//     duplicate, unless something later proves otherwise: hold it;
//   - one kept that differs: a new boot. Everything since the seq fell back belongs to it, the
//     held look-alikes included (boots are deterministic: a new boot's first records can equal
//     the old boot's), so they are passed on after a `reboot` event.
// The episode ends with the next record above every seq seen (not a recheck): what is still held
// was a replay and is reported as `duplicate` events. Memory grows with the capture: offline use.
import type { LogRecord, SeqEvent, Sink } from './types.js';

export interface KeptRecord { tsUsec: number | null; text: string; complete: boolean }

/**
 * The rule shared with the store, for a recheck against the records kept for its seq (source and
 * boot): `duplicate` when one has the same ts and text, or the same ts and the recheck is partial
 * (a late or repeated fragment of a record kept); `store` when one with the same ts was kept only
 * in part and this is more of it; `reboot` otherwise (same seq, other content: a new boot);
 * `new` when nothing is kept for the seq.
 */
export function judgeRecheck(kept: readonly KeptRecord[], r: KeptRecord): 'new' | 'duplicate' | 'store' | 'reboot' {
  if (kept.length === 0) return 'new';
  let partialKept = false;
  for (const k of kept) {
    if (k.tsUsec !== r.tsUsec) continue;
    if (k.text === r.text || !r.complete) return 'duplicate';
    if (!k.complete) partialKept = true;
  }
  return partialKept ? 'store' : 'reboot';
}

interface SourceBoot {
  kept: Map<number, LogRecord[]>;
  /** Look-alikes of kept records since the seq fell back (duplicates unless the episode turns out to be a reboot). */
  held: LogRecord[];
  /** Records of the episode that were new (kept in this boot; they move if it is a reboot). */
  added: LogRecord[];
  /** Seq of the episode's first record, null outside an episode. */
  episodeFirst: number | null;
}

export class MemoryReplayJudge implements Sink {
  private readonly boots = new Map<string, SourceBoot>();

  constructor(private readonly out: Sink) {}

  record(r: LogRecord): void {
    if (r.seq === null) { this.out.record(r); return; }
    let b = this.boots.get(r.source);
    if (!b) { b = newBoot(); this.boots.set(r.source, b); }
    if (!r.recheck) {
      this.endEpisode(r.source, b);
      keep(b, r);
      this.out.record(r);
      return;
    }
    b.episodeFirst ??= r.seq;
    const verdict = judgeRecheck(b.kept.get(r.seq) ?? [], r);
    if (verdict === 'duplicate') {
      b.held.push(r);
    } else if (verdict === 'reboot') {
      this.reboot(r, b);
    } else {
      keep(b, r);
      b.added.push(r);
      this.out.record(r);
    }
  }

  event(e: SeqEvent): void {
    if (e.type === 'reboot') {
      const b = this.boots.get(e.source);
      if (b) { this.endEpisode(e.source, b); this.boots.set(e.source, newBoot()); }
    }
    this.out.event(e);
  }

  /** Ends every open episode (end of the capture): what is held was a replay. */
  flush(): void {
    for (const [source, b] of this.boots) this.endEpisode(source, b);
  }

  private endEpisode(source: string, b: SourceBoot): void {
    for (const h of b.held) this.out.event({ type: 'duplicate', source, at: h.receivedAt, from: h.seq, to: h.seq });
    b.held = [];
    b.added = [];
    b.episodeFirst = null;
  }

  private reboot(r: LogRecord, b: SourceBoot): void {
    const first = b.episodeFirst as number;
    for (const a of b.added) b.kept.delete(a.seq as number);
    let previous = -1;
    for (const seq of b.kept.keys()) if (seq > previous) previous = seq;
    this.out.event({ type: 'reboot', source: r.source, at: r.receivedAt, from: previous, to: first, detail: `seq ${previous} -> ${first}: seq ${r.seq} differs from the record kept for it` });
    const nb = newBoot();
    for (const a of b.added) keep(nb, a);
    for (const h of b.held) { keep(nb, h); this.out.record(h); }
    keep(nb, r);
    this.out.record(r);
    // Still in the episode: the new boot's records keep coming as rechecks until they pass the old boot's seqs.
    nb.episodeFirst = first;
    this.boots.set(r.source, nb);
  }
}

function keep(b: SourceBoot, r: LogRecord): void {
  const list = b.kept.get(r.seq as number);
  if (list) list.push(r);
  else b.kept.set(r.seq as number, [r]);
}

function newBoot(): SourceBoot {
  return { kept: new Map(), held: [], added: [], episodeFirst: null };
}
