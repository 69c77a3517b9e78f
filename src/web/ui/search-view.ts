// Search over history: the shared filter (hosts, level, facility, text or /regex/) plus full-text,
// boot, time and sequence bounds, all in the address (`#search?q=…&text=/…/`); newest first, pages
// both ways, matches highlighted, a per-minute histogram to drag a time range on.
import { getJson, type MessagePage } from './api.js';
import { byId, clear } from './dom.js';
import { apiParams, filterError, filterFromParams, filterToParams, highlightRegex, type ViewFilter } from './filter.js';
import { lineElement } from './format.js';
import { highlighted, termsRegex } from './highlight.js';
import { Histogram, type HistogramData } from './histogram.js';
import type { ContextDrawer } from './context-drawer.js';

/** Form fields of search's own (beyond the shared filter), as named in the address and the API. */
const OWN = ['q', 'boot', 'since', 'until', 'seq_from', 'seq_to', 'limit'] as const;

function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

export class SearchView {
  private readonly form = byId<HTMLFormElement>('search-form');
  private readonly results = byId('search-results');
  private readonly info = byId('search-info');
  private readonly olderBtn = byId<HTMLButtonElement>('search-older');
  private readonly newerBtn = byId<HTMLButtonElement>('search-newer');
  private readonly histogram: Histogram;
  private page: MessagePage | null = null;
  private params = new URLSearchParams();

  constructor(private readonly drawer: ContextDrawer, private readonly onParams: (p: URLSearchParams) => void) {
    this.histogram = new Histogram((since, until) => {
      const p = this.readForm();
      p.set('since', String(since));
      p.set('until', String(until));
      this.onParams(p);
    });
    byId('search-histogram').append(this.histogram.el);
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.onParams(this.readForm());
    });
    this.olderBtn.addEventListener('click', () => this.page?.older != null && void this.run({ before: this.page.older }));
    this.newerBtn.addEventListener('click', () => this.page?.newer != null && void this.run({ after: this.page.newer }));
    this.results.addEventListener('click', (ev) => {
      const line = (ev.target as HTMLElement).closest<HTMLElement>('.line');
      if (line?.dataset.id) void this.drawer.open(Number(line.dataset.id));
    });
    this.results.addEventListener('keydown', (ev) => {
      const line = (ev.target as HTMLElement).closest<HTMLElement>('.line');
      if (ev.key === 'Enter' && line?.dataset.id) void this.drawer.open(Number(line.dataset.id));
    });
  }

  focus(): void {
    byId<HTMLInputElement>('search-q').focus();
  }

  get filter(): ViewFilter {
    return filterFromParams(this.params);
  }

  /** The form as address parameters: the shared filter's keys and search's own. */
  private readForm(): URLSearchParams {
    const data = new FormData(this.form);
    const get = (k: string) => String(data.get(k) ?? '').trim();
    const level = get('level');
    const facility = get('facility');
    const p = filterToParams({
      hosts: get('hosts').split(',').map((x) => x.trim()).filter((x) => x !== ''),
      level: level === '' ? null : Number(level),
      facility: facility === '' ? null : Number(facility),
      text: String(data.get('text') ?? ''),
    }, new URLSearchParams());
    for (const k of OWN) {
      const v = get(k);
      if (v === '' || (k === 'limit' && v === '200')) continue;
      // datetime-local has no zone: it is the browser's local time; the address keeps epoch ms.
      p.set(k, k === 'since' || k === 'until' ? String(new Date(v).getTime()) : v);
    }
    return p;
  }

  private writeForm(p: URLSearchParams): void {
    const f = filterFromParams(p);
    const el = (name: string) => this.form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
    el('hosts')!.value = f.hosts.join(', ');
    el('level')!.value = f.level === null ? '' : String(f.level);
    el('facility')!.value = f.facility === null ? '' : String(f.facility);
    el('text')!.value = f.text;
    for (const k of OWN) {
      const v = p.get(k) ?? (k === 'limit' ? '200' : '');
      el(k)!.value = (k === 'since' || k === 'until') && /^\d+$/.test(v) ? toLocalInput(Number(v)) : v;
    }
  }

  /** Shows what the address asks for and runs it. */
  applyParams(p: URLSearchParams): void {
    this.params = p;
    this.writeForm(p);
    void this.run({});
  }

  private apiQuery(): Record<string, string | undefined> {
    const out: Record<string, string | undefined> = { ...apiParams(this.filter) };
    for (const k of OWN) out[k] = this.params.get(k) ?? undefined;
    return out;
  }

  async run(cursor: { before?: number; after?: number }): Promise<void> {
    const err = filterError(this.filter);
    const textInput = this.form.elements.namedItem('text') as HTMLInputElement;
    textInput.setCustomValidity(err ?? '');
    if (err !== null) {
      this.info.textContent = `invalid regex: ${err}`;
      this.info.classList.add('error');
      return;
    }
    const params = this.apiQuery();
    this.info.textContent = 'searching…';
    this.info.classList.remove('error');
    void this.loadHistogram(params);
    try {
      const page = await getJson<MessagePage>('/api/messages', { ...params, ...cursor });
      this.page = page;
      const fts = params.q ? termsRegex(params.q) : null;
      const text = highlightRegex(this.filter);
      clear(this.results);
      for (const m of page.messages) {
        const el = lineElement(m, highlighted(m.text, text ?? fts));
        el.tabIndex = 0;
        el.title = 'open context';
        this.results.append(el);
      }
      this.info.textContent = page.messages.length === 0 ? 'no matching records' : `${page.messages.length} records, newest first`;
      this.olderBtn.disabled = page.older === null;
      this.newerBtn.disabled = page.messages.length === 0 && cursor.after !== undefined;
    } catch (e) {
      this.info.textContent = (e as Error).message;
      this.info.classList.add('error');
    }
  }

  private async loadHistogram(params: Record<string, string | undefined>): Promise<void> {
    const { limit: _limit, seq_from: _a, seq_to: _b, boot: _c, ...rest } = params;
    try {
      this.histogram.render(await getJson<HistogramData>('/api/histogram', rest));
    } catch {
      // The list says what was wrong with the query.
    }
  }
}
