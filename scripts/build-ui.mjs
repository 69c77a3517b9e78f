// Bundles the dashboard (src/web/ui) into dist/public with esbuild: no CDN, one small script.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
const out = 'dist/public';
mkdirSync(out, { recursive: true });
if (existsSync('src/web/ui/main.ts')) {
  await build({
    entryPoints: ['src/web/ui/main.ts'],
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    target: ['chrome110', 'firefox110'],
    outfile: `${out}/app.js`,
    logLevel: 'warning',
  });
}
if (existsSync('src/web/ui/static')) cpSync('src/web/ui/static', out, { recursive: true });
