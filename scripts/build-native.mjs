// Builds the batched UDP reader (native/udp-batch.c) into dist/native/udp-batch.node with the
// system C compiler and the running node's headers: no node-gyp, no Python, no download. Without a
// compiler or headers it says why in one line and the collector reads UDP with node's dgram; set
// NCH_REQUIRE_NATIVE=1 to make that an error (CI does).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const SRC = 'native/udp-batch.c';
const OUT = 'dist/native/udp-batch.node';
const required = process.env.NCH_REQUIRE_NATIVE === '1';

function give(why) {
  // A binary left from an older source must not be loaded in place of the one that failed.
  rmSync(OUT, { force: true });
  const line = `build-native: ${OUT} not built: ${why}; the collector will read UDP with node's dgram (more CPU per datagram)`;
  if (required) {
    console.error(`${line} (NCH_REQUIRE_NATIVE=1 makes this an error)`);
    process.exit(1);
  }
  console.warn(line);
  process.exit(0);
}

if (process.platform !== 'linux') give(`recvmmsg is Linux-only (this is ${process.platform})`);
const candidates = [
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
  join(dirname(dirname(process.execPath)), 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].filter(Boolean);
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h')));
if (!include) give(`node's headers (node_api.h, uv.h) are not in ${candidates.join(', ')}`);
if (existsSync(OUT) && statSync(OUT).mtimeMs >= statSync(SRC).mtimeMs) process.exit(0);
mkdirSync(dirname(OUT), { recursive: true });
const cc = process.env.CC || 'cc';
try {
  execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-fPIC', '-shared', `-I${include}`, '-o', OUT, SRC], { stdio: ['ignore', 'inherit', 'pipe'] });
} catch (err) {
  const said = String(err.stderr ?? '').trim().split('\n').slice(0, 3).join(' / ');
  const detail = err.code === 'ENOENT' ? `no C compiler ('${cc}')` : `${cc} failed (exit ${err.status ?? '?'})${said ? `: ${said}` : ''}`;
  give(detail);
}
