/**
 * Boots ISOs and raw disk images in QEMU (TCG only, no network) and captures the serial console.
 *
 * Every run is bounded: QEMU is killed on timeout, or as soon as the expected marker shows up on serial
 * (unless told to wait for QEMU to exit). Images are never modified (CD-ROMs are read-only by nature;
 * USB disks are attached read-only, IDE disks with snapshot=on).
 */
import { spawn } from 'node:child_process';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { hasCommand, mkTempDir, removeTempDir } from './tools.js';

export const QEMU = 'qemu-system-x86_64';
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export type Firmware = 'bios' | 'uefi';

export interface BootOptions {
  firmware: Firmware;
  /** Hard limit for the whole run; QEMU is SIGKILLed when it is reached. Default 60 000. */
  timeoutMs?: number;
  /**
   * Resolve as soon as serial output contains this (QEMU is then terminated). Default: none, i.e. wait for
   * QEMU to exit (our GRUB fixture halts by itself) or for the timeout.
   */
  marker?: string | RegExp;
  /** After the marker appeared, keep QEMU running up to this long so it can exit by itself. Default 0. */
  graceAfterMarkerMs?: number;
  /** Guest RAM in MiB. Default 256. */
  memoryMb?: number;
  /** Also write the serial output to this file (for post-mortem). */
  serialLog?: string;
  /** Appended to the QEMU command line. */
  extraArgs?: string[];
}

export interface DiskBootOptions extends BootOptions {
  /** How the raw image is attached. Default 'usb' (qemu-xhci + usb-storage). */
  bus?: 'usb' | 'ide';
}

export interface BootResult {
  /** Everything the guest printed on serial port 0 (decoded as latin1, so no byte is lost or merged). */
  serial: string;
  timedOut: boolean;
  /** QEMU's exit code; null when we killed it (marker seen or timeout). */
  exitCode: number | null;
  markerSeen: boolean;
  durationMs: number;
  /** QEMU's own stderr (warnings, errors such as a missing file). */
  stderr: string;
  /** The full argument list, for diagnostics. */
  args: string[];
}

let qemuAvailable: Promise<boolean> | undefined;

/** True when qemu-system-x86_64 is installed (memoised). */
export function hasQemu(): Promise<boolean> {
  qemuAvailable ??= hasCommand(QEMU);
  return qemuAvailable;
}

/** True when QEMU and the OVMF firmware files are installed. */
export async function hasOvmf(): Promise<boolean> {
  if (!(await hasQemu())) return false;
  const ok = await Promise.all([OVMF_CODE, OVMF_VARS].map((f) => stat(f).then(() => true, () => false)));
  return ok.every(Boolean);
}

function baseArgs(memoryMb: number): string[] {
  return ['-accel', 'tcg', '-nic', 'none', '-display', 'none', '-no-reboot', '-m', String(memoryMb), '-serial', 'stdio', '-monitor', 'none', '-parallel', 'none'];
}

async function firmwareArgs(firmware: Firmware, work: string): Promise<string[]> {
  if (firmware === 'bios') return [];
  const vars = join(work, 'OVMF_VARS.fd');
  await copyFile(OVMF_VARS, vars); // OVMF writes boot variables: never let it touch the system copy
  return [
    '-machine', 'q35',
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
  ];
}

/** QEMU's -drive option syntax doubles commas inside values. */
function qemuPath(p: string): string {
  return resolve(p).replace(/,/g, ',,');
}

/** Boots `iso` as a CD-ROM (IDE on i440fx for BIOS, AHCI/SATA on q35 for UEFI). */
export async function bootIso(iso: string, opts: BootOptions): Promise<BootResult> {
  await stat(iso); // fail early and clearly on a missing file
  return withWorkDir(async (work) => {
    const args = [
      ...baseArgs(opts.memoryMb ?? 256),
      ...(await firmwareArgs(opts.firmware, work)),
      '-drive', `file=${qemuPath(iso)},media=cdrom,readonly=on,if=ide,index=2`,
      '-boot', 'order=d',
      ...(opts.extraArgs ?? []),
    ];
    return runQemu(args, opts);
  });
}

/** Boots a raw disk image from USB (xHCI mass storage, read-only) or IDE (snapshot, writes discarded). */
export async function bootDisk(img: string, opts: DiskBootOptions): Promise<BootResult> {
  await stat(img);
  const bus = opts.bus ?? 'usb';
  return withWorkDir(async (work) => {
    const disk =
      bus === 'usb'
        ? [
            '-device', 'qemu-xhci,id=xhci',
            '-drive', `if=none,id=stick,format=raw,readonly=on,file=${qemuPath(img)}`,
            '-device', 'usb-storage,bus=xhci.0,drive=stick,bootindex=0',
          ]
        : [
            '-drive', `if=none,id=disk,format=raw,snapshot=on,file=${qemuPath(img)}`,
            '-device', 'ide-hd,drive=disk,bootindex=0',
          ];
    const args = [...baseArgs(opts.memoryMb ?? 256), ...(await firmwareArgs(opts.firmware, work)), ...disk, ...(opts.extraArgs ?? [])];
    return runQemu(args, opts);
  });
}

async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkTempDir('qemu');
  try {
    return await fn(dir);
  } finally {
    await removeTempDir(dir);
  }
}

function runQemu(args: string[], opts: BootOptions): Promise<BootResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = performance.now();
  return new Promise<BootResult>((resolvePromise, reject) => {
    // stdin is a pipe we keep open (serial input from the guest's point of view); nothing is written to it.
    const child = spawn(QEMU, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let serial = '';
    let stderr = '';
    let markerSeen = false;
    let timedOut = false;
    let killedByUs = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const kill = (signal: NodeJS.Signals) => {
      killedByUs = true;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const hardTimer = setTimeout(() => {
      timedOut = true;
      kill('SIGKILL');
    }, timeoutMs);

    const matches = (s: string) =>
      opts.marker === undefined ? false : typeof opts.marker === 'string' ? s.includes(opts.marker) : opts.marker.test(s);

    child.stdout.on('data', (b: Buffer) => {
      serial += b.toString('latin1');
      if (!markerSeen && matches(serial)) {
        markerSeen = true;
        const grace = opts.graceAfterMarkerMs ?? 0;
        graceTimer = setTimeout(() => {
          kill('SIGTERM');
          // QEMU exits promptly on SIGTERM; make sure of it.
          setTimeout(() => kill('SIGKILL'), 3000).unref();
        }, grace);
      }
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 1 << 20) stderr += b.toString('utf8');
    });
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(hardTimer);
      if (graceTimer) clearTimeout(graceTimer);
      reject(e);
    });
    child.on('close', async (code) => {
      clearTimeout(hardTimer);
      if (graceTimer) clearTimeout(graceTimer);
      if (!markerSeen && matches(serial)) markerSeen = true;
      if (opts.serialLog) await writeFile(opts.serialLog, serial, 'latin1').catch(() => undefined);
      resolvePromise({
        serial,
        timedOut,
        exitCode: killedByUs ? null : code,
        markerSeen,
        durationMs: performance.now() - started,
        stderr,
        args,
      });
    });
  });
}

/** Serial output with ANSI escape sequences and CRs removed (GRUB and OVMF draw with them). */
export function plainSerial(serial: string): string {
  // eslint-disable-next-line no-control-regex
  return serial.replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '').replace(/\r/g, '');
}
