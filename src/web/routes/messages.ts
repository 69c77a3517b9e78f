// GET /api/messages and GET /api/messages/:id/context.
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http-errors.js';
import { FullTextQueryError, type MessageFilters, type WebQueries } from '../queries.js';
import { parseWallClock } from '../time-param.js';

export const DEFAULT_LIMIT = 200;
export const MAX_LIMIT = 5000;

const id = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

const listSchema = {
  querystring: {
    type: 'object',
    properties: {
      host: { type: 'string', minLength: 1, maxLength: 255 },
      boot: { type: 'integer', minimum: 1 },
      boot_from: { type: 'integer', minimum: 1 },
      level: { type: 'integer', minimum: 0, maximum: 7 },
      facility: { type: 'integer', minimum: 0, maximum: 127 },
      since: { type: 'string', minLength: 1, maxLength: 40 },
      until: { type: 'string', minLength: 1, maxLength: 40 },
      q: { type: 'string', minLength: 1, maxLength: 1000 },
      seq_from: id,
      seq_to: id,
      before: id,
      after: id,
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
      order: { type: 'string', enum: ['desc', 'asc'], default: 'desc' },
    },
  },
} as const;

interface ListQuery {
  host?: string; boot?: number; boot_from?: number; level?: number; facility?: number; since?: string; until?: string; q?: string;
  seq_from?: number; seq_to?: number; before?: number; after?: number; limit: number; order: 'desc' | 'asc';
}

function wallClock(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseWallClock(value);
  if (ms === null) throw new HttpError(400, `${name} must be an ISO 8601 date-time or epoch milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

export function registerMessageRoutes(app: FastifyInstance, queries: WebQueries): void {
  app.get<{ Querystring: ListQuery }>('/api/messages', { schema: listSchema }, async (request) => {
    const q = request.query;
    if (q.before !== undefined && q.after !== undefined) throw new HttpError(400, 'use either before or after, not both');
    const filters: MessageFilters = {
      host: q.host, boot: q.boot, boot_from: q.boot_from, level: q.level, facility: q.facility,
      since: wallClock('since', q.since), until: wallClock('until', q.until),
      q: q.q, seq_from: q.seq_from, seq_to: q.seq_to, before: q.before, after: q.after,
      limit: q.limit, order: q.order,
    };
    try {
      return queries.listMessages(filters);
    } catch (err) {
      if (err instanceof FullTextQueryError) throw new HttpError(400, err.message);
      throw err;
    }
  });

  app.get<{ Params: { id: number }; Querystring: { before: number; after: number } }>('/api/messages/:id/context', {
    schema: {
      params: { type: 'object', properties: { id }, required: ['id'] },
      querystring: {
        type: 'object',
        properties: {
          before: { type: 'integer', minimum: 0, maximum: 1000, default: 20 },
          after: { type: 'integer', minimum: 0, maximum: 1000, default: 20 },
        },
      },
    },
  }, async (request) => {
    const ctx = queries.context(request.params.id, request.query.before, request.query.after);
    if (ctx === undefined) throw new HttpError(404, `no message with id ${request.params.id}`);
    return ctx;
  });
}
