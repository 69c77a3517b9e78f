// Flag values of `tail` and `query`, checked before anything is sent, each refusal one line.
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_SERVER, HubHttp, parseServerUrl } from './http.js';
import { parseWallClock } from '../web/time-param.js';

/** Kernel log level names, index = level (as dmesg and syslog name them). */
export const LEVEL_NAMES = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'] as const;
const LEVEL_ALIASES: Record<string, number> = { panic: 0, error: 3, warning: 4 };

/** `--level 3` or `--level err`: that severity and the more severe ones, like the API's `level`. */
export function parseLevel(raw: string): number {
  const v = raw.trim().toLowerCase();
  if (/^[0-7]$/.test(v)) return Number(v);
  const i = (LEVEL_NAMES as readonly string[]).indexOf(v);
  if (i >= 0) return i;
  if (v in LEVEL_ALIASES) return LEVEL_ALIASES[v]!;
  throw new UsageError(`--level must be 0..7 or one of ${LEVEL_NAMES.join(', ')}, not '${raw}'`);
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`/`--until`: ISO 8601, epoch ms, or a duration ago (`90s`, `10m`, `2h`, `7d`); epoch ms out. */
export function parseTime(name: string, raw: string, now = Date.now()): number {
  const ago = /^(\d{1,9})\s*([smhd])$/.exec(raw.trim());
  if (ago) return now - Number(ago[1]) * UNIT_MS[ago[2]!]!;
  const ms = parseWallClock(raw);
  if (ms === null) throw new UsageError(`${name} must be an ISO 8601 date-time (2024-05-01T12:00:00Z), epoch milliseconds or a time ago (10m, 2h, 7d), not '${raw}'`);
  return ms;
}

export function parsePositiveInt(name: string, raw: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d{1,16}$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > max) throw new UsageError(`${name} must be a whole number from 1 to ${max}, not '${raw}'`);
  return Number(raw);
}

/** `--grep RE`: a JavaScript regular expression, tested against each record's text. */
export function parseGrep(raw: string): RegExp {
  try {
    return new RegExp(raw);
  } catch (err) {
    throw new UsageError(`--grep is not a valid regular expression: ${(err as Error).message}`);
  }
}

export type ColorWhen = 'auto' | 'always' | 'never';

/** `--color [when]` (bare: always); `auto` colours only a terminal, and NO_COLOR turns it off. */
export function useColor(raw: string | boolean | undefined, isTty: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const when = raw === true ? 'always' : raw === undefined || raw === false ? 'auto' : raw;
  if (when === 'always') return true;
  if (when === 'never') return false;
  if (when !== 'auto') throw new UsageError(`--color must be auto, always or never, not '${raw}'`);
  return isTty && !env.NO_COLOR && env.TERM !== 'dumb';
}

/** --server and --token, shared by `tail` and `query`; the flags win over the environment. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', `the collector's HTTP address (default ${DEFAULT_SERVER})`).env('NETCONSOLE_HUB_URL'))
    .addOption(new Option('--token <token>', "the collector's --auth-token, if it has one; prefer the env: flags show in ps").env('NETCONSOLE_HUB_TOKEN'));
}

export function hubFromOptions(o: { server?: string; token?: string }): HubHttp {
  const token = o.token?.trim();
  return new HubHttp(parseServerUrl(o.server ?? DEFAULT_SERVER), token === undefined || token === '' ? undefined : token);
}

export function colorOption(): Option {
  return new Option('--color [when]', 'colour the output like dmesg --color: auto (when stdout is a terminal; the default), always or never');
}
