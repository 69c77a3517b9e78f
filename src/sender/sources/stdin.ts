// `--stdin`: every line of standard input is one record; ends at end of input.
import type { Readable } from 'node:stream';
import { LineRecordFactory, LineSplitter, type LineRecord } from '../line-records.js';

export async function* streamRecords(input: Readable, factory: LineRecordFactory, signal?: AbortSignal): AsyncGenerator<LineRecord> {
  const splitter = new LineSplitter();
  for await (const chunk of input) {
    if (signal?.aborted) return;
    for (const line of splitter.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))) yield factory.fromLine(line);
  }
  const tail = splitter.flush();
  if (tail) yield factory.fromLine(tail);
}
