import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlueprintInvalidError, loadBlueprint } from './load.ts';

describe('loadBlueprint', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-blueprints-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a built-in blueprint by name', async () => {
    const { blueprint } = await loadBlueprint('default', { cwd: dir });

    expect(blueprint.name).toBe('default');
    expect(blueprint.source).toBe('builtin:default');
  });

  it('loads a YAML file relative to cwd, naming it after the file when it has no name', async () => {
    await mkdir(join(dir, '.nightshift'));
    await writeFile(
      join(dir, '.nightshift/lint.yml'),
      'steps:\n  - run: npm run lint -- --fix\n  - publish: true\n',
    );

    const { blueprint, warnings } = await loadBlueprint('.nightshift/lint.yml', { cwd: dir });

    expect(warnings).toEqual([]);
    expect(blueprint.name).toBe('lint');
    expect(blueprint.source).toBe(join(dir, '.nightshift/lint.yml'));
    expect(blueprint.steps.map((step) => step.kind)).toEqual(['run', 'publish']);
  });

  it('throws BLUEPRINT_NOT_FOUND with a hint listing the built-ins for an unknown name', async () => {
    const load = loadBlueprint('defualt', { cwd: dir });

    await expect(load).rejects.toMatchObject({
      code: 'BLUEPRINT_NOT_FOUND',
      message: 'unknown blueprint `defualt` (did you mean `default`?)',
      hint: expect.stringContaining('default, script'),
    });
  });

  it('throws BLUEPRINT_NOT_FOUND for a missing file', async () => {
    await expect(loadBlueprint('nope.yml', { cwd: dir })).rejects.toMatchObject({
      code: 'BLUEPRINT_NOT_FOUND',
      message: expect.stringContaining('blueprint file nope.yml does not exist'),
    });
  });

  it('throws BLUEPRINT_INVALID listing every problem as file:line:col path: message', async () => {
    await writeFile(join(dir, 'bad.yml'), 'name: bad\nsteps:\n  - run: 5\n  - gate: make\n    fix: agent\n');

    const error = await loadBlueprint('bad.yml', { cwd: dir }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(BlueprintInvalidError);
    expect((error as BlueprintInvalidError).code).toBe('BLUEPRINT_INVALID');
    expect((error as BlueprintInvalidError).problems).toHaveLength(2);
    expect((error as Error).message).toBe(
      [
        'blueprint bad.yml is invalid:',
        '  bad.yml:3:10 steps[0].run: expected a string, got a number (5)',
        '  bad.yml:5:10 steps[1].fix: no step has id `agent`; there is no earlier agent step',
      ].join('\n'),
    );
  });
});
