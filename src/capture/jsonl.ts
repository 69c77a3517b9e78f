// The JSON-lines datagram capture format of shared/fixtures (one datagram per line):
// {"i": n, "t": unix seconds, "port": local port, "src": "ip:port", "len": n, "b64": payload}.
import { UsageError } from '../errors.js';
import type { CapturedDatagram } from './types.js';

export function* readJsonlCapture(text: string, name: string): Generator<CapturedDatagram> {
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new UsageError(`${name}:${lineNo}: not JSON: expected one {"src","t","b64"} datagram object per line`);
    }
    const o = obj as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.b64 !== 'string' || typeof o.src !== 'string' || typeof o.t !== 'number') {
      throw new UsageError(`${name}:${lineNo}: malformed datagram line: needs "src" (ip:port), "t" (unix seconds) and "b64"`);
    }
    yield {
      source: o.src,
      dstPort: typeof o.port === 'number' ? o.port : null,
      payload: Buffer.from(o.b64, 'base64'),
      atMs: o.t * 1000,
      problem: null,
    };
  }
}
