// Access to the real-kernel captures in ../shared/fixtures/kernel-6.1 and the spec's test vectors.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is compiled to dist/test/helpers/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHARED = process.env.NCH_SHARED ?? resolve(ROOT, '../shared');
export const FIXTURES = join(SHARED, 'fixtures/kernel-6.1');

export interface FixtureDatagram { i: number; t: number; port: number; src: string; len: number; payload: Buffer }

export function fixturePath(name: string): string { return join(FIXTURES, name); }

export function loadJsonl(name: string): FixtureDatagram[] {
  return readFileSync(fixturePath(name), 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
    const o = JSON.parse(l);
    return { i: o.i, t: o.t, port: o.port, src: o.src, len: o.len, payload: Buffer.from(o.b64, 'base64') };
  });
}

export interface PayloadVector { name: string; frames_hex: string[]; [k: string]: unknown }
export interface FrameVector { name: string; frame_hex: string; payload_hex: string; [k: string]: unknown }

export function loadVectors(): { payload_vectors: PayloadVector[]; frame_vectors: FrameVector[] } {
  return JSON.parse(readFileSync(join(SHARED, 'spec/netconsole-test-vectors.json'), 'utf8'));
}
