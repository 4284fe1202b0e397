import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, waitForOutput } from './support/cli.ts';
import { gitIn, makeRepo, tempDir } from './support/repos.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const execFileAsync = promisify(execFile);

/** Copies the checkout as git sees it (tracked and new files; no dist/, no node_modules) to `to`. */
async function copyCheckout(to: string): Promise<void> {
  const list = ['ls-files', '-z', '--cached', '--others', '--exclude-standard'];
  const { stdout } = await execFileAsync('git', list, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  for (const path of stdout.split('\0')) {
    if (path && existsSync(join(ROOT, path))) cpSync(join(ROOT, path), join(to, path));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(to, 'node_modules'));
}

/** Starts `node <bin> ...args` as a user's shell would run `nightshift ...args`. */
function spawnBin(bin: string, args: string[], env: Record<string, string>, cwd: string): ChildProcess {
  return spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

// The package as `npm pack` makes it from a copy of this checkout (its prepack script builds
// dist/ and the dashboard there, never here: bin/nightshift.js of this checkout must keep
// running the sources), unpacked with the checkout's node_modules.
describe('the npm package', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let checkout: string;
  let files: string[];
  let bin: string;
  let env: Record<string, string>;
  let repo: string;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    checkout = join(dir, 'checkout');
    await copyCheckout(checkout);
    const { stdout } = await execFileAsync('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: checkout,
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
      maxBuffer: 16 * 1024 * 1024,
    });
    const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    files = packed.files.map((file) => file.path);
    mkdirSync(join(dir, 'installed'));
    await execFileAsync('tar', ['-xzf', join(dir, packed.filename), '-C', join(dir, 'installed')]);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'installed/package/node_modules'));
    bin = join(dir, 'installed/package/bin/nightshift.js');
    env = { NIGHTSHIFT_HOME: join(dir, 'home') };
    repo = join(dir, 'repo');
    await makeRepo(repo, { 'README.md': '# packed\n' });
  }, 300_000);

  afterAll(async () => {
    for (const child of started) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = finished(child);
        child.kill('SIGTERM');
        await exited;
      }
    }
    await cleanup?.();
  });

  it('ships the compiled CLI with the files it loads from beside itself, the dashboard and no sources', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/nightshift.js',
        'dist/cli/main.js',
        'dist/sandbox/local/launch.sh',
        'dist/process/helper.mjs',
        'dist/egress/bridge/bridge.mjs',
        'dist/agents/run-tools/mcp-server.mjs',
        'web/dist/index.html',
        'schemas/policy.schema.json',
      ]),
    );
    expect(files.filter((path) => path.startsWith('src/') || path.endsWith('.test.js'))).toEqual([]);
  });

  it('prints its version and its commands', async () => {
    const { version: expected } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

    const version = await finished(spawnBin(bin, ['--version'], env, dir));
    const help = await finished(spawnBin(bin, ['--help'], env, dir));

    expect(version).toMatchObject({ code: 0, stdout: `${expected}\n` });
    expect(help.code).toBe(0);
    for (const command of ['run', 'runs', 'serve', 'worker']) expect(help.stdout).toContain(`  ${command}`);
  });

  it('runs a script in a sandbox, whose network goes through the egress bridge, and pushes the change', async () => {
    const home = env.NIGHTSHIFT_HOME!;
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'policy.yml'), 'network:\n  allow: ["allowed.example.invalid"]\n');
    const curl = 'curl -s -o /dev/null -w "%{http_code}" http://denied.example.invalid/';
    const args = ['run', '--repo', repo, '--script', `${curl} > status.txt || true`, '--json'];

    const run = await finished(spawnBin(bin, args, env, dir));

    expect(run.code, run.stderr).toBe(0);
    const details = JSON.parse(run.stdout);
    expect(details).toMatchObject({ run: { conclusion: 'success' }, change: { diffstat: { files: 1 } } });
    // 403 is the egress proxy's answer: the sandbox reached it through the bridge.
    expect(await gitIn(repo, 'show', `${details.change.branch}:status.txt`)).toBe('403');
  });

  it('serves the dashboard', { timeout: 120_000 }, async () => {
    const server = spawnBin(bin, ['serve', '--port', '0', '--json'], env, dir);
    started.push(server);
    const exited = finished(server).then(({ code, stderr }) => {
      throw new Error(`nightshift serve exited with code ${code}: ${stderr}`);
    });
    const [, url] = (await Promise.race([
      waitForOutput(server, /"url": "(http:[^"]+)"/, 90_000),
      exited,
    ])) as string[];

    const page = await fetch(`${url}/runs`);

    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Nightshift</title>');
  });

  it('runs the sources of a checkout, not a dist/ built there before', async () => {
    const main = join(checkout, 'src/cli/main.ts');
    writeFileSync(main, `console.log('edited after the build');\n${readFileSync(main, 'utf8')}`);

    const version = await finished(spawnBin(join(checkout, 'bin/nightshift.js'), ['--version'], env, dir));

    expect(existsSync(join(checkout, 'dist/cli/main.js'))).toBe(true);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^edited after the build\n/);
  });
});
