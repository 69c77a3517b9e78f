// GET /api/incidents (filters host, kind, since, signature; paging with before + limit) and
// GET /api/incidents/:id (the full report). Errors are the API's JSON errors (http-errors.ts).
import type { FastifyInstance } from 'fastify';
import { INCIDENT_RULES } from '../netconsole/incident-rules.js';
import { MAX_INCIDENT_LIMIT, type IncidentFilter, type StoreQueries } from '../receiver/store/port.js';
import { HttpError } from './http-errors.js';
import { parseWallClock } from './time-param.js';

const KINDS = new Set(INCIDENT_RULES.map((r) => r.kind));

type Query = Record<string, string | undefined>;

function positiveInt(name: string, value: string, max: number): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new HttpError(400, `${name} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Validates the list's query string into a store filter; one clear 400 message per mistake. */
export function parseIncidentFilter(q: Query): IncidentFilter {
  const f: IncidentFilter = {};
  for (const key of Object.keys(q)) {
    if (!['host', 'kind', 'since', 'signature', 'before', 'limit'].includes(key)) {
      throw new HttpError(400, `unknown parameter ${JSON.stringify(key)} (use host, kind, since, signature, before, limit)`);
    }
    if (typeof q[key] !== 'string') throw new HttpError(400, `parameter ${key} given more than once`);
  }
  if (q.host !== undefined) {
    if (q.host === '' || q.host.length > 255) throw new HttpError(400, 'host must be 1 to 255 characters');
    f.host = q.host;
  }
  if (q.kind !== undefined) {
    if (!KINDS.has(q.kind)) throw new HttpError(400, `unknown kind ${JSON.stringify(q.kind)}; one of ${[...KINDS].join(', ')}`);
    f.kind = q.kind;
  }
  if (q.since !== undefined) {
    const since = parseWallClock(q.since);
    if (since === null) throw new HttpError(400, `since must be epoch milliseconds or an ISO 8601 time, got ${JSON.stringify(q.since)}`);
    f.since = since;
  }
  if (q.signature !== undefined) {
    if (!/^[0-9a-f]{16}$/.test(q.signature)) throw new HttpError(400, `signature must be 16 lower-case hex digits, got ${JSON.stringify(q.signature)}`);
    f.signature = q.signature;
  }
  if (q.before !== undefined) f.before = positiveInt('before', q.before, Number.MAX_SAFE_INTEGER);
  f.limit = q.limit !== undefined ? positiveInt('limit', q.limit, MAX_INCIDENT_LIMIT) : 100;
  return f;
}

export function registerIncidentRoutes(app: FastifyInstance, store: StoreQueries): void {
  // A database opened before migration 002 still serves everything else: 503 here only.
  const available = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      if (/no incidents table/.test((err as Error).message)) throw new HttpError(503, `incidents are not available: ${(err as Error).message}`);
      throw err;
    }
  };

  app.get<{ Querystring: Query }>('/api/incidents', async (request) => {
    const filter = parseIncidentFilter(request.query ?? {});
    const incidents = await available(() => store.listIncidents(filter));
    const last = incidents[incidents.length - 1];
    return { incidents, next_before: incidents.length === filter.limit && last ? last.id : null };
  });

  app.get<{ Params: { id: string } }>('/api/incidents/:id', async (request) => {
    const id = positiveInt('incident id', request.params.id, Number.MAX_SAFE_INTEGER);
    const incident = await available(() => store.getIncident(id));
    if (incident === undefined) throw new HttpError(404, `no incident ${id}`);
    return { incident };
  });
}
