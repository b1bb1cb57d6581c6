/**
 * Every `{ goto: '<id>' }` a step returns names a step that exists, and step ids are unique: a jump to a step that
 * was renamed or removed fails here, not in front of a technician at restore time. (The runner would otherwise
 * find no step and stop.) The step sources are read as text, so a goto on any path is checked, taken or not.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { STEPS } from '../../src/assistant/run.js';
import { REPO_ROOT } from '../helpers/tools.js';

test('step ids are unique and every goto names one of them', async () => {
  const ids = STEPS.map((s) => s.id);
  assert.equal(new Set(ids).size, ids.length, `duplicate step ids: ${ids.join(', ')}`);
  const dir = join(REPO_ROOT, 'src', 'assistant');
  const files = [...(await readdir(join(dir, 'steps'))).map((f) => join(dir, 'steps', f)), join(dir, 'run.ts')];
  let gotos = 0;
  for (const file of files.filter((f) => f.endsWith('.ts'))) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/goto:\s*(['"`])([^'"`]*)\1/g)) {
      gotos++;
      assert.ok(ids.includes(m[2]!), `${file}: goto '${m[2]}' names no step (steps: ${ids.join(', ')})`);
    }
    assert.doesNotMatch(text, /goto:\s*[^'"`\s{}.]/, `${file}: a goto whose target is not a literal cannot be checked`);
  }
  assert.ok(gotos > 0, 'the check found the gotos it is meant to check');
});
