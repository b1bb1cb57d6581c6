/**
 * Network up (DHCP with a visible countdown, or a fixed IPv4 address), then the NAS answering on 445. When
 * its name does not answer (no DNS in this network), the technician can type its IP address.
 */
import { isIPv4 } from 'node:net';
import { BACK } from '../ui.js';
import type { Context, Step } from '../context.js';
import { askForm } from '../form.js';

const DHCP_WAIT_SECONDS = 45;

export function nasHost(unc: string): string {
  return unc.replace(/^\\\\/, '').split('\\')[0]!;
}

/** The share path as it is connected: with the NAS IP address when the technician typed one. */
export function shareUnc(ctx: Context): string {
  const unc = ctx.media.site.share.path;
  const ip = ctx.state.nasAddress;
  return ip ? `\\\\${ip}\\${unc.replace(/^\\\\/, '').split('\\').slice(1).join('\\')}` : unc;
}

async function hasAddress(ctx: Context): Promise<boolean> {
  const nics = await ctx.platform.nics();
  return nics.some((n) => n.ipv4.some((a) => !a.startsWith('169.254.') && a !== '0.0.0.0'));
}

const ipv4 = (optional: boolean) => (t: string) => ((optional && t.trim() === '') || isIPv4(t.trim()) ? true : 'Type an IPv4 address such as 192.168.1.50');

/** A fixed IPv4 address for this machine; Esc goes back one field. False when left with Esc or refused. */
export async function askStatic(ctx: Context): Promise<boolean> {
  const { ui, platform, log } = ctx;
  const nics = (await platform.nics()).filter((n) => n.connected);
  if (nics.length === 0) {
    ui.warn('No network card has a cable connected. Check the cable and the switch port.');
    return false;
  }
  // One card: nothing to ask (a field answered by itself would make Esc on the next one run straight back to it).
  const only = nics.length === 1 ? nics[0]!.name : undefined;
  const form = await askForm([
    ...(only ? [] : [{ key: 'nic' as const, ask: () => ui.select('Which network card?', nics.map((n) => ({ name: `${n.name} ${n.description ?? ''}`, value: n.name }))) }]),
    { key: 'address', ask: () => ui.input('IPv4 address for this machine', { validate: ipv4(false) }) },
    { key: 'mask', ask: () => ui.input('Subnet mask', { default: '255.255.255.0', validate: (t) => (isIPv4(t.trim()) ? true : 'Type a mask such as 255.255.255.0') }) },
    { key: 'gateway', ask: () => ui.input('Gateway (empty if the NAS is in the same network)', { validate: ipv4(true) }) },
    { key: 'dns', ask: () => ui.input('DNS server (empty to use the NAS by IP address)', { validate: ipv4(true) }) },
  ] as const);
  if (form === BACK) return false;
  const config = { nic: only ?? form.nic!, address: form.address.trim(), mask: form.mask.trim(), gateway: form.gateway.trim() || undefined, dns: form.dns.trim() || undefined };
  const r = await platform.setStaticIpv4(config);
  log.write(`static IPv4 on ${config.nic}: ${config.address} ${config.mask} gw=${config.gateway ?? '-'} dns=${config.dns ?? '-'}: ${r.ok ? 'ok' : r.output}`);
  if (!r.ok) ui.warn(`netsh refused the address: ${r.output.trim()}`);
  return r.ok;
}

/** Asks for the NAS IP address and tries it on 445; true when it answers (then the share is connected by it). */
export async function askNasAddress(ctx: Context): Promise<boolean> {
  const { ui, platform, log, state } = ctx;
  const ip = await ui.input('IP address of the NAS (on its display, in the router\'s list, or in the manual)', { validate: ipv4(false) });
  if (ip === BACK) return false;
  const answers = await platform.tcpReachable(ip.trim(), 445, 5000);
  log.write(`NAS by address ${ip.trim()}:445 ${answers ? 'answers' : 'does not answer'}`);
  if (!answers) {
    ui.warn(`${ip.trim()} does not answer on port 445 either.`);
    return false;
  }
  state.nasAddress = ip.trim();
  state.nasReachable = true;
  ui.ok(`The NAS answers at ${ip.trim()}: the share is connected as ${shareUnc(ctx)}.`);
  return true;
}

export const network: Step = {
  id: 'network',
  title: 'Network',
  async run(ctx) {
    const { ui, log, platform, media, state } = ctx;
    await platform.initNetwork();
    for (;;) {
      const up = (await hasAddress(ctx)) || (await ui.countdown('Waiting for an address from DHCP...', DHCP_WAIT_SECONDS, () => hasAddress(ctx)));
      state.networkUp = up;
      if (up) {
        const nics = (await platform.nics()).filter((n) => n.ipv4.length > 0);
        ui.ok(`Network: ${nics.map((n) => `${n.name} ${n.ipv4.join(', ')}`).join('; ')}`);
        log.write(`network up: ${nics.map((n) => `${n.name}=${n.ipv4.join(',')}`).join(' ')}`);
        const host = state.nasAddress ?? nasHost(media.site.share.path);
        state.nasReachable = await platform.tcpReachable(host, 445, 5000);
        log.write(`NAS ${host}:445 ${state.nasReachable ? 'answers' : 'does not answer'}`);
        if (state.nasReachable) {
          ui.ok(`The NAS ${host} answers on the file sharing port (445).`);
          return 'next';
        }
        ui.warn(`The NAS ${host} does not answer on port 445 (file sharing).`);
        ui.say('Check that the NAS is on, that this machine is in the right network, and the name or address of the NAS.');
      } else {
        ui.warn('No network address: no DHCP answer.');
        log.write('network: no DHCP address');
      }
      const choice = await ui.select('What now?', [
        { name: 'Try again', value: 'retry', description: 'waits for DHCP and tries the NAS again' },
        ...(up ? [{ name: 'Type the NAS IP address', value: 'ip', description: 'when its name is not known in this network (no DNS); the share is then connected by the address' }] : []),
        { name: 'Set a fixed IPv4 address for this machine', value: 'static', description: 'when there is no DHCP server: address, mask, gateway, DNS' },
        { name: 'Go on without the network check', value: 'skip', description: 'to the unlock; the share step tells whether the share can be reached' },
      ]);
      if (choice === BACK) return 'back';
      if (choice === 'skip') return 'next';
      if (choice === 'static') await askStatic(ctx);
      if (choice === 'ip' && (await askNasAddress(ctx))) return 'next';
    }
  },
};
