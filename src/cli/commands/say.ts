import type { Command } from 'commander';
import { currentUser } from '../../engine/index.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { print, printJson } from '../output.ts';
import { watchRun } from './run.ts';

interface SayOptions {
  detach?: boolean;
  follow?: boolean;
}

export function registerSay(program: Command): void {
  program
    .command('say')
    .description(
      'send a run’s agent a follow-up: delivered when its current turn ends; to a completed run, starts a run that continues it on the same branch',
    )
    .argument('<run>', 'run id (or its last 8 characters)')
    .argument('<message>', 'what the agent should do next')
    .option('--detach', 'when the run has completed: queue the continuing run and return')
    .option('--follow', 'when the run has completed: also stream the output of every step')
    .addHelpText(
      'after',
      '\nExamples:\n  nightshift say 1a2b3c4d "also cover the empty input case"\n  nightshift say 1a2b3c4d "now update the docs too"   # after it completed: a run continuing it',
    )
    .action(async (runId: string, message: string, options: SayOptions, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const json = global.json ?? false;
      let client = await openClient(global, { worker: false, command: 'nightshift say' });
      try {
        const result = await client.say(runId, message, currentUser());
        if (result.delivery === 'queued') {
          if (json) printJson(result);
          else
            print(`follow-up queued for run ${result.run.id}: the agent gets it when its current turn ends`);
          return;
        }
        if (options.detach) {
          if (json) printJson(result);
          else
            print(
              `run ${result.run.id} continues ${result.run.continues} on ${result.run.branch}; follow it with \`nightshift logs ${result.run.id} --follow\``,
            );
          return;
        }
        if (!json) print(`run ${result.run.id} continues ${result.run.continues} on ${result.run.branch}`);
        // This process may own the home: it executes the continuing run itself, like `run` does.
        await client.close();
        const reopen = () => openClient(global, { worker: true, command: 'nightshift say' });
        client = await reopen();
        const outcome = await watchRun(client, reopen, result.run.id, {
          output: options.follow ?? false,
          json,
        });
        client = outcome.client;
        process.exitCode = outcome.exitCode;
      } finally {
        await client.close();
      }
    });
}
