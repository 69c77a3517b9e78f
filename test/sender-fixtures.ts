// Reads the real-kernel captures in shared/fixtures/kernel-6.1 and regroups their extended
// datagrams into records, independently of the receiver code, so the formatter and the sender
// can be compared byte for byte with what the kernel sent.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

/** shared/fixtures/kernel-6.1, found next to the checkout (dist/test → ../../..). */
export function fixtureDir(): string {
  const candidates = [
    process.env.NCH_FIXTURES,
    resolve(here, '../../../shared/fixtures/kernel-6.1'),
    resolve(here, '../../shared/fixtures/kernel-6.1'),
    '/work/shared/fixtures/kernel-6.1',
  ];
  for (const c of candidates) if (c && existsSync(resolve(c, 'extended.jsonl'))) return c;
  throw new Error('fixtures not found: set NCH_FIXTURES to shared/fixtures/kernel-6.1');
}

export function loadDatagrams(name: string): Buffer[] {
  const text = readFileSync(resolve(fixtureDir(), name), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Buffer.from((JSON.parse(l) as { b64: string }).b64, 'base64'));
}

export interface CapturedRecord {
  /** The unfragmented record text M (header `;` body), as /dev/kmsg would return it. */
  record: Buffer;
  /** The datagrams the kernel sent for it, in order. */
  datagrams: Buffer[];
}

const NCFRAG = /,ncfrag=(\d+)\/(\d+)$/;

/** Groups extended datagrams into records: fragments by their header without `ncfrag`. */
export function groupExtended(datagrams: Buffer[]): CapturedRecord[] {
  const out: CapturedRecord[] = [];
  const open = new Map<string, { parts: Buffer[]; got: number; total: number; datagrams: Buffer[] }>();
  for (const d of datagrams) {
    const semi = d.indexOf(0x3b);
    if (semi < 0) throw new Error(`datagram without ';': ${d.subarray(0, 40).toString()}`);
    const header = d.subarray(0, semi).toString('latin1');
    const m = NCFRAG.exec(header);
    if (!m) {
      out.push({ record: d, datagrams: [d] });
      continue;
    }
    const key = header.slice(0, m.index);
    const total = Number(m[2]);
    let set = open.get(key);
    if (!set) {
      set = { parts: [], got: 0, total, datagrams: [] };
      open.set(key, set);
    }
    const data = d.subarray(semi + 1);
    if (Number(m[1]) !== set.got) throw new Error(`fragment out of order for ${key}`);
    set.parts.push(data);
    set.datagrams.push(d);
    set.got += data.length;
    if (set.got === set.total) {
      open.delete(key);
      out.push({ record: Buffer.concat([Buffer.from(key + ';', 'latin1'), ...set.parts]), datagrams: set.datagrams });
    }
  }
  if (open.size > 0) throw new Error(`${open.size} incomplete fragment sets`);
  return out;
}
