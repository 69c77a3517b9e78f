// GET /api/messages and GET /api/messages/:id/context.
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http-errors.js';
import { FullTextQueryError, RegexFilterError, regexFilter } from '../../receiver/store/filters.js';
import type { MessageFilters, StoreQueries } from '../../receiver/store/port.js';
import { parseWallClock } from '../time-param.js';
import { bootParam, idParam } from './schema.js';

export const DEFAULT_LIMIT = 200;
export const MAX_LIMIT = 5000;

const listSchema = {
  querystring: {
    type: 'object',
    properties: {
      host: { type: 'string', minLength: 1, maxLength: 255 },
      boot: bootParam,
      boot_from: bootParam,
      level: { type: 'integer', minimum: 0, maximum: 7 },
      facility: { type: 'integer', minimum: 0, maximum: 127 },
      since: { type: 'string', minLength: 1, maxLength: 40 },
      until: { type: 'string', minLength: 1, maxLength: 40 },
      q: { type: 'string', minLength: 1, maxLength: 1000 },
      hosts: { type: 'string', minLength: 1, maxLength: 4000 },
      text: { type: 'string', minLength: 1, maxLength: 1000 },
      regex: { type: 'string', minLength: 1, maxLength: 1000 },
      seq_from: idParam,
      seq_to: idParam,
      before: idParam,
      after: idParam,
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
      order: { type: 'string', enum: ['desc', 'asc'], default: 'desc' },
    },
  },
} as const;

interface ListQuery {
  hosts?: string; text?: string; regex?: string;
  host?: string; boot?: number; boot_from?: number; level?: number; facility?: number; since?: string; until?: string; q?: string;
  seq_from?: number; seq_to?: number; before?: number; after?: number; limit: number; order: 'desc' | 'asc';
}

function wallClock(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseWallClock(value);
  if (ms === null) throw new HttpError(400, `${name} must be an ISO 8601 date-time or epoch milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

/** `hosts=a,b`: a comma-separated list of addresses or names. */
function hostList(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

/** The regex parameter, checked before any SQL runs (a bad pattern is a 400, not a 500). */
function checkedRegex(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return regexFilter(value).pattern;
  } catch (err) {
    if (err instanceof RegexFilterError) throw new HttpError(400, err.message);
    throw err;
  }
}

/** Most buckets one histogram answers; a longer range gets wider buckets (whole minutes). */
const MAX_BUCKETS = 1500;
const MINUTE = 60_000;

const histogramSchema = {
  querystring: {
    type: 'object',
    properties: {
      since: { type: 'string', minLength: 1, maxLength: 40 },
      until: { type: 'string', minLength: 1, maxLength: 40 },
      host: listSchema.querystring.properties.host,
      hosts: { type: 'string', minLength: 1, maxLength: 4000 },
      level: listSchema.querystring.properties.level,
      facility: listSchema.querystring.properties.facility,
      q: listSchema.querystring.properties.q,
      text: { type: 'string', minLength: 1, maxLength: 1000 },
      regex: { type: 'string', minLength: 1, maxLength: 1000 },
    },
  },
} as const;

interface HistogramQuery {
  since?: string; until?: string; host?: string; hosts?: string; level?: number; facility?: number; q?: string; text?: string; regex?: string;
}

export function registerMessageRoutes(app: FastifyInstance, queries: StoreQueries): void {
  app.get<{ Querystring: ListQuery }>('/api/messages', { schema: listSchema }, async (request) => {
    const q = request.query;
    if (q.before !== undefined && q.after !== undefined) throw new HttpError(400, 'use either before or after, not both');
    const filters: MessageFilters = {
      host: q.host, boot: q.boot, boot_from: q.boot_from, level: q.level, facility: q.facility,
      since: wallClock('since', q.since), until: wallClock('until', q.until),
      q: q.q, hosts: hostList(q.hosts), text: q.text, regex: checkedRegex(q.regex), seq_from: q.seq_from, seq_to: q.seq_to, before: q.before, after: q.after,
      limit: q.limit, order: q.order,
    };
    try {
      return await queries.listMessages(filters);
    } catch (err) {
      if (err instanceof FullTextQueryError) throw new HttpError(400, err.message);
      throw err;
    }
  });

  // Records per minute and level: the dashboard's histogram. Default range: the last hour.
  app.get<{ Querystring: HistogramQuery }>('/api/histogram', { schema: histogramSchema }, async (request) => {
    const q = request.query;
    const until = wallClock('until', q.until) ?? Date.now();
    const since = wallClock('since', q.since) ?? until - 3600_000;
    if (since > until) throw new HttpError(400, 'since must not be after until');
    const bucketMs = Math.max(1, Math.ceil((until - since + 1) / MINUTE / MAX_BUCKETS)) * MINUTE;
    const hosts = [...(q.host !== undefined ? [q.host] : []), ...hostList(q.hosts)];
    try {
      const rows = await queries.histogram({ since, until, bucketMs, hosts, level: q.level, facility: q.facility, text: q.text, regex: checkedRegex(q.regex), q: q.q });
      // One entry per bucket that has records: counts[level] (index 8: records without a level).
      const buckets = new Map<number, number[]>();
      for (const r of rows) {
        let counts = buckets.get(r.t);
        if (counts === undefined) buckets.set(r.t, (counts = new Array<number>(9).fill(0)));
        counts[r.level === null || r.level < 0 || r.level > 7 ? 8 : r.level]! += r.n;
      }
      return { since, until, bucket_ms: bucketMs, buckets: [...buckets].map(([t, counts]) => ({ t, counts })) };
    } catch (err) {
      if (err instanceof FullTextQueryError) throw new HttpError(400, err.message);
      throw err;
    }
  });

  app.get<{ Params: { id: number }; Querystring: { before: number; after: number } }>('/api/messages/:id/context', {
    schema: {
      params: { type: 'object', properties: { id: idParam }, required: ['id'] },
      querystring: {
        type: 'object',
        properties: {
          before: { type: 'integer', minimum: 0, maximum: 1000, default: 20 },
          after: { type: 'integer', minimum: 0, maximum: 1000, default: 20 },
        },
      },
    },
  }, async (request) => {
    const ctx = await queries.context(request.params.id, request.query.before, request.query.after);
    if (ctx === undefined) throw new HttpError(404, `no message with id ${request.params.id}`);
    return ctx;
  });
}
