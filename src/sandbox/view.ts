import { resolve } from 'node:path';
import { runProcess } from '../process/index.ts';
import type { WorkspaceView } from './types.ts';

/**
 * A WorkspaceView of a plain host directory: commands run on the host with no namespaces.
 * For running without a sandbox (and for tests); a sandbox provider supplies its own view.
 * `cwd` is resolved against `dir`; `env` is added to this process's environment.
 * A command that cannot be started gives exit code 127, as a shell would.
 *
 * @example
 * const view = directoryView('/tmp/checkout');
 * const { stdout } = await view.exec(['git', 'status', '--short']);
 */
export function directoryView(dir: string): WorkspaceView {
  const path = resolve(dir);
  return {
    path,
    exec(argv, options = {}) {
      return run(argv, resolve(path, options.cwd ?? '.'), options.env, options.stdin);
    },
  };
}

async function run(
  argv: string[],
  cwd: string,
  env: Record<string, string> | undefined,
  stdin: string | undefined,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const [command, ...args] = argv;
  if (!command) return { exitCode: 127, stdout: '', stderr: 'no command given\n' };
  try {
    const result = await runProcess(command, args, { cwd, env: { ...process.env, ...env }, input: stdin });
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    return { exitCode: 127, stdout: '', stderr: `${command}: ${(error as Error).message}\n` };
  }
}
