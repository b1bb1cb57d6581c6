/**
 * diskpart's English output: `list disk`, `detail disk` (after `select disk N`), `list volume`, and the combined
 * output of one script that selects and details several disks.
 *
 * Tables are read by column: the dashed rule under each header gives every column's start, so values with spaces
 * (labels, "No Media", "Not Initialized") and empty cells (no letter, no label, the Dyn and Gpt flags) are read where
 * diskpart put them. The selected row carries a leading `*` in the indent, which is read separately.
 * Any other language fails with WinPeParseError: the headers are looked up by their English words.
 */
import { splitLines, WinPeParseError } from './parse-error.js';
import { parseSizeText } from './parse-size.js';

export interface DiskpartListDiskRow {
  number: number;
  /** "Online", "Offline", "No Media", "Missing"... as printed. */
  status: string;
  sizeBytes: number;
  freeBytes: number;
  dynamic: boolean;
  gpt: boolean;
  /** The row diskpart marks as the selected disk. */
  selected: boolean;
}

export interface DiskpartVolumeRow {
  number: number;
  letter?: string;
  label?: string;
  fs?: string;
  /** "Partition", "Removable", "DVD-ROM", "Simple", "Mirror"... */
  type: string;
  sizeBytes: number;
  /** "Healthy", "No Media", "Failed"... */
  status: string;
  /** "Boot", "System", "Hidden", "Pagefile"...; may be empty. */
  info?: string;
  selected: boolean;
}

export interface DiskpartDiskDetail {
  /** The disk number from "Disk N is now the selected disk.", when the output carries it. */
  number?: number;
  /** The first line of `detail disk`: the device's friendly name. */
  model: string;
  /** "Type": the bus (SATA, SAS, NVMe, USB, SCSI, RAID, Virtual, File Backed Virtual, iSCSI...). */
  bus: string;
  /** MBR signature (8 hex digits) or GPT disk GUID in braces. */
  diskId?: string;
  status?: string;
  readOnly?: boolean;
  bootDisk?: boolean;
  pagefileDisk?: boolean;
  hibernationFileDisk?: boolean;
  crashdumpDisk?: boolean;
  clusteredDisk?: boolean;
  locationPath?: string;
  /** Every "Key : Value" line as printed, for the session log. */
  fields: Record<string, string>;
  volumes: DiskpartVolumeRow[];
}

interface Column {
  start: number;
  end: number;
}

/** Columns from a dashed rule such as "  --------  -------------  -------". */
function columnsOf(rule: string): Column[] {
  const columns: Column[] = [];
  const re = /-+/g;
  for (let match = re.exec(rule); match; match = re.exec(rule)) columns.push({ start: match.index, end: match.index + match[0].length });
  return columns;
}

/** Cell texts of a row, each column running to the next column's start (the last to the end of the line). */
function cellsOf(line: string, columns: readonly Column[]): string[] {
  return columns.map((column, index) => {
    const next = columns[index + 1];
    return line.slice(column.start, next ? next.start : undefined).trim();
  });
}

interface Table {
  header: string;
  columns: Column[];
  rows: string[];
  /** Index of the line after the table. */
  end: number;
}

/**
 * Finds the table whose header line starts (after the indent) with `firstHeader`, e.g. "Disk ###".
 * Rows run until the first blank line.
 */
function findTable(lines: readonly string[], firstHeader: RegExp, from = 0, to = lines.length): Table | undefined {
  for (let i = from; i < to - 1; i++) {
    const header = lines[i]!;
    if (!firstHeader.test(header)) continue;
    const rule = lines[i + 1]!;
    if (!/^\s*-+(\s+-+)*\s*$/.test(rule)) continue;
    const rows: string[] = [];
    let j = i + 2;
    for (; j < to && lines[j]!.trim() !== ''; j++) rows.push(lines[j]!);
    return { header, columns: columnsOf(rule), rows, end: j };
  }
  return undefined;
}

function expectColumns(table: Table, names: readonly string[], tool: string, text: string): void {
  const found = cellsOf(table.header, table.columns);
  const ok = names.every((name, index) => found[index] === name);
  if (!ok || table.columns.length !== names.length) {
    throw new WinPeParseError(tool, `the columns ${names.join(', ')} (found ${found.join(', ')})`, WinPeParseError.excerptOf(text));
  }
}

/** Leading "*" in the indent marks the selected row. */
function selectedOf(row: string): boolean {
  return /^\s*\*/.test(row);
}

function intOf(cell: string, pattern: RegExp, tool: string, row: string): number {
  const match = pattern.exec(cell);
  if (!match) throw new WinPeParseError(tool, `a row like ${pattern.source}, not "${row.trim()}"`, row);
  return Number(match[1]);
}

const LIST_DISK_COLUMNS = ['Disk ###', 'Status', 'Size', 'Free', 'Dyn', 'Gpt'] as const;

/** `list disk`. "There are no fixed disks to show." gives an empty list. */
export function parseDiskpartListDisk(text: string): DiskpartListDiskRow[] {
  const tool = 'diskpart list disk';
  const lines = splitLines(text);
  const table = findTable(lines, /^[\s*]*Disk ###/);
  if (!table) {
    if (lines.some((line) => /There are no fixed disks to show\./.test(line))) return [];
    throw new WinPeParseError(tool, 'the table headed "Disk ###  Status  Size  Free  Dyn  Gpt"', WinPeParseError.excerptOf(text));
  }
  expectColumns(table, LIST_DISK_COLUMNS, tool, text);
  return table.rows.map((row) => {
    const [disk = '', status = '', size = '', free = '', dyn = '', gpt = ''] = cellsOf(row.replace(/^(\s*)\*/, '$1 '), table.columns);
    return {
      number: intOf(disk, /^Disk (\d+)$/, tool, row),
      status,
      sizeBytes: parseSizeText(size),
      freeBytes: parseSizeText(free),
      dynamic: dyn === '*',
      gpt: gpt === '*',
      selected: selectedOf(row),
    };
  });
}

const VOLUME_COLUMNS = ['Volume ###', 'Ltr', 'Label', 'Fs', 'Type', 'Size', 'Status', 'Info'] as const;

function parseVolumeTable(table: Table, tool: string, text: string): DiskpartVolumeRow[] {
  expectColumns(table, VOLUME_COLUMNS, tool, text);
  return table.rows.map((row) => {
    const [volume = '', ltr = '', label = '', fs = '', type = '', size = '', status = '', info = ''] = cellsOf(
      row.replace(/^(\s*)\*/, '$1 '),
      table.columns,
    );
    const result: DiskpartVolumeRow = {
      number: intOf(volume, /^Volume (\d+)$/, tool, row),
      type,
      sizeBytes: parseSizeText(size),
      status,
      selected: selectedOf(row),
    };
    if (ltr !== '') {
      if (!/^[A-Z]$/i.test(ltr)) throw new WinPeParseError(tool, `a drive letter, not "${ltr}"`, row);
      result.letter = ltr.toUpperCase();
    }
    if (label !== '') result.label = label;
    if (fs !== '') result.fs = fs;
    if (info !== '') result.info = info;
    return result;
  });
}

/** `list volume`. "There are no volumes." gives an empty list. */
export function parseDiskpartListVolume(text: string): DiskpartVolumeRow[] {
  const tool = 'diskpart list volume';
  const lines = splitLines(text);
  const table = findTable(lines, /^[\s*]*Volume ###/);
  if (!table) {
    if (lines.some((line) => /^\s*There are no volumes\./.test(line))) return [];
    throw new WinPeParseError(tool, 'the table headed "Volume ###  Ltr  Label  Fs  Type  Size  Status  Info"', WinPeParseError.excerptOf(text));
  }
  return parseVolumeTable(table, tool, text);
}

const YES_NO: Record<string, boolean> = { Yes: true, No: false };

/** Lines of diskpart's own banner, skipped when looking for the model line. */
function isBanner(line: string): boolean {
  return (
    /^Microsoft DiskPart version /.test(line) ||
    /^Copyright \(C\) Microsoft Corporation\./.test(line) ||
    /^On computer: /.test(line) ||
    /^DISKPART> ?/.test(line) ||
    /^Leaving DiskPart\.\.\./.test(line)
  );
}

/**
 * `detail disk` for the selected disk (the text may start with diskpart's banner and "Disk N is now the selected
 * disk."). Throws when there is no selected disk or the output is not English.
 */
export function parseDiskpartDetailDisk(text: string): DiskpartDiskDetail {
  const tool = 'diskpart detail disk';
  const lines = splitLines(text);
  if (lines.some((line) => /There is no disk selected\./.test(line))) {
    throw new WinPeParseError(tool, 'a selected disk (diskpart said "There is no disk selected.")', WinPeParseError.excerptOf(text));
  }
  let number: number | undefined;
  let index = 0;
  for (; index < lines.length; index++) {
    const line = lines[index]!.trim();
    const selected = /^Disk (\d+) is now the selected disk\.$/.exec(line);
    if (selected) {
      number = Number(selected[1]);
      continue;
    }
    if (line === '' || isBanner(line)) continue;
    break;
  }
  const model = lines[index]?.trim() ?? '';
  const fields: Record<string, string> = {};
  let fieldsEnd = index + 1;
  for (; fieldsEnd < lines.length; fieldsEnd++) {
    const line = lines[fieldsEnd]!;
    if (line.trim() === '') break;
    const field = /^([A-Za-z][A-Za-z -]*?)\s*:\s?(.*)$/.exec(line.trim());
    if (!field) break;
    fields[field[1]!] = field[2]!.trim();
  }
  if (model === '' || fields['Type'] === undefined || fields['Disk ID'] === undefined) {
    throw new WinPeParseError(tool, 'the model line followed by "Disk ID:" and "Type   :"', WinPeParseError.excerptOf(text));
  }
  const flag = (name: string): boolean | undefined => {
    const value = fields[name];
    return value === undefined ? undefined : YES_NO[value];
  };
  const table = findTable(lines, /^[\s*]*Volume ###/, fieldsEnd);
  let volumes: DiskpartVolumeRow[];
  if (table) volumes = parseVolumeTable(table, tool, text);
  else if (lines.slice(fieldsEnd).some((line) => /^\s*There are no volumes\./.test(line))) volumes = [];
  else throw new WinPeParseError(tool, 'a volume table or "There are no volumes."', WinPeParseError.excerptOf(text));

  const detail: DiskpartDiskDetail = { model, bus: fields['Type'], diskId: fields['Disk ID'], fields, volumes };
  if (number !== undefined) detail.number = number;
  const status = fields['Status'];
  if (status !== undefined) detail.status = status;
  const optional: [keyof DiskpartDiskDetail, string][] = [
    ['readOnly', 'Read-only'],
    ['bootDisk', 'Boot Disk'],
    ['pagefileDisk', 'Pagefile Disk'],
    ['hibernationFileDisk', 'Hibernation File Disk'],
    ['crashdumpDisk', 'Crashdump Disk'],
    ['clusteredDisk', 'Clustered Disk'],
  ];
  for (const [key, name] of optional) {
    const value = flag(name);
    if (value !== undefined) (detail as unknown as Record<string, boolean>)[key] = value;
  }
  const location = fields['Location Path'];
  if (location !== undefined) detail.locationPath = location;
  return detail;
}

/**
 * The output of one diskpart script of `select disk N` + `detail disk` pairs: one detail per disk, keyed by number.
 * A disk diskpart could not select ("The disk you specified is not valid.") is absent from the map.
 */
export function parseDiskpartDetailScript(text: string): Map<number, DiskpartDiskDetail> {
  const lines = splitLines(text);
  const starts: number[] = [];
  lines.forEach((line, index) => {
    if (/^\s*Disk \d+ is now the selected disk\.\s*$/.test(line)) starts.push(index);
  });
  const details = new Map<number, DiskpartDiskDetail>();
  starts.forEach((start, i) => {
    const section = lines.slice(start, starts[i + 1] ?? lines.length).join('\n');
    const detail = parseDiskpartDetailDisk(section);
    if (detail.number !== undefined) details.set(detail.number, detail);
  });
  if (starts.length === 0 && !lines.some((line) => /The disk you specified is not valid\./.test(line))) {
    throw new WinPeParseError('diskpart select disk / detail disk', '"Disk N is now the selected disk."', WinPeParseError.excerptOf(text));
  }
  return details;
}
