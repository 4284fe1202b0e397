import type { Command } from 'commander';
import { type GlobalOptions, nobodyExecutes, openClient } from '../context.ts';
import { print, printJson } from '../output.ts';
import { runDetails } from '../render.ts';

export function registerShow(program: Command): void {
  program
    .command('show')
    .description(
      'show a run: state, conclusion and reason, branch and diffstat, model usage and cost by step',
    )
    .argument('<run>', 'run id (or its last 8 characters)')
    .action(async (runId: string, _options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const client = await openClient(global, { worker: false, command: 'nightshift show' });
      try {
        const details = await client.run(runId);
        if (global.json) printJson(details);
        else print(runDetails(details));
        const { status } = details.run;
        if (!global.json && status !== 'queued' && status !== 'completed') {
          if (nobodyExecutes(client, false)) {
            print(
              `\nnot executing now: the process running it stopped (no process executes this home's runs); \`nightshift worker\` resumes it`,
            );
          } else if (details.lease?.lapsed) {
            print(
              `\nnot executing now: its worker ${details.lease.worker} stopped (its lease lapsed at ${new Date(details.lease.expiresAt).toISOString()}); the next worker to claim runs takes it over`,
            );
          }
        }
      } finally {
        await client.close();
      }
    });
}
