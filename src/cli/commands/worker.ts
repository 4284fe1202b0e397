import type { Command } from 'commander';
import type { Store } from '../../store/index.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { print } from '../output.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('execute queued runs (and resume interrupted ones) until stopped with Ctrl-C')
    .option('--until-idle', 'exit once no run is queued or running')
    .action(async (options: { untilIdle?: boolean }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const client = await openClient(global, { worker: true, command: 'nightshift worker' });
      if (client.mode !== 'embedded') {
        await client.close();
        print('another Nightshift process owns this home and is already executing its runs');
        return;
      }
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      if (!global.json) print('worker started; Ctrl-C stops it (unfinished runs resume next time)');
      // A line for every run this worker finishes (a JSON object a line with --json): its progress.
      const printing = new Set<Promise<void>>();
      const store = client.engine?.store;
      const off = store?.on('completed', (runId) => {
        const line = reportRun(store, runId, global.json ?? false);
        printing.add(line);
        void line.finally(() => printing.delete(line));
      });
      await (options.untilIdle ? Promise.race([waitIdle(client), stopped]) : stopped);
      off?.();
      await Promise.all(printing);
      await client.close();
    });
}

async function waitIdle(client: Awaited<ReturnType<typeof openClient>>): Promise<void> {
  for (;;) {
    const active = [
      ...(await client.runs({ status: 'queued', limit: 1 })),
      ...(await client.runs({ status: 'provisioning', limit: 1 })),
      ...(await client.runs({ status: 'running', limit: 1 })),
      ...(await client.runs({ status: 'publishing', limit: 1 })),
    ];
    if (active.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Prints how a finished run ended: `RUN  REPO  CONCLUSION[: REASON]  (TRIGGER)`, or that as one
 * JSON line. Two lookups, not the run's whole details: it runs once per run a fleet finishes.
 */
async function reportRun(store: Store, runId: string, json: boolean) {
  try {
    const run = await store.getRun(runId);
    const repo = await store.repos.get(run.repoId);
    const { conclusion, reason, trigger } = run;
    print(
      json
        ? JSON.stringify({ run: run.id, repo: repo.name, conclusion, reason, trigger })
        : `${run.id}  ${repo.name}  ${conclusion}${reason ? `: ${reason}` : ''}  (${trigger})`,
    );
  } catch {
    // The home closing under it: the run's outcome is in the store all the same.
  }
}
