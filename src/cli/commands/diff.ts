import type { Command } from 'commander';
import pc from 'picocolors';
import { type GlobalOptions, openClient } from '../context.ts';
import { print, printJson } from '../output.ts';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('print the change a run made (the full diff of its branch against the base commit)')
    .argument('<run>', 'run id (or its last 8 characters)')
    .option('--stat', 'only the diffstat')
    .action(async (runId: string, options: { stat?: boolean }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const client = await openClient(global, { worker: false, command: 'nightshift diff' });
      try {
        const { run, change } = await client.run(runId);
        if (global.json) return printJson(change);
        if (!change) {
          const why =
            run.status !== 'completed' ? `it is still ${run.status}` : `it concluded ${run.conclusion}`;
          return print(pc.dim(`run ${run.id} has no change: ${why}`));
        }
        if (options.stat) {
          for (const file of change.diffstat.perFile)
            print(`${file.path} +${file.insertions} -${file.deletions}`);
          return;
        }
        const colour = process.stdout.isTTY;
        for (const line of change.diff.split('\n')) {
          if (!colour) print(line);
          else if (line.startsWith('+') && !line.startsWith('+++')) print(pc.green(line));
          else if (line.startsWith('-') && !line.startsWith('---')) print(pc.red(line));
          else if (line.startsWith('@@')) print(pc.cyan(line));
          else print(line);
        }
      } finally {
        await client.close();
      }
    });
}
