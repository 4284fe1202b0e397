import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { currentUser } from '../../engine/index.ts';
import { FLEET_REPO_STATES, type FleetRepoState } from '../../fleets/store.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { applyCommand } from '../fleet/apply.ts';
import { repoLine, statusSummary } from '../fleet/render.ts';
import { engineOf } from '../fleet/spec.ts';
import { print, printJson } from '../output.ts';

const HELP = `
Exit codes: 0 every repo succeeded (or had nothing to change), 10 some repo failed or the fleet
was paused (stop_when), 2 bad spec or unknown fleet. See docs/fleets.md.`;

/** Opens the engine for a fleet command, runs `fn`, closes it. */
async function withEngine<T>(
  command: Command,
  worker: boolean,
  fn: (engine: ReturnType<typeof engineOf>, json: boolean) => Promise<T>,
): Promise<T> {
  const global = command.optsWithGlobals<GlobalOptions>();
  const client = await openClient(global, { worker, command: `nightshift fleet ${command.name()}` });
  try {
    return await fn(engineOf(client), global.json ?? false);
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
      process.exitCode = await withEngine(command, !options.dryRun && !options.detach, (engine, json) =>
        applyCommand(engine, file, { ...options, json, author: currentUser() }),
      );
    });
  fleet
    .command('status')
    .description('counts per state, failures grouped by message, and the table of repos')
    .argument('<name>', 'fleet name')
    .option('--state <state>', `only repos in this state (${FLEET_REPO_STATES.join(', ')})`)
    .option('--series', 'with --json: the counts over time (burn-down)')
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
        await withEngine(command, false, async (engine, json) => {
          const refreshed = options.refresh ? await engine.fleets.refresh(name) : undefined;
          const status = await engine.fleets.status(name);
          if (json) {
            const repos = [];
            for await (const row of engine.fleets.queries.repos(name, state)) repos.push(row);
            const series = options.series ? await engine.fleets.queries.series(name) : undefined;
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
          print('');
          for await (const row of engine.fleets.queries.repos(name, state)) print(repoLine(row));
        });
      },
    );
  fleet
    .command('list')
    .description('every fleet with its state')
    .action(async (_options, command: Command) => {
      await withEngine(command, false, async (engine, json) => {
        const fleets = await engine.fleets.queries.list();
        if (json) printJson(fleets);
        else
          for (const f of fleets)
            print(`${f.name.padEnd(24)} ${f.state}${f.stateReason ? ` (${f.stateReason})` : ''}`);
      });
    });
  fleet
    .command('retry')
    .description('queue a new run for every failed repo (same inputs, same branch)')
    .argument('<name>', 'fleet name')
    .requiredOption('--failed', 'retry the failed repos (the only kind of retry)')
    .action(async (name: string, _options, command: Command) => {
      await withEngine(command, false, async (engine, json) => {
        const result = await engine.fleets.retryFailed(name, currentUser());
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
        await withEngine(command, false, async (engine, json) => {
          const result =
            verb === 'pause'
              ? { fleet: await engine.fleets.pause(name, `paused by ${currentUser()}`) }
              : verb === 'resume'
                ? { fleet: await engine.fleets.resume(name) }
                : await engine.fleets.cancel(name, currentUser());
          if (json) printJson(result);
          else
            print(
              `fleet ${name}: ${result.fleet.state}${'cancelled' in result ? ` (${result.cancelled} runs cancelled)` : ''}`,
            );
        });
      });
  }
}
