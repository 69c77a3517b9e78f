// Opens a capture file of either kind (pcap/pcapng by magic number, else JSON lines).
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { readJsonlCapture } from './jsonl.js';
import { isPcap, readPcapCapture } from './pcap-input.js';
import type { CapturedDatagram } from './types.js';

export function readCaptureFile(path: string): Iterable<CapturedDatagram> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`cannot read capture ${path}: ${code}: check the path and its permissions`);
  }
  if (isPcap(bytes)) return readPcapCapture(bytes, path);
  return readJsonlCapture(bytes.toString('utf8'), path);
}
