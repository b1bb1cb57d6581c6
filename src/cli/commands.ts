/**
 * Every command and the file that registers it, in the order `--help` lists them. main.ts loads only the file of
 * the command being run, so start-up stays near bare Node's and each command loads only what it uses. A new
 * command file needs one line here (test/unit/cli-startup.test.ts fails when a registered name is missing).
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export const COMMANDS: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['schema', 'init'], load: async () => (await import('./site.js')).registerSite },
  { names: ['build'], load: async () => (await import('./build.js')).registerBuild },
  { names: ['verify'], load: async () => (await import('./verify.js')).registerVerify },
  { names: ['flash'], load: async () => (await import('./flash.js')).registerFlash },
  { names: ['iso'], load: async () => (await import('./iso.js')).registerIso },
  { names: ['manual'], load: async () => (await import('./manual.js')).registerManual },
  { names: ['assistant'], load: async () => (await import('./assistant.js')).registerAssistant },
  { names: ['demo'], load: async () => (await import('./demo.js')).registerDemo },
  { names: ['backup-setup'], load: async () => (await import('./backup-setup.js')).registerBackupSetup },
  { names: ['backup'], load: async () => (await import('./backup.js')).registerBackup },
  { names: ['audit'], load: async () => (await import('./audit.js')).registerAudit },
  { names: ['plan'], load: async () => (await import('./plan.js')).registerPlan },
  { names: ['wim'], load: async () => (await import('./wim.js')).registerWim },
];

/**
 * The register functions `argv` (process.argv: node, script, args...) needs: none for a bare `--version`, the one
 * file of a known command, else (no command, `help`, a typo) all of them so help and suggestions are complete.
 */
export async function registrationsFor(argv: readonly string[]): Promise<Register[]> {
  const args = argv.slice(2);
  const first = args.find((a) => !a.startsWith('-'));
  if (first === undefined && args.length > 0 && args.every((a) => a === '-V' || a === '--version')) return [];
  const wanted = COMMANDS.filter((c) => c.names.includes(first ?? ''));
  return Promise.all((wanted.length > 0 ? wanted : COMMANDS).map((c) => c.load()));
}
