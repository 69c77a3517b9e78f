// A virtualised, capped list of log lines: every kept line is data, only the lines in view (plus a
// margin) are elements, so 100 000 lines scroll like 50 and the page's memory stops growing at the
// cap. Lines have one fixed height (no wrapping; the context panel shows a line in full).
//
// Follow mode: while the view is at the bottom, new lines scroll it; scrolling up stops that and
// counts the lines that arrive below ("N new lines"); scrolling back down, or follow(), resumes.
import { h } from './dom.js';

/** Height of one line in px; style.css gives `.vline` the same. */
export const ROW_PX = 20;
const OVERSCAN = 20;

export class VirtualLog<T> {
  readonly el: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly window: HTMLElement;
  private items: T[] = [];
  private isFollowing = true;
  private unseen = 0;
  private dropped = 0;
  private frame = 0;
  /** Where our last scrollTo() put the view, until its scroll event comes; -1: none pending. */
  private ownScrollTop = -1;
  private rendered = { first: -1, last: -1, total: -1, version: -1 };
  private version = 0;

  constructor(
    readonly cap: number,
    private readonly renderItem: (item: T, index: number) => HTMLElement,
    private readonly onChange: () => void,
  ) {
    this.window = h('div', { class: 'vwindow' });
    this.spacer = h('div', { class: 'vspacer' }, this.window);
    this.el = h('div', { class: 'log vlog', role: 'log', 'aria-live': 'off', tabindex: '0' }, this.spacer);
    this.el.addEventListener('scroll', () => this.onScroll(), { passive: true });
    // A resized pane shows more or fewer lines.
    new ResizeObserver(() => this.schedule()).observe(this.el);
  }

  get following(): boolean {
    return this.isFollowing;
  }

  /** Lines that arrived below the view since following stopped. */
  get newLines(): number {
    return this.unseen;
  }

  /** Lines removed from the top because the cap was reached. */
  get droppedLines(): number {
    return this.dropped;
  }

  get length(): number {
    return this.items.length;
  }

  get all(): readonly T[] {
    return this.items;
  }

  append(items: readonly T[]): void {
    if (items.length === 0) return;
    for (const it of items) this.items.push(it);
    if (!this.isFollowing) this.unseen += items.length;
    const excess = this.items.length - this.cap;
    if (excess > 0) {
      this.items.splice(0, excess);
      this.dropped += excess;
      // Keep the lines the reader is looking at where they are (the ones above them went away).
      if (!this.isFollowing) this.scrollTo(Math.max(0, this.el.scrollTop - excess * ROW_PX));
    }
    this.version++;
    this.schedule();
    this.onChange();
  }

  clear(): void {
    this.items = [];
    this.unseen = 0;
    this.dropped = 0;
    this.isFollowing = true;
    this.version++;
    this.schedule();
    this.onChange();
  }

  /** Re-renders the lines in view (e.g. the highlight changed). */
  refresh(): void {
    this.version++;
    this.schedule();
  }

  follow(): void {
    this.isFollowing = true;
    this.unseen = 0;
    this.schedule();
    this.onChange();
  }

  /** Stops following where the view is (new lines then count below it). */
  unfollow(): void {
    if (!this.isFollowing) return;
    this.isFollowing = false;
    this.unseen = 0;
    this.onChange();
  }

  top(): void {
    this.isFollowing = this.items.length * ROW_PX <= this.el.clientHeight;
    this.scrollTo(0);
    this.schedule();
    this.onChange();
  }

  // Scroll events arrive a frame after the scroll, so the one our own scrollTo() caused can come
  // after follow()/unfollow() changed the mode (g then G, f at the bottom) and must not undo it:
  // only a scroll that ends somewhere we did not put the view is the reader's.
  private scrollTo(top: number): void {
    const before = this.el.scrollTop;
    this.el.scrollTop = top;
    if (this.el.scrollTop !== before) this.ownScrollTop = this.el.scrollTop;
  }

  private onScroll(): void {
    const own = this.el.scrollTop === this.ownScrollTop;
    this.ownScrollTop = -1;
    if (own) {
      this.schedule();
      return;
    }
    const atBottom = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - ROW_PX / 2;
    if (atBottom !== this.isFollowing) {
      this.isFollowing = atBottom;
      this.unseen = 0;
      this.onChange();
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const total = this.items.length;
    this.spacer.style.height = `${total * ROW_PX}px`;
    if (this.isFollowing) this.scrollTo(this.el.scrollHeight);
    const first = Math.max(0, Math.floor(this.el.scrollTop / ROW_PX) - OVERSCAN);
    const last = Math.min(total, Math.ceil((this.el.scrollTop + this.el.clientHeight) / ROW_PX) + OVERSCAN);
    const r = this.rendered;
    if (r.first === first && r.last === last && r.total === total && r.version === this.version) return;
    this.rendered = { first, last, total, version: this.version };
    this.window.style.transform = `translateY(${first * ROW_PX}px)`;
    const els: HTMLElement[] = [];
    for (let i = first; i < last; i++) els.push(this.renderItem(this.items[i]!, i));
    this.window.replaceChildren(...els);
  }
}
