/** The main menu, after the share step: restore a server, save diagnostics first, or repair a restored Windows. */
import { BACK } from '../ui.js';
import type { Step } from '../context.js';

export const menu: Step = {
  id: 'menu',
  title: 'What do you want to do?',
  async run({ ui, state }) {
    const choice = await ui.select<'restore' | 'diagnostics' | 'repair' | 'quit'>('Choose', [
      { name: 'Restore a server', value: 'restore', description: 'pick the server, the restore point and the target disk, check the plan, then Veeam Bare Metal Recovery' },
      {
        name: 'Save diagnostics from a failed system first',
        value: 'diagnostics',
        description: 'event logs, crash dumps and setup logs of the failed Windows, before the restore overwrites them',
      },
      { name: 'Repair a restored Windows that does not start', value: 'repair', description: 'drivers for this hardware and the boot files (bcdboot), on a Windows restored before' },
      { name: 'Quit', value: 'quit', description: 'the session log is saved; Veeam Recovery starts when this window closes' },
    ], state.diagnostics ? 'restore' : undefined);
    if (choice === BACK) return 'back';
    if (choice === 'quit') return 'quit';
    return { goto: choice === 'restore' ? 'backups' : choice };
  },
};
