// What a new user sees before any kernel has sent anything: how to point one at this collector,
// with this server's own address and UDP port filled in (module parameter and configfs).
import { getJson } from './api.js';
import { byId, clear, h } from './dom.js';

interface Setup {
  udp: { host: string; port: number }[];
  addresses: string[];
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** The address a kernel should send to: a listener's own address, else this machine's, else the page's host. */
function collectorAddress(s: Setup): { ip: string; port: number } {
  const v4 = s.udp.find((u) => !u.host.includes(':')) ?? s.udp[0];
  const port = v4?.port ?? 6666;
  if (v4 && !WILDCARD.has(v4.host) && v4.host !== 'localhost') return { ip: v4.host, port };
  const own = s.addresses.find((a) => !a.includes(':'));
  const page = location.hostname.replace(/^\[|\]$/g, '');
  return { ip: own ?? (page === 'localhost' ? '127.0.0.1' : page), port };
}

export function commands(ip: string, port: number): { param: string; configfs: string } {
  const v6 = ip.includes(':');
  return {
    param: `modprobe netconsole netconsole=+6665@/eth0,${port}@${v6 ? `[${ip}]` : ip}/\ndmesg -n 8    # netconsole only sends what reaches the console`,
    configfs: [
      'modprobe netconsole',
      'mkdir /sys/kernel/config/netconsole/hub',
      'cd /sys/kernel/config/netconsole/hub',
      'echo eth0 > dev_name',
      `echo ${ip} > remote_ip`,
      `echo ${port} > remote_port`,
      'echo 1 > extended      # sequence numbers and levels',
      'echo 1 > enabled',
    ].join('\n'),
  };
}

export class EmptyState {
  private readonly root = byId('empty');
  private filled = false;

  /** Shown while the collector has stored nothing. */
  async update(messages: number): Promise<void> {
    this.root.hidden = messages > 0;
    if (messages > 0 || this.filled) return;
    this.filled = true;
    let setup: Setup = { udp: [], addresses: [] };
    try {
      setup = await getJson<Setup>('/api/setup');
    } catch {
      // the page's own host and the default port below
    }
    const { ip, port } = collectorAddress(setup);
    const c = commands(ip, port);
    clear(this.root);
    this.root.append(
      h('h2', {}, 'No kernel has sent anything yet'),
      h('p', {}, `This collector listens for netconsole on UDP port ${port}. On the machine whose kernel log you want here, as root, either load the module with a target (replace eth0 with the interface that reaches ${ip}):`),
      h('pre', { class: 'cmd', 'data-role': 'netconsole-param' }, c.param),
      h('p', {}, 'or, with the module already loaded (or built in), add a target through configfs:'),
      h('pre', { class: 'cmd', 'data-role': 'netconsole-configfs' }, c.configfs),
      h('p', { class: 'muted' }, `On the kernel command line: netconsole=+6665@/eth0,${port}@${ip}/. Lines appear here as they arrive. Press ? for keyboard shortcuts.`),
    );
  }
}
