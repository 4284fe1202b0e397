import type { Command } from 'commander';
import pc from 'picocolors';
import type { NewAuditEntry } from '../../audit/entries.ts';
import { execAuditEntries } from '../../audit/exec.ts';
import { egressEntry, modelCallEntry } from '../../audit/records.ts';
import { AuditWriter } from '../../audit/writer.ts';
import { NightshiftError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { currentUser, provision } from '../../engine/index.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { printJson } from '../output.ts';
import { repoLocation } from './shared.ts';

interface ExecOptions {
  repo: string;
  policy?: string;
  base?: string;
}

export function registerSandbox(program: Command): void {
  const sandbox = program.command('sandbox').description('sandboxes, for people writing policies');
  sandbox
    .command('exec')
    .description(
      'run a command in a sandbox of a repo under the effective policy; prints its output and audit entries',
    )
    .requiredOption('--repo <path>', 'git repository: a path or file:// URL')
    .option('--policy <file>', "a policy file standing in for the repo's .nightshift/policy.yml")
    .option('--base <ref>', 'branch, tag or commit (default: the default branch)')
    .argument('<command...>', 'the command and its arguments (after --)')
    .addHelpText(
      'after',
      '\nExample:\n  nightshift sandbox exec --repo . --policy strict.yml -- curl -sI https://example.com',
    )
    .action(async (argv: string[], options: ExecOptions, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const client = await openClient(global, { worker: false, command: 'nightshift sandbox exec' });
      try {
        const engine = client.engine;
        if (!engine) {
          throw new NightshiftError('HOME_LOCKED', 'sandbox exec needs to own the Nightshift home', {
            hint: 'another Nightshift process owns it; run this when it has stopped',
          });
        }
        const id = newId('run');
        const entries: NewAuditEntry[] = [];
        const audit = new AuditWriter(engine.store.db);
        const record = (entry: NewAuditEntry) => {
          entries.push(entry);
          audit.push(entry);
        };
        const actor = currentUser();
        const repo = await engine.store.repos.upsert(await engine.scm.resolve(repoLocation(options.repo)));
        const sandboxed = await provision(engine.provisionDeps(), {
          id,
          repo,
          baseCommit: null,
          baseRef: options.base,
          stateDir: `${engine.config.runsDir}/${id}`,
          repoPolicyFile: options.policy,
          onEgress: (decision) => record(egressEntry(decision, null, actor)),
          onModelCall: (call) => record(modelCallEntry(call, null, actor)),
          onBudgetExceeded: () =>
            record({ kind: 'policy.denied', actor, data: { what: 'budget', reason: 'spent' } }),
        });
        record({ kind: 'sandbox.created', actor, data: { sandboxId: id, provider: engine.sandboxes.name } });
        let result: Awaited<ReturnType<typeof sandboxed.sandbox.exec>>;
        try {
          result = await sandboxed.sandbox.exec(argv, {
            onOutput: global.json ? undefined : (stream, text) => process[stream].write(text),
          });
        } finally {
          await sandboxed.release();
        }
        if (result.trace)
          for (const entry of execAuditEntries(result.trace, null)) record({ ...entry, actor });
        record({ kind: 'sandbox.destroyed', actor, data: { sandboxId: id } });
        await audit.flush();
        const exitCode = result.exitCode ?? 128;
        if (global.json) {
          printJson({ exitCode, stdout: result.stdout, stderr: result.stderr, audit: entries });
        } else {
          process.stderr.write(pc.dim(`\n── exit ${exitCode}; audit entries ──\n`));
          for (const entry of entries)
            process.stderr.write(pc.dim(`${entry.kind} ${JSON.stringify(entry.data)}\n`));
        }
        process.exitCode = exitCode;
      } finally {
        await client.close();
      }
    });
}
