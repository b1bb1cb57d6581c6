/**
 * Start-up stays fast because main.ts loads only the file of the command being run (src/cli/commands.ts), and
 * cli files load their heavy modules inside the action. These tests check the wiring, not the time.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { COMMANDS, registrationsFor } from '../../src/cli/commands.js';
import { REPO_ROOT } from '../helpers/tools.js';

/** Project files a module loads at start-up: static value imports (not `import type`, not `await import`), transitively. */
function staticClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)) {
      visit(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
    }
    for (const m of text.matchAll(/^import\s+'(\.{1,2}\/[^']+)'/gm)) visit(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  };
  visit(join(REPO_ROOT, entry));
  return [...seen].map((f) => relative(REPO_ROOT, f)).sort();
}

describe('CLI start-up', () => {
  it('main.ts loads no command module and nothing heavy at start-up', () => {
    const loaded = staticClosure('src/cli/main.ts');
    // Error classes the top-level handler maps to exit codes, and the resource lookup --version reads package.json by.
    assert.deepEqual(loaded, [
      'src/cli/commands.ts',
      'src/cli/library-errors.ts',
      'src/cli/main.ts',
      'src/cli/output.ts',
      'src/errors.ts',
      'src/iso/errors.ts',
      'src/resources.ts',
      'src/util/hinted-error.ts',
      'src/util/io-errors.ts',
      'src/version.ts',
    ]);
  });

  it('flash loads the flashing modules only inside its action', () => {
    const loaded = staticClosure('src/cli/flash.ts');
    assert.equal(loaded.filter((f) => f.startsWith('src/usb/') || f.startsWith('src/media/')).length, 0, loaded.join(', '));
  });

  it('every registered command is listed under the file that registers it', async () => {
    const all = new Command();
    for (const c of COMMANDS) {
      const one = new Command();
      (await c.load())(one);
      (await c.load())(all);
      assert.deepEqual(one.commands.map((x) => x.name()).sort(), [...c.names].sort());
    }
    const listed = COMMANDS.flatMap((c) => c.names);
    assert.equal(new Set(listed).size, listed.length, 'a name is listed twice');
    assert.deepEqual(all.commands.map((x) => x.name()).sort(), [...listed].sort());
  });

  it('loads nothing for --version, one file for a command, all for help or a typo', async () => {
    assert.equal((await registrationsFor(['node', 'lifeboat', '--version'])).length, 0);
    assert.equal((await registrationsFor(['node', 'lifeboat', '-V'])).length, 0);
    const flash = await registrationsFor(['node', 'lifeboat', 'flash', 'a.img', '/dev/sdx', '--yes']);
    assert.equal(flash.length, 1);
    const p = new Command();
    flash[0]!(p);
    assert.deepEqual(p.commands.map((c) => c.name()), ['flash']);
    assert.equal((await registrationsFor(['node', 'lifeboat', 'init'])).length, 1);
    assert.equal((await registrationsFor(['node', 'lifeboat', '--help'])).length, COMMANDS.length);
    assert.equal((await registrationsFor(['node', 'lifeboat', 'flsh'])).length, COMMANDS.length);
    assert.equal((await registrationsFor(['node', 'lifeboat'])).length, COMMANDS.length);
  });
});
