// Reads the .cpuprofile files `node --cpu-prof` writes (one per thread) and says where the time went:
// self time by function and by area (our code by module, node internals, SQLite, GC, idle).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ThreadProfile {
  file: string;
  totalMs: number;
  /** Share of the wall time the thread was busy (not '(idle)'). */
  busyShare: number;
  byArea: { area: string; ms: number; share: number }[];
  top: { fn: string; where: string; ms: number; share: number }[];
}

/** Buckets a frame into an area a reader can act on. */
export function areaOf(fn: string, url: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'native (program)';
  const m = /\/(src|bench)\/(.+?)\.js/.exec(url);
  if (m && !url.includes('node_modules')) {
    const parts = m[2]!.split('/');
    return `${m[1]}/${parts.slice(0, -1).join('/') || '.'}/${parts[parts.length - 1]}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm ${nm[1]}`;
  if (url.startsWith('node:')) return url;
  if (fn && url === '') return `native ${fn.length > 40 ? fn.slice(0, 40) : fn}`;
  return url || 'other';
}

export function summarizeProfile(file: string, topN = 15): ThreadProfile {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const totalUs = p.endTime - p.startTime;
  const areas = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const area = areaOf(functionName, url);
    if (area === 'idle') idle += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const fn = (functionName || '(anonymous)').slice(0, 60);
    const key = `${fn} ${url}:${lineNumber + 1}`;
    const e = fns.get(key) ?? { fn, where: `${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}`.replace(/^:0$/, 'native'), us: 0 };
    e.us += us;
    fns.set(key, e);
  }
  const busyUs = Math.max(1, totalUs - idle);
  return {
    file,
    totalMs: totalUs / 1000,
    busyShare: busyUs / totalUs,
    byArea: [...areas].filter(([a]) => a !== 'idle').sort((a, b) => b[1] - a[1]).slice(0, 20)
      .map(([area, us]) => ({ area, ms: us / 1000, share: us / busyUs })),
    top: [...fns.values()].filter((e) => e.fn !== '(idle)').sort((a, b) => b.us - a.us).slice(0, topN)
      .map((e) => ({ fn: e.fn, where: e.where, ms: e.us / 1000, share: e.us / busyUs })),
  };
}

export function summarizeDir(dir: string): ThreadProfile[] {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => summarizeProfile(join(dir, f)));
}
