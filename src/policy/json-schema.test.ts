import { describe, expect, it } from 'vitest';
import { generateSchemas } from '../blueprints/json-schema.ts';

describe('policy JSON Schema', () => {
  const schema = JSON.parse(generateSchemas()['schemas/policy.schema.json'] ?? '{}');

  it('is generated with the other schemas (the committed file is guarded by their test)', () => {
    expect(schema.$id).toBe('policy.schema.json');
    expect(Object.keys(schema.properties)).toEqual([
      'filesystem',
      'executables',
      'network',
      'resources',
      'budget',
      'publish',
      'runs',
    ]);
  });

  it('rejects unknown keys at the top and in every section', () => {
    expect(schema.additionalProperties).toBe(false);
    for (const section of Object.values(schema.properties) as { additionalProperties: unknown }[]) {
      expect(section.additionalProperties).toBe(false);
    }
  });
});
