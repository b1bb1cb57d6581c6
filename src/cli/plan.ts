/** `lifeboat plan`: NAS capacity, restore times and RPO feasibility per server. */
import type { Command } from 'commander';
import { loadSite } from '../site/index.js';
import { formatGb } from '../veeam/capacity.js';
import { planSite } from '../veeam/feasibility.js';
import { bold, dim, green, printJson, red, say, yellow } from './output.js';

/** The capacity inputs as people call them (the JSON keeps the field names). */
const INPUT_LABELS: Record<string, string> = {
  dataBytes: 'data to restore',
  fullBytes: 'full backup',
  dailyChangeBytes: 'daily change',
  retentionDays: 'days kept',
  reduction: 'saved by compression and deduplication',
  padFraction: 'safety pad on the increments',
};

/** The assumptions every server shares (only when there is more than one server). */
function commonAssumptions(perServer: readonly (readonly string[])[]): string[] {
  if (perServer.length < 2) return [];
  return [...new Set(perServer[0])].filter((a) => perServer.every((list) => list.includes(a)));
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .requiredOption('--site <file>', 'the site description (site.yaml)')
    .option('--share <path>', 'the backup share as mounted here: measure sizes, change and durations from the backups')
    .option('--json', 'print the plan as JSON on stdout')
    .description('NAS capacity (daily change x days kept x (1 - reduction) + 10% + full), restore time and RPO feasibility per server')
    .addHelpText('after', '\nExamples:\n  lifeboat plan --site site.yaml\n  lifeboat plan --site site.yaml --share /mnt/veeam --json')
    .action(async (opts: { site: string; share?: string; json?: boolean }) => {
      const site = await loadSite(opts.site);
      const plan = await planSite(site, { share: opts.share });
      if (opts.json) {
        printJson(plan);
        return;
      }
      say(`${bold(plan.site.name)}: RPO ${plan.rpoHours} hours, ${plan.retentionDays} days kept, link ${plan.linkGbps} Gbit/s`);
      say(dim(`capacity = ${plan.capacity.formula}`));
      // An assumption that holds for every server is said once, here; the others with their server.
      const everyServer = commonAssumptions(plan.servers.map((s) => [...s.capacity.assumptions, ...s.feasibility.assumptions]));
      if (everyServer.length) say(dim(`assumed for every server: ${everyServer.join('; ')}`));
      for (const s of plan.servers) {
        say('');
        say(`${bold(s.server)} (${s.basis === 'share' ? 'measured on the share' : 'estimated from site.yaml'}); schedule: ${s.schedule.summary}`);
        say(`  capacity: ${s.capacity.formula}`);
        for (const [name, input] of Object.entries(s.capacity.inputs)) {
          const value = input.unit === 'bytes' ? formatGb(input.value) : input.unit === 'days' ? `${input.value} days` : `${(input.value * 100).toFixed(1)}%`;
          say(dim(`    ${INPUT_LABELS[name] ?? name}: ${value} (${input.source}: ${input.note})`));
        }
        for (const a of s.capacity.assumptions) if (!everyServer.includes(a)) say(dim(`    assumed: ${a}`));
        say(`  restore:  ${s.restore.sentence}`);
        const v = s.feasibility.verdict;
        say(`  backup:   ${(v === 'ok' ? green : v === 'tight' ? yellow : red)(v)}: ${s.feasibility.sentence}`);
        for (const a of s.feasibility.assumptions) if (!everyServer.includes(a)) say(dim(`    assumed: ${a}`));
      }
      say('');
      say(`${bold('NAS total')}: ${formatGb(plan.capacity.totalBytes)} (full ${formatGb(plan.capacity.fullBytes)} + increments ${formatGb(plan.capacity.incrementsBytes)} + pad ${formatGb(plan.capacity.padBytes)})`);
      say(`${bold('all servers restored one after another')}: ${plan.restoreAll.text}`);
      if (plan.share) {
        for (const m of plan.share.missing) say(`${yellow('note:')} no backup of ${m} on the share: estimated from site.yaml`);
        for (const u of plan.share.unknown) say(`${yellow('note:')} backups of ${u} on the share are not in site.yaml`);
      }
    });
}
