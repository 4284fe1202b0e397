import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AutomationsFile } from '../automations/schema.ts';
import { EnvironmentFile } from '../environments/schema.ts';
import { FleetSpec, SwarmSpec } from '../fleets/schema.ts';
import { PolicyFile } from '../policy/schema.ts';
import { GithubConfigFile } from '../triggers/github/schema.ts';
import { BlueprintFile } from './schema.ts';

/**
 * Generates the JSON Schemas in `schemas/` from the zod schemas, so editors can check
 * blueprint, environment and policy YAML files. A test keeps the committed files current; after
 * changing a schema, run:
 *
 *     node --import tsx src/blueprints/json-schema.ts
 */

/** Where the schemas live, relative to the repository root. */
export const SCHEMA_FILES = {
  'schemas/blueprint.schema.json': { schema: BlueprintFile, id: 'blueprint.schema.json' },
  'schemas/environment.schema.json': { schema: EnvironmentFile, id: 'environment.schema.json' },
  'schemas/policy.schema.json': { schema: PolicyFile, id: 'policy.schema.json' },
  'schemas/github.schema.json': { schema: GithubConfigFile, id: 'github.schema.json' },
  'schemas/automations.schema.json': { schema: AutomationsFile, id: 'automations.schema.json' },
  'schemas/fleet.schema.json': { schema: FleetSpec, id: 'fleet.schema.json' },
  'schemas/swarm.schema.json': { schema: SwarmSpec, id: 'swarm.schema.json' },
} as const;

/** The text of each schema file, by path relative to the repository root. */
export function generateSchemas(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(SCHEMA_FILES).map(([path, { schema, id }]) => {
      const json = { ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) };
      const { $schema, ...rest } = json;
      return [path, `${JSON.stringify({ $schema, $id: id, ...rest }, null, 2)}\n`];
    }),
  );
}

/** Writes every schema file under `root`. */
export async function writeSchemas(root: string): Promise<string[]> {
  const files = generateSchemas();
  for (const [path, text] of Object.entries(files)) await writeFile(join(root, path), text);
  return Object.keys(files);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  for (const path of await writeSchemas(root)) console.log(`wrote ${path}`);
}
