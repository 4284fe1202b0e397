import type { Command } from 'commander';
import { currentUser } from '../../engine/index.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { print, printJson } from '../output.ts';
import { state } from '../render.ts';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('stop a run: a queued run is cancelled at once, a running one within a second')
    .argument('<run>', 'run id (or its last 8 characters)')
    .action(async (runId: string, _options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const client = await openClient(global, { worker: false, command: 'nightshift cancel' });
      try {
        const run = await client.cancel(runId, currentUser());
        if (global.json) printJson(run);
        else if (run.status === 'completed') print(`run ${run.id} is ${state(run)}`);
        else
          print(
            `run ${run.id}: cancel requested; its worker stops it now (see \`nightshift show ${run.id}\`)`,
          );
      } finally {
        await client.close();
      }
    });
}
