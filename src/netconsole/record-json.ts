// The JSON shape of a record as `decode` prints it (snake_case, as the API uses).
import type { LogRecord, SeqEvent } from './types.js';

export function recordToJson(r: LogRecord): Record<string, unknown> {
  return {
    source: r.source, format: r.format, seq: r.seq, pri: r.pri, level: r.level, facility: r.facility,
    ts_usec: r.tsUsec, flags: r.flags, text: r.text, fields: r.fields, release: r.release,
    complete: r.complete, truncated: r.truncated === true, received_at: r.receivedAt,
  };
}

export function eventToJson(e: SeqEvent): Record<string, unknown> {
  return { event: e.type, source: e.source, from: e.from, to: e.to, at: e.at, ...(e.detail ? { detail: e.detail } : {}) };
}
