// `--state FILE`: the last /dev/kmsg record sent, with the boot it belongs to, so a restart
// neither repeats nor skips records. Written atomically (temp file + rename).
import { readFileSync, writeFileSync, renameSync } from 'node:fs';

export interface KmsgPosition {
  bootId: string | null;
  seq: string;
}

export function loadPosition(path: string): KmsgPosition | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read state file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const j = JSON.parse(text) as Partial<KmsgPosition>;
    if (typeof j.seq !== 'string' || !/^\d+$/.test(j.seq)) throw new Error('no seq');
    return { bootId: typeof j.bootId === 'string' ? j.bootId : null, seq: j.seq };
  } catch {
    throw new Error(`state file ${path} is not a saved position (expected {"bootId":…,"seq":"N"}); delete it to start over`);
  }
}

export function savePosition(path: string, pos: KmsgPosition): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(pos) + '\n');
  renameSync(tmp, path);
}

/** Tracks the last record sent and saves it at most once a second, and on finish(). */
export class PositionKeeper {
  private last: bigint | null = null;
  private savedAt = performance.now();
  constructor(readonly path: string, readonly bootId: string | null) {}

  sent(seq: bigint): void {
    this.last = seq;
    if (performance.now() - this.savedAt > 1000) this.save();
  }

  finish(): void {
    if (this.last !== null) this.save();
  }

  private save(): void {
    if (this.last === null) return;
    savePosition(this.path, { bootId: this.bootId, seq: String(this.last) });
    this.savedAt = performance.now();
  }
}
