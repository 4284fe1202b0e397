import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
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

function run(
  argv: string[],
  cwd: string,
  env: Record<string, string> | undefined,
  stdin: string | undefined,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const [command, ...args] = argv;
  if (!command) return Promise.resolve({ exitCode: 127, stdout: '', stderr: 'no command given\n' });
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let startError: Error | undefined;
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      startError = error;
    });
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8');
      done({
        exitCode: startError ? 127 : code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: startError ? `${stderr}${command}: ${startError.message}\n` : stderr,
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
}
