// The receiver's state machine, one per listener: datagrams and `now` in, records and sequence
// events out (through a Sink), plus the next deadline at which poll() must run. No I/O, no
// clock: the socket adapter, `decode` and `import` all drive it the same way.
//
// Path of one datagram: parseDatagram → (extended) SourceReassembler → SequenceTracker →
// parseRecordBody → sink.record;  (legacy) LegacyJoiner → sink.record.
// Every kernel record is one record here, a `c` (continuation) record included: the kernel's own
// console and dmesg print each as its own line (6.1's sysrq-t scheduler dump sends every line as a
// `c` record with its own seq), so the flag is kept and never acted on.
import { parseRecordBody } from './body.js';
import { LegacyJoiner, type LegacyLine } from './legacy.js';
import { parseDatagram, parseExtendedHeader, printkHeaderLength } from './parse.js';
import { DEFAULT_FRAGMENT_LIMITS, SourceReassembler, type AssembledData, type FragmentLimits } from './reassembly.js';
import { SequenceTracker, TS_REGRESSION_USEC } from './sequence.js';
import { bytesToText } from './text.js';
import type { CoreCounters, ExtendedHeader, Sink } from './types.js';

export interface ReceiverOptions {
  /** An incomplete ncfrag set is emitted as partial this long after its first fragment. */
  fragmentTimeoutMs: number;
  /** A legacy line cut at 1000 bytes waits this long for its continuation. */
  legacyTimeoutMs: number;
  /** A seq hole becomes a `gap` event when not filled within this window. */
  reorderWindowMs: number;
  fragmentLimits: FragmentLimits;
  /** In-flight fragment bytes over all sources; the least recently active source is flushed beyond it. */
  maxFragmentBytesTotal: number;
  /** Sources tracked at once; the least recently active one is flushed and forgotten beyond it. */
  maxSources: number;
}

// Every hold is well under a second: nothing is held back longer than 1 s (issue 7 target).
export const DEFAULT_RECEIVER_OPTIONS: ReceiverOptions = {
  fragmentTimeoutMs: 800,
  legacyTimeoutMs: 800,
  reorderWindowMs: 1000,
  fragmentLimits: DEFAULT_FRAGMENT_LIMITS,
  maxFragmentBytesTotal: 32 * 1024 * 1024,
  maxSources: 131072,
};

class SourceState {
  reassembler: SourceReassembler | null = null;
  legacy: LegacyJoiner | null = null;
  seq: SequenceTracker | null = null;
  legacyLastTs = -1;
  /** Format of the source's latest record: a target re-created in the other format is compared by ts. */
  lastFormat: 'extended' | 'legacy' | null = null;
  /** When this source last moved to the young end of the eviction order. */
  touchedAt = 0;
  constructor(readonly source: string) {}

  nextDeadline(): number | null {
    let d: number | null = null;
    for (const x of [this.reassembler?.nextDeadline(), this.legacy?.nextDeadline(), this.seq?.nextDeadline()]) {
      if (x != null && (d === null || x < d)) d = x;
    }
    return d;
  }
}

export function newCounters(): CoreCounters {
  return {
    datagrams: 0, bytes: 0, extended: 0, legacy: 0, fragments: 0, badFragments: 0, badFragmentsTotalOutOfRange: 0, badFragmentsOverrun: 0,
    reassemblyTimeouts: 0, fragmentEvictions: 0, sourceEvictions: 0, legacyTimeouts: 0,
  };
}

export class NetconsoleReceiver {
  readonly options: ReceiverOptions;
  readonly counters: CoreCounters = newCounters();
  /** Insertion order = least recently active first (touch() re-inserts). */
  private sources = new Map<string, SourceState>();
  /** Sources with something pending (fragments, line tail, open hole). */
  private dirty = new Set<SourceState>();
  private fragmentBytes = 0;

  constructor(options: Partial<ReceiverOptions> = {}) {
    this.options = { ...DEFAULT_RECEIVER_OPTIONS, ...options };
  }

  get sourceCount(): number { return this.sources.size; }
  get inFlightFragmentBytes(): number { return this.fragmentBytes; }

  push(source: string, payload: Uint8Array, now: number, sink: Sink): void {
    const c = this.counters;
    c.datagrams++;
    c.bytes += payload.length;
    const st = this.touch(source, now, sink);
    const d = parseDatagram(payload);
    if (d.kind === 'legacy') {
      c.legacy++;
      st.legacy ??= new LegacyJoiner(this.options.legacyTimeoutMs);
      st.legacy.push(d.data, now, (l) => this.emitLegacy(st, l, now, sink));
      if (st.legacy.hasPending) this.dirty.add(st);
      return;
    }
    c.extended++;
    const frag = d.header.frag;
    if (!frag) {
      this.emitExtended(st, d.header, d.data, true, '', false, now, now, sink);
      return;
    }
    c.fragments++;
    st.reassembler ??= new SourceReassembler(this.options.fragmentLimits, this.options.fragmentTimeoutMs);
    const before = st.reassembler.inFlightBytes;
    const r = st.reassembler.add(d.recordKey, frag.off, frag.total, d.data, now, (a) => {
      c.fragmentEvictions++;
      this.emitAssembled(st, a, now, sink);
    });
    this.fragmentBytes += st.reassembler.inFlightBytes - before;
    if (r.status === 'invalid') {
      // Keep what the sender said, flagged: an absurd ncfrag is still someone's log line.
      c.badFragments++;
      if (r.code === 'overrun') c.badFragmentsOverrun++; else c.badFragmentsTotalOutOfRange++;
      this.emitExtended(st, d.header, d.data, false, r.reason, false, now, now, sink);
    } else if (r.status === 'complete') {
      this.emitAssembled(st, r.assembled, now, sink);
    } else {
      this.dirty.add(st);
      if (this.fragmentBytes > this.options.maxFragmentBytesTotal) this.shedFragments(st, now, sink);
    }
  }

  /** Emits whatever has timed out; call at nextDeadline() (calling early is harmless). */
  poll(now: number, sink: Sink): void {
    for (const st of this.dirty) {
      if (st.reassembler) {
        const before = st.reassembler.inFlightBytes;
        st.reassembler.expire(now, (a) => {
          this.counters.reassemblyTimeouts++;
          this.emitAssembled(st, a, now, sink);
        });
        this.fragmentBytes += st.reassembler.inFlightBytes - before;
      }
      st.legacy?.expire(now, (l) => {
        this.counters.legacyTimeouts++;
        this.emitLegacy(st, l, now, sink);
      });
      st.seq?.expire(now, (g) => sink.event({ type: 'gap', source: st.source, at: now, from: g.from, to: g.to }));
      if (st.nextDeadline() === null) this.dirty.delete(st);
    }
  }

  nextDeadline(): number | null {
    let d: number | null = null;
    for (const st of this.dirty) {
      const x = st.nextDeadline();
      if (x !== null && (d === null || x < d)) d = x;
    }
    return d;
  }

  /** Emits everything pending (partial records, open gaps): shutdown or end of a capture. */
  flushAll(now: number, sink: Sink): void {
    for (const st of this.sources.values()) this.drainSource(st, now, sink);
    this.dirty.clear();
  }

  private touch(source: string, now: number, sink: Sink): SourceState {
    let st = this.sources.get(source);
    if (st) {
      // Re-inserting keeps the Map in least-recently-active order; once a second is enough for
      // that and keeps a Map delete+set off the per-datagram path.
      if (now - st.touchedAt >= 1000) {
        st.touchedAt = now;
        this.sources.delete(source);
        this.sources.set(source, st);
      }
      return st;
    }
    if (this.sources.size >= this.options.maxSources) {
      const oldest = this.sources.values().next().value as SourceState;
      this.counters.sourceEvictions++;
      this.drainSource(oldest, now, sink);
      this.dirty.delete(oldest);
      this.sources.delete(oldest.source);
    }
    st = new SourceState(source);
    st.touchedAt = now;
    this.sources.set(source, st);
    return st;
  }

  private drainSource(st: SourceState, now: number, sink: Sink): void {
    if (st.reassembler) {
      const before = st.reassembler.inFlightBytes;
      st.reassembler.drain((a) => this.emitAssembled(st, a, now, sink));
      this.fragmentBytes += st.reassembler.inFlightBytes - before;
    }
    st.legacy?.drain((l) => this.emitLegacy(st, l, now, sink));
    st.seq?.drain((g) => sink.event({ type: 'gap', source: st.source, at: now, from: g.from, to: g.to }));
  }

  /** Over the global fragment budget: flush the least recently active sources' sets as partial. */
  private shedFragments(current: SourceState, now: number, sink: Sink): void {
    for (const st of this.sources.values()) {
      if (this.fragmentBytes <= this.options.maxFragmentBytesTotal) break;
      if (st === current || !st.reassembler || st.reassembler.inFlightSets === 0) continue;
      const before = st.reassembler.inFlightBytes;
      st.reassembler.drain((a) => {
        this.counters.fragmentEvictions++;
        this.emitAssembled(st, a, now, sink);
      });
      this.fragmentBytes += st.reassembler.inFlightBytes - before;
    }
  }

  private emitAssembled(st: SourceState, a: AssembledData, now: number, sink: Sink): void {
    const parsed = parseExtendedHeader(a.key);
    if (!parsed) return; // cannot happen: the key came from a parsed header
    const missing = a.missing.map(([x, y]) => `${x}-${y}`).join(',');
    this.emitExtended(st, parsed.header, a.data, a.complete, missing ? `missing bytes ${missing}` : '', true, a.firstAt, now, sink);
  }

  private emitExtended(
    st: SourceState, h: ExtendedHeader, data: Uint8Array, complete: boolean, problem: string, fragmented: boolean,
    firstAt: number, now: number, sink: Sink,
  ): void {
    if (st.lastFormat === 'legacy') {
      st.lastFormat = 'extended';
      // The source sent legacy lines before: a console timestamp far behind them is a new boot
      // (the target was made again in the other format, as after a reboot with other parameters).
      if (st.legacyLastTs >= 0 && h.tsUsec + TS_REGRESSION_USEC < st.legacyLastTs) {
        sink.event({ type: 'reboot', source: st.source, at: now, from: null, to: h.seq, detail: `legacy timestamp ${st.legacyLastTs} -> extended ${h.tsUsec}` });
        st.seq = null;
      }
      st.legacyLastTs = -1;
    }
    st.lastFormat = 'extended';
    st.seq ??= new SequenceTracker(this.options.reorderWindowMs);
    const obs = st.seq.observe(h.seq, h.tsUsec, now, (g) => sink.event({ type: 'gap', source: st.source, at: now, from: g.from, to: g.to }));
    if (obs.verdict === 'reorder') sink.event({ type: 'reorder', source: st.source, at: now, from: h.seq, to: h.seq });
    if (obs.verdict === 'reboot') {
      sink.event({ type: 'reboot', source: st.source, at: now, from: obs.previousSeq ?? null, to: h.seq, detail: `seq ${obs.previousSeq} -> ${h.seq}, ts ${h.tsUsec}` });
    }
    // The cut point is only meaningful in a whole set: a partial one has its holes squeezed out.
    // Headers are under 512 bytes, so nothing under 1536 bytes can reach it: the common short
    // record skips building the header length.
    const body = parseRecordBody(data, complete && data.length >= 1536 ? printkHeaderLength(h) : null);
    const fields = Object.keys(h.fields).length ? { ...h.fields, ...body.fields } : body.fields;
    if (problem) fields.incomplete = problem;
    const release = h.release ?? fields.release ?? null;
    sink.record({
      source: st.source, format: 'extended', seq: h.seq, pri: h.pri, level: h.pri & 7, facility: h.pri >> 3,
      tsUsec: h.tsUsec, flags: h.flag, text: body.text, fields, release, complete, truncated: body.truncated, fragmented, receivedAt: firstAt,
      // A seq not above the highest seen: the store tells a replay (same ts and text: a
      // duplicate, not stored again) from a new boot. A late record is asked about too, so a
      // new boot that lands in an old hole still joins that boot; and so is a source's first
      // record, which finds a reboot while the collector was down (or the source forgotten).
      recheck: obs.verdict !== 'new' && obs.verdict !== 'reboot',
    });
  }

  private emitLegacy(st: SourceState, l: LegacyLine, now: number, sink: Sink): void {
    if (st.lastFormat === 'extended' && st.seq && l.tsUsec !== null && l.tsUsec + TS_REGRESSION_USEC < st.seq.latestTs) {
      // The source sent extended records before, and this line's timestamp is far behind them:
      // a new boot, with its target made again in the other format.
      sink.event({ type: 'reboot', source: st.source, at: now, from: null, to: null, detail: `extended timestamp ${st.seq.latestTs} -> legacy ${l.tsUsec}` });
      st.seq = null;
    }
    st.lastFormat = 'legacy';
    if (l.tsUsec !== null) {
      // No seq in legacy: the console timestamp jumping back is the only sign of a reboot.
      if (st.legacyLastTs >= 0 && l.tsUsec + TS_REGRESSION_USEC < st.legacyLastTs) {
        sink.event({ type: 'reboot', source: st.source, at: now, from: null, to: null, detail: `timestamp ${st.legacyLastTs} -> ${l.tsUsec}` });
      }
      st.legacyLastTs = l.tsUsec;
    }
    const fields: Record<string, string> = {};
    if (l.caller) fields.caller = l.caller;
    if (!l.complete) fields.incomplete = 'line cut at a 1000-byte chunk; its continuation never arrived';
    sink.record({
      source: st.source, format: 'legacy', seq: null, pri: l.pri,
      level: l.pri === null ? null : l.pri & 7, facility: l.pri === null ? null : l.pri >> 3,
      tsUsec: l.tsUsec, flags: '', text: bytesToText(l.text), fields, release: null,
      complete: l.complete, truncated: false, fragmented: false, receivedAt: l.firstAt, recheck: false,
    });
  }
}
