/** `lifeboat build`: the site's recovery media (ISO + USB image) from a Veeam recovery ISO. */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { type BuildReport, type BuildSecrets, buildMedia } from '../media/build.js';
import {
  ENV_SHARE_PASSWORD, ENV_UNLOCK, Secret, checkPassphrase, generateRecoveryCode, getSecret,
} from '../secrets/index.js';
import type { Site } from '../site/index.js';
import { resourcePath } from '../resources.js';
import { parseDate } from './common.js';
import { bold, formatBytes, printJson, say, warn, yellow } from './output.js';
import { progressMeter } from './progress.js';

/** build/assistant.exe (from the repository, or unpacked from the release exe): called only when a build needs it. */
export const assistantExe = (): string => resourcePath('build/assistant.exe');

export interface BuildCliOptions {
  site: string;
  base: string;
  out: string;
  usb: boolean;
  autostart: boolean;
  promptBoot: boolean;
  force?: boolean;
  driversOutsideSite?: boolean;
  generateCode?: boolean;
  passwordFile?: string;
  unlockFile?: string;
  backupPasswordFile?: string;
  date?: string;
  json?: boolean;
  wimTool?: string;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .requiredOption('--site <file>', 'the site description (site.yaml)')
    .requiredOption('--base <iso>', "Veeam Agent's recovery ISO")
    .requiredOption('--out <dir>', 'output folder (created if missing)')
    .option('--no-usb', 'skip the USB image')
    .option('--no-autostart', 'do not make the assistant start by itself (leaves boot.wim as it is)')
    .option('--wim-tool <name>', 'WIM engine for the autostart: lifeboat (built in, the default), wimlib-imagex or dism')
    .option('--no-prompt-boot', 'remove "Press any key to boot from CD" for unattended VM/BMC boots (needs efisys_noprompt.bin on the base)')
    .option('--generate-code', 'unlock with a generated recovery code (printed once here and on the manual\'s sealed page) instead of a passphrase')
    .option('--password-file <file>', `share password from a file (else ${ENV_SHARE_PASSWORD}, else a prompt)`)
    .option('--unlock-file <file>', `unlock passphrase from a file (else ${ENV_UNLOCK}, else a prompt)`)
    .option('--backup-password-file <file>', 'Veeam backup encryption password to carry in the vault (optional)')
    .option('--force', 'accept generic Windows PE media that does not start Veeam Recovery')
    .option('--drivers-outside-site', "take driver folders that lie outside site.yaml's folder (refused by default)")
    .option('--date <when>', 'fixed build date (reproducible file dates)')
    .option('--json', 'print the build report as JSON on stdout')
    .description('build the site\'s recovery media: <site>.iso, <site>-usb.img, checksums and a build report')
    .addHelpText('after', [
      '',
      'Secrets never come from the command line: the share password and the unlock passphrase are read from',
      `--password-file/--unlock-file, from ${ENV_SHARE_PASSWORD}/${ENV_UNLOCK}, or asked for on the terminal.`,
      'They end up only in the encrypted vault on the media.',
      '',
      'Example:',
      '  lifeboat build --site site.yaml --base VeeamRecoveryMedia.iso --out dist --generate-code',
    ].join('\n'))
    .action(async (opts: BuildCliOptions) => {
      let recoveryCode: Secret | undefined;
      const meter = progressMeter('  ');
      const { report, files } = await buildMedia({
        siteFile: opts.site,
        base: opts.base,
        outDir: resolve(opts.out),
        assistantExe: assistantExe(),
        usb: opts.usb,
        autostart: opts.autostart,
        ...(opts.wimTool === undefined ? {} : { wimTool: opts.wimTool }),
        noPromptBoot: !opts.promptBoot,
        force: opts.force,
        driversOutsideSite: opts.driversOutsideSite,
        date: parseDate(opts.date),
        secrets: async (site) => {
          const secrets = await askSecrets(site, opts);
          if (secrets.unlockKind === 'recovery-code') recoveryCode = new Secret(secrets.unlock.reveal()); // the build wipes its copy
          return secrets;
        },
        onStage: (s) => {
          meter.end();
          say(`${bold('•')} ${s}`);
        },
        onProgress: meter.update,
      });
      meter.end();
      if (recoveryCode) showRecoveryCode(recoveryCode);
      if (opts.json) printJson(report);
      else printSummary(report, files);
    });
}

async function askSecrets(site: Site, opts: BuildCliOptions): Promise<BuildSecrets> {
  const account = site.share.domain ? `${site.share.domain}\\${site.share.user}` : site.share.user;
  const sharePassword = await getSecret({
    what: 'share password', file: opts.passwordFile, fileOption: '--password-file', envVar: ENV_SHARE_PASSWORD,
    promptMessage: `Password of ${account} for ${site.share.path}`, confirmMessage: 'The same password again',
    warn,
  });
  let unlock: Secret;
  if (opts.generateCode) {
    unlock = generateRecoveryCode();
  } else {
    const context = { siteName: site.site.name, siteId: site.site.id, user: site.share.user, domain: site.share.domain, words: site.servers.map((s) => s.name) };
    unlock = await getSecret({
      what: 'unlock passphrase', file: opts.unlockFile, fileOption: '--unlock-file', envVar: ENV_UNLOCK,
      promptMessage: 'Unlock passphrase for the media (the technician types it at restore time)', confirmMessage: 'The same passphrase again',
      validate: (s) => {
        const verdict = checkPassphrase(s, context);
        return verdict.ok ? true : `${verdict.reason} (or use --generate-code for a recovery code)`;
      },
      warn,
    });
  }
  const veeamEncryptionPassword = opts.backupPasswordFile
    ? await getSecret({ what: 'backup encryption password', file: opts.backupPasswordFile, fileOption: '--backup-password-file', envVar: 'LIFEBOAT_BACKUP_PASSWORD', interactive: false, warn })
    : undefined;
  return { sharePassword, unlock, unlockKind: opts.generateCode ? 'recovery-code' : 'passphrase', veeamEncryptionPassword };
}

function showRecoveryCode(code: Secret): void {
  say('');
  say(bold('Recovery code (shown once; it is also printed on the manual\'s sealed page):'));
  say(`    ${yellow(code.reveal())}`);
  say('Store it apart from the media. Without it the share credentials on the media cannot be unlocked.');
  say('');
}

function printSummary(report: BuildReport, files: string[]): void {
  say('');
  say(`${bold('Built')} ${report.buildId} for ${report.site.name} (${report.site.servers.join(', ')})`);
  for (const o of report.outputs) say(`  ${join(resolve(files[0]!, '..'), o.file)}  ${formatBytes(o.bytes)}`);
  say(`  autostart: ${report.autostart.enabled ? `yes (${report.autostart.tool})` : `no: ${report.autostart.reason}`}`);
  say(`  USB image: ${report.usb.built ? (report.usb.bios ? 'UEFI and BIOS' : `UEFI only: ${report.usb.reason}`) : 'not built'}`);
  for (const w of report.warnings) warn(w);
}
