// GET /api/hosts and GET /api/hosts/:host/boots/:boot/log (a download of one boot's log).
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http-errors.js';
import type { BootRef, StoreQueries } from '../../receiver/store/port.js';
import { dmesgPrefix } from '../time-param.js';
import type { MessageJson } from '../types.js';
import { bootParam } from './schema.js';

const PAGE = 2000;

/** Streams a boot's records page by page; a record stored by both targets of a host appears once. */
async function* bootLog(queries: StoreQueries, boot: BootRef, format: 'text' | 'ndjson'): AsyncGenerator<string> {
  let after: { seq: number; id: number } | null = null;
  let previous: MessageJson | null = null;
  for (;;) {
    const rows = await queries.bootLogPage(boot, after, PAGE);
    let out = '';
    for (const m of rows) {
      const duplicate = previous !== null && m.seq !== null && m.seq === previous.seq && m.text === previous.text;
      previous = m;
      if (duplicate) continue;
      out += format === 'ndjson' ? JSON.stringify(m) + '\n' : dmesgPrefix(m.ts_usec) + m.text + '\n';
    }
    if (out !== '') yield out;
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1]!;
    after = { seq: last.seq ?? -1, id: last.id };
    // Let other requests and ingest run between pages.
    await new Promise((r) => setImmediate(r));
  }
}

export function registerHostRoutes(app: FastifyInstance, queries: StoreQueries): void {
  app.get('/api/hosts', async () => ({ hosts: await queries.hosts() }));

  app.get<{ Params: { host: string; boot: number }; Querystring: { format: 'text' | 'ndjson' } }>('/api/hosts/:host/boots/:boot/log', {
    schema: {
      params: {
        type: 'object',
        properties: { host: { type: 'string', minLength: 1, maxLength: 255 }, boot: bootParam },
        required: ['host', 'boot'],
      },
      querystring: { type: 'object', properties: { format: { type: 'string', enum: ['text', 'ndjson'], default: 'text' } } },
    },
  }, async (request, reply) => {
    const { host, boot } = request.params;
    const found = await queries.findBoot(host, boot);
    if (found === undefined) throw new HttpError(404, `no boot ${boot} for host ${JSON.stringify(host)}`);
    const format = request.query.format;
    const safeName = host.replace(/[^A-Za-z0-9._-]+/g, '_');
    reply
      .type(format === 'ndjson' ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${safeName}-boot${boot}.${format === 'ndjson' ? 'ndjson' : 'log'}"`);
    return reply.send(Readable.from(bootLog(queries, found, format)));
  });
}
