/** `lifeboat assistant --simulate SCENARIO`: the restore assistant on a training scenario, on any machine. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { runAssistant } from '../assistant/run.js';
import { ConsoleUi } from '../assistant/ui.js';
import { InputError } from '../errors.js';
import { resourcePath } from '../resources.js';
import { SimulatedPlatform } from '../platform/simulated/simulated-platform.js';

export function registerAssistant(program: Command): void {
  program
    .command('assistant')
    .option('--simulate <scenario>', 'a scenario folder (examples/scenarios/...): machine, disks, network and share to play')
    .option('--keep <dir>', 'keep the simulated media and share in DIR, to read the session log and report afterwards')
    .description('run the restore assistant: inside Windows PE it starts from the media; here, --simulate trains on a scenario')
    .addHelpText('after', [
      '',
      'Scenarios (examples/scenarios/): healthy-physical, p2v-kvm, domain-controller-hyperv, broken-chain,',
      'wrong-firmware, firmware-check-vm, share-unreachable, bad-password, read-only-share, data-loss, no-backups,',
      'disk-too-small, only-boot-disk.',
      'Their unlock passphrase is in examples/scenarios/README.md. Esc goes back one step at every prompt;',
      'Ctrl+C ends the assistant (exit code 130) without changing anything.',
      '',
      'Example:',
      '  lifeboat assistant --simulate examples/scenarios/healthy-physical',
    ].join('\n'))
    .action(async (opts: { simulate?: string; keep?: string }) => {
      if (!opts.simulate) {
        throw new InputError('the assistant runs inside Windows PE, started from the recovery media', 'To train on this machine, give a scenario: lifeboat assistant --simulate examples/scenarios/healthy-physical');
      }
      const platform = await SimulatedPlatform.start(await scenarioFolder(opts.simulate), { work: opts.keep && resolve(opts.keep) });
      let code: number;
      try {
        code = await runAssistant(platform, new ConsoleUi());
      } finally {
        if (!opts.keep) await platform.dispose();
      }
      // Ctrl+C (130): a step may still wait on a timer; the one line is written, so end here. Other codes are the
      // session's outcome (0: ended normally, whatever the restore found).
      if (code !== 0) process.exit(code);
    });
}

/** A scenario as given: a folder, or a bare name from the help's list (a folder of examples/scenarios/). */
async function scenarioFolder(given: string): Promise<string> {
  if (/[\\/]/.test(given) || (await stat(resolve(given, 'scenario.json')).catch(() => undefined))) return given;
  const bundled = resourcePath(`examples/scenarios/${given}`);
  return (await stat(resolve(bundled, 'scenario.json')).catch(() => undefined)) ? bundled : given;
}
