import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { currentUser } from '../../engine/index.ts';
import { FLEET_REPO_STATES, type FleetRepoState } from '../../fleets/store.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { applyCommand } from '../fleet/apply.ts';
import { burnDown, fleetLine, repoLine, statusSummary } from '../fleet/render.ts';
import type { FleetsClient } from '../fleets-client.ts';
import { print, printJson } from '../output.ts';

const HELP = `
Exit codes: 0 every repo succeeded (or had nothing to change), 10 some repo failed or the fleet
was paused (stop_when), 2 bad spec or unknown fleet. See docs/fleets.md.`;

/**
 * Opens Nightshift for a fleet command (the engine here, or the API of the process or server
 * owning the home), runs `fn` on its fleets, closes it.
 */
async function withFleets<T>(
  command: Command,
  worker: boolean,
  fn: (fleets: FleetsClient, json: boolean) => Promise<T>,
): Promise<T> {
  const global = command.optsWithGlobals<GlobalOptions>();
  const client = await openClient(global, { worker, command: `nightshift fleet ${command.name()}` });
  try {
    return await fn(client.fleets, global.json ?? false);
  } finally {
    await client.close();
  }
}

export function registerFleet(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('apply one change to many repositories, and watch it converge')
    .addHelpText('after', HELP);
  fleet
    .command('apply')
    .description(
      'preview, then queue a run per repo and execute them (idempotent: finished repos are not redone)',
    )
    .argument('<spec>', 'fleet spec file (YAML)')
    .option('--dry-run', 'show which repos would run, and what, without queuing anything')
    .option('--detach', 'queue the runs and return; `nightshift worker` executes them')
    .action(async (file: string, options: { dryRun?: boolean; detach?: boolean }, command: Command) => {
      process.exitCode = await withFleets(command, !options.dryRun && !options.detach, (fleets, json) =>
        applyCommand(fleets, file, { ...options, json, author: currentUser() }),
      );
    });
  fleet
    .command('status')
    .description('counts per state, failures grouped by message, and the table of repos')
    .argument('<name>', 'fleet name')
    .option('--state <state>', `only repos in this state (${FLEET_REPO_STATES.join(', ')})`)
    .option('--series', 'also the counts over time (a burn-down)')
    .option('--refresh', 'first read the state and checks of every pull request from GitHub')
    .action(
      async (
        name: string,
        options: { state?: string; series?: boolean; refresh?: boolean },
        command: Command,
      ) => {
        if (options.state && !FLEET_REPO_STATES.includes(options.state as FleetRepoState)) {
          throw invalidInput(
            `unknown state "${options.state}"`,
            `use one of ${FLEET_REPO_STATES.join(', ')}`,
          );
        }
        const state = options.state as FleetRepoState | undefined;
        await withFleets(command, false, async (fleets, json) => {
          const refreshed = options.refresh ? await fleets.refresh(name) : undefined;
          const status = await fleets.status(name);
          if (json) {
            const repos = [];
            for await (const row of fleets.repos(name, state)) repos.push(row);
            const series = options.series ? await fleets.series(name) : undefined;
            printJson({ ...status, repos, series, refreshed });
            return;
          }
          if (refreshed) {
            print(
              `refreshed ${refreshed.refreshed} pull requests from GitHub (${refreshed.updated} changed)`,
            );
            for (const e of refreshed.errors) print(`  ${e.repo}: ${e.message}`);
          }
          print(statusSummary(status));
          if (options.series) {
            const series = await fleets.series(name);
            const from = series[0] ? ` (from ${new Date(series[0].at).toISOString()})` : '';
            print(`\ncounts over time${from}:\n${burnDown(series)}`);
          }
          print('');
          for await (const row of fleets.repos(name, state)) print(repoLine(row));
        });
      },
    );
  fleet
    .command('list')
    .description('every fleet with its state')
    .action(async (_options, command: Command) => {
      await withFleets(command, false, async (client, json) => {
        const fleets = await client.list();
        if (json) printJson(fleets);
        else for (const f of fleets) print(fleetLine(f));
      });
    });
  fleet
    .command('retry')
    .description('queue a new run for every failed repo (same inputs, same branch)')
    .argument('<name>', 'fleet name')
    .requiredOption('--failed', 'retry the failed repos (the only kind of retry)')
    .action(async (name: string, _options, command: Command) => {
      await withFleets(command, false, async (fleets, json) => {
        const result = await fleets.retry(name, currentUser());
        if (json) printJson(result);
        else print(`fleet ${name}: ${result.retried} failed repos queued again`);
      });
    });
  for (const [verb, description] of [
    ['pause', 'stop starting runs (running ones finish); `resume` continues'],
    ['resume', 'start runs again after a pause (or a stop_when)'],
    ['cancel', 'cancel every run of the fleet that has not finished'],
  ] as const) {
    fleet
      .command(verb)
      .description(description)
      .argument('<name>', 'fleet name')
      .action(async (name: string, _options, command: Command) => {
        await withFleets(command, false, async (fleets, json) => {
          const result =
            verb === 'pause'
              ? await fleets.pause(name, `paused by ${currentUser()}`)
              : verb === 'resume'
                ? await fleets.resume(name)
                : await fleets.cancel(name, currentUser());
          if (json) printJson(result);
          else
            print(
              `fleet ${name}: ${result.fleet.state}${'cancelled' in result ? ` (${result.cancelled} runs cancelled)` : ''}`,
            );
        });
      });
  }
}
