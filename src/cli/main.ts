import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import { type ErrorCode, toNightshiftError } from '../core/errors.ts';
import { registerAudit } from './commands/audit.ts';
import { registerAutomations } from './commands/automations.ts';
import { registerCancel } from './commands/cancel.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDiff } from './commands/diff.ts';
import { registerFleet } from './commands/fleet.ts';
import { registerHarness } from './commands/harness.ts';
import { registerLogs } from './commands/logs.ts';
import { registerPolicy } from './commands/policy.ts';
import { registerRun } from './commands/run.ts';
import { registerRuns } from './commands/runs.ts';
import { registerSandbox } from './commands/sandbox.ts';
import { registerSay } from './commands/say.ts';
import { registerServe } from './commands/serve.ts';
import { registerShow } from './commands/show.ts';
import { registerStop } from './commands/stop.ts';
import { registerSwarm } from './commands/swarm.ts';
import { registerToken } from './commands/token.ts';
import { registerWorker } from './commands/worker.ts';

/** Exit codes for errors before or around a run (a run's own conclusion has its own codes). */
const ERROR_EXIT: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: 2,
  BLUEPRINT_INVALID: 2,
  BLUEPRINT_NOT_FOUND: 2,
  REPO_INVALID: 2,
  ENVIRONMENT_INVALID: 2,
  POLICY_INVALID: 2,
  NOT_FOUND: 2,
  CONFLICT: 2,
  HARNESS_UNAVAILABLE: 3,
  SANDBOX_UNAVAILABLE: 3,
  HOME_LOCKED: 3,
  UNAUTHORIZED: 5,
  FORBIDDEN: 5,
  OWNER_GONE: 6,
};

/** Exit code when the reader of the output went away: 128 + SIGPIPE, as a shell reports for other tools. */
const EXIT_READER_GONE = 141;

const EXIT_HELP = `
Exit codes:
  0   success, or no_changes (the run had nothing to change)
  1   unexpected error in Nightshift
  2   bad input: options, blueprint, repository, unknown run
  3   this machine cannot run it: sandbox or harness unavailable, home in use
  4   audit log broken: nightshift audit verify found an edited, removed, reordered or inserted entry
  5   the server refused the token (--token): missing, wrong, revoked, or without the scope
  6   the server (--server) or the process owning the home cannot be reached
  10  failure    (a step or gate failed)
  11  cancelled
  12  timed_out
  13  policy_denied
  14  budget_exceeded
  15  error      (the run could not be carried out)
  130 Ctrl-C while following (fleet apply/retry/resume, swarm, a second one in run): runs resume later
  141 the reader of the output went away (\`| head\`): the command stopped there

Environment: NIGHTSHIFT_HOME (default ~/.nightshift), DATABASE_URL (PostgreSQL instead of the
embedded database), NIGHTSHIFT_SERVER and NIGHTSHIFT_TOKEN (--server, --token); see
docs/configuration.md for the rest.`;

export function buildProgram(): Command {
  const program = new Command('nightshift')
    .description('Background coding agents in sandboxes, handing back reviewable changes')
    .version('0.1.0')
    .option('--home <dir>', 'Nightshift home (default $NIGHTSHIFT_HOME or ~/.nightshift)')
    .option('--json', 'machine-readable output')
    .option('--server <url>', 'talk to this Nightshift server (default $NIGHTSHIFT_SERVER)')
    .option('--token <token>', 'API token for --server (default $NIGHTSHIFT_TOKEN)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_HELP)
    .exitOverride();
  for (const register of [
    registerRun,
    registerRuns,
    registerShow,
    registerLogs,
    registerDiff,
    registerCancel,
    registerSay,
    registerStop,
    registerWorker,
    registerDemo,
    registerAudit,
    registerPolicy,
    registerSandbox,
    registerServe,
    registerToken,
    registerHarness,
    registerAutomations,
    registerFleet,
    registerSwarm,
  ]) {
    register(program);
  }
  return program;
}

/**
 * A reader that stopped reading (`nightshift runs | head`) ends the command quietly, as SIGPIPE
 * ends other Unix tools: nothing more can be shown. (Node ignores SIGPIPE, and the write's
 * EPIPE would end the command with a stack trace.) Runs it was executing resume with the next
 * worker, as after any interruption.
 */
function endWhenReaderGoes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(EXIT_READER_GONE);
    });
  }
}

/** Runs the CLI; every error is caught here once and turned into a message, a hint and an exit code. */
export async function main(argv: string[]): Promise<void> {
  endWhenReaderGoes();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      // Commander said what is wrong on stderr; a script reading --json gets it on stdout too.
      if (error.exitCode !== 0 && process.argv.includes('--json')) {
        // `commander.help`: a command group without its subcommand (its usage went to stderr).
        const message =
          error.code === 'commander.help'
            ? 'a subcommand is missing: the usage on stderr lists them'
            : error.message.replace(/^error: /, '');
        const hint = 'run the command with --help for its usage';
        process.stdout.write(`${JSON.stringify({ error: { code: 'INVALID_INPUT', message, hint } })}\n`);
      }
      return;
    }
    const e = toNightshiftError(error);
    if (process.argv.includes('--json')) {
      process.stdout.write(
        `${JSON.stringify({ error: { code: e.code, message: e.message, hint: e.hint ?? null } })}\n`,
      );
    } else {
      process.stderr.write(`${pc.red('error:')} ${e.message}\n`);
      if (e.hint) process.stderr.write(`${pc.dim('hint:')} ${e.hint}\n`);
      if (e.code === 'INTERNAL' && process.env.NIGHTSHIFT_DEBUG)
        process.stderr.write(`${e.cause instanceof Error ? e.cause.stack : ''}\n`);
    }
    process.exitCode = ERROR_EXIT[e.code] ?? 1;
  }
}

await main(process.argv);
