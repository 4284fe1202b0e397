import type { Command } from 'commander';
import { currentUser } from '../../engine/index.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { print, printJson } from '../output.ts';

export function registerStop(program: Command): void {
  program
    .command('stop')
    .description(
      'halt a run’s agent within seconds, keeping what it did: later agent steps and fix rounds are skipped, checks and publish still run (`cancel` ends the whole run)',
    )
    .argument('<run>', 'run id (or its last 8 characters)')
    .action(async (runId: string, _options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const client = await openClient(global, { worker: false, command: 'nightshift stop' });
      try {
        const run = await client.stop(runId, currentUser());
        if (global.json) printJson(run);
        else
          print(
            `run ${run.id}: stop requested; its agent halts within seconds (see \`nightshift logs ${run.id}\`)`,
          );
      } finally {
        await client.close();
      }
    });
}
