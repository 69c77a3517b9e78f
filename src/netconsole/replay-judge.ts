// Judges `recheck` records where there is no store to ask (`decode`, tests of the core): it keeps
// every record of each source's current boot by seq, in memory, and applies the rule the store
// applies (src/receiver/store/batch-writer.ts, writeRechecked):
//   - no record kept for that seq: the record is new (a replay of what never arrived, a late
//     one): pass it on;
//   - one kept with the same ts and text (or the same ts, and this is only part of it): a
//     duplicate, unless something later proves otherwise: hold it;
//   - one kept that differs: a new boot. The records since the seq last fell back belong to it,
//     held look-alikes included (boots are deterministic: a new boot's first records can equal
//     the old boot's), so they are passed on after a `reboot` event, once per seq.
// An episode runs from a fall-back to the next record above every seq seen (not a recheck); which
// of its records a new boot takes is newBootMembers' answer. When an episode ends, what is still
// held was a replay and is reported as `duplicate` events. Memory grows with the capture: offline use.
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

/**
 * Which of an episode's records (their seqs, in arrival order) belong to a new boot that turned
 * out to differ at `seq`: walking back from the end, every record whose seq is below the lowest
 * taken so far (a copy of a taken one is skipped), up to the first record above it, where the seq
 * fell back from the old boot's records to the new boot's. Indexes in arrival order.
 */
export function newBootMembers(seqs: readonly number[], seq: number): number[] {
  const out: number[] = [];
  let low = seq;
  for (let i = seqs.length - 1; i >= 0; i--) {
    const s = seqs[i];
    if (s < low) { out.push(i); low = s; } else if (s > low) break;
  }
  return out.reverse();
}

interface Episode {
  /** Its records in arrival order: look-alikes held back, and new records already passed on. */
  records: Array<{ r: LogRecord; held: boolean }>;
}

interface SourceBoot {
  kept: Map<number, LogRecord[]>;
  episode: Episode | null;
}

export class MemoryReplayJudge implements Sink {
  private readonly boots = new Map<string, SourceBoot>();

  constructor(private readonly out: Sink) {}

  record(r: LogRecord): void {
    if (r.seq === null) { this.out.record(r); return; }
    let b = this.boots.get(r.source);
    if (!b) { b = { kept: new Map(), episode: null }; this.boots.set(r.source, b); }
    if (!r.recheck) {
      this.endEpisode(r.source, b);
      keep(b.kept, r);
      this.out.record(r);
      return;
    }
    const ep = (b.episode ??= { records: [] });
    const verdict = judgeRecheck(b.kept.get(r.seq) ?? [], r);
    if (verdict === 'duplicate') {
      ep.records.push({ r, held: true });
    } else if (verdict === 'reboot') {
      this.reboot(r, b, ep);
    } else {
      keep(b.kept, r);
      ep.records.push({ r, held: false });
      this.out.record(r);
    }
  }

  event(e: SeqEvent): void {
    if (e.type === 'reboot') {
      const b = this.boots.get(e.source);
      if (b) { this.endEpisode(e.source, b); b.kept = new Map(); }
    }
    this.out.event(e);
  }

  /** Ends every open episode (end of the capture): what is held was a replay. */
  flush(): void {
    for (const [source, b] of this.boots) this.endEpisode(source, b);
  }

  private endEpisode(source: string, b: SourceBoot): void {
    if (b.episode) for (const e of b.episode.records) if (e.held) this.duplicate(source, e.r);
    b.episode = null;
  }

  private duplicate(source: string, r: LogRecord): void {
    this.out.event({ type: 'duplicate', source, at: r.receivedAt, from: r.seq, to: r.seq });
  }

  private reboot(r: LogRecord, b: SourceBoot, ep: Episode): void {
    const members = new Set(newBootMembers(ep.records.map((e) => e.r.seq as number), r.seq as number));
    const kept = new Map<number, LogRecord[]>();
    for (const i of members) {
      const e = ep.records[i];
      if (!e.held) {
        const list = b.kept.get(e.r.seq as number) as LogRecord[];
        list.splice(list.indexOf(e.r), 1);
        if (list.length === 0) b.kept.delete(e.r.seq as number);
      }
      keep(kept, e.r);
    }
    let previous = -1;
    for (const seq of b.kept.keys()) if (seq > previous) previous = seq;
    const first = members.size ? (ep.records[Math.min(...members)].r.seq as number) : (r.seq as number);
    this.out.event({ type: 'reboot', source: r.source, at: r.receivedAt, from: previous, to: first, detail: `seq ${previous} -> ${first}: seq ${r.seq} differs from the record kept for it` });
    ep.records.forEach((e, i) => {
      if (!e.held) return;
      if (members.has(i)) this.out.record(e.r);
      else this.duplicate(r.source, e.r);
    });
    keep(kept, r);
    this.out.record(r);
    b.kept = kept;
    // Still in the episode: the new boot's records keep coming as rechecks until they pass the old boot's seqs.
    b.episode = { records: [{ r, held: false }] };
  }
}

function keep(m: Map<number, LogRecord[]>, r: LogRecord): void {
  const list = m.get(r.seq as number);
  if (list) list.push(r);
  else m.set(r.seq as number, [r]);
}
