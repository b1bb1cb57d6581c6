/**
 * Which server to restore. With the share connected: the servers on it with their newest point, its age and
 * chain health. Without it (not unlocked, share refused, no backups found): the servers of site.yaml, so the disk
 * plan and the hand-over card still follow and Veeam shows the restore points.
 */
import { discoverChains } from '../../veeam/discover.js';
import { checkChainHealth, formatAge } from '../../veeam/health.js';
import { groupServers } from '../../veeam/model.js';
import { BACK } from '../ui.js';
import { type Context, type Outcome, type Step, pointTime } from '../context.js';
import { whatNow } from '../what-now.js';

const ROLE_ORDER = ['dc', 'sql', 'exchange', 'file', 'app'];

/** The server chosen from site.yaml's list (no backup read): Veeam shows its points. */
async function fromSiteList(ctx: Context): Promise<Outcome> {
  const { ui, log, media, state } = ctx;
  ui.say(`The backups cannot be read here (${state.shareProblem ?? 'the share is not connected'}): choose the server from the site's list; Veeam shows its restore points.`);
  const servers = [...media.site.servers].sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.name.localeCompare(b.name));
  const choice = await ui.select('Which server do you restore? (domain controller first)', servers.map((s) => ({
    name: `${s.name.padEnd(12)} ${s.role}, ${s.firmware.toUpperCase()}, disks ${s.disks.map((d) => `${d.sizeGb} GB`).join(' + ')}`,
    value: s.name,
  })));
  if (choice === BACK) return 'back';
  state.siteServer = servers.find((s) => s.name === choice);
  state.server = undefined;
  state.chain = undefined;
  state.health = undefined;
  state.point = undefined;
  state.details = undefined;
  log.write(`server ${choice} (from the site list; the share was not read)`);
  return 'next';
}

export const backups: Step = {
  id: 'backups',
  title: 'Backups on the share',
  async run(ctx) {
    const { ui, log, platform, media, state } = ctx;
    const site = media.site;
    if (!state.shareRoot) return fromSiteList(ctx);
    const discovery = await discoverChains(state.shareRoot);
    for (const e of discovery.errors) {
      ui.warn(`Cannot read ${e.file}: ${e.message}`);
      log.write(`catalog: ${e.file}: ${e.message}`);
    }
    if (discovery.chains.length === 0) {
      ui.warn(`No Veeam backups (.vbm files) were found on ${site.share.path}.`);
      ui.say('Check that this is the share the Veeam agents back up to (see the manual). You can still plan the restore here and browse the share in Veeam by hand.');
      log.write('catalog: no backups found');
      const choice = await whatNow(ctx, 'backups', 'What now?', [
        { name: 'Look again', value: 'again', description: 'reads the share again' },
        { name: 'Choose the server from the site\'s list and go on', value: 'list', description: 'the disk plan and hand-over card follow; in Veeam you browse the share by hand' },
      ]);
      if (choice === 'again') return { goto: 'backups' };
      if (choice === 'list') {
        state.shareProblem = 'no Veeam backups were found on the share';
        return fromSiteList(ctx);
      }
      return choice;
    }
    state.chains = [...discovery.chains];
    const catalog = groupServers(discovery.chains.map((c) => c.chain), site.servers);
    const role = (name: string) => ROLE_ORDER.indexOf(site.servers.find((s) => s.name === name)?.role ?? 'app');
    const servers = [...catalog.servers].sort((a, b) => role(a.name) - role(b.name) || a.name.localeCompare(b.name));
    const now = platform.now();
    const health = new Map<string, Awaited<ReturnType<typeof checkChainHealth>>>();
    for (const s of servers) {
      const newest = s.newest;
      if (!newest) continue;
      const located = discovery.chains.find((c) => c.chain === newest.chain)!;
      health.set(s.key, await checkChainHealth(located, { now, rpoHours: site.rpoHours }));
    }
    for (const missing of catalog.missing) ui.warn(`No backup of ${missing.name} on the share.`);
    const choice = await ui.select('Which server do you restore? (domain controller first)', servers.map((s) => {
      const h = health.get(s.key);
      const age = h?.newestAgeHours === undefined ? 'age unknown' : `${formatAge(h.newestAgeHours)} old`;
      const flag = !h ? 'no restore points' : !h.chainOk ? 'BACKUP CHAIN DAMAGED' : !h.rpoMet ? `older than the ${site.rpoHours} h RPO` : 'healthy';
      return { name: `${s.name.padEnd(12)} newest ${s.newest ? pointTime(s.newest.point) : '-'} (${age}), ${flag}`, value: s.key };
    }));
    if (choice === BACK) return 'back';
    const server = servers.find((s) => s.key === choice)!;
    const h = health.get(server.key);
    state.server = server;
    state.siteServer = site.servers.find((s) => s.name.toUpperCase() === server.name.toUpperCase());
    state.health = h;
    state.chain = server.newest ? discovery.chains.find((c) => c.chain === server.newest!.chain) : undefined;
    log.write(`server ${server.name}: newest ${server.newest?.point.label}, chainOk=${h?.chainOk} rpoMet=${h?.rpoMet}`);
    return 'next';
  },
};
