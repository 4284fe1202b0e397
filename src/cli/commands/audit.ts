import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import type { AuditVerification } from '../../audit/index.ts';
import { parseDuration } from '../../core/clock.ts';
import { invalidInput } from '../../core/errors.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { print, printJson } from '../output.ts';

/** Exit code of `audit verify` when the chain is broken. */
export const AUDIT_BROKEN_EXIT = 4;

/** `nightshift audit verify` and `nightshift audit export`. */
export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('check and export the hash-chained audit log');

  audit
    .command('verify')
    .description(
      `check every entry's hash and link; exit ${AUDIT_BROKEN_EXIT} when an entry was edited, removed, reordered or inserted`,
    )
    .action(async (_options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const client = await openClient(global, { worker: false, command: 'nightshift audit verify' });
      try {
        const result = await client.auditVerify();
        if (global.json) printJson(result);
        else print(describeVerification(result));
        if (!result.ok) process.exitCode = AUDIT_BROKEN_EXIT;
      } finally {
        await client.close();
      }
    });

  audit
    .command('export')
    .description('write the audit log as JSON lines, oldest first')
    .option('--since <time>', 'only entries at or after this ISO time, or this long ago (90m, 24h)')
    .option('--run <run>', 'only entries of this run')
    .option('--output <file>', 'write to this file instead of stdout')
    .action(async (options: { since?: string; run?: string; output?: string }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const since = options.since === undefined ? undefined : parseSince(options.since);
      const client = await openClient(global, { worker: false, command: 'nightshift audit export' });
      try {
        const out = options.output ? createWriteStream(options.output, { mode: 0o600 }) : process.stdout;
        let count = 0;
        for await (const line of client.auditExport({ since, runId: options.run })) {
          count += 1;
          if (!out.write(line)) await once(out, 'drain');
        }
        if (options.output) {
          await new Promise<void>((resolve, reject) =>
            (out as ReturnType<typeof createWriteStream>).end((error?: Error | null) =>
              error ? reject(error) : resolve(),
            ),
          );
          process.stderr.write(`wrote ${count} audit entries to ${options.output}\n`);
        }
      } finally {
        await client.close();
      }
    });
}

/** `--since`: an ISO 8601 time, or a duration before now. */
export function parseSince(text: string, now = Date.now()): string {
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(now - ago).toISOString();
  const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime())) {
    throw invalidInput(
      `--since ${text} is neither a time nor a duration`,
      'use e.g. 2025-01-31T12:00:00Z or 24h',
    );
  }
  return time.toISOString();
}

function describeVerification(result: AuditVerification): string {
  const head = result.head ? `, head ${result.head.seq} ${result.head.hash}` : '';
  if (result.ok) return `audit log intact: ${result.entries} entries${head}`;
  const bad = result.firstBad!;
  return `audit log BROKEN at entry ${bad.seq} (${bad.problem}): ${bad.detail}`;
}
