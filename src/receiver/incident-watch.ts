// Crash incidents for a running collector: stored rows → IncidentDetector (pure) → incidents
// table → live stream marker → optional webhook. Runs after each batch commits, so every
// incident line points at a stored message id; incidents are rare, so their own small writes
// on this thread never compete with the ingest batches.
import type { Logger } from 'pino';
import { IncidentDetector, type IncidentChange } from '../netconsole/incidents.js';
import type { LiveHub } from '../web/live.js';
import { openDatabase, type Db } from './store/database.js';
import type { StoredMessage } from './store/types.js';
import { detectorInput, IncidentsStore } from './incidents-store.js';
import { incidentWebhookBody, WebhookPoster } from './webhook.js';

export interface IncidentWatchOptions {
  dbPath: string;
  live: LiveHub;
  logger: Logger;
  webhook?: string;
  /** Link put in webhook bodies, e.g. http://collector:8080 */
  dashboardUrl?: string;
}

export class IncidentWatch {
  private readonly detector = new IncidentDetector();
  private readonly db: Db;
  private readonly store: IncidentsStore;
  private readonly webhook: WebhookPoster | null;
  private readonly timer: NodeJS.Timeout;
  found = 0;

  constructor(private readonly opts: IncidentWatchOptions) {
    this.db = openDatabase(opts.dbPath).db;
    this.store = new IncidentsStore(this.db);
    this.webhook = opts.webhook
      ? new WebhookPoster(opts.webhook, { onProblem: (m: string) => opts.logger.warn({ webhook: opts.webhook }, m) })
      : null;
    this.timer = setInterval(() => this.handle(this.detector.poll(Date.now())), 1000);
  }

  onStored(rows: readonly StoredMessage[]): void {
    const now = Date.now();
    for (const row of rows) {
      const x = detectorInput(row);
      const changes = this.detector.push(x.stream, x.record, now, x.ref);
      if (changes.length) this.handle(changes);
    }
  }

  private handle(changes: IncidentChange[]): void {
    for (const c of changes) {
      try {
        const id = this.store.save(c.incident, Date.now());
        const inc = { ...c.incident, id };
        if (c.change === 'open') {
          this.found++;
          this.opts.logger.warn({ host: inc.host, kind: inc.kind, headline: inc.headline, id }, `incident: ${inc.kind} on ${inc.host}`);
          this.opts.live.publishIncident(inc);
        }
        if (c.change === 'close') this.webhook?.post(incidentWebhookBody(inc, this.opts.dashboardUrl));
      } catch (err) {
        this.opts.logger.error({ err: (err as Error).message }, 'could not store an incident');
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.handle(this.detector.flushAll(Date.now()));
    await this.webhook?.close(2000);
    this.db.close();
  }
}
