/**
 * winpeshl.ini decoding, parsing (hostile input), composing the autostart ini, the wimlib update script, the WIM
 * header reader, and the DISM command lines (DISM cannot run here: its plans are pure functions).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { findWimBackend, withLogging, type WimBackend } from '../../src/wim/backend.js';
import { dismAddPlan, dismMountCommand, dismPath, dismPlanLines, dismReadPlan, dismUnmountCommand } from '../../src/wim/dism.js';
import { checkImageIndex, effectiveBootIndex, parseWimHeader, WIM_HEADER_SIZE } from '../../src/wim/header.js';
import { toImagePath } from '../../src/wim/image-path.js';
import { LAUNCH_CMD, LAUNCH_CMD_PE_PATH, START_CMD } from '../../src/wim/overlay.js';
import { parseWimlibInfo, quoteUpdateArg, wimlibUpdateScript } from '../../src/wim/wimlib.js';
import {
  CMD_EXE, MAX_WINPESHL_APPS, MAX_WINPESHL_BYTES, type ParsedWinpeshl, WPEINIT, composeLaunchApps, composeWinpeshl,
  decodeIni, encodeIni, isVeeamLaunch, isWpeinit, parseWinpeshl, readWinpeshl,
} from '../../src/wim/winpeshl.js';

const VEEAM = 'X:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe';
const LAUNCHER = LAUNCH_CMD_PE_PATH;
const TEXT = `[LaunchApps]\r\n${VEEAM}\r\n%SYSTEMDRIVE%\\Tools\\x.exe, /s "C:\\Program Files\\A, B"\r\n`;

function throwsInput(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, re);
    return true;
  });
}

describe('winpeshl: decoding', () => {
  const expect = TEXT;
  it('UTF-16LE with BOM', () => {
    assert.equal(decodeIni(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')])), expect);
  });
  it('UTF-16BE with BOM', () => {
    const be = Buffer.from(TEXT, 'utf16le').swap16();
    assert.equal(decodeIni(Buffer.concat([Buffer.from([0xfe, 0xff]), be])), expect);
  });
  it('UTF-16LE without BOM (detected by its NULs), UTF-16BE without BOM', () => {
    assert.equal(decodeIni(Buffer.from(TEXT, 'utf16le')), expect);
    assert.equal(decodeIni(Buffer.from(TEXT, 'utf16le').swap16()), expect);
  });
  it('UTF-8 with and without BOM, non-ASCII kept', () => {
    const t = `${TEXT}X:\\Outils\\démarrer.exe\r\n`;
    assert.equal(decodeIni(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(t, 'utf8')])), t);
    assert.equal(decodeIni(Buffer.from(t, 'utf8')), t);
  });
  it('bytes that are not UTF-8 are read as the ANSI code page (Latin-1)', () => {
    assert.equal(decodeIni(Buffer.from('[LaunchApps]\r\nX:\\d\xe9mo.exe\r\n', 'latin1')), '[LaunchApps]\r\nX:\\d\u00e9mo.exe\r\n');
  });
  it('odd-length UTF-16 drops the stray byte; an empty file is empty text', () => {
    const odd = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[LaunchApps]', 'utf16le'), Buffer.from([0x41])]);
    assert.equal(decodeIni(odd), '[LaunchApps]');
    assert.equal(decodeIni(Buffer.alloc(0)), '');
  });
  it('a huge file is refused', () => {
    throwsInput(() => decodeIni(Buffer.alloc(MAX_WINPESHL_BYTES + 1, 0x41)), /refusing/);
  });
  it('encodeIni writes UTF-16LE with BOM and CRLF only', () => {
    const b = encodeIni('a\nb\r\nc\r');
    assert.deepEqual([...b.subarray(0, 2)], [0xff, 0xfe]);
    assert.equal(b.subarray(2).toString('utf16le'), 'a\r\nb\r\nc\r\n');
    assert.equal(decodeIni(b), 'a\r\nb\r\nc\r\n');
  });
});

describe('winpeshl: parsing', () => {
  it('[LaunchApps] with arguments, comments, blank lines and odd spacing', () => {
    const p = parseWinpeshl([
      '; Veeam',
      '',
      '   [ launchAPPS ]   ',
      '\t%SYSTEMROOT%\\System32\\wpeinit.exe   ',
      '; a comment line',
      `  ${VEEAM} ,   -mode recovery  `,
      'X:\\a.exe,',
      '"X:\\Program Files\\b, c.exe", /q',
      '%SYSTEMDRIVE%\\t.exe,/s "C:\\Program Files\\A, B"',
    ].join('\n'));
    assert.equal(p.form, 'LaunchApps');
    assert.deepEqual(p.apps, [
      { path: '%SYSTEMROOT%\\System32\\wpeinit.exe' },
      { path: VEEAM, args: '-mode recovery' },
      { path: 'X:\\a.exe' },
      { path: '"X:\\Program Files\\b, c.exe"', args: '/q' },
      { path: '%SYSTEMDRIVE%\\t.exe', args: '/s "C:\\Program Files\\A, B"' },
    ]);
    assert.deepEqual(p.warnings, []);
  });

  it('[LaunchApp] AppPath form, case-insensitive key and section', () => {
    const p = parseWinpeshl('[launchapp]\r\n  apppath   =   %SYSTEMDRIVE%\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe  \r\n');
    assert.deepEqual(p, { form: 'LaunchApp', apps: [{ path: '%SYSTEMDRIVE%\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe' }], warnings: [] });
  });

  it('garbage lines are skipped with a warning each, and good lines survive', () => {
    const p = parseWinpeshl([
      'stray line before any section',
      '[LaunchApp]',
      'NotAppPath = x.exe',
      'AppPath =',
      '[Other]',
      'ignored.exe',
      '[LaunchApps',
      'in a broken section.exe',
      '[LaunchApps]',
      ', only args',
      'X:\\bell\x07.exe',
      `X:\\${'a'.repeat(5000)}.exe`,
      VEEAM,
      '[LaunchApps]',
      'second-section.exe',
    ].join('\r\n'));
    assert.equal(p.form, 'LaunchApps');
    assert.deepEqual(p.apps, [{ path: VEEAM }]);
    const w = p.warnings.join('\n');
    for (const re of [/line 1: outside any section/, /line 3: \[LaunchApp\] takes only/, /line 4: AppPath is empty/, /line 5: section \[Other\]/,
      /line 7: broken section header/, /line 10: no program/, /line 11: contains control characters/, /line 12: longer than/, /line 14: section \[LaunchApps\] repeated/]) {
      assert.match(w, re);
    }
  });

  it('both sections: [LaunchApps] first, then the AppPath shell, with a warning', () => {
    const p = parseWinpeshl(`[LaunchApp]\nAppPath=X:\\shell.exe\n[LaunchApps]\nX:\\first.exe, -a\n`);
    assert.deepEqual(p.apps, [{ path: 'X:\\first.exe', args: '-a' }, { path: 'X:\\shell.exe' }]);
    assert.match(p.warnings.join('\n'), /both \[LaunchApps\] and \[LaunchApp\]/);
  });

  it('an empty file, or sections without programs, are the "none" form', () => {
    assert.deepEqual(parseWinpeshl(''), { form: 'none', apps: [], warnings: [] });
    const p = parseWinpeshl('[LaunchApps]\r\n; nothing\r\n');
    assert.equal(p.form, 'none');
    assert.match(p.warnings.join('\n'), /startnet\.cmd/);
    assert.deepEqual(readWinpeshl(undefined), { form: 'none', apps: [], warnings: [] });
  });

  it('huge text or too many programs are refused', () => {
    throwsInput(() => parseWinpeshl(`[LaunchApps]\n${'; pad\n'.repeat(MAX_WINPESHL_BYTES / 4)}`), /refusing/);
    throwsInput(() => parseWinpeshl(`[LaunchApps]\n${'X:\\a.exe\n'.repeat(MAX_WINPESHL_APPS + 1)}`), /more than 64 programs/);
  });

  it('recognises Veeam and wpeinit', () => {
    const veeam = (path: string) => isVeeamLaunch({ form: 'LaunchApps', apps: [{ path }], warnings: [] });
    assert.ok(veeam(VEEAM));
    assert.ok(veeam('x:\\veeamrecovery\\Other.exe'));
    assert.ok(veeam('"%SystemDrive%\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe"'));
    assert.ok(veeam('X:/VeeamRecovery/Veeam.Endpoint.Recovery.exe'));
    assert.ok(!veeam('X:\\VeeamRecoveryX\\a.exe'));
    assert.ok(!veeam('C:\\VeeamRecovery\\a.exe'));
    assert.ok(!veeam('X:\\Tools\\VeeamRecovery.exe'));
    assert.ok(isWpeinit({ path: 'wpeinit' }));
    assert.ok(isWpeinit({ path: '"%SYSTEMROOT%\\system32\\WPEINIT.EXE"', args: '-unattend:X:\\u.xml' }));
    assert.ok(!isWpeinit({ path: 'X:\\wpeinit2.exe' }));
  });
});

describe('winpeshl: composing the autostart ini', () => {
  const launcherEntry = { path: CMD_EXE, args: `/c ${LAUNCHER}` };
  const roundTrip = (original: ParsedWinpeshl): ParsedWinpeshl => {
    const bytes = encodeIni(composeWinpeshl(original, LAUNCHER));
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xfe]);
    const text = bytes.subarray(2).toString('utf16le');
    assert.ok(!/[^\r]\n/.test(text), 'CRLF line ends only');
    const back = parseWinpeshl(decodeIni(bytes));
    assert.deepEqual(back.warnings, []);
    assert.equal(back.form, 'LaunchApps');
    return back;
  };

  it('[LaunchApps]: wpeinit, the launcher, then exactly the original programs in order', () => {
    const original = parseWinpeshl(TEXT);
    const back = roundTrip(original);
    assert.deepEqual(back.apps, [{ path: WPEINIT }, launcherEntry, ...original.apps]);
    assert.ok(isVeeamLaunch(back));
  });

  it('[LaunchApp]: the AppPath shell comes last, without arguments', () => {
    const original = parseWinpeshl(`[LaunchApp]\r\nAppPath = ${VEEAM}\r\n`);
    assert.deepEqual(roundTrip(original).apps, [{ path: WPEINIT }, launcherEntry, { path: VEEAM }]);
  });

  it('no winpeshl.ini: ends with cmd /k startnet.cmd so the user still gets a shell', () => {
    const apps = roundTrip(readWinpeshl(undefined)).apps;
    assert.deepEqual(apps, [{ path: WPEINIT }, launcherEntry, { path: CMD_EXE, args: '/k %SYSTEMROOT%\\System32\\startnet.cmd' }]);
  });

  it('an original that runs wpeinit keeps its own (with its arguments) and gets no second one', () => {
    const original = parseWinpeshl(`[LaunchApps]\r\nwpeinit, -unattend:X:\\u.xml\r\n${VEEAM}\r\n`);
    const apps = roundTrip(original).apps;
    assert.deepEqual(apps, [{ path: 'wpeinit', args: '-unattend:X:\\u.xml' }, launcherEntry, { path: VEEAM }]);
    assert.equal(apps.filter(isWpeinit).length, 1);
    // a program before wpeinit stays before it; the launcher still waits for network init
    const late = parseWinpeshl(`[LaunchApps]\r\nX:\\splash.exe\r\nwpeinit.exe\r\n${VEEAM}\r\n`);
    assert.deepEqual(roundTrip(late).apps, [{ path: 'X:\\splash.exe' }, { path: 'wpeinit.exe' }, launcherEntry, { path: VEEAM }]);
  });

  it('removing the launcher entry gives back exactly the original list (plus our wpeinit)', () => {
    for (const text of [TEXT, `[LaunchApp]\nAppPath=${VEEAM}`, '[LaunchApps]\nwpeinit\nX:\\a.exe, 1\nX:\\b.exe, 2\nX:\\c.exe']) {
      const original = parseWinpeshl(text);
      const apps = roundTrip(original).apps.filter((a) => a.args !== launcherEntry.args);
      const expected = original.apps.some(isWpeinit) ? original.apps : [{ path: WPEINIT }, ...original.apps];
      assert.deepEqual(apps, expected);
    }
  });

  it('is idempotent on media Lifeboat already patched', () => {
    const once = composeWinpeshl(parseWinpeshl(TEXT), LAUNCHER);
    const twice = composeLaunchApps(parseWinpeshl(once), LAUNCHER);
    assert.deepEqual(twice, parseWinpeshl(once).apps);
  });

  it('refuses an unusable launcher path', () => {
    throwsInput(() => composeWinpeshl(parseWinpeshl(TEXT), ''), /launcher path/);
    throwsInput(() => composeWinpeshl(parseWinpeshl(TEXT), 'X:\\a\r\nX:\\evil.exe'), /launcher path/);
  });
});

describe('wim: overlay scripts', () => {
  for (const [name, path] of [['launch.cmd', LAUNCH_CMD], ['start.cmd', START_CMD]] as const) {
    it(`${name} has CRLF line ends only and no non-ASCII bytes`, () => {
      const b = readFileSync(path);
      assert.ok(b.length > 0);
      assert.ok(!/[^\r]\n/.test(b.toString('latin1')) && !b.toString('latin1').startsWith('\n'), 'bare LF found');
      assert.ok(b.toString('latin1').endsWith('\r\n'));
      assert.ok([...b].every((c) => c < 0x80), 'non-ASCII byte (cmd.exe reads the OEM code page)');
    });
  }
  it('launch.cmd looks for assistant.exe and site.json, passes --media, always exits 0', () => {
    const t = readFileSync(LAUNCH_CMD, 'latin1');
    assert.match(t, /if exist "%%D:\\lifeboat\\assistant\.exe" if exist "%%D:\\lifeboat\\site\.json"/);
    assert.match(t, /"%LB_DRIVE%\\lifeboat\\assistant\.exe" --media %LB_DRIVE%\\/);
    assert.match(t, /not found/);
    assert.match(t, /error code %LB_RC%/);
    const exits = t.match(/^exit .*$/gim) ?? [];
    assert.deepEqual(exits.map((e) => e.trim()), ['exit /b 0']);
  });
  it('start.cmd runs the assistant next to it', () => {
    assert.match(readFileSync(START_CMD, 'latin1'), /"%~dp0assistant\.exe" --media %~d0\\/);
  });
});

describe('wim: wimlib-imagex command file and info', () => {
  it('quotes paths with spaces and quotes; refuses what it cannot quote', () => {
    assert.equal(quoteUpdateArg('/tmp/a b/c.cmd'), '"/tmp/a b/c.cmd"');
    assert.equal(quoteUpdateArg('/tmp/it"s'), `'/tmp/it"s'`);
    throwsInput(() => quoteUpdateArg(`/tmp/"it's"`), /both kinds of quote/);
    throwsInput(() => quoteUpdateArg('/tmp/a\nb'), /line break/);
  });
  it('one add line per file, targets normalised', () => {
    assert.equal(
      wimlibUpdateScript([
        { source: "/tmp/x y/launch.cmd", target: '\\lifeboat\\launch.cmd' },
        { source: "C:\\Users\\Jo's\\winpeshl.ini", target: 'Windows/System32/winpeshl.ini' },
      ]),
      `add "/tmp/x y/launch.cmd" "/lifeboat/launch.cmd"\nadd "C:\\Users\\Jo's\\winpeshl.ini" "/Windows/System32/winpeshl.ini"\n`,
    );
  });
  it('image paths: normalised, no escapes out of the image', () => {
    assert.equal(toImagePath('Windows\\System32\\\\winpeshl.ini'), '/Windows/System32/winpeshl.ini');
    for (const bad of ['', '/', '/a/../b', './a', 'C:/x', 'a\nb', 'a"b', 'a*']) throwsInput(() => toImagePath(bad), /image path/);
  });
  it('parses wimlib-imagex info', () => {
    const out = 'WIM Information:\n----------------\nPath:           a.wim\nImage Count:    2\nBoot Index:     2\nSize: 3 bytes\n';
    assert.deepEqual(parseWimlibInfo(out), { bootIndex: 2, imageCount: 2 });
    assert.throws(() => parseWimlibInfo('garbage'), /Boot Index/);
  });
});

describe('wim: header', () => {
  const header = (o: { magic?: string; size?: number; images?: number; boot?: number; parts?: number } = {}): Buffer => {
    const b = Buffer.alloc(WIM_HEADER_SIZE);
    b.write(o.magic ?? 'MSWIM\0\0\0', 0, 'latin1');
    b.writeUInt32LE(o.size ?? WIM_HEADER_SIZE, 8);
    b.writeUInt32LE(0x10d00, 0x0c);
    b.writeUInt16LE(1, 0x28);
    b.writeUInt16LE(o.parts ?? 1, 0x2a);
    b.writeUInt32LE(o.images ?? 1, 0x2c);
    b.writeUInt32LE(o.boot ?? 1, 0x78);
    return b;
  };
  it('reads image count and boot index', () => {
    const h = parseWimHeader(header({ images: 3, boot: 2 }), 'boot.wim');
    assert.equal(h.imageCount, 3);
    assert.equal(effectiveBootIndex(h, 'boot.wim'), 2);
    assert.equal(effectiveBootIndex({ imageCount: 1, bootIndex: 0 }, 'boot.wim'), 1);
    throwsInput(() => effectiveBootIndex({ imageCount: 2, bootIndex: 0 }, 'boot.wim'), /none is marked bootable/);
    throwsInput(() => checkImageIndex(h, 4, 'boot.wim'), /has no image 4/);
  });
  it('refuses what is not a WIM header', () => {
    throwsInput(() => parseWimHeader(Buffer.alloc(100), 'x.wim'), /only 100 bytes/);
    throwsInput(() => parseWimHeader(header({ magic: 'MZ\0\0\0\0\0\0' }), 'x.wim'), /not a WIM file/);
    throwsInput(() => parseWimHeader(header({ size: 100 }), 'x.wim'), /header size/);
    throwsInput(() => parseWimHeader(header({ images: 0 }), 'x.wim'), /image count 0/);
    throwsInput(() => parseWimHeader(header({ boot: 5 }), 'x.wim'), /boot index 5/);
    throwsInput(() => parseWimHeader(header({ parts: 2 }), 'x.wim'), /split WIM/);
  });
});

describe('wim: DISM command lines', () => {
  it('mount read-only, read, unmount /Discard', () => {
    const plan = dismReadPlan('C:\\Build Dir\\boot.wim', 1, 'C:\\Temp\\lb mount\\', '/Windows/System32/winpeshl.ini');
    assert.deepEqual(dismPlanLines(plan), [
      'dism.exe /Mount-Image /ImageFile:"C:\\Build Dir\\boot.wim" /Index:1 /MountDir:"C:\\Temp\\lb mount" /ReadOnly',
      'read "C:\\Temp\\lb mount\\Windows\\System32\\winpeshl.ini"',
      'dism.exe /Unmount-Image /MountDir:"C:\\Temp\\lb mount" /Discard',
    ]);
    assert.deepEqual(plan.onFailure, dismUnmountCommand('C:\\Temp\\lb mount', 'discard'));
  });
  it('mount read-write, copy, unmount /Commit; /Discard on failure', () => {
    const plan = dismAddPlan('D:/work/boot.wim', 2, 'C:\\m', [
      { source: 'C:\\s\\launch.cmd', target: '/lifeboat/launch.cmd' },
      { source: 'C:\\s\\winpeshl.ini', target: '/Windows/System32/winpeshl.ini' },
    ]);
    assert.deepEqual(dismPlanLines(plan), [
      'dism.exe /Mount-Image /ImageFile:"D:\\work\\boot.wim" /Index:2 /MountDir:"C:\\m"',
      'copy "C:\\s\\launch.cmd" "C:\\m\\lifeboat\\launch.cmd"',
      'copy "C:\\s\\winpeshl.ini" "C:\\m\\Windows\\System32\\winpeshl.ini"',
      'dism.exe /Unmount-Image /MountDir:"C:\\m" /Commit',
    ]);
    assert.deepEqual(plan.onFailure.args, ['/Unmount-Image', '/MountDir:"C:\\m"', '/Discard']);
  });
  it('refuses paths and indexes it cannot put on a command line', () => {
    throwsInput(() => dismPath('C:\\a"b'), /DISM/);
    throwsInput(() => dismMountCommand('C:\\boot.wim', 0, 'C:\\m', true), /index 0/);
    throwsInput(() => dismAddPlan('C:\\boot.wim', 1, 'C:\\m', [{ source: 'C:\\x', target: '/../x' }]), /image path/);
    assert.equal(dismPath('C:\\'), 'C:\\');
  });
});

describe('wim: backend selection and logging', () => {
  const fake = (name: 'wimlib-imagex' | 'dism', ok: boolean, calls: string[] = []): WimBackend => ({
    name,
    available: async () => ok,
    bootIndex: async () => { calls.push('bootIndex'); return 1; },
    readFile: async () => { calls.push('readFile'); throw new InputError('boom\nsecond line'); },
    addFiles: async () => { calls.push('addFiles'); },
  });
  it('prefers wimlib-imagex, falls back to DISM on Windows only, honours a preference', async () => {
    const w = fake('wimlib-imagex', false);
    const d = fake('dism', true);
    assert.equal(await findWimBackend(undefined, { platform: 'win32', candidates: [w, d] }), d);
    assert.equal(await findWimBackend(undefined, { platform: 'linux', candidates: [w, d] }), undefined);
    const w2 = fake('wimlib-imagex', true);
    assert.equal(await findWimBackend(undefined, { platform: 'win32', candidates: [w2, d] }), w2);
    assert.equal(await findWimBackend('dism', { platform: 'win32', candidates: [w2, d] }), d);
    assert.equal(await findWimBackend('wimlib-imagex', { platform: 'win32', candidates: [w, d] }), undefined);
    await assert.rejects(findWimBackend('7z'), InputError);
  });
  it('the logging decorator reports calls and failures and passes results through', async () => {
    const lines: string[] = [];
    const calls: string[] = [];
    const b = withLogging(fake('wimlib-imagex', true, calls), (l) => lines.push(l));
    assert.equal(await b.bootIndex('boot.wim'), 1);
    await assert.rejects(b.readFile('boot.wim', 1, '/x'), /boom/);
    await b.addFiles('boot.wim', 1, [{ source: 's', target: '/t' }]);
    assert.deepEqual(calls, ['bootIndex', 'readFile', 'addFiles']);
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /^wim\(wimlib-imagex\): boot index of boot\.wim: 1 \(\d+ ms\)$/);
    assert.match(lines[1] ?? '', /read \/x from boot\.wim #1: failed after \d+ ms: boom$/);
    assert.match(lines[2] ?? '', /add \/t to boot\.wim #1: done/);
  });
});
