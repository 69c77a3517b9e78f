// Search over history with the API's filters; newest first, pages both ways, highlighted matches.
import { getJson, type MessagePage } from './api.js';
import { byId, clear, h } from './dom.js';
import { lineElement } from './format.js';
import { highlighted, termsRegex } from './highlight.js';
import type { ContextDrawer } from './context-drawer.js';

const FIELDS = ['q', 'host', 'level', 'boot', 'since', 'until', 'seq_from', 'seq_to', 'limit'] as const;

export class SearchView {
  private readonly form = byId<HTMLFormElement>('search-form');
  private readonly results = byId('search-results');
  private readonly info = byId('search-info');
  private readonly olderBtn = byId<HTMLButtonElement>('search-older');
  private readonly newerBtn = byId<HTMLButtonElement>('search-newer');
  private page: MessagePage | null = null;

  constructor(private readonly drawer: ContextDrawer) {
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.run({});
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

  setHost(host: string): void {
    byId<HTMLSelectElement>('search-host').value = host;
  }

  private params(): Record<string, string> {
    const data = new FormData(this.form);
    const out: Record<string, string> = {};
    for (const k of FIELDS) {
      const v = String(data.get(k) ?? '').trim();
      if (v === '') continue;
      // datetime-local has no zone: it is the browser's local time.
      out[k] = k === 'since' || k === 'until' ? String(new Date(v).getTime()) : v;
    }
    return out;
  }

  async run(cursor: { before?: number; after?: number }): Promise<void> {
    const params = this.params();
    this.info.textContent = 'searching…';
    this.info.classList.remove('error');
    try {
      const page = await getJson<MessagePage>('/api/messages', { ...params, ...cursor });
      this.page = page;
      const re = params.q ? termsRegex(params.q) : null;
      clear(this.results);
      for (const m of page.messages) {
        const el = lineElement(m, highlighted(m.text, re));
        el.tabIndex = 0;
        el.title = 'open context';
        this.results.append(el);
      }
      this.info.textContent = page.messages.length === 0 ? 'no matching records' : `${page.messages.length} records, newest first`;
      this.olderBtn.disabled = page.older === null;
      this.newerBtn.disabled = page.messages.length === 0 && cursor.after !== undefined;
    } catch (err) {
      this.info.textContent = (err as Error).message;
      this.info.classList.add('error');
    }
  }
}
