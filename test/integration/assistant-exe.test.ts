// assistant.exe: the Windows Node single executable built by scripts/build-assistant.mjs.
// Builds it (or reuses an up-to-date build), checks the PE structure and the injected SEA blob, then runs it under
// Wine. Under Wine stdout must be a file, not a pipe (node's stdout on a Wine pipe fails with EBADF).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXE = join(ROOT, 'build', 'assistant.exe');
const BLOB = join(ROOT, 'build', 'sea.blob');
const BUNDLE = join(ROOT, 'build', 'assistant.cjs');
const NODE_VERSION = '22.22.2';
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

// ---- A minimal PE reader: headers, sections, and the resource tree ------------------------------------------------
interface Section {
  name: string;
  virtualAddress: number;
  virtualSize: number;
  rawOffset: number;
  rawSize: number;
}
interface PeInfo {
  machine: number;
  magic: number;
  subsystem: number;
  sections: Section[];
  rvaToOffset(rva: number): number;
  resourceRva: number;
}

function readPe(buf: Buffer): PeInfo {
  assert.equal(buf.toString('latin1', 0, 2), 'MZ', 'DOS header magic MZ');
  const peOffset = buf.readUInt32LE(0x3c);
  assert.equal(buf.toString('latin1', peOffset, peOffset + 4), 'PE\0\0', 'PE signature');
  const coff = peOffset + 4;
  const machine = buf.readUInt16LE(coff);
  const sectionCount = buf.readUInt16LE(coff + 2);
  const optSize = buf.readUInt16LE(coff + 16);
  const opt = coff + 20;
  const magic = buf.readUInt16LE(opt);
  assert.equal(magic, 0x20b, 'optional header magic PE32+');
  const subsystem = buf.readUInt16LE(opt + 68);
  const rvaCount = buf.readUInt32LE(opt + 108);
  assert.ok(rvaCount > 2, 'the optional header has a resource data directory');
  const resourceRva = buf.readUInt32LE(opt + 112 + 2 * 8);
  const sections: Section[] = [];
  for (let i = 0; i < sectionCount; i++) {
    const s = opt + optSize + i * 40;
    sections.push({
      name: buf.toString('latin1', s, s + 8).replace(/\0+$/, ''),
      virtualSize: buf.readUInt32LE(s + 8),
      virtualAddress: buf.readUInt32LE(s + 12),
      rawSize: buf.readUInt32LE(s + 16),
      rawOffset: buf.readUInt32LE(s + 20),
    });
  }
  const rvaToOffset = (rva: number): number => {
    const s = sections.find((x) => rva >= x.virtualAddress && rva < x.virtualAddress + Math.max(x.virtualSize, x.rawSize));
    assert.ok(s, `RVA 0x${rva.toString(16)} lies in a section`);
    return rva - s.virtualAddress + s.rawOffset;
  };
  return { machine, magic, subsystem, sections, rvaToOffset, resourceRva };
}

type ResourceKey = number | string;
interface ResourceEntry {
  key: ResourceKey;
  /** Offset of a subdirectory (relative to the resource root) or of a data entry. */
  offset: number;
  isDirectory: boolean;
}

function resourceEntries(buf: Buffer, root: number, dirOffset: number): ResourceEntry[] {
  const dir = root + dirOffset;
  const count = buf.readUInt16LE(dir + 12) + buf.readUInt16LE(dir + 14);
  const entries: ResourceEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e = dir + 16 + i * 8;
    const name = buf.readUInt32LE(e);
    const target = buf.readUInt32LE(e + 4);
    let key: ResourceKey;
    if (name & 0x80000000) {
      const at = root + (name & 0x7fffffff);
      const len = buf.readUInt16LE(at);
      key = buf.toString('utf16le', at + 2, at + 2 + len * 2);
    } else {
      key = name & 0xffff;
    }
    entries.push({ key, offset: target & 0x7fffffff, isDirectory: (target & 0x80000000) !== 0 });
  }
  return entries;
}

/** The bytes of resource `type`/`name` (first language), or undefined when absent. */
function findResource(buf: Buffer, pe: PeInfo, type: number, name: string): Buffer | undefined {
  if (pe.resourceRva === 0) return undefined;
  const root = pe.rvaToOffset(pe.resourceRva);
  const typeEntry = resourceEntries(buf, root, 0).find((e) => e.key === type && e.isDirectory);
  if (!typeEntry) return undefined;
  const nameEntry = resourceEntries(buf, root, typeEntry.offset).find(
    (e) => typeof e.key === 'string' && e.key.toUpperCase() === name.toUpperCase() && e.isDirectory,
  );
  if (!nameEntry) return undefined;
  const lang = resourceEntries(buf, root, nameEntry.offset)[0];
  if (!lang || lang.isDirectory) return undefined;
  const dataEntry = root + lang.offset;
  const dataRva = buf.readUInt32LE(dataEntry);
  const size = buf.readUInt32LE(dataEntry + 4);
  const at = pe.rvaToOffset(dataRva);
  return buf.subarray(at, at + size);
}

// ---- Wine ----------------------------------------------------------------------------------------------------------
function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

interface WineRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs assistant.exe under Wine with stdout and stderr redirected to files (a pipe gives EBADF under Wine). */
function runUnderWine(env: NodeJS.ProcessEnv, args: string[]): WineRun {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-wine-'));
  try {
    const outPath = join(dir, 'stdout.txt');
    const errPath = join(dir, 'stderr.txt');
    const out = openSync(outPath, 'w');
    const err = openSync(errPath, 'w');
    let status: number | null;
    try {
      status = spawnSync('wine', [EXE, ...args], { env, stdio: ['ignore', out, err], timeout: 120_000 }).status;
    } finally {
      closeSync(out);
      closeSync(err);
    }
    return { status, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- Tests ---------------------------------------------------------------------------------------------------------
describe('assistant.exe (Windows Node SEA)', { timeout: 15 * 60_000 }, () => {
  let exe: Buffer;

  before(() => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-assistant.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.equal(r.status, 0, `scripts/build-assistant.mjs failed:\n${r.stderr}`);
    exe = readFileSync(EXE);
  });

  test('the build is up to date on a second run and build/assistant.exe.sha256 matches', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-assistant.mjs')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /up to date/);
    const digest = createHash('sha256').update(exe).digest('hex');
    assert.equal(readFileSync(`${EXE}.sha256`, 'utf8'), `${digest}  assistant.exe\n`);
  });

  test('the bundle starts by setting process.title and does not use import.meta', () => {
    const bundle = readFileSync(BUNDLE, 'utf8');
    assert.ok(bundle.startsWith("process.title='Lifeboat Restore Assistant';"), bundle.slice(0, 80));
    assert.doesNotMatch(bundle, /import\.meta/);
    assert.match(bundle, new RegExp(`"${VERSION.replace(/\./g, '\\.')}"`), 'the version is inlined at bundle time');
  });

  test('is an x64 console PE carrying the SEA blob as NODE_SEA_BLOB with the fuse flipped', () => {
    const pe = readPe(exe);
    assert.equal(pe.machine, 0x8664, 'machine is AMD64');
    assert.equal(pe.subsystem, 3, 'subsystem is Windows console');
    assert.ok(pe.sections.some((s) => s.name === '.rsrc'), 'has a .rsrc section');
    const RT_RCDATA = 10;
    const resource = findResource(exe, pe, RT_RCDATA, 'NODE_SEA_BLOB');
    assert.ok(resource, 'RT_RCDATA/NODE_SEA_BLOB resource present');
    assert.ok(resource.equals(readFileSync(BLOB)), 'the resource holds build/sea.blob byte for byte');
    assert.ok(exe.includes(`${FUSE}:1`), 'sentinel fuse flipped to :1');
    assert.ok(!exe.includes(`${FUSE}:0`), 'no unflipped sentinel fuse left');
  });

  describe('under Wine', () => {
    const skip = hasCommand('wine') ? false : 'wine is not installed (scripts/setup-wine.sh installs it)';
    let env: NodeJS.ProcessEnv = {};

    before(() => {
      if (skip) return;
      const r = spawnSync(join(ROOT, 'scripts', 'setup-wine.sh'), [], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, `scripts/setup-wine.sh failed:\n${r.stderr}`);
      const prefix = r.stdout.trim().split('\n').pop() ?? '';
      env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
      delete env.DISPLAY;
      delete env.WAYLAND_DISPLAY;
    });

    after(() => {
      if (!skip) spawnSync('wineserver', ['-k'], { env, stdio: 'ignore' });
    });

    test('--version prints the version line and exits 0', { skip }, () => {
      const r = runUnderWine(env, ['--version']);
      assert.equal(r.status, 0, `exit status ${r.status}, stderr:\n${r.stderr}`);
      assert.equal(r.stdout.replace(/\r\n/g, '\n'), `lifeboat-assistant ${VERSION} (node v${NODE_VERSION})\n`);
    });

    test('--help prints the usage', { skip }, () => {
      const r = runUnderWine(env, ['--help']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^Usage: assistant\.exe/);
      assert.match(r.stdout, /--version/);
    });

    test('started away from the media it says where it looked and how to start it, exit 2', { skip }, () => {
      const r = runUnderWine(env, ['--media', 'Z:\\nonexistent-media']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stdout, /recovery media was not found at .*nonexistent-media/i);
      assert.match(r.stdout, /start\.cmd/);
    });
  });
});
