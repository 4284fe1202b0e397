import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { RUN_CONCLUSIONS, RUN_STATUSES, type RunConclusion, type RunStatus } from '../../core/run.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { print, printJson } from '../output.ts';
import { runsTable } from '../render.ts';
import { repoLocation } from './shared.ts';

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('list runs, newest first')
    .option('--status <status>', `only runs in this status (${RUN_STATUSES.join(', ')})`)
    .option(
      '--conclusion <conclusion>',
      `only completed runs with this conclusion (${RUN_CONCLUSIONS.join(', ')})`,
    )
    .option('--repo <path>', 'only runs on this repository')
    .option('--limit <n>', 'how many (default 20, at most 500)', '20')
    .option('--before <run>', 'the page after this run id (cursor)')
    .action(async (options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      if (options.status && !RUN_STATUSES.includes(options.status)) {
        throw invalidInput(`unknown status "${options.status}"`, `use one of ${RUN_STATUSES.join(', ')}`);
      }
      if (options.conclusion && !RUN_CONCLUSIONS.includes(options.conclusion)) {
        throw invalidInput(
          `unknown conclusion "${options.conclusion}"`,
          `use one of ${RUN_CONCLUSIONS.join(', ')}`,
        );
      }
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw invalidInput('--limit must be a positive whole number');
      const client = await openClient(global, { worker: false, command: 'nightshift runs' });
      try {
        const runs = await client.runs({
          status: options.status as RunStatus | undefined,
          conclusion: options.conclusion as RunConclusion | undefined,
          repo: options.repo ? repoLocation(options.repo) : undefined,
          limit,
          before: options.before,
        });
        if (global.json) printJson(runs);
        else print(runsTable(runs));
      } finally {
        await client.close();
      }
    });
}
