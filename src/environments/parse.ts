import type { Problem } from '../blueprints/problems.ts';
import { problemAt } from '../blueprints/problems.ts';
import { parseYamlSource } from '../blueprints/yaml-source.ts';
import { describeValue, validateWithSchema } from '../blueprints/zod-problems.ts';
import { EnvironmentFile } from './schema.ts';
import type { Environment } from './types.ts';

/** What the environment parsers hand back: the environment when there are no errors, and every problem. */
export interface EnvironmentParseResult {
  environment?: Environment;
  errors: Problem[];
  warnings: Problem[];
}

/**
 * Parses `.nightshift/environment.yml`: parse, normalize, validate. Unknown keys are
 * errors; every problem has its dot-path and line.
 *
 * @example parseEnvironmentFile('setup: npm ci\ntest: npm test\n')
 * // { environment: { setup: ['npm ci'], env: {}, test: 'npm test' }, errors: [], warnings: [] }
 */
export function parseEnvironmentFile(text: string): EnvironmentParseResult {
  const yaml = parseYamlSource(text);
  if (yaml.errors.length > 0) return { errors: yaml.errors, warnings: yaml.warnings };
  const data = yaml.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    const message = `expected a mapping with \`setup\`, \`env\` and \`test\`, got ${describeValue(data)}`;
    return { errors: [problemAt([], message, yaml.locate)], warnings: yaml.warnings };
  }

  const { value, problems } = validateWithSchema(EnvironmentFile, data, { locate: yaml.locate });
  if (!value) return { errors: problems, warnings: yaml.warnings };
  const setup =
    value.setup === undefined ? [] : typeof value.setup === 'string' ? [value.setup] : value.setup;
  const environment: Environment = {
    setup: setup.filter((command) => command.trim() !== ''),
    env: Object.fromEntries(Object.entries(value.env ?? {}).map(([key, item]) => [key, String(item)])),
    test: value.test?.trim() ? value.test : null,
    ...(value.secrets?.length ? { secrets: [...new Set(value.secrets)] } : {}),
  };
  return { environment, errors: [], warnings: yaml.warnings };
}
