/**
 * WinPePlatform driven by a fake runner that answers with the captured outputs of test/fixtures/winpe/: the exact
 * command lines it runs (diskpart script text, reg keys, netsh and net use argv), what it makes of the outputs, and
 * that the share password reaches only net.exe's argv, never the returned output or the log.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { InputError, JobError } from '../../src/errors.js';
import { Secret } from '../../src/secrets/secret.js';
import {
  type CommandLogEntry,
  type RunRequest,
  type RunResponse,
  WinPeParseError,
  WinPePlatform,
  type WinPePlatformOptions,
} from '../../src/platform/winpe/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'winpe');
const GB = 2 ** 30;
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8').replace(/\n/g, '\r\n');

interface Call extends RunRequest {
  /** The diskpart script's text, read while diskpart "runs". */
  script?: string;
}

type Answer = Partial<RunResponse> | ((call: Call) => Partial<RunResponse>);

/** A runner answering each command line (file + args joined by spaces) from a table; unknown commands fail the test. */
class FakeRunner {
  readonly calls: Call[] = [];
  readonly answers: [RegExp | string, Answer][] = [];

  on(command: RegExp | string, answer: Answer): this {
    this.answers.push([command, answer]);
    return this;
  }

  run = async (request: RunRequest): Promise<RunResponse> => {
    const call: Call = { ...request, args: [...request.args] };
    if (request.file === 'diskpart.exe') {
      assert.equal(request.args[0], '/s');
      call.script = readFileSync(request.args[1]!, 'utf8');
    }
    this.calls.push(call);
    const line = [request.file, ...request.args].join(' ');
    const key = request.file === 'diskpart.exe' ? `diskpart.exe ${call.script!.trim().replace(/\r\n/g, '; ')}` : line;
    const found = this.answers.find(([pattern]) => (typeof pattern === 'string' ? pattern === key : pattern.test(key)));
    assert.ok(found, `unexpected command: ${key}`);
    const answer = typeof found[1] === 'function' ? found[1](call) : found[1];
    return { exitCode: 0, stdout: '', stderr: '', timedOut: false, ...answer };
  };

  lines(): string[] {
    return this.calls.map((c) => [c.file, ...c.args].join(' '));
  }
}

let tempDir: string;
before(async () => {
  tempDir = await mkdtemp(join(tmpdir(), 'lifeboat-winpe-test-'));
});
after(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

function platform(runner: FakeRunner, options: Partial<WinPePlatformOptions> = {}): { pe: WinPePlatform; log: CommandLogEntry[] } {
  const log: CommandLogEntry[] = [];
  const pe = new WinPePlatform({
    mediaRoot: 'D:\\',
    runner: runner.run,
    log: (entry) => log.push(entry),
    tempDir,
    totalMemory: () => 64 * GB,
    cpuCount: () => 16,
    pathExists: async () => false,
    ...options,
  });
  return { pe, log };
}

describe('WinPePlatform: basics', () => {
  it('kind, roots, clock', () => {
    const now = new Date('2025-03-04T09:00:00Z');
    const { pe } = platform(new FakeRunner(), { now: () => now });
    assert.equal(pe.kind, 'winpe');
    assert.equal(pe.mediaRoot, 'D:\\');
    assert.equal(pe.scratchRoot, 'X:\\');
    assert.equal(pe.now(), now);
  });
});

describe('WinPePlatform: machine', () => {
  const control = 'reg.exe query HKLM\\System\\CurrentControlSet\\Control /v PEFirmwareType';
  const bios = 'reg.exe query HKLM\\HARDWARE\\DESCRIPTION\\System\\BIOS';

  it('a Dell booted UEFI: UpdateBootInfo first, then PEFirmwareType, then the BIOS key', async () => {
    const runner = new FakeRunner()
      .on('wpeutil.exe UpdateBootInfo', {})
      .on(control, { stdout: fixture('reg-pefirmwaretype-uefi.txt') })
      .on(bios, { stdout: fixture('reg-bios-dell.txt') });
    const { pe, log } = platform(runner);
    assert.deepEqual(await pe.machine(), {
      firmware: 'uefi',
      manufacturer: 'Dell Inc.',
      model: 'PowerEdge R740',
      biosVendor: 'Dell Inc.',
      ramBytes: 64 * GB,
      cpus: 16,
    });
    assert.deepEqual(runner.lines(), ['wpeutil.exe UpdateBootInfo', control, bios]);
    assert.ok(runner.calls.every((c) => c.timeoutMs > 0 && !c.interactive));
    assert.deepEqual(log.map((e) => e.command), runner.lines());
  });

  for (const [file, firmware, hypervisor] of [
    ['reg-bios-vmware.txt', 'bios', 'esxi'],
    ['reg-bios-hyperv.txt', 'uefi', 'hyperv'],
    ['reg-bios-qemu.txt', 'uefi', 'kvm'],
    ['reg-bios-virtualbox.txt', 'bios', 'virtualbox'],
  ] as const) {
    it(`${file}: ${firmware}, ${hypervisor}`, async () => {
      const runner = new FakeRunner()
        .on('wpeutil.exe UpdateBootInfo', {})
        .on(control, { stdout: fixture(firmware === 'uefi' ? 'reg-pefirmwaretype-uefi.txt' : 'reg-pefirmwaretype-bios.txt') })
        .on(bios, { stdout: fixture(file) });
      const machine = await platform(runner).pe.machine();
      assert.equal(machine.firmware, firmware);
      assert.equal(machine.hypervisor, hypervisor);
    });
  }

  it('PEFirmwareType missing (not Windows PE): a JobError that says what to do', async () => {
    const runner = new FakeRunner()
      .on('wpeutil.exe UpdateBootInfo', { exitCode: 1, stdout: '' })
      .on(control, { exitCode: 1, stderr: fixture('reg-not-found.txt') });
    await assert.rejects(platform(runner).pe.machine(), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.match(error.message, /PEFirmwareType is missing/);
      assert.match(error.hint ?? '', /firmware setup/);
      return true;
    });
  });

  it('a German Windows PE stops with a parse error, not a guess', async () => {
    const runner = new FakeRunner()
      .on('wpeutil.exe UpdateBootInfo', {})
      .on(control, { exitCode: 1, stderr: fixture('reg-not-found-german.txt') });
    await assert.rejects(platform(runner).pe.machine(), WinPeParseError);
  });

  it('missing BIOS strings read as Unknown', async () => {
    const runner = new FakeRunner()
      .on('wpeutil.exe UpdateBootInfo', {})
      .on(control, { stdout: fixture('reg-pefirmwaretype-bios.txt') })
      .on(bios, { exitCode: 1, stderr: fixture('reg-not-found.txt') });
    const machine = await platform(runner).pe.machine();
    assert.deepEqual([machine.manufacturer, machine.model, machine.biosVendor, machine.hypervisor], ['Unknown', 'Unknown', undefined, undefined]);
  });
});

describe('WinPePlatform: disks', () => {
  it('Dell: one list, one detail script for every disk with media, the USB stick holds the boot media', async () => {
    const runner = new FakeRunner()
      .on('diskpart.exe list disk', { stdout: fixture('diskpart-list-disk-dell.txt') })
      .on(/^diskpart\.exe select disk 0/, { stdout: fixture('diskpart-detail-dell.txt') });
    const { pe, log } = platform(runner);
    const disks = await pe.disks();
    assert.equal(runner.calls.length, 2);
    assert.equal(runner.calls[0]!.script, 'list disk\r\n');
    // The empty card reader (No Media, 0 B) is left out.
    assert.equal(runner.calls[1]!.script, 'select disk 0\r\ndetail disk\r\nselect disk 1\r\ndetail disk\r\nselect disk 2\r\ndetail disk\r\nselect disk 3\r\ndetail disk\r\n');
    assert.ok(runner.calls.every((c) => c.file === 'diskpart.exe' && c.args.length === 2 && c.timeoutMs > 0));
    assert.deepEqual(disks, [
      {
        number: 0,
        sizeBytes: 1117 * GB,
        bus: 'RAID',
        model: 'DELL PERC H730P Mini SCSI Disk Device',
        partitionStyle: 'GPT',
        holdsBootMedia: false,
        volumes: [
          { letter: 'C', sizeBytes: 1116 * GB, fs: 'NTFS' },
          { label: 'Recovery', sizeBytes: 529 * 2 ** 20, fs: 'NTFS' },
          { sizeBytes: 100 * 2 ** 20, fs: 'FAT32' },
        ],
      },
      {
        number: 1,
        sizeBytes: 14 * GB,
        bus: 'USB',
        model: 'SanDisk Cruzer Blade USB Device',
        partitionStyle: 'MBR',
        holdsBootMedia: true,
        volumes: [{ letter: 'D', label: 'LIFEBOAT', sizeBytes: 14 * GB, fs: 'FAT32' }],
      },
      { number: 2, sizeBytes: 931 * GB, bus: 'SATA', model: 'WDC WD1003FBYZ-010FB0', partitionStyle: 'MBR', holdsBootMedia: false, volumes: [] },
      { number: 3, sizeBytes: 10 * 2 ** 40, bus: 'SAS', model: 'SEAGATE ST10000NM0226 SCSI Disk Device', partitionStyle: 'GPT', holdsBootMedia: false, volumes: [] },
    ]);
    // The script is in the log; its temporary folder is gone.
    assert.equal(log[1]!.script, runner.calls[1]!.script);
    assert.ok(!existsSync(runner.calls[0]!.args[1]!));
    assert.deepEqual(await readdir(tempDir), []);
  });

  it('Hyper-V booted from DVD: no disk holds the media, the blank disk is RAW', async () => {
    const runner = new FakeRunner()
      .on('diskpart.exe list disk', { stdout: fixture('diskpart-list-disk-hyperv.txt') })
      .on('diskpart.exe select disk 0; detail disk; select disk 1; detail disk', { stdout: fixture('diskpart-detail-hyperv.txt') });
    const disks = await platform(runner, { mediaRoot: 'E:\\' }).pe.disks();
    assert.deepEqual(
      disks.map((d) => [d.number, d.sizeBytes / GB, d.bus, d.model, d.partitionStyle, d.holdsBootMedia, d.volumes.length]),
      [
        [0, 127, 'SCSI', 'Msft Virtual Disk', 'GPT', false, 3],
        [1, 40, 'SCSI', 'Msft Virtual Disk', 'RAW', false, 0],
      ],
    );
  });

  it('the media letter alone marks the disk, without the Boot Disk flag', async () => {
    const runner = new FakeRunner()
      .on('diskpart.exe list disk', { stdout: fixture('diskpart-list-disk-hyperv.txt') })
      .on(/^diskpart\.exe select/, { stdout: fixture('diskpart-detail-hyperv.txt') });
    const disks = await platform(runner, { mediaRoot: 'c:\\' }).pe.disks();
    assert.deepEqual(disks.map((d) => d.holdsBootMedia), [true, false]);
  });

  it('no disks (storage driver missing): an empty list and no second diskpart run', async () => {
    const runner = new FakeRunner().on('diskpart.exe list disk', { stdout: fixture('diskpart-list-disk-none.txt') });
    assert.deepEqual(await platform(runner).pe.disks(), []);
    assert.equal(runner.calls.length, 1);
  });

  it('a disk that vanished before its detail keeps its list data', async () => {
    const runner = new FakeRunner()
      .on('diskpart.exe list disk', { stdout: fixture('diskpart-list-disk-hyperv.txt') })
      .on(/^diskpart\.exe select/, { stdout: fixture('diskpart-detail-disk-invalid.txt'), exitCode: 0 });
    const disks = await platform(runner).pe.disks();
    assert.deepEqual(disks.map((d) => [d.bus, d.model, d.volumes.length]), [
      ['Unknown', 'Unknown disk', 0],
      ['Unknown', 'Unknown disk', 0],
    ]);
  });

  it('diskpart failing is a JobError; German output a parse error', async () => {
    const failing = new FakeRunner().on('diskpart.exe list disk', { exitCode: undefined, spawnError: 'spawn diskpart.exe ENOENT' });
    await assert.rejects(platform(failing).pe.disks(), JobError);
    const german = new FakeRunner().on('diskpart.exe list disk', { stdout: fixture('diskpart-list-disk-german.txt') });
    await assert.rejects(platform(german).pe.disks(), WinPeParseError);
  });

  it('diskpart runs one at a time', async () => {
    let running = 0;
    let most = 0;
    const runner = new FakeRunner().on('diskpart.exe list volume', () => ({ stdout: fixture('diskpart-list-volume.txt') }));
    const slow = runner.run;
    runner.run = async (request) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      try {
        return await slow(request);
      } finally {
        running--;
      }
    };
    const { pe } = platform(runner);
    await Promise.all([pe.diskpart(['list volume']), pe.diskpart(['list volume']), pe.diskpart(['list volume'])]);
    assert.equal(most, 1);
    assert.equal(runner.calls.length, 3);
  });
});

describe('WinPePlatform: network', () => {
  it('nics: ipconfig /all, two adapters, one disconnected', async () => {
    const runner = new FakeRunner().on('ipconfig.exe /all', { stdout: fixture('ipconfig-all-two-adapters.txt') });
    assert.deepEqual(await platform(runner).pe.nics(), [
      {
        name: 'Ethernet',
        description: 'Intel(R) Ethernet Controller X710 for 10GbE SFP+',
        mac: '24-6E-96-1A-2B-3C',
        connected: true,
        dhcp: true,
        ipv4: ['10.20.30.57'],
        gateway: '10.20.30.1',
        dns: ['10.20.30.10', '10.20.30.11'],
      },
      { name: 'Ethernet 2', description: 'Broadcom NetXtreme Gigabit Ethernet', mac: 'B0-83-FE-D4-E5-F6', connected: false, dhcp: true, ipv4: [] },
    ]);
  });

  it('nics: an APIPA address is no address, placeholder DNS servers are dropped', async () => {
    const runner = new FakeRunner().on('ipconfig.exe /all', { stdout: fixture('ipconfig-all-hyperv-apipa.txt') });
    assert.deepEqual(await platform(runner).pe.nics(), [
      { name: 'Ethernet', description: 'Microsoft Hyper-V Network Adapter', mac: '00-15-5D-01-02-03', connected: true, dhcp: true, ipv4: [] },
    ]);
  });

  it('nics: tunnels left out, IPv4 gateway from the continuation line', async () => {
    const runner = new FakeRunner().on('ipconfig.exe /all', { stdout: fixture('ipconfig-all-static.txt') });
    const nics = await platform(runner).pe.nics();
    assert.equal(nics.length, 1);
    assert.deepEqual([nics[0]!.gateway, nics[0]!.dhcp, nics[0]!.dns], ['192.168.50.1', false, ['192.168.50.5', '192.168.50.6', 'fd12:3456:789a:1::5']]);
  });

  it('nics: German ipconfig is a parse error', async () => {
    const runner = new FakeRunner().on('ipconfig.exe /all', { stdout: fixture('ipconfig-all-german.txt') });
    await assert.rejects(platform(runner).pe.nics(), WinPeParseError);
  });

  it('initNetwork: wpeutil InitializeNetwork', async () => {
    const runner = new FakeRunner().on('wpeutil.exe InitializeNetwork', {});
    assert.deepEqual(await platform(runner).pe.initNetwork(), { ok: true, code: 0, output: '' });
  });

  it('setStaticIpv4: netsh address then dnsservers, the connection name as one argv element', async () => {
    const runner = new FakeRunner().on(/^netsh\.exe /, {});
    const result = await platform(runner).pe.setStaticIpv4({ nic: 'Ethernet 2', address: '192.168.1.50', mask: '255.255.255.0', gateway: '192.168.1.1', dns: '192.168.1.10' });
    assert.equal(result.ok, true);
    assert.deepEqual(runner.calls.map((c) => c.args), [
      ['interface', 'ipv4', 'set', 'address', 'name=Ethernet 2', 'static', '192.168.1.50', '255.255.255.0', '192.168.1.1'],
      ['interface', 'ipv4', 'set', 'dnsservers', 'name=Ethernet 2', 'static', '192.168.1.10', 'primary', 'validate=no'],
    ]);
  });

  it('setStaticIpv4: without gateway and DNS one command; a failure stops before DNS', async () => {
    const runner = new FakeRunner().on(/^netsh\.exe /, { exitCode: 1, stdout: 'The filename, directory name, or volume label syntax is incorrect.\r\n' });
    const result = await platform(runner).pe.setStaticIpv4({ nic: 'Ethernet', address: '10.0.0.5', mask: '255.0.0.0', dns: '10.0.0.1' });
    assert.deepEqual([result.ok, result.code], [false, 1]);
    assert.deepEqual(runner.lines(), ['netsh.exe interface ipv4 set address name=Ethernet static 10.0.0.5 255.0.0.0']);
  });

  it('setStaticIpv4: refuses what is not an address before running anything', async () => {
    const runner = new FakeRunner();
    const { pe } = platform(runner);
    for (const bad of [
      { nic: 'Ethernet', address: '192.168.1.256', mask: '255.255.255.0' },
      { nic: 'Ethernet', address: '10.0.0.1', mask: '255.0.0.0 gateway=1.1.1.1' },
      { nic: 'Ethernet', address: '10.0.0.1', mask: '255.0.0.0', gateway: '10.0.0' },
      { nic: 'Eth" static', address: '10.0.0.1', mask: '255.0.0.0' },
    ]) {
      await assert.rejects(pe.setStaticIpv4(bad), InputError);
    }
    assert.equal(runner.calls.length, 0);
  });

  it('tcpReachable: a real listener answers, a closed port does not', async () => {
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    // No tcpProbe given: the real node:net probe.
    const real = new WinPePlatform({ mediaRoot: 'D:\\', runner: new FakeRunner().run });
    try {
      assert.equal(await real.tcpReachable('127.0.0.1', port, 2000), true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.equal(await real.tcpReachable('127.0.0.1', port, 2000), false);
  });
});

describe('WinPePlatform: shares', () => {
  const password = 'S3cret!pass word';
  const unc = '\\\\nas01\\backup';

  it('connects on Z: with the password only in argv; output and log are redacted', async () => {
    const runner = new FakeRunner().on(/^net\.exe use Z: /, { stdout: `${fixture('net-use-success.txt')}echo of ${password}\r\n` });
    const { pe, log } = platform(runner);
    const result = await pe.connectShare(unc, 'CORP\\svc-restore', new Secret(password));
    assert.deepEqual(result, { ok: true, root: 'Z:\\' });
    assert.deepEqual(runner.calls[0]!.args, ['use', 'Z:', unc, '/user:CORP\\svc-restore', '/persistent:no', password]);
    const logged = JSON.stringify(log);
    assert.ok(!logged.includes(password), logged);
    assert.ok(!logged.includes('S3cret'), 'no fragment of the password');
    assert.match(log[0]!.command, /^net\.exe use Z: \\\\nas01\\backup \/user:CORP\\svc-restore \/persistent:no \*\*\*$/);
    assert.match(log[0]!.output, /echo of \*\*\*/);
  });

  it('skips drive letters in use and the media letter', async () => {
    const taken = new Set(['Z:\\', 'Y:\\', 'W:\\', 'V:\\', 'U:\\', 'T:\\', 'S:\\', 'R:\\', 'Q:\\', 'P:\\', 'O:\\', 'N:\\', 'M:\\', 'L:\\', 'K:\\', 'J:\\', 'I:\\', 'H:\\', 'G:\\']);
    // Media on F:, scratch on X:: the first free letter is E:.
    const runner = new FakeRunner().on(/^net\.exe use E: /, { stdout: fixture('net-use-success.txt') });
    const { pe } = platform(runner, { mediaRoot: 'F:\\', pathExists: async (p) => taken.has(p) });
    assert.deepEqual(await pe.connectShare(unc, 'u', new Secret('p')), { ok: true, root: 'E:\\' });
    assert.equal(runner.calls.length, 1);
  });

  const failures: [string, number, RegExp][] = [
    ['net-use-error-53.txt', 53, /network path was not found/],
    ['net-use-error-67.txt', 67, /network name cannot be found/],
    ['net-use-error-86.txt', 86, /password is not correct/],
    ['net-use-error-1326.txt', 1326, /user name or password is incorrect/],
    ['net-use-error-1326-legacy.txt', 1326, /Logon failure/],
    ['net-use-error-1219.txt', 1219, /Multiple connections/],
    ['net-use-error-1272.txt', 1272, /guest access/],
    ['net-use-helpmsg-2250.txt', 2250, /could not be found/],
  ];
  for (const [file, code, message] of failures) {
    it(`${file} -> code ${code}`, async () => {
      const runner = new FakeRunner().on(/^net\.exe use /, { exitCode: 2, stderr: fixture(file) });
      const result = await platform(runner).pe.connectShare(unc, 'CORP\\svc', new Secret(password));
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.code, code);
      assert.match(result.message, message);
      assert.equal(runner.calls.length, 1);
    });
  }

  it('85 (letter already in use) tries the next letter', async () => {
    const runner = new FakeRunner()
      .on(/^net\.exe use Z: /, { exitCode: 2, stderr: fixture('net-use-error-85.txt') })
      .on(/^net\.exe use Y: /, { stdout: fixture('net-use-success.txt') });
    assert.deepEqual(await platform(runner).pe.connectShare(unc, 'u', new Secret(password)), { ok: true, root: 'Y:\\' });
    assert.deepEqual(runner.calls.map((c) => c.args[1]), ['Z:', 'Y:']);
  });

  it('German output: code -1 and the first lines, never a guessed code', async () => {
    const runner = new FakeRunner().on(/^net\.exe use /, { exitCode: 2, stderr: fixture('net-use-german.txt') });
    const result = await platform(runner).pe.connectShare(unc, 'u', new Secret(password));
    assert.deepEqual(result, { ok: false, code: -1, message: 'net use failed (exit code 2): Systemfehler 53 aufgetreten.\nDer Netzwerkpfad wurde nicht gefunden.' });
  });

  it('a password net.exe would misread is refused without running net', async () => {
    const runner = new FakeRunner();
    for (const bad of ['/delete', '*']) {
      const result = await platform(runner).pe.connectShare(unc, 'u', new Secret(bad));
      assert.equal(result.ok, false);
    }
    assert.equal(runner.calls.length, 0);
  });

  it('refuses what is not a UNC path', async () => {
    await assert.rejects(platform(new FakeRunner()).pe.connectShare('nas01\\backup', 'u', new Secret('p')), InputError);
  });

  it('disconnect uses the letter it mapped, or the UNC path', async () => {
    const runner = new FakeRunner()
      .on(/^net\.exe use Z: \\\\nas01/, { stdout: fixture('net-use-success.txt') })
      .on('net.exe use Z: /delete /y', { stdout: fixture('net-use-delete.txt') })
      .on('net.exe use \\\\nas02\\x /delete /y', { exitCode: 2, stderr: fixture('net-use-helpmsg-2250.txt') });
    const { pe } = platform(runner);
    await pe.connectShare(unc, 'u', new Secret(password));
    await pe.disconnectShare('\\\\NAS01\\Backup');
    await pe.disconnectShare('\\\\nas02\\x');
    assert.deepEqual(runner.lines().slice(1), ['net.exe use Z: /delete /y', 'net.exe use \\\\nas02\\x /delete /y']);
  });
});

describe('WinPePlatform: drivers, programs, restored Windows', () => {
  it('loadDriver: drvload with the INF as one argument', async () => {
    const inf = 'X:\\lifeboat\\drivers\\kvm\\vioscsi\\w10\\amd64\\vioscsi.inf';
    const runner = new FakeRunner().on(`drvload.exe ${inf}`, { stdout: fixture('drvload-success.txt') });
    const result = await platform(runner).pe.loadDriver(inf);
    assert.deepEqual([result.ok, result.code], [true, 0]);
    assert.match(result.output, /Successfully loaded/);
    assert.deepEqual(runner.calls[0]!.args, [inf]);
  });

  it('loadDriver: a reported failure is not ok, even with exit code 0', async () => {
    const runner = new FakeRunner().on(/^drvload\.exe /, { stdout: fixture('drvload-file-missing.txt') });
    const result = await platform(runner).pe.loadDriver('X:\\lifeboat\\drivers\\kvm\\NetKVM\\w10\\amd64\\netkvm.inf');
    assert.deepEqual([result.ok, result.code], [false, 0]);
    assert.match(result.output, /0x80070002/);
  });

  it('loadDriver: unreadable output falls back to the exit code; a timeout says so', async () => {
    const german = new FakeRunner().on(/^drvload\.exe /, { exitCode: 0, stdout: fixture('drvload-german.txt') });
    assert.equal((await platform(german).pe.loadDriver('a.inf')).ok, true);
    const stuck = new FakeRunner().on(/^drvload\.exe /, { exitCode: undefined, timedOut: true });
    const result = await platform(stuck).pe.loadDriver('a.inf');
    assert.deepEqual([result.ok, result.code], [false, -1]);
    assert.match(result.output, /drvload\.exe was stopped after 180 s/);
  });

  it('run: interactive, no time limit', async () => {
    const runner = new FakeRunner().on(/^X:\\VeeamRecovery/, { exitCode: 0 });
    const result = await platform(runner).pe.run('X:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe', ['/mode:bmr']);
    assert.equal(result.ok, true);
    assert.deepEqual([runner.calls[0]!.interactive, runner.calls[0]!.timeoutMs, runner.calls[0]!.args], [true, 0, ['/mode:bmr']]);
  });

  it('commandPrompt: cmd.exe in this console, no time limit; powerOff: wpeutil shutdown', async () => {
    const runner = new FakeRunner().on(/^cmd\.exe \/k /, { exitCode: 0 }).on('wpeutil.exe shutdown', { exitCode: 0 });
    const { pe } = platform(runner);
    assert.equal((await pe.commandPrompt()).ok, true);
    assert.deepEqual([runner.calls[0]!.interactive, runner.calls[0]!.timeoutMs], [true, 0]);
    assert.equal((await pe.powerOff()).ok, true);
    assert.equal(runner.calls[1]!.file, 'wpeutil.exe');
  });

  it('canWrite: a probe file is created and removed; a folder that cannot be written is false; volumeRoot is E:\\', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-canwrite-'));
    try {
      const { pe } = platform(new FakeRunner());
      assert.equal(await pe.canWrite(dir), true);
      assert.deepEqual(await readdir(dir), [], 'the probe is removed');
      assert.equal(await pe.canWrite(join(dir, 'missing', 'deeper')), false);
      assert.equal(pe.volumeRoot('e'), 'E:\\');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('run: a program that cannot start', async () => {
    const runner = new FakeRunner().on(/^missing\.exe/, { exitCode: undefined, spawnError: 'spawn missing.exe ENOENT' });
    const result = await platform(runner).pe.run('missing.exe', []);
    assert.deepEqual([result.ok, result.code], [false, -1]);
    assert.match(result.output, /could not be started: spawn missing\.exe ENOENT/);
  });

  it('windowsVolumes: lettered volumes with the SYSTEM hive check, DVD and X: left out', async () => {
    const runner = new FakeRunner().on('diskpart.exe list volume', { stdout: fixture('diskpart-list-volume.txt') });
    const checked: string[] = [];
    const { pe } = platform(runner, {
      pathExists: async (path) => {
        checked.push(path);
        return path === 'C:\\Windows\\System32\\config\\SYSTEM' || path === 'X:\\Windows\\System32\\config\\SYSTEM';
      },
    });
    assert.deepEqual(await pe.windowsVolumes(), [
      { letter: 'C', root: 'C:\\', label: 'Windows', sizeBytes: 1116 * GB, hasWindows: true },
      { letter: 'D', root: 'D:\\', label: 'LIFEBOAT', sizeBytes: 14 * GB, hasWindows: false },
      { letter: 'F', root: 'F:\\', label: 'Daten', sizeBytes: 931 * GB, hasWindows: false },
      { letter: 'G', root: 'G:\\', sizeBytes: 0, hasWindows: false },
    ]);
    assert.ok(!checked.some((p) => p.startsWith('X:')));
    assert.equal(checked.length, 23, 'C: to Z: without X:');
  });

  it('windowsVolumes: a Windows diskpart does not list still counts', async () => {
    const runner = new FakeRunner().on('diskpart.exe list volume', { exitCode: 1, stdout: '' });
    const { pe } = platform(runner, { pathExists: async (path) => path === 'W:\\Windows\\System32\\config\\SYSTEM' });
    assert.deepEqual(await pe.windowsVolumes(), [{ letter: 'W', root: 'W:\\', hasWindows: true }]);
  });

  it('injectDrivers: dism /Image:W:\\ /Add-Driver /Driver:<dir> /Recurse', async () => {
    const runner = new FakeRunner().on(/^dism\.exe /, { stdout: 'The operation completed successfully.\r\n' });
    const { pe } = platform(runner);
    await pe.injectDrivers('W:', 'D:\\lifeboat\\drivers\\kvm');
    await pe.injectDrivers('w:\\Windows', 'D:\\lifeboat\\drivers\\hyper v');
    assert.deepEqual(runner.calls.map((c) => c.args), [
      ['/Image:W:\\', '/Add-Driver', '/Driver:D:\\lifeboat\\drivers\\kvm', '/Recurse'],
      ['/Image:W:\\', '/Add-Driver', '/Driver:D:\\lifeboat\\drivers\\hyper v', '/Recurse'],
    ]);
    await assert.rejects(pe.injectDrivers('Windows', 'D:\\x'), InputError);
  });

  it('repairBoot: bcdboot W:\\Windows /f UEFI or BIOS', async () => {
    const runner = new FakeRunner().on(/^bcdboot\.exe /, { stdout: 'Boot files successfully created.\r\n' });
    const { pe } = platform(runner);
    const uefi = await pe.repairBoot('W:\\', 'uefi');
    await pe.repairBoot('c:', 'bios');
    assert.deepEqual(uefi, { ok: true, code: 0, output: 'Boot files successfully created.\r\n' });
    assert.deepEqual(runner.lines(), ['bcdboot.exe W:\\Windows /f UEFI', 'bcdboot.exe C:\\Windows /f BIOS']);
  });
});
