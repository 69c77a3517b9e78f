// `--webhook URL`: POSTs a JSON body for each new incident. post() only queues and returns at once,
// so ingest never waits for the network; one delivery runs at a time, in order, retried with
// exponential backoff (with jitter) on network errors, timeouts, 5xx, 408 and 429. The queue is
// bounded: when it is full the oldest waiting body is dropped (and counted).
import type { Incident } from '../netconsole/incidents.js';

export interface WebhookOptions {
  /** Bodies waiting (not counting the one being sent). */
  maxQueue: number;
  /** Attempts per body, the first included. */
  maxAttempts: number;
  /** First retry delay; doubles each attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** One attempt is aborted after this long. */
  timeoutMs: number;
  /** Told about deliveries that failed for good and about drops (for the log). */
  onProblem?: (message: string) => void;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  maxQueue: 100,
  maxAttempts: 8,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  timeoutMs: 10_000,
};

export interface WebhookStats {
  queued: number;
  sent: number;
  /** Bodies given up on (a permanent 4xx, or maxAttempts reached). */
  failed: number;
  /** Bodies dropped because the queue was full. */
  dropped: number;
  retries: number;
}

/** Checks a --webhook value; throws an Error with a one-line message. */
export function parseWebhookUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--webhook ${JSON.stringify(value)} is not a URL (expected http://host[:port]/path or https://…)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`--webhook must be an http:// or https:// URL, got ${url.protocol}`);
  }
  return url;
}

/** The JSON body for an incident: the incident itself plus a one-line `text` chat services display. */
export function incidentWebhookBody(incident: Incident & { id?: number }, dashboardUrl?: string): Record<string, unknown> {
  const link = dashboardUrl && incident.id !== undefined ? ` ${dashboardUrl.replace(/\/$/, '')}/#incidents/${incident.id}` : '';
  return {
    event: 'incident',
    text: `[${incident.kind}] ${incident.host}: ${incident.headline}${link}`,
    incident,
  };
}

function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

export class WebhookPoster {
  private readonly opts: WebhookOptions;
  private readonly url: string;
  private readonly queue: string[] = [];
  private readonly counts = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  private pumping: Promise<void> | null = null;
  private closed = false;
  /** Wakes a backoff sleep early (close). */
  private wake: (() => void) | null = null;
  private inflight: AbortController | null = null;

  constructor(url: string, options: Partial<WebhookOptions> = {}) {
    this.url = parseWebhookUrl(url).toString();
    this.opts = { ...DEFAULT_WEBHOOK_OPTIONS, ...options };
  }

  /** Queues one JSON body; never waits. False when the poster is closed. */
  post(body: unknown): boolean {
    if (this.closed) return false;
    this.queue.push(JSON.stringify(body));
    while (this.queue.length > this.opts.maxQueue) {
      this.queue.shift();
      this.counts.dropped++;
      this.opts.onProblem?.(`webhook: queue full (${this.opts.maxQueue}), dropped the oldest incident`);
    }
    this.pumping ??= this.pump().finally(() => { this.pumping = null; });
    return true;
  }

  stats(): WebhookStats {
    return { queued: this.queue.length, ...this.counts };
  }

  /**
   * Stops: waits up to graceMs for the queue to drain (no new backoff sleeps are cut short
   * before then), then aborts what is in flight and forgets the rest.
   */
  async close(graceMs = 0): Promise<void> {
    if (this.pumping && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.pumping, new Promise<void>((r) => { timer = setTimeout(r, graceMs); timer.unref(); })]);
      clearTimeout(timer);
    }
    this.closed = true;
    this.queue.length = 0;
    this.inflight?.abort();
    this.wake?.();
    await this.pumping;
  }

  private async pump(): Promise<void> {
    while (!this.closed && this.queue.length > 0) {
      const body = this.queue.shift() as string;
      await this.deliver(body);
    }
  }

  private async deliver(body: string): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      let problem: string;
      let retryAfterMs: number | null = null;
      this.inflight = new AbortController();
      const signal = AbortSignal.any([this.inflight.signal, AbortSignal.timeout(this.opts.timeoutMs)]);
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'netconsole-hub' },
          body,
          signal,
        });
        await res.arrayBuffer().catch(() => undefined); // release the connection
        if (res.ok) {
          this.counts.sent++;
          return;
        }
        problem = `HTTP ${res.status}`;
        if (!retryable(res.status)) {
          this.counts.failed++;
          this.opts.onProblem?.(`webhook: ${this.url} answered ${problem}; not retrying this incident`);
          return;
        }
        const ra = Number(res.headers.get('retry-after'));
        if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
      } catch (err) {
        if (this.closed) return;
        problem = describe(err);
      } finally {
        this.inflight = null;
      }
      if (attempt >= this.opts.maxAttempts) {
        this.counts.failed++;
        this.opts.onProblem?.(`webhook: ${this.url} failed ${attempt} times (last: ${problem}); giving up on this incident`);
        return;
      }
      this.counts.retries++;
      const backoff = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.min(this.opts.maxDelayMs, Math.max(retryAfterMs ?? 0, backoff * (0.5 + Math.random() * 0.5)));
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref(); // a pending retry never keeps the process alive
      function done(): void { clearTimeout(timer); resolve(); }
      this.wake = () => { this.wake = null; done(); };
    });
  }
}
