import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateSchemas } from './json-schema.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('committed JSON Schemas', () => {
  it.each(Object.entries(generateSchemas()))('%s matches the zod schema', async (path, generated) => {
    const committed = await readFile(`${root}${path}`, 'utf8').catch(() => '');

    expect(committed, `${path} is out of date: run \`node --import tsx src/blueprints/json-schema.ts\``).toBe(
      generated,
    );
  });

  it('rejects unknown keys in a blueprint step', () => {
    const schema = JSON.parse(generateSchemas()['schemas/blueprint.schema.json']!);

    expect(schema.properties.steps.items.anyOf).toHaveLength(4);
    for (const step of schema.properties.steps.items.anyOf) expect(step.additionalProperties).toBe(false);
  });
});
