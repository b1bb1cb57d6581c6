/** Step 4: network up (DHCP with a visible countdown, or a static IPv4 address), then the NAS answering on 445. */
import { isIPv4 } from 'node:net';
import { BACK, type Ui } from '../ui.js';
import type { Context, Step } from '../context.js';

const DHCP_WAIT_SECONDS = 45;

export function nasHost(unc: string): string {
  return unc.replace(/^\\\\/, '').split('\\')[0]!;
}

async function hasAddress(ctx: Context): Promise<boolean> {
  const nics = await ctx.platform.nics();
  return nics.some((n) => n.ipv4.some((a) => !a.startsWith('169.254.') && a !== '0.0.0.0'));
}

async function askStatic(ui: Ui, ctx: Context): Promise<boolean> {
  const nics = (await ctx.platform.nics()).filter((n) => n.connected);
  if (nics.length === 0) {
    ui.warn('No network card has a cable connected. Check the cable and the switch port.');
    return false;
  }
  const nic = nics.length === 1 ? nics[0]!.name : await ui.select('Which network card?', nics.map((n) => ({ name: `${n.name} ${n.description ?? ''}`, value: n.name })));
  if (nic === BACK) return false;
  const ip = (msg: string, optional = false) => ui.input(msg, { validate: (t) => (optional && t === '') || isIPv4(t.trim()) ? true : 'Type an IPv4 address such as 192.168.1.50' });
  const address = await ip('IPv4 address for this machine');
  if (address === BACK) return false;
  const mask = await ui.input('Subnet mask', { default: '255.255.255.0', validate: (t) => (isIPv4(t.trim()) ? true : 'Type a mask such as 255.255.255.0') });
  if (mask === BACK) return false;
  const gateway = await ip('Gateway (empty if the NAS is in the same network)', true);
  if (gateway === BACK) return false;
  const dns = await ip('DNS server (empty to use the NAS by IP address)', true);
  if (dns === BACK) return false;
  const r = await ctx.platform.setStaticIpv4({ nic, address: address.trim(), mask: mask.trim(), gateway: gateway.trim() || undefined, dns: dns.trim() || undefined });
  ctx.log.write(`static IPv4 on ${nic}: ${address} ${mask} gw=${gateway || '-'} dns=${dns || '-'}: ${r.ok ? 'ok' : r.output}`);
  if (!r.ok) ui.warn(`netsh refused the address: ${r.output.trim()}`);
  return r.ok;
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
        const host = nasHost(media.site.site.share.path);
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
        { name: 'Try again', value: 'retry' },
        { name: 'Set a fixed IPv4 address', value: 'static' },
        { name: 'Go on without the network check (the share step will tell)', value: 'skip' },
      ]);
      if (choice === BACK) return 'back';
      if (choice === 'skip') return 'next';
      if (choice === 'static') await askStatic(ui, ctx);
    }
  },
};
