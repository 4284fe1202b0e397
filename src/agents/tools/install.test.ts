import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NightshiftError } from '../../core/errors.ts';
import { installedTool, installTool } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'nightshift-tools-'));
/** A packed npm package made here, so installing needs no registry. */
let tarball: string;

beforeAll(() => {
  const source = join(dir, 'source');
  mkdirSync(join(source, 'bin'), { recursive: true });
  writeFileSync(
    join(source, 'package.json'),
    JSON.stringify({ name: '@nightshift-test/hello', version: '1.2.3', bin: { hello: 'bin/hello.js' } }),
  );
  writeFileSync(join(source, 'bin', 'hello.js'), '#!/usr/bin/env node\nconsole.log("hello");\n');
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
    cwd: source,
    encoding: 'utf8',
  });
  tarball = join(dir, name.trim().split('\n').at(-1)!);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tool = (cache: string) => ({
  dir: cache,
  name: '@nightshift-test/hello',
  version: '1.2.3',
  spec: tarball,
});

describe('the tools cache', { timeout: 120_000 }, () => {
  it('installs a pinned package once, then finds it without npm', async () => {
    const cache = join(dir, 'cache-once');
    const progress: string[] = [];

    const first = await installTool({ ...tool(cache), onProgress: (m) => progress.push(m) });
    const second = await installTool({ ...tool(cache), env: { PATH: '/nonexistent' } });

    expect(first.cached).toBe(false);
    expect(first.dir).toBe(join(cache, '@nightshift-test/hello@1.2.3'));
    expect(readFileSync(join(first.packageDir, 'bin', 'hello.js'), 'utf8')).toContain('hello');
    expect(second).toEqual({ ...first, cached: true });
    expect(progress).toEqual([
      `installing @nightshift-test/hello@1.2.3 with npm into ${first.dir}`,
      'installed @nightshift-test/hello@1.2.3',
    ]);
    expect(readdirSync(join(cache, '@nightshift-test'))).toEqual(['hello@1.2.3']);
  });

  it('lets concurrent installs of the same version wait for one npm run', async () => {
    const cache = join(dir, 'cache-concurrent');

    const results = await Promise.all([
      installTool(tool(cache)),
      installTool(tool(cache)),
      installTool(tool(cache)),
    ]);

    expect(results.filter((r) => !r.cached)).toHaveLength(1);
    expect(readdirSync(join(cache, '@nightshift-test'))).toEqual(['hello@1.2.3']);
  });

  it('takes over a lock left by a process that died', async () => {
    const cache = join(dir, 'cache-stale');
    const lock = join(cache, '@nightshift-test', 'hello@1.2.3.lock');
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'pid'), '999999999');

    const result = await installTool(tool(cache));

    expect(result.cached).toBe(false);
    expect(existsSync(lock)).toBe(false);
  });

  it('fails with a hint and leaves nothing half-installed when the registry is unreachable', async () => {
    const cache = join(dir, 'cache-offline');
    const env = {
      ...process.env,
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_fetch_retries: '0',
      npm_config_cache: join(dir, 'npm-cache-empty'),
    };

    const error = await installTool({ dir: cache, name: 'left-pad', version: '1.3.0', env }).catch((e) => e);

    expect(error).toBeInstanceOf(NightshiftError);
    expect(error.code).toBe('HARNESS_UNAVAILABLE');
    expect(error.message).toMatch(/^npm install left-pad@1\.3\.0 exited with/);
    expect(error.hint).toMatch(/registry is unreachable/);
    expect(await installedTool(cache, 'left-pad', '1.3.0')).toBeNull();
    expect(readdirSync(cache)).toEqual([]);
  });

  it('says how to get npm when it is not on PATH', async () => {
    const error = await installTool({
      ...tool(join(dir, 'cache-nonpm')),
      env: { PATH: '/nonexistent' },
    }).catch((e) => e);

    expect(error.code).toBe('HARNESS_UNAVAILABLE');
    expect(error.hint).toMatch(/npm is not on PATH/);
  });
});
