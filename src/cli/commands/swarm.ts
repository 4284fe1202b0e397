import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { sleep } from '../../core/clock.ts';
import { type ErrorCode, invalidInput, NightshiftError, notFound } from '../../core/errors.ts';
import { plural } from '../../core/plural.ts';
import { EXIT_CODES, type RunConclusion } from '../../core/run.ts';
import { currentUser } from '../../engine/index.ts';
import { parseSwarmSpec, readSpec } from '../../fleets/parse.ts';
import type { SwarmProgress } from '../../fleets/swarm-drives.ts';
import type { SwarmSummary } from '../../fleets/swarm-store.ts';
import type { Client } from '../client.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { OwnerGone } from '../http.ts';
import { print, printJson } from '../output.ts';
import { RECONNECT_MS } from '../remote-client.ts';
import { swarmDetails, swarmLine } from '../render.ts';
import type { SwarmStartInput, SwarmsClient } from '../swarms-client.ts';

/** How often a following command asks where the swarm stands. */
const POLL_MS = 300;
/** Most times a swarm whose driving process stopped is started again (each continues it). */
const RESTARTS = 3;
/** Who drives a swarm for a command that does not own the home (only such a command can attach). */
const ELSEWHERE = 'the server or the process owning the home';

export function registerSwarm(program: Command): void {
  const swarm = program
    .command('swarm')
    .description('split a goal into facets run in parallel, converge them into one change')
    .argument('<spec>', 'swarm spec file (YAML)')
    .addHelpText(
      'after',
      '\nThe process owning the home drives the swarm: this one, or a server (then the swarm goes on when\nthis command stops, and running it again follows it). `swarm cancel NAME` stops it wherever it is driven.\n\nExit codes: as `nightshift run`, for the converge run (0 success); 11 cancelled (`swarm cancel`); 130\nCtrl-C stopped following (run the same spec again to continue or follow it). See docs/fleets.md#swarms.',
    )
    .action(async (file: string, _options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const { spec, dir, text } = await readSpec(file, parseSwarmSpec);
      const client = await openClient(global, { worker: true, command: 'nightshift swarm' });
      // Ctrl-C stops following (a second one exits at once).
      const interrupt = new AbortController();
      const onInterrupt = () => {
        if (interrupt.signal.aborted) process.exit(130);
        interrupt.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onInterrupt);
      try {
        const say = global.json ? () => {} : (line: string) => print(`swarm ${line}`);
        const ended = await followSwarm(client, { text, file, cwd: dir }, say, interrupt.signal);
        if (!ended) {
          if (global.json) printJson({ name: spec.name, interrupted: true });
          else print(interruptedAdvice(client, spec.name, file));
          process.exitCode = 130;
          return;
        }
        const { result } = ended;
        if (global.json)
          printJson(result ?? { id: ended.id, name: ended.name, state: ended.state, reason: ended.reason });
        else if (!result)
          print(
            `swarm ${ended.name}: ${ended.state === 'cancelled' ? ended.reason : `${ended.state}${ended.reason ? `: ${ended.reason}` : ''}`}`,
          );
        else
          print(
            result.conclusion === 'success'
              ? `swarm ${result.name}: one change on ${result.branch} (${result.head?.slice(0, 8)}), crediting ${plural(result.facets.filter((f) => f.conclusion === 'success').length, 'facet')}${result.url ? `: ${result.url}` : ''}`
              : `swarm ${result.name}: ${result.conclusion}${result.reason ? `: ${result.reason}` : ''}`,
          );
        process.exitCode = EXIT_CODES[result?.conclusion ?? ENDED[ended.state] ?? 'failure'];
      } finally {
        process.off('SIGINT', onInterrupt);
        // With the engine here, closing stops driving the swarm: running the spec again continues it.
        await client.close();
      }
    });
  swarm
    .command('list')
    .description('the latest execution of each swarm, most recently updated first')
    .option('--limit <n>', 'how many (default 100, at most 1000)', '100')
    .action(async (options: { limit: string }, command: Command) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw invalidInput(`--limit must be a whole number from 1 to 1000, got "${options.limit}"`);
      await withSwarms(command, async (swarms, json) => {
        const found = await swarms.list({ limit });
        if (json) printJson(found);
        else if (found.length === 0) print('no swarms yet: `nightshift swarm SPEC` starts one');
        else {
          for (const s of found) print(swarmLine(s));
          if (found.length === limit)
            print(
              `(the ${limit} most recently updated; \`--limit\` shows more, \`swarm status NAME\` any one)`,
            );
        }
      });
    });
  oneSwarm(swarm, 'status', 'where a swarm stands: its state, who drives it, its runs and its change').action(
    async (which: string, options: { repo?: string }, command: Command) => {
      await withSwarms(command, async (swarms, json) => {
        const found = await pick(swarms, which, options.repo);
        if (json) printJson(found);
        else print(swarmDetails(found));
      });
    },
  );
  oneSwarm(
    swarm,
    'cancel',
    'stop a swarm: cancel its runs that have not finished; whoever drives it stops',
  ).action(async (which: string, options: { repo?: string }, command: Command) => {
    await withSwarms(command, async (swarms, json) => {
      const { id } = await pick(swarms, which, options.repo);
      const result = await swarms.cancel(id, currentUser());
      if (json) printJson(result);
      else
        print(
          `swarm ${result.swarm.name}: ${result.swarm.reason} (${plural(result.cancelled, 'run')} cancelled)`,
        );
    });
  });
}

/** A subcommand about one swarm's execution: its name (the latest) or id, and `--repo`. */
function oneSwarm(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .argument('<swarm>', 'swarm name (its latest execution) or execution id (swm_…)')
    .option('--repo <repo>', 'the repo, when swarms of that name run on several');
}

/** The conclusion a swarm that ended without a result here stands for (its exit code). */
const ENDED: Record<string, RunConclusion> = { completed: 'success', cancelled: 'cancelled' };

/** Runs `fn` with the swarms of the home (or `--server`), for commands that execute no run. */
async function withSwarms(
  command: Command,
  fn: (swarms: SwarmsClient, json: boolean) => Promise<void>,
): Promise<void> {
  const global = command.optsWithGlobals<GlobalOptions>();
  const client = await openClient(global, { worker: false, command: `nightshift swarm ${command.name()}` });
  try {
    await fn(client.swarms, global.json ?? false);
  } finally {
    await client.close();
  }
}

/**
 * The execution `which` names: an id (`swm_…`), or the latest execution of the swarm of that
 * name, on `repo` (its URL or path) when several repos have a swarm of that name.
 */
async function pick(swarms: SwarmsClient, which: string, repo?: string): Promise<SwarmSummary> {
  const hint = 'see `nightshift swarm list`';
  if (which.startsWith('swm_')) {
    const [found] = await swarms.list({ id: which });
    if (!found) throw notFound('swarm', which, hint);
    return found;
  }
  const named = await swarms.list({ name: which });
  const found = repo ? named.filter((s) => s.repo === repo || s.repo === resolvePath(repo)) : named;
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw notFound(
      'swarm',
      repo ? `${which} on ${repo}` : which,
      named.length ? `it runs on ${named.map((s) => s.repo).join(', ')}` : hint,
    );
  }
  throw invalidInput(
    `swarms named ${which} run on ${found.length} repos: ${found.map((s) => s.repo).join(', ')}`,
    'name one with --repo, or give the execution id (swm_…)',
  );
}

/**
 * Has the process owning the home drive the swarm and follows it to its end, telling `say`
 * each progress line; null once `signal` aborted. A swarm whose driving process stopped
 * before its end (a server restarting) is started again, which continues it.
 */
async function followSwarm(
  client: Client,
  input: SwarmStartInput,
  say: (line: string) => void,
  signal: AbortSignal,
): Promise<SwarmProgress | null> {
  try {
    let { id, name, attached } = await client.swarms.start(input);
    if (attached) say(`${name}: already driven by ${ELSEWHERE}; following it`);
    else if (client.mode === 'remote')
      say(`${name}: driven by ${ELSEWHERE}; Ctrl-C stops following, not the swarm`);
    let after = 0;
    for (let restarts = 0; ; ) {
      let gone = false;
      const progress = await reaching(
        () => client.swarms.progress(id, after),
        signal,
        () => {
          gone = true;
        },
      );
      if (gone) {
        // The server restarted: it takes the swarm up again (or does now), with lines of its own.
        ({ id } = await client.swarms.start(input));
        after = 0;
        continue;
      }
      for (const line of progress.lines) say(`${name}: ${line}`);
      after = progress.next;
      if (!progress.driving) {
        // Someone cancelled it (`nightshift swarm cancel`): it ended, there is nothing to continue.
        if (progress.state === 'cancelled') return progress;
        if (progress.error) {
          throw new NightshiftError(
            progress.error.code as ErrorCode,
            `swarm ${name}: ${progress.error.message}`,
            { hint: progress.error.hint ?? `run \`nightshift swarm ${input.file}\` again to continue it` },
          );
        }
        if (progress.result || ['completed', 'failed'].includes(progress.state)) return progress;
        if (++restarts > RESTARTS) {
          throw new NightshiftError(
            'CONFLICT',
            `swarm ${name}: the process driving it stopped ${RESTARTS} times`,
            {
              hint: `see \`nightshift runs\`; run \`nightshift swarm ${input.file}\` again to continue it`,
            },
          );
        }
        ({ id } = await client.swarms.start(input));
        after = 0;
      }
      await sleep(POLL_MS, signal);
    }
  } catch (error) {
    if (signal.aborted) return null;
    throw error;
  }
}

/**
 * `ask`, asked again while the server cannot be reached (it restarts), for up to `RECONNECT_MS`;
 * `onGone` is told when it could not be.
 */
async function reaching<T>(ask: () => Promise<T>, signal: AbortSignal, onGone: () => void): Promise<T> {
  const since = Date.now();
  for (;;) {
    try {
      return await ask();
    } catch (error) {
      if (!(error instanceof OwnerGone) || Date.now() - since > RECONNECT_MS) throw error;
      onGone();
      await sleep(500, signal);
    }
  }
}

/** What Ctrl-C left: a swarm driven here stopped; one driven elsewhere goes on there. */
function interruptedAdvice(client: Client, name: string, file: string): string {
  return client.mode === 'embedded'
    ? `swarm ${name}: stopped; run \`nightshift swarm ${file}\` again to continue it (its runs resume, none starts twice)`
    : `swarm ${name}: stopped following; it goes on in ${ELSEWHERE} (run \`nightshift swarm ${file}\` again to follow it)`;
}
