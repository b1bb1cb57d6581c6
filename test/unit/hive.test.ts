/** The registry hive reader used for SYSTEM\Setup\CmdLine: real layout, both name encodings, hostile bytes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { readHiveString } from '../../src/wim/hive.js';
import { buildHive } from '../helpers/regf.js';

describe('registry hive: one string value', () => {
  it('reads Setup\\CmdLine with compressed and with UTF-16 names, case-insensitively', () => {
    for (const utf16Names of [false, true]) {
      const hive = buildHive('Setup', { SetupType: '2', CmdLine: 'X:\\VeeamRecovery\\Veeam.exe /x' }, { utf16Names });
      assert.equal(readHiveString(hive, 'Setup', 'CmdLine', 'SYSTEM'), 'X:\\VeeamRecovery\\Veeam.exe /x');
      assert.equal(readHiveString(hive, 'SETUP', 'cmdline', 'SYSTEM'), 'X:\\VeeamRecovery\\Veeam.exe /x');
      assert.equal(readHiveString(hive, 'Setup', 'SetupType', 'SYSTEM'), '2');
      assert.equal(readHiveString(hive, 'Setup', 'Missing', 'SYSTEM'), undefined);
      assert.equal(readHiveString(hive, 'Other', 'CmdLine', 'SYSTEM'), undefined);
    }
  });

  it('not a hive, truncated or with flipped bytes: a value, nothing, or an InputError naming the file', () => {
    assert.throws(() => readHiveString(Buffer.alloc(8192), 'Setup', 'CmdLine', 'SYSTEM'), (e: unknown) => e instanceof InputError && /SYSTEM: damaged registry hive/.test(e.message));
    const hive = buildHive('Setup', { CmdLine: 'winpeshl.exe' });
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let refused = 0;
    for (let i = 0; i < 500; i++) {
      const m = i % 5 === 0 ? hive.subarray(0, Math.floor(rnd() * hive.length)) : Buffer.from(hive);
      if (i % 5 !== 0) for (let k = 0; k < 4; k++) m[4096 + Math.floor(rnd() * (m.length - 4096))] = Math.floor(rnd() * 256);
      try {
        const v = readHiveString(m, 'Setup', 'CmdLine', 'SYSTEM');
        assert.ok(v === undefined || typeof v === 'string');
      } catch (e) {
        assert.ok(e instanceof InputError, String(e));
        refused++;
      }
    }
    assert.ok(refused > 0);
  });
});
