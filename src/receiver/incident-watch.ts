// What serve does with crash incidents once the write side found and stored them (detection runs
// in the storage worker, on committed rows with their ids: see store/write-service.ts): a marker
// on the live stream when one opens, a log line, and the optional webhook when its report is complete.
import type { Logger } from 'pino';
import type { LiveHub } from './live-hub.js';
import type { IncidentNotice } from './store/write-protocol.js';
import { incidentWebhookBody, WebhookPoster } from './webhook.js';

export interface IncidentWatchOptions {
  live: LiveHub;
  logger: Logger;
  webhook?: string;
  /** Link put in webhook bodies, e.g. http://collector:8080 */
  dashboardUrl?: string;
}

export class IncidentWatch {
  private readonly webhook: WebhookPoster | null;
  found = 0;

  constructor(private readonly opts: IncidentWatchOptions) {
    this.webhook = opts.webhook
      ? new WebhookPoster(opts.webhook, { onProblem: (m: string) => opts.logger.warn({ webhook: opts.webhook }, m) })
      : null;
  }

  handle(notices: readonly IncidentNotice[]): void {
    for (const { change, incident } of notices) {
      if (change === 'open') {
        this.found++;
        this.opts.logger.warn({ host: incident.host, kind: incident.kind, headline: incident.headline, id: incident.id }, `incident: ${incident.kind} on ${incident.host}`);
        this.opts.live.publishIncident(incident);
      }
      if (change === 'close') this.webhook?.post(incidentWebhookBody(incident as never, this.opts.dashboardUrl));
    }
  }

  async close(): Promise<void> {
    await this.webhook?.close(2000);
  }
}
