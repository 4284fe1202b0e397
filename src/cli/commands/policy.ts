import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { resolveHome } from '../../core/home.ts';
import {
  explainPolicy,
  type LoadedPolicy,
  loadPolicy,
  policyToJson,
  serverPolicyFile,
} from '../../policy/index.ts';
import type { GlobalOptions } from '../context.ts';
import { print, printJson } from '../output.ts';

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('inspect the policies that govern sandboxes');
  policy
    .command('explain')
    .description("print a repo's effective policy and where each rule came from")
    .option('--repo <path>', "the repo's checkout, whose .nightshift/policy.yml narrows the server's", '.')
    .action(async (options: { repo: string }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const loaded = await explainablePolicy(options.repo, global.home ?? resolveHome());
      if (global.json) printJson(policyToJson(loaded));
      else print(explainPolicy(loaded));
    });
}

/**
 * Reads the server's and the repo's policy files directly (no engine needed). Throws a
 * `PolicyInvalidError` listing every problem when a file is invalid or the repo's widens.
 */
export async function explainablePolicy(repo: string, home: string): Promise<LoadedPolicy> {
  const repoDir = resolve(repo);
  const isDir = await stat(repoDir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  if (!isDir)
    throw invalidInput(`--repo ${repo} is not a directory`, 'pass the path of a checkout of the repo');
  return loadPolicy({ serverFile: serverPolicyFile(resolve(home)), repoDir });
}
