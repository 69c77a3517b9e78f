// `--kmsg-file PATH`: a dump in /dev/kmsg format, sent with its own seq, level and timestamp.
import { readFileSync } from 'node:fs';
import { parseKmsgDump, type KmsgRecord } from '../../netconsole/kmsg.js';

export function readKmsgFile(path: string): KmsgRecord[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return parseKmsgDump(data);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
