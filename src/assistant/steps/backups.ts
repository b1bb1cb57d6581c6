/** Step 7: the servers on the share with their newest point, its age and chain health; pick server and point. */
import { discoverChains } from '../../veeam/discover.js';
import { checkChainHealth, formatAge } from '../../veeam/health.js';
import { groupServers, pointDetails } from '../../veeam/model.js';
import { BACK } from '../ui.js';
import type { Step } from '../context.js';

const ROLE_ORDER = ['dc', 'sql', 'exchange', 'file', 'app'];

export const backups: Step = {
  id: 'backups',
  title: 'Backups on the share',
  async run({ ui, log, platform, media, state }) {
    const site = media.site.site;
    const discovery = await discoverChains(state.shareRoot!);
    for (const e of discovery.errors) {
      ui.warn(`Cannot read ${e.file}: ${e.message}`);
      log.write(`catalog: ${e.file}: ${e.message}`);
    }
    if (discovery.chains.length === 0) {
      ui.warn(`No Veeam backups (.vbm files) were found on ${site.share.path}.`);
      ui.say('Check that this is the share the Veeam agents back up to (see the manual), then connect it by hand in Veeam.');
      log.write('catalog: no backups found');
      const choice = await ui.select('What now?', [
        { name: 'Look again', value: 'again' },
        { name: 'Open Veeam Recovery and browse the share by hand', value: 'veeam' },
      ]);
      if (choice === BACK) return 'back';
      return choice === 'again' ? { goto: 'backups' } : { goto: 'handover' };
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
      return { name: `${s.name.padEnd(12)} newest ${s.newest?.point.label ?? '-'} (${age}), ${flag}`, value: s.key };
    }));
    if (choice === BACK) return 'back';
    const server = servers.find((s) => s.key === choice)!;
    const h = health.get(server.key)!;
    state.server = server;
    state.health = h;
    state.chain = discovery.chains.find((c) => c.chain === server.newest!.chain);
    for (const f of h.findings.filter((f) => f.severity !== 'info')) ui.warn(f.message);
    log.write(`server ${server.name}: newest ${server.newest?.point.label}, chainOk=${h.chainOk} rpoMet=${h.rpoMet}`);

    const points = [...h.points].reverse().slice(0, 20);
    const newestRestorable = h.newestRestorable;
    const point = await ui.select('Which restore point? (the newest good one is preselected)', points.map((p) => ({
      name: `${p.point.label}  ${p.point.type === 'full' ? 'full     ' : 'increment'}${p.restorable ? '' : '  NOT RESTORABLE'}`,
      value: p.point.id,
      disabled: p.restorable ? false : (p.findings[0]?.message ?? 'not restorable'),
    })), newestRestorable?.id);
    if (point === BACK) return { goto: 'backups' };
    state.point = h.points.find((p) => p.point.id === point)!.point;
    state.details = pointDetails(state.point);
    log.write(`restore point ${state.point.label} (${state.point.type}, ${state.point.storageFile ?? '?'})`);
    return 'next';
  },
};
