/**
 * `ipconfig /all` in English: a "Windows IP Configuration" block, then one block per adapter headed
 * "<Kind> adapter <Name>:" with dotted-leader fields ("   Description . . . : text") and continuation lines (further
 * DNS servers, a second default gateway) indented to the value column.
 */
import { splitLines, WinPeParseError } from './parse-error.js';

export interface IpconfigAdapter {
  /** "Ethernet", "Wireless LAN", "Tunnel", "Unknown"... (the words before "adapter"). */
  kind: string;
  /** The connection name (what netsh calls it), e.g. "Ethernet 2". */
  name: string;
  description?: string;
  /** Physical address as AA-BB-CC-DD-EE-FF. */
  mac?: string;
  /** False when ipconfig says "Media disconnected". */
  connected: boolean;
  dhcp?: boolean;
  autoconfiguration?: boolean;
  /** IPv4 addresses without the "(Preferred)" suffix, including 169.254.x.x autoconfiguration addresses. */
  ipv4: string[];
  /** True when the only IPv4 addresses are APIPA (169.254.0.0/16): DHCP did not answer. */
  apipa: boolean;
  /** Subnet masks in the order of `ipv4`. */
  subnetMasks: string[];
  /** Default gateways (IPv4 and IPv6) in order. */
  gateways: string[];
  dhcpServer?: string;
  dnsServers: string[];
  dnsSuffix?: string;
  /** Every field as printed (continuation lines joined with ", "), for the session log. */
  fields: Record<string, string>;
}

export interface IpconfigAll {
  hostName?: string;
  adapters: IpconfigAdapter[];
}

const ADAPTER = /^(\S.*?) adapter (.+):\s*$/;
const FIELD = /^ {3}(\S.*?)(?:\s?\. )*\s*(?:\.\s*)?:\s?(.*)$/;
const CONTINUATION = /^ {20,}(\S.*)$/;
const IPV4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\((\w+)\))?$/;

/** "192.168.1.5(Preferred)" -> "192.168.1.5"; undefined when not an IPv4 address. */
function ipv4Of(text: string): string | undefined {
  const match = IPV4.exec(text.trim());
  return match ? match[1] : undefined;
}

function yesNo(text: string | undefined): boolean | undefined {
  if (text === 'Yes') return true;
  if (text === 'No') return false;
  return undefined;
}

export function parseIpconfigAll(text: string): IpconfigAll {
  const tool = 'ipconfig /all';
  const lines = splitLines(text);
  if (!lines.some((line) => line.trim() === 'Windows IP Configuration')) {
    throw new WinPeParseError(tool, 'the heading "Windows IP Configuration"', WinPeParseError.excerptOf(text));
  }
  const result: IpconfigAll = { adapters: [] };
  // Each field keeps all its values (first line + continuations).
  type Block = { kind?: string; name?: string; fields: [string, string[]][] };
  const blocks: Block[] = [];
  let block: Block | undefined;
  let lastField: [string, string[]] | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (line.trim() === 'Windows IP Configuration') {
      block = { fields: [] };
      blocks.push(block);
      lastField = undefined;
      continue;
    }
    const adapter = ADAPTER.exec(line);
    if (adapter) {
      block = { kind: adapter[1]!, name: adapter[2]!.trim(), fields: [] };
      blocks.push(block);
      lastField = undefined;
      continue;
    }
    const continuation = CONTINUATION.exec(line);
    if (continuation && lastField) {
      lastField[1].push(continuation[1]!.trim());
      continue;
    }
    const field = FIELD.exec(line);
    if (field && block) {
      const value = field[2]!.trim();
      lastField = [field[1]!.replace(/[\s.]+$/, ''), value === '' ? [] : [value]];
      block.fields.push(lastField);
      continue;
    }
    throw new WinPeParseError(tool, `"Name . . . : value" lines, not "${line.trim()}"`, WinPeParseError.excerptOf(text));
  }

  for (const b of blocks) {
    const get = (name: string): string[] => b.fields.filter(([key]) => key === name).flatMap(([, values]) => values);
    const first = (name: string): string | undefined => get(name)[0];
    if (b.name === undefined || b.kind === undefined) {
      const host = first('Host Name');
      if (host !== undefined) result.hostName = host;
      continue;
    }
    const fields: Record<string, string> = {};
    for (const [key, values] of b.fields) fields[key] = values.join(', ');
    const regular = get('IPv4 Address').map(ipv4Of).filter((ip): ip is string => ip !== undefined);
    const auto = get('Autoconfiguration IPv4 Address').map(ipv4Of).filter((ip): ip is string => ip !== undefined);
    const ipv4 = [...regular, ...auto];
    const adapter: IpconfigAdapter = {
      kind: b.kind,
      name: b.name,
      connected: first('Media State') !== 'Media disconnected',
      ipv4,
      apipa: ipv4.length > 0 && ipv4.every((ip) => ip.startsWith('169.254.')),
      subnetMasks: get('Subnet Mask'),
      gateways: get('Default Gateway'),
      dnsServers: get('DNS Servers'),
      fields,
    };
    const description = first('Description');
    if (description !== undefined) adapter.description = description;
    const mac = first('Physical Address');
    if (mac !== undefined) adapter.mac = mac.toUpperCase();
    const dhcp = yesNo(first('DHCP Enabled'));
    if (dhcp !== undefined) adapter.dhcp = dhcp;
    const autoconfiguration = yesNo(first('Autoconfiguration Enabled'));
    if (autoconfiguration !== undefined) adapter.autoconfiguration = autoconfiguration;
    const dhcpServer = first('DHCP Server');
    if (dhcpServer !== undefined) adapter.dhcpServer = dhcpServer;
    const suffix = first('Connection-specific DNS Suffix');
    if (suffix !== undefined) adapter.dnsSuffix = suffix;
    result.adapters.push(adapter);
  }
  return result;
}

/** The first IPv4 default gateway of an adapter ("0.0.0.0" is not a gateway). */
export function ipv4Gateway(adapter: IpconfigAdapter): string | undefined {
  return adapter.gateways.map(ipv4Of).find((ip) => ip !== undefined && ip !== '0.0.0.0');
}
