// The live hub, the receiver's live-event port: `serve` publishes every stored batch here, and
// each subscriber (a WebSocket session of src/web/live-session.ts) takes what matches its filter. Publishing never waits on a client: a session
// that cannot keep up drops and counts instead (its own bounded buffer), so ingest and the other
// clients go on at full speed.
import type { StoredMessage as MessageJson } from './store/types.js';

export interface LiveSubscriber {
  /** Must be cheap and must not throw: it runs on the ingest path. */
  onRows(rows: readonly MessageJson[], after?: number): void;
  onIncident(incident: unknown): void;
  /** Called periodically while subscribed (to notice a slow client has drained). */
  tick(): void;
}

export interface LiveLimits {
  /** A client whose unsent bytes exceed this stops receiving rows and counts what it misses. */
  maxBufferedBytes: number;
  /** ...until its unsent bytes fall below this. */
  resumeBelowBytes: number;
  /** A client that missed more than this many records in a row is disconnected. */
  maxMissed: number;
  /** A resume (`since_id`) replays at most this many records; older ones are reported as missed. */
  maxReplay: number;
  /** Rows per message while replaying. */
  replayPage: number;
  /** How often lagging clients are checked, ms. */
  tickMs: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  maxBufferedBytes: 4 * 1024 * 1024,
  resumeBelowBytes: 512 * 1024,
  maxMissed: 200_000,
  maxReplay: 20_000,
  replayPage: 500,
  tickMs: 250,
};

export class LiveHub {
  readonly limits: LiveLimits;
  private readonly subscribers = new Set<LiveSubscriber>();
  private timer: NodeJS.Timeout | null = null;
  /** Records published since start (for tests and metrics). */
  published = 0;
  /** Told when the number of subscribers changes (serve asks for stored rows only while someone watches). */
  onClientCountChange: ((count: number) => void) | null = null;

  constructor(limits: Partial<LiveLimits> = {}) {
    this.limits = { ...DEFAULT_LIVE_LIMITS, ...limits };
  }

  /** Called by `serve` after each stored batch, rows in id order; `after` as the writer's 'stored' gives it. */
  publish(rows: readonly MessageJson[], after?: number): void {
    if (rows.length === 0) return;
    this.published += rows.length;
    for (const s of this.subscribers) {
      try {
        s.onRows(rows, after);
      } catch {
        /* a broken session must never break ingest; it cleans itself up on close */
      }
    }
  }

  /** Called by `serve` (the incident detector) for each new incident. */
  publishIncident(incident: unknown): void {
    for (const s of this.subscribers) {
      try {
        s.onIncident(incident);
      } catch {
        /* as above */
      }
    }
  }

  subscribe(s: LiveSubscriber): () => void {
    this.subscribers.add(s);
    this.onClientCountChange?.(this.subscribers.size);
    if (this.timer === null) {
      this.timer = setInterval(() => {
        for (const sub of this.subscribers) sub.tick();
      }, this.limits.tickMs);
      this.timer.unref();
    }
    return () => {
      if (this.subscribers.delete(s)) this.onClientCountChange?.(this.subscribers.size);
      if (this.subscribers.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  get clientCount(): number {
    return this.subscribers.size;
  }
}
