/**
 * The Windows PE output parsers on captured samples in test/fixtures/winpe/, in both line-ending forms (the tools print
 * CRLF; the fixture files are stored with LF), including the odd ones: no disks, an offline disk, an empty card
 * reader, a 10 TB GPT disk, a blank virtual disk, APIPA, a disconnected NIC, German output (which must fail clearly).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  describeDrvloadError,
  hresultText,
  hypervisorFrom,
  ipv4Gateway,
  parseDiskpartDetailDisk,
  parseDiskpartDetailScript,
  parseDiskpartListDisk,
  parseDiskpartListVolume,
  parseDrvload,
  parseIpconfigAll,
  parseNetUse,
  parseRegQuery,
  parseSizeText,
  regDword,
  regString,
  regValue,
  tryParseSizeText,
  WinPeParseError,
} from '../../src/platform/winpe/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'winpe');
const GB = 2 ** 30;
const MB = 2 ** 20;
const TB = 2 ** 40;

/** A fixture as stored (LF) and as the tool prints it (CRLF). */
function variants(name: string): { label: string; text: string }[] {
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  return [
    { label: 'LF', text },
    { label: 'CRLF', text: text.replace(/\n/g, '\r\n') },
  ];
}

/** Runs `check` on both line-ending variants of a fixture. */
function eachVariant(name: string, check: (text: string) => void): void {
  for (const { label, text } of variants(name)) {
    it(`${name} (${label})`, () => check(text));
  }
}

function throwsParse(fn: () => unknown, tool: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof WinPeParseError, `expected WinPeParseError, got ${String(error)}`);
    assert.match(error.tool, tool);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /could not read the output of/);
    assert.match(error.hint ?? '', /English/);
    return true;
  });
}

describe('fixtures', () => {
  it('every fixture is used by this file or the platform test', () => {
    const here = readFileSync(new URL(import.meta.url), 'utf8');
    const platform = readFileSync(join(import.meta.dirname, 'winpe-platform.test.ts'), 'utf8');
    for (const name of readdirSync(FIXTURES)) {
      assert.ok(here.includes(`'${name}'`) || platform.includes(`'${name}'`), `${name} is not used by any test`);
    }
  });
});

describe('parseSizeText', () => {
  const cases: [string, number][] = [
    ['238 GB', 238 * GB],
    ['931 GB', 931 * GB],
    ['512 MB', 512 * MB],
    ['1863 GB', 1863 * GB],
    ['10 TB', 10 * TB],
    ['0 B', 0],
    ['1024 KB', 1024 * 1024],
    ['  14 GB', 14 * GB],
    ['7680 MB', 7680 * MB],
    ['1.5 GB', 1.5 * GB],
  ];
  for (const [text, bytes] of cases) it(`"${text}"`, () => assert.equal(parseSizeText(text), bytes));
  it('refuses what is not a diskpart size', () => {
    for (const bad of ['', 'GB', '238', '238,5 GB', '238 GiB', 'twelve GB', '-1 GB']) {
      assert.equal(tryParseSizeText(bad), undefined, bad);
      throwsParse(() => parseSizeText(bad), /diskpart/);
    }
  });
});

describe('parseDiskpartListDisk', () => {
  eachVariant('diskpart-list-disk-dell.txt', (text) => {
    const disks = parseDiskpartListDisk(text);
    assert.deepEqual(disks, [
      { number: 0, status: 'Online', sizeBytes: 1117 * GB, freeBytes: 1024 * 1024, dynamic: false, gpt: true, selected: false },
      { number: 1, status: 'Online', sizeBytes: 14 * GB, freeBytes: 0, dynamic: false, gpt: false, selected: false },
      { number: 2, status: 'Offline', sizeBytes: 931 * GB, freeBytes: 931 * GB, dynamic: false, gpt: false, selected: false },
      { number: 3, status: 'Online', sizeBytes: 10 * TB, freeBytes: 10 * TB, dynamic: false, gpt: true, selected: false },
      { number: 4, status: 'No Media', sizeBytes: 0, freeBytes: 0, dynamic: false, gpt: false, selected: false },
    ]);
  });
  eachVariant('diskpart-list-disk-hyperv.txt', (text) => {
    const disks = parseDiskpartListDisk(text);
    assert.deepEqual(
      disks.map((d) => [d.number, d.sizeBytes / GB, d.gpt]),
      [
        [0, 127, true],
        [1, 40, false],
      ],
    );
  });
  eachVariant('diskpart-list-disk-nvme-selected.txt', (text) => {
    const disks = parseDiskpartListDisk(text);
    assert.equal(disks.length, 3);
    assert.deepEqual(disks[0], { number: 0, status: 'Online', sizeBytes: 465 * GB, freeBytes: 1024 * 1024, dynamic: false, gpt: true, selected: true });
    // Dyn and Gpt are told apart by column, not by counting stars.
    assert.deepEqual([disks[1]!.dynamic, disks[1]!.gpt, disks[1]!.sizeBytes], [true, false, 1863 * GB]);
    assert.deepEqual([disks[2]!.selected, disks[2]!.sizeBytes], [false, 7680 * MB]);
  });
  eachVariant('diskpart-list-disk-none.txt', (text) => {
    assert.deepEqual(parseDiskpartListDisk(text), []);
  });
  eachVariant('diskpart-list-disk-german.txt', (text) => {
    throwsParse(() => parseDiskpartListDisk(text), /diskpart list disk/);
  });
  it('refuses a table with unexpected columns', () => {
    const text = '  Disk ###  Status         Size     Free\n  --------  -------------  -------  -------\n  Disk 0    Online          238 GB      0 B\n';
    throwsParse(() => parseDiskpartListDisk(text), /list disk/);
  });
  it('refuses a row that is not a disk', () => {
    const text = readFileSync(join(FIXTURES, 'diskpart-list-disk-hyperv.txt'), 'utf8').replace('Disk 1  ', 'Disque 1');
    throwsParse(() => parseDiskpartListDisk(text), /list disk/);
  });
  it('refuses empty output', () => throwsParse(() => parseDiskpartListDisk(''), /list disk/));
});

describe('parseDiskpartDetailDisk / parseDiskpartDetailScript', () => {
  eachVariant('diskpart-detail-dell.txt', (text) => {
    const details = parseDiskpartDetailScript(text);
    assert.deepEqual([...details.keys()], [0, 1, 2, 3]);
    const perc = details.get(0)!;
    assert.equal(perc.model, 'DELL PERC H730P Mini SCSI Disk Device');
    assert.equal(perc.bus, 'RAID');
    assert.equal(perc.diskId, '{5C0D3F1A-8B2E-4C71-9E6D-2A4B7F90C1E3}');
    assert.equal(perc.bootDisk, false);
    assert.equal(perc.locationPath, 'PCIROOT(0)#PCI(0200)#PCI(0000)#RAID(P00T00L00)');
    assert.deepEqual(perc.volumes, [
      { number: 0, letter: 'C', fs: 'NTFS', type: 'Partition', sizeBytes: 1116 * GB, status: 'Healthy', selected: false },
      { number: 1, label: 'Recovery', fs: 'NTFS', type: 'Partition', sizeBytes: 529 * MB, status: 'Healthy', info: 'Hidden', selected: false },
      { number: 2, fs: 'FAT32', type: 'Partition', sizeBytes: 100 * MB, status: 'Healthy', info: 'Hidden', selected: false },
    ]);
    const usb = details.get(1)!;
    assert.deepEqual([usb.model, usb.bus, usb.diskId, usb.bootDisk, usb.pagefileDisk], ['SanDisk Cruzer Blade USB Device', 'USB', '6F2B1A40', true, false]);
    assert.deepEqual(usb.volumes.map((v) => [v.letter, v.label, v.fs, v.type, v.sizeBytes]), [['D', 'LIFEBOAT', 'FAT32', 'Removable', 14 * GB]]);
    const offline = details.get(2)!;
    assert.deepEqual([offline.status, offline.fields['Offline Reason'], offline.bus, offline.volumes], ['Offline', 'Offline by Policy', 'SATA', []]);
    const big = details.get(3)!;
    assert.deepEqual([big.model, big.bus, big.volumes.length], ['SEAGATE ST10000NM0226 SCSI Disk Device', 'SAS', 0]);
  });
  eachVariant('diskpart-detail-hyperv.txt', (text) => {
    const details = parseDiskpartDetailScript(text);
    assert.deepEqual([details.get(0)!.model, details.get(0)!.bus, details.get(0)!.volumes.length], ['Msft Virtual Disk', 'SCSI', 3]);
    assert.deepEqual([details.get(1)!.model, details.get(1)!.diskId, details.get(1)!.volumes], ['Msft Virtual Disk', '00000000', []]);
    assert.equal(details.get(0)!.volumes[2]!.label, 'Recovery');
  });
  eachVariant('diskpart-detail-disk-nvme.txt', (text) => {
    const detail = parseDiskpartDetailDisk(text);
    assert.equal(detail.number, 0);
    assert.equal(detail.model, 'Samsung SSD 970 EVO Plus 500GB');
    assert.equal(detail.bus, 'NVMe');
    assert.deepEqual([detail.bootDisk, detail.pagefileDisk, detail.hibernationFileDisk, detail.crashdumpDisk, detail.clusteredDisk, detail.readOnly], [false, true, false, true, false, false]);
    assert.deepEqual(detail.volumes[0], { number: 1, letter: 'C', label: 'Windows', fs: 'NTFS', type: 'Partition', sizeBytes: 464 * GB, status: 'Healthy', info: 'Pagefile', selected: false });
    assert.deepEqual(detail.volumes.map((v) => v.label), ['Windows', 'Recovery', 'SYSTEM']);
    assert.equal(detail.fields['Current Read-only State'], 'No');
    assert.equal(detail.fields['LUN ID'], '0');
  });
  eachVariant('diskpart-detail-disk-invalid.txt', (text) => {
    // The disk went away between `list disk` and `select disk`: no detail for it, no guess.
    assert.equal(parseDiskpartDetailScript(text).size, 0);
    throwsParse(() => parseDiskpartDetailDisk(text), /detail disk/);
  });
  it('refuses output without a disk', () => {
    throwsParse(() => parseDiskpartDetailScript('Leaving DiskPart...\n'), /diskpart/);
    throwsParse(() => parseDiskpartDetailDisk('\nThere is no disk selected.\n'), /detail disk/);
  });
  it('refuses a detail without its volume table or "There are no volumes."', () => {
    const text = readFileSync(join(FIXTURES, 'diskpart-detail-disk-nvme.txt'), 'utf8').split('  Volume ###')[0]!;
    throwsParse(() => parseDiskpartDetailDisk(text), /detail disk/);
  });
  it('refuses a German detail disk', () => {
    const german = 'Datenträger 0 ist jetzt der gewählte Datenträger.\n\nMsft Virtual Disk\nDatenträger-ID: {0B6C2E9D-51F3-4A8B-B7C4-6D2E1F0A9B38}\nTyp    : SCSI\n';
    throwsParse(() => parseDiskpartDetailDisk(german), /detail disk/);
  });
});

describe('parseDiskpartListVolume', () => {
  eachVariant('diskpart-list-volume.txt', (text) => {
    const volumes = parseDiskpartListVolume(text);
    assert.equal(volumes.length, 7);
    assert.deepEqual(volumes[0], { number: 0, letter: 'E', label: 'VEEAM_RECOV', fs: 'UDF', type: 'DVD-ROM', sizeBytes: 913 * MB, status: 'Healthy', selected: false });
    assert.deepEqual(volumes.map((v) => v.letter ?? '-').join(''), 'EC--DFG');
    assert.deepEqual(volumes[6], { number: 6, letter: 'G', type: 'Removable', sizeBytes: 0, status: 'No Media', selected: false });
    assert.equal(volumes[5]!.label, 'Daten');
  });
  it('"There are no volumes." is an empty list', () => assert.deepEqual(parseDiskpartListVolume('\nThere are no volumes.\n'), []));
  it('refuses other output', () => throwsParse(() => parseDiskpartListVolume('  Volume ###  Bst  Bezeichnung\n'), /list volume/));
});

describe('parseRegQuery', () => {
  eachVariant('reg-pefirmwaretype-uefi.txt', (text) => {
    const result = parseRegQuery(text);
    assert.ok(result.found);
    assert.equal(result.keys[0]!.path, 'HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Control');
    assert.equal(regDword(result, 'PEFirmwareType'), 2);
    assert.equal(regDword(result, 'pefirmwaretype'), 2, 'value names compare case-insensitively');
  });
  eachVariant('reg-pefirmwaretype-bios.txt', (text) => assert.equal(regDword(parseRegQuery(text), 'PEFirmwareType'), 1));
  eachVariant('reg-not-found.txt', (text) => {
    assert.deepEqual(parseRegQuery(text), { found: false, message: 'ERROR: The system was unable to find the specified registry key or value.' });
    assert.equal(regDword(parseRegQuery(text), 'PEFirmwareType'), undefined);
  });
  eachVariant('reg-not-found-german.txt', (text) => throwsParse(() => parseRegQuery(text), /reg query/));
  eachVariant('reg-bios-dell.txt', (text) => {
    const result = parseRegQuery(text);
    assert.deepEqual(
      [regString(result, 'SystemManufacturer'), regString(result, 'SystemProductName'), regString(result, 'BIOSVendor')],
      ['Dell Inc.', 'PowerEdge R740', 'Dell Inc.'],
    );
    assert.equal(regString(result, 'SystemSKU'), 'SKU=NotProvided;ModelName=PowerEdge R740');
    assert.equal(regString(result, 'SystemVersion'), undefined, 'an empty REG_SZ');
    assert.equal(regValue(result, 'SystemVersion')?.raw, '');
    assert.equal(regDword(result, 'EnclosureType'), 0x17);
    assert.equal(regDword(result, 'SystemManufacturer'), undefined, 'not a DWORD');
    assert.ok(result.found);
    assert.equal(result.keys[0]!.values.length, 16);
  });
  const bios: [string, string, string, string, string | undefined][] = [
    ['reg-bios-vmware.txt', 'VMware, Inc.', 'VMware7,1', 'VMware, Inc.', 'esxi'],
    ['reg-bios-hyperv.txt', 'Microsoft Corporation', 'Virtual Machine', 'Microsoft Corporation', 'hyperv'],
    ['reg-bios-qemu.txt', 'QEMU', 'Standard PC (Q35 + ICH9, 2009)', 'EFI Development Kit II / OVMF', 'kvm'],
    ['reg-bios-virtualbox.txt', 'innotek GmbH', 'VirtualBox', 'innotek GmbH', 'virtualbox'],
  ];
  for (const [file, maker, model, vendor, hypervisor] of bios) {
    eachVariant(file, (text) => {
      const result = parseRegQuery(text);
      const got = [regString(result, 'SystemManufacturer'), regString(result, 'SystemProductName'), regString(result, 'BIOSVendor')];
      assert.deepEqual(got, [maker, model, vendor]);
      assert.equal(hypervisorFrom(got[0]!, got[1]!, got[2]), hypervisor);
    });
  }
  eachVariant('reg-query-types.txt', (text) => {
    const result = parseRegQuery(text);
    assert.ok(result.found);
    assert.deepEqual(
      result.keys.map((k) => [k.path.split('\\').pop(), k.values.length]),
      [
        ['Parameters', 9],
        ['Adapters', 0],
        ['DNSRegisteredAdapters', 0],
        ['Interfaces', 1],
      ],
    );
    const byName = new Map(result.keys[0]!.values.map((v) => [v.name, v]));
    assert.equal(byName.get('(Default)')!.data, '');
    assert.equal(byName.get('NV Hostname')!.data, 'MININT-4QK2R7B', 'a name with a space');
    assert.deepEqual([byName.get('DataBasePath')!.type, byName.get('DataBasePath')!.data], ['REG_EXPAND_SZ', '%SystemRoot%\\System32\\drivers\\etc']);
    assert.deepEqual(byName.get('SearchList')!.data, ['corp.example.com', 'example.com']);
    assert.deepEqual(byName.get('EmptyList')!.data, []);
    assert.equal(byName.get('LastBootTime')!.data, 0x1db8c5e2f4a7100n);
    assert.deepEqual(byName.get('Dhcpv6DUID')!.data, Buffer.from('000100012D3A4B5C00155D010203', 'hex'));
    assert.deepEqual([byName.get('Placeholder')!.type, byName.get('Placeholder')!.data], ['REG_NONE', '']);
    assert.equal(regDword(result, 'Order'), 0xffffffff);
  });
  it('refuses malformed values and stray text', () => {
    throwsParse(() => parseRegQuery('HKEY_LOCAL_MACHINE\\X\n    V    REG_DWORD    2\n'), /reg query/);
    throwsParse(() => parseRegQuery('HKEY_LOCAL_MACHINE\\X\n    V    REG_BINARY    XYZ\n'), /reg query/);
    throwsParse(() => parseRegQuery('HKEY_LOCAL_MACHINE\\X\n    V    REG_QWORD    12\n'), /reg query/);
    throwsParse(() => parseRegQuery('    V    REG_SZ    orphan value\n'), /reg query/);
    throwsParse(() => parseRegQuery('ERROR: Invalid syntax.\nType "REG QUERY /?" for usage.\n'), /reg query/);
    throwsParse(() => parseRegQuery(''), /reg query/);
  });
});

describe('hypervisorFrom', () => {
  const cases: [string, string, string | undefined, string | undefined][] = [
    ['VMware, Inc.', 'VMware7,1', 'VMware, Inc.', 'esxi'],
    ['VMware, Inc.', 'VMware Virtual Platform', 'Phoenix Technologies LTD', 'esxi'],
    ['Microsoft Corporation', 'Virtual Machine', 'Microsoft Corporation', 'hyperv'],
    ['Microsoft Corporation', 'Surface Pro 7', 'Microsoft Corporation', undefined],
    ['QEMU', 'Standard PC (i440FX + PIIX, 1996)', 'SeaBIOS', 'kvm'],
    ['QEMU', 'Standard PC (Q35 + ICH9, 2009)', 'EDK II', 'kvm'],
    ['Red Hat', 'KVM', 'SeaBIOS', 'kvm'],
    ['Red Hat', 'OpenStack Compute', 'SeaBIOS', 'kvm'],
    ['Proxmox', 'Standard PC (Q35 + ICH9, 2009)', 'EDK II', 'kvm'],
    ['Proxmox', 'VM', undefined, 'kvm'],
    ['Nutanix', 'AHV', 'SeaBIOS', 'kvm'],
    ['', 'Standard PC (Q35 + ICH9, 2009)', 'SeaBIOS', 'kvm'],
    ['Xen', 'HVM domU', 'Xen', 'xen'],
    ['Citrix', 'HVM domU', 'Xen', 'xen'],
    ['innotek GmbH', 'VirtualBox', 'innotek GmbH', 'virtualbox'],
    ['Dell Inc.', 'PowerEdge R740', 'Dell Inc.', undefined],
    ['HPE', 'ProLiant DL380 Gen10', 'HPE', undefined],
    ['LENOVO', 'ThinkSystem SR650', 'Lenovo', undefined],
    ['Supermicro', 'Super Server', 'American Megatrends Inc.', undefined],
    ['System manufacturer', 'System Product Name', 'American Megatrends Inc.', undefined],
  ];
  for (const [maker, model, vendor, expected] of cases) {
    it(`${maker} / ${model} / ${vendor ?? '-'} -> ${expected ?? 'physical'}`, () => assert.equal(hypervisorFrom(maker, model, vendor), expected));
  }
});

describe('parseIpconfigAll', () => {
  eachVariant('ipconfig-all-two-adapters.txt', (text) => {
    const result = parseIpconfigAll(text);
    assert.equal(result.hostName, 'MININT-4QK2R7B');
    assert.equal(result.adapters.length, 2);
    const [up, down] = result.adapters as [(typeof result.adapters)[number], (typeof result.adapters)[number]];
    assert.deepEqual(
      {
        kind: up.kind,
        name: up.name,
        description: up.description,
        mac: up.mac,
        connected: up.connected,
        dhcp: up.dhcp,
        ipv4: up.ipv4,
        apipa: up.apipa,
        masks: up.subnetMasks,
        gateways: up.gateways,
        dhcpServer: up.dhcpServer,
        dns: up.dnsServers,
        suffix: up.dnsSuffix,
      },
      {
        kind: 'Ethernet',
        name: 'Ethernet',
        description: 'Intel(R) Ethernet Controller X710 for 10GbE SFP+',
        mac: '24-6E-96-1A-2B-3C',
        connected: true,
        dhcp: true,
        ipv4: ['10.20.30.57'],
        apipa: false,
        masks: ['255.255.255.0'],
        gateways: ['10.20.30.1'],
        dhcpServer: '10.20.30.10',
        dns: ['10.20.30.10', '10.20.30.11'],
        suffix: 'corp.example.com',
      },
    );
    assert.equal(ipv4Gateway(up), '10.20.30.1');
    assert.equal(up.fields['Lease Obtained'], 'Tuesday, March 4, 2025 9:14:22 AM', 'colons inside a value');
    assert.equal(up.fields['Link-local IPv6 Address'], 'fe80::5d1c:9a3e:7b20:41f6%6(Preferred)');
    assert.deepEqual([down.name, down.connected, down.ipv4, down.dhcp, down.mac, down.dnsSuffix], ['Ethernet 2', false, [], true, 'B0-83-FE-D4-E5-F6', undefined]);
    assert.equal(down.description, 'Broadcom NetXtreme Gigabit Ethernet');
  });
  eachVariant('ipconfig-all-hyperv-apipa.txt', (text) => {
    const [nic] = parseIpconfigAll(text).adapters;
    assert.ok(nic);
    assert.equal(nic.description, 'Microsoft Hyper-V Network Adapter');
    assert.deepEqual([nic.ipv4, nic.apipa, nic.connected, nic.gateways, ipv4Gateway(nic)], [['169.254.23.117'], true, true, [], undefined]);
    assert.deepEqual(nic.dnsServers, ['fec0:0:0:ffff::1%1', 'fec0:0:0:ffff::2%1', 'fec0:0:0:ffff::3%1']);
    assert.equal(nic.subnetMasks[0], '255.255.0.0');
  });
  eachVariant('ipconfig-all-static.txt', (text) => {
    const { adapters } = parseIpconfigAll(text);
    assert.deepEqual(adapters.map((a) => [a.kind, a.name, a.connected]), [
      ['Ethernet', 'Ethernet 3', true],
      ['Tunnel', 'isatap.{6A0B1C2D-3E4F-4051-8263-748596A7B8C9}', false],
    ]);
    const nic = adapters[0]!;
    assert.equal(nic.description, 'Red Hat VirtIO Ethernet Adapter #2');
    assert.equal(nic.dhcp, false);
    assert.deepEqual(nic.ipv4, ['192.168.50.20', '192.168.51.20'], '"(Duplicate)" is read like "(Preferred)"');
    assert.deepEqual(nic.subnetMasks, ['255.255.255.0', '255.255.255.0']);
    assert.deepEqual(nic.gateways, ['fe80::1%7', '192.168.50.1']);
    assert.equal(ipv4Gateway(nic), '192.168.50.1', 'the IPv4 gateway on the continuation line');
    assert.deepEqual(nic.dnsServers, ['192.168.50.5', '192.168.50.6', 'fd12:3456:789a:1::5']);
  });
  eachVariant('ipconfig-all-german.txt', (text) => throwsParse(() => parseIpconfigAll(text), /ipconfig/));
  it('refuses a stray line inside an adapter block', () => {
    const text = readFileSync(join(FIXTURES, 'ipconfig-all-two-adapters.txt'), 'utf8').replace('   NetBIOS over Tcpip. . . . . . . . : Enabled', 'garbage');
    throwsParse(() => parseIpconfigAll(text), /ipconfig/);
  });
  it('no adapters at all (no NIC driver loaded)', () => {
    const text = '\nWindows IP Configuration\n\n   Host Name . . . . . . . . . . . . : MININT-1\n   Node Type . . . . . . . . . . . . : Hybrid\n';
    assert.deepEqual(parseIpconfigAll(text), { hostName: 'MININT-1', adapters: [] });
  });
});

describe('parseDrvload', () => {
  eachVariant('drvload-success.txt', (text) => {
    assert.deepEqual(parseDrvload(text), { loaded: ['X:\\lifeboat\\drivers\\kvm\\vioscsi\\w10\\amd64\\vioscsi.inf'], failed: [] });
  });
  eachVariant('drvload-file-missing.txt', (text) => {
    const result = parseDrvload(text);
    assert.deepEqual(result.loaded, []);
    assert.equal(result.failed.length, 1);
    assert.equal(result.failed[0]!.inf, 'X:\\lifeboat\\drivers\\kvm\\NetKVM\\w10\\amd64\\netkvm.inf');
    assert.equal(result.failed[0]!.code, 0x80070002);
    assert.equal(hresultText(result.failed[0]!.code), '0x80070002');
    assert.match(describeDrvloadError(result.failed[0]!.code) ?? '', /missing/);
  });
  eachVariant('drvload-mixed.txt', (text) => {
    const result = parseDrvload(text);
    assert.deepEqual(result.loaded, ['D:\\lifeboat\\drivers\\dell\\perc\\percsas3.inf', 'D:\\lifeboat\\drivers\\dell\\nic\\bnxtnd.inf']);
    assert.deepEqual(result.failed.map((f) => [f.inf, hresultText(f.code)]), [['D:\\lifeboat\\drivers\\dell\\nic\\unsigned.inf', '0x800B0109']]);
    assert.match(describeDrvloadError(0x800b0109) ?? '', /trust/);
  });
  eachVariant('drvload-german.txt', (text) => throwsParse(() => parseDrvload(text), /drvload/));
  it('another DrvLoad wording with a code still counts as a failure', () => {
    const result = parseDrvload('DrvLoad: Something new happened to X:\\a.inf: 0xE0000242\n');
    assert.deepEqual(result.failed.map((f) => [f.inf, f.code]), [['', 0xe0000242]]);
  });
  it('refuses empty and unrelated output', () => {
    throwsParse(() => parseDrvload(''), /drvload/);
    throwsParse(() => parseDrvload("'drvload' is not recognized as an internal or external command,\n"), /drvload/);
  });
  it('unknown HRESULTs have no description', () => assert.equal(describeDrvloadError(0x12345678), undefined));
});

describe('parseNetUse', () => {
  eachVariant('net-use-success.txt', (text) => assert.deepEqual(parseNetUse(text), { ok: true }));
  eachVariant('net-use-delete.txt', (text) => throwsParse(() => parseNetUse(text), /net use/));
  const errors: [string, number, string][] = [
    ['net-use-error-53.txt', 53, 'The network path was not found.'],
    ['net-use-error-67.txt', 67, 'The network name cannot be found.'],
    ['net-use-error-85.txt', 85, 'The local device name is already in use.'],
    ['net-use-error-86.txt', 86, 'The specified network password is not correct.'],
    ['net-use-error-1326.txt', 1326, 'The user name or password is incorrect.'],
    ['net-use-error-1326-legacy.txt', 1326, 'Logon failure: unknown user name or bad password.'],
    ['net-use-error-1219.txt', 1219, 'Multiple connections to a server or shared resource by the same user'],
    ['net-use-error-1272.txt', 1272, "You can't access this shared folder because your organization's security policies block unauthenticated guest access."],
    ['net-use-helpmsg-2250.txt', 2250, 'The network connection could not be found.'],
  ];
  for (const [file, code, start] of errors) {
    eachVariant(file, (text) => {
      const result = parseNetUse(text);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.code, code);
      assert.ok(result.message.startsWith(start), result.message);
    });
  }
  eachVariant('net-use-german.txt', (text) => throwsParse(() => parseNetUse(text), /net use/));
  it('refuses empty output', () => throwsParse(() => parseNetUse(''), /net use/));
});
