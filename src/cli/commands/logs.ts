import type { Command } from 'commander';
import { type GlobalOptions, openClient } from '../context.ts';
import { followRun } from '../follow.ts';
import { formatEvent } from '../render.ts';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description(
      'print the history of a run: steps, their output, agent messages (--json: events as JSON lines)',
    )
    .argument('<run>', 'run id (or its last 8 characters)')
    .option('--follow', 'keep printing new events until the run completes')
    .option('--after <seq>', 'start after this event number', '0')
    .action(async (runId: string, options: { follow?: boolean; after: string }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const open = () => openClient(global, { worker: false, command: 'nightshift logs' });
      let client = await open();
      const controller = new AbortController();
      const onInterrupt = () => controller.abort();
      process.once('SIGINT', onInterrupt);
      try {
        const { run } = await client.run(runId);
        const print = (event: Parameters<typeof formatEvent>[0]) => {
          if (global.json) return void process.stdout.write(`${JSON.stringify(event)}\n`);
          const line = formatEvent(event, { output: true });
          if (line !== null) process.stdout.write(event.type === 'step.output' ? line : `${line}\n`);
        };
        let after = Number(options.after) || 0;
        if (options.follow) {
          ({ client } = await followRun(client, run.id, after, print, {
            signal: controller.signal,
            reconnect: open,
          }));
        } else {
          for (;;) {
            const events = await client.events(run.id, after, false);
            if (events.length === 0) break;
            for (const event of events) print(event);
            after = events.at(-1)!.seq;
          }
        }
      } finally {
        process.off('SIGINT', onInterrupt);
        await client.close();
      }
    });
}
