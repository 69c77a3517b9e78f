// Paces a stream of sends to N per second: item k is due at start + k/N. Late items go out at once
// (no burst limit beyond catching up), early ones wait.
import { sleep } from './sources/abortable-sleep.js';

export class Pacer {
  private count = 0;
  private readonly start = performance.now();
  constructor(private readonly perSecond: number, private readonly signal?: AbortSignal) {}

  async next(): Promise<void> {
    const due = this.start + (this.count++ * 1000) / this.perSecond;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait, this.signal);
  }
}

/** `N`, `N/s`, `N/m`; returns per second. */
export function parseRate(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|sec|m|min))?$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`invalid rate '${s}': expected N/s (e.g. 500/s) or N/m`);
  const n = Number(m[1]);
  return m[2] === 'm' || m[2] === 'min' ? n / 60 : n;
}
