// Records per minute over a range, stacked by level, drawn as DOM bars (no canvas: the CSP and the
// theme colours apply as to everything else). Dragging across it selects a time range.
import { h } from './dom.js';
import { LEVELS } from './format.js';

export interface HistogramData {
  since: number;
  until: number;
  bucket_ms: number;
  buckets: { t: number; counts: number[] }[];
}

export class Histogram {
  readonly el: HTMLElement;
  private readonly bars: HTMLElement;
  private readonly selection: HTMLElement;
  private readonly caption: HTMLElement;
  private data: HistogramData | null = null;
  private dragFrom: number | null = null;

  constructor(private readonly onSelect: (since: number, until: number) => void) {
    this.bars = h('div', { class: 'hist-bars' });
    this.selection = h('div', { class: 'hist-selection', hidden: true });
    this.caption = h('div', { class: 'hist-caption muted' });
    this.el = h('div', { class: 'histogram', title: 'records per minute by level; drag to select a time range' },
      h('div', { class: 'hist-plot' }, this.bars, this.selection), this.caption);
    const plot = this.el.firstElementChild as HTMLElement;
    plot.addEventListener('pointerdown', (ev) => {
      this.dragFrom = this.fraction(ev);
      plot.setPointerCapture(ev.pointerId);
      this.drawSelection(this.dragFrom, this.dragFrom);
    });
    plot.addEventListener('pointermove', (ev) => {
      if (this.dragFrom !== null) this.drawSelection(this.dragFrom, this.fraction(ev));
    });
    plot.addEventListener('pointerup', (ev) => {
      if (this.dragFrom === null || this.data === null) return;
      const a = Math.min(this.dragFrom, this.fraction(ev));
      const b = Math.max(this.dragFrom, this.fraction(ev));
      this.dragFrom = null;
      this.selection.hidden = true;
      // A click without a drag selects its bucket.
      const { since, until, bucket_ms } = this.data;
      const span = until - since;
      let from = since + a * span;
      let to = since + b * span;
      if (to - from < bucket_ms) {
        from = Math.floor(from / bucket_ms) * bucket_ms;
        to = from + bucket_ms - 1;
      }
      this.onSelect(Math.round(from), Math.round(to));
    });
  }

  private fraction(ev: PointerEvent): number {
    const r = this.bars.getBoundingClientRect();
    return Math.min(1, Math.max(0, (ev.clientX - r.left) / Math.max(1, r.width)));
  }

  private drawSelection(a: number, b: number): void {
    this.selection.hidden = false;
    this.selection.style.left = `${Math.min(a, b) * 100}%`;
    this.selection.style.width = `${Math.abs(b - a) * 100}%`;
  }

  render(data: HistogramData): void {
    this.data = data;
    const n = Math.max(1, Math.ceil((data.until - data.since + 1) / data.bucket_ms));
    const start = Math.floor(data.since / data.bucket_ms) * data.bucket_ms;
    const byT = new Map(data.buckets.map((b) => [b.t, b.counts]));
    let max = 1;
    let total = 0;
    for (const b of data.buckets) {
      const sum = b.counts.reduce((x, y) => x + y, 0);
      max = Math.max(max, sum);
      total += sum;
    }
    const cols: HTMLElement[] = [];
    for (let i = 0; i < n; i++) {
      const t = start + i * data.bucket_ms;
      const counts = byT.get(t);
      const col = h('div', { class: 'hist-col', 'data-t': String(t) });
      if (counts) {
        const sum = counts.reduce((x, y) => x + y, 0);
        col.title = `${new Date(t).toLocaleString()}: ${sum} records` + counts.map((c, l) => (c ? `\n${LEVELS[l] ?? 'no level'}: ${c}` : '')).join('');
        // Worst level on top, as the eye reads a bar from its top.
        for (let l = 0; l < counts.length; l++) {
          if (!counts[l]) continue;
          const seg = h('div', { class: `hist-seg hl-${l < 8 ? l : 'x'}` });
          seg.style.height = `${(counts[l]! / max) * 100}%`;
          col.append(seg);
        }
      }
      cols.push(col);
    }
    this.bars.replaceChildren(...cols);
    const minutes = data.bucket_ms / 60_000;
    this.caption.textContent = `${total.toLocaleString()} records, ${new Date(data.since).toLocaleString()} – ${new Date(data.until).toLocaleString()}, ${minutes === 1 ? 'per minute' : `per ${minutes} minutes`}; drag to select a range`;
  }
}
