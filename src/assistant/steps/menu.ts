/** The main menu, once the share is connected: restore a server, or save diagnostics from a failed system first. */
import { BACK } from '../ui.js';
import type { Step } from '../context.js';

export const menu: Step = {
  id: 'menu',
  title: 'What do you want to do?',
  async run({ ui, state }) {
    const choice = await ui.select('Choose', [
      { name: 'Restore a server', value: 'restore', description: 'pick the server, the restore point and the target disk, then Veeam Bare Metal Recovery' },
      {
        name: 'Save diagnostics from a failed system first',
        value: 'diagnostics',
        description: 'event logs, crash dumps and setup logs of the failed Windows, to the share, before it is overwritten',
      },
      { name: 'Quit', value: 'quit' },
    ], state.diagnostics ? 'restore' : undefined);
    if (choice === BACK) return 'back';
    if (choice === 'quit') return 'quit';
    return choice === 'restore' ? { goto: 'backups' } : { goto: 'diagnostics' };
  },
};
