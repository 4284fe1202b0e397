import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { formatProblem, type Problem, problemAt, sortProblems } from '../blueprints/problems.ts';
import {
  checkTemplate,
  parseTemplate,
  TEMPLATE_VARIABLES,
  type TemplateVars,
} from '../blueprints/template.ts';
import { parseYamlSource } from '../blueprints/yaml-source.ts';
import { describeValue, validateWithSchema } from '../blueprints/zod-problems.ts';
import { NightshiftError } from '../core/errors.ts';
import { branchNameProblem } from '../scm/branch.ts';
import { FleetSpec, type FleetTarget, SwarmSpec } from './schema.ts';
import { nameMatcher } from './targets.ts';

/** What the spec parsers hand back: the spec when there are no errors, and every problem. */
export interface SpecParseResult<T> {
  spec?: T;
  errors: Problem[];
  warnings: Problem[];
  /** What kind of spec it is, for messages (its schema is `schemas/KIND.schema.json`). */
  kind: 'fleet' | 'swarm';
}

const PERIOD_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** `10/hour` as the time between two changes opened, in ms. */
export function rateInterval(rate: string): number {
  const [count, period] = rate.split('/').map((part) => part.trim());
  return Math.ceil(PERIOD_MS[period as keyof typeof PERIOD_MS] / Math.max(1, Number(count)));
}

/** `0.2` or `20%` as a fraction. */
export function failureRate(value: number | string): number {
  return typeof value === 'number' ? value : Number(value.slice(0, -1)) / 100;
}

function parseSpec<S extends z.ZodType>(
  schema: S,
  text: string,
  kind: SpecParseResult<unknown>['kind'],
  check: (spec: z.output<S>, report: (path: (string | number)[], message: string) => void) => void,
): SpecParseResult<z.output<S>> {
  const yaml = parseYamlSource(text);
  const { warnings } = yaml;
  if (yaml.errors.length > 0) return { errors: yaml.errors, warnings, kind };
  if (yaml.data === null || typeof yaml.data !== 'object' || Array.isArray(yaml.data)) {
    const message = `expected a mapping (a ${kind} spec), got ${describeValue(yaml.data)}`;
    return { errors: [problemAt([], message, yaml.locate)], warnings, kind };
  }
  const { value, problems } = validateWithSchema(schema, yaml.data, { locate: yaml.locate });
  if (!value) return { errors: problems, warnings, kind };
  const errors: Problem[] = [];
  check(value, (path, message) => errors.push(problemAt(path, message, yaml.locate)));
  if (errors.length > 0) return { errors: sortProblems(errors), warnings, kind };
  return { spec: value, errors: [], warnings, kind };
}

function checkTemplates(
  fields: [(string | number)[], string | undefined][],
  report: (path: (string | number)[], message: string) => void,
): void {
  for (const [path, text] of fields) {
    if (text === undefined) continue;
    for (const message of checkTemplate(text, { allowGate: false }).errors) report(path, message);
  }
}

/**
 * Parses a fleet spec: YAML, schema, then the rules between fields (a script or a prompt,
 * not both; templates that name known variables). Every problem has its dot-path and line.
 *
 * @example
 * const { spec, errors } = parseFleetSpec(text);
 * for (const problem of errors) console.error(formatProblem(problem, 'fleet.yml'));
 */
export function parseFleetSpec(text: string): SpecParseResult<FleetSpec> {
  return parseSpec(FleetSpec, text, 'fleet', (spec, report) => {
    if ((spec.script === undefined) === (spec.prompt === undefined)) {
      report([], 'a fleet needs exactly one of `script` and `prompt`');
    }
    for (const [index, target] of spec.targets.entries()) {
      if (!('github' in target) || target.github.name === undefined) continue;
      const problem = nameMatcher(target.github.name).error;
      if (problem) report(['targets', index, 'github', 'name'], problem);
    }
    const branch = spec.change?.branch;
    const problem = branch === undefined ? null : branchNameProblem(branch);
    if (problem) report(['change', 'branch'], problem);
    // The script and prompt are rendered when the fleet is applied; the change template when
    // each run publishes, with the run's own values too.
    const applied: (keyof TemplateVars)[] = ['repo', 'inputs'];
    const published: (keyof TemplateVars)[] = [
      'repo',
      'run',
      'inputs',
      'environment',
      spec.script !== undefined ? 'script' : 'prompt',
    ];
    const templates: FleetTemplate[] = [
      { path: ['script'], text: spec.script, roots: applied, when: 'when the fleet is applied' },
      { path: ['prompt'], text: spec.prompt, roots: applied, when: 'when the fleet is applied' },
      {
        path: ['change', 'title'],
        text: spec.change?.title,
        roots: published,
        when: 'when a change is published',
      },
      {
        path: ['change', 'body'],
        text: spec.change?.body,
        roots: published,
        when: 'when a change is published',
      },
    ];
    checkTemplates(
      templates.map(({ path, text }) => [path, text]),
      report,
    );
    for (const template of templates) checkFleetVariables(spec, template, report);
  });
}

/** A template of a fleet spec, and the variables (by root) that have a value where it is rendered. */
interface FleetTemplate {
  path: (string | number)[];
  text: string | undefined;
  roots: (keyof TemplateVars)[];
  when: string;
}

/** `repo.name`, `repo.url` for `repo`; `inputs.NAME` for `inputs`; `script` for `script`. */
function variableNames(root: keyof TemplateVars): string[] {
  const fields = TEMPLATE_VARIABLES[root];
  if (fields === null) return [root];
  return fields.map((field) => `${root}.${field === '*' ? 'NAME' : field}`);
}

/**
 * Every variable of a fleet template must have a value where it is rendered: its root must be
 * one set there (a fleet's script knows no `run.id` yet), and each `{{inputs.NAME}}` needs a
 * value for every repo: a default in `values`, or one on each repo of the targets (only a
 * `repos` entry can carry its own). Found here, such a mistake stops the apply before any
 * repo is queued (or a run's work is done only to fail at publish).
 */
function checkFleetVariables(
  spec: FleetSpec,
  { path, text, roots, when }: FleetTemplate,
  report: (path: (string | number)[], message: string) => void,
): void {
  if (text === undefined) return;
  const defaults = spec.values ?? {};
  const names = new Set<string>();
  const reported = new Set<string>();
  for (const { source, variable } of parseTemplate(text).expressions) {
    const [root = '', name] = variable.split('.');
    if (!Object.hasOwn(TEMPLATE_VARIABLES, root)) continue; // an unknown name: checkTemplate said so
    if (!roots.includes(root as keyof TemplateVars)) {
      if (reported.has(root)) continue;
      reported.add(root);
      const known = roots.flatMap(variableNames).map((known) => `\`${known}\``);
      report(path, `\`${source}\` has no value ${when}: here you can use ${known.join(', ')}`);
    } else if (root === 'inputs' && name !== undefined && !Object.hasOwn(defaults, name)) {
      names.add(name);
    }
  }
  for (const name of names) {
    const lacking = spec.targets.flatMap((target, index) => targetsLacking(target, index, name));
    if (lacking.length === 0) continue;
    const shown = lacking.length > 5 ? [...lacking.slice(0, 5), `${lacking.length - 5} more`] : lacking;
    report(
      path,
      `\`{{inputs.${name}}}\` has no value for the repos of ${shown.join(', ')}: set \`values.${name}\` (a default for every repo), or give each of those repos its own (\`{ repo: PATH, values: { ${name}: ... } }\`)`,
    );
  }
}

/** The places in one target whose repos have no value of their own for `name`. */
function targetsLacking(target: FleetTarget, index: number, name: string): string[] {
  if (!('repos' in target)) return [`targets[${index}].${Object.keys(target)[0]}`];
  return target.repos.flatMap((entry, i) =>
    typeof entry !== 'string' && entry.values && Object.hasOwn(entry.values, name)
      ? []
      : [`targets[${index}].repos[${i}]`],
  );
}

/**
 * Parses a swarm spec the same way: either facets or a planner; every facet has a script or
 * a prompt, ids are unique.
 */
export function parseSwarmSpec(text: string): SpecParseResult<SwarmSpec> {
  return parseSpec(SwarmSpec, text, 'swarm', (spec, report) => {
    if ((spec.facets === undefined) === (spec.planner === undefined)) {
      report([], 'a swarm needs exactly one of `facets` (listed) and `planner` (an agent proposes them)');
    }
    const seen = new Set<string>();
    for (const [index, facet] of (spec.facets ?? []).entries()) {
      if ((facet.script === undefined) === (facet.prompt === undefined)) {
        report(['facets', index], 'a facet needs exactly one of `script` and `prompt`');
      }
      if (seen.has(facet.id)) report(['facets', index, 'id'], `duplicate facet id \`${facet.id}\``);
      seen.add(facet.id);
    }
    const branch = spec.converge?.branch;
    const problem = branch === undefined ? null : branchNameProblem(branch);
    if (problem) report(['converge', 'branch'], problem);
  });
}

/**
 * The spec parsed from `text`, or INVALID_INPUT listing every problem as `file:line:col path: message`.
 *
 * @example const spec = specOrThrow(parseFleetSpec, await readFile(file, 'utf8'), file);
 */
export function specOrThrow<T>(parse: (text: string) => SpecParseResult<T>, text: string, file: string): T {
  const { spec, errors, kind } = parse(text);
  if (spec) return spec;
  throw new NightshiftError(
    'INVALID_INPUT',
    `${file} is not valid:\n${errors.map((p) => `  ${formatProblem(p, file)}`).join('\n')}`,
    { hint: `see docs/fleets.md for the spec reference (schemas/${kind}.schema.json for editors)` },
  );
}

/** Reads and parses a spec file; every problem is reported at once, as `file:line:col path: message`. */
export async function readSpec<T>(
  file: string,
  parse: (text: string) => SpecParseResult<T>,
): Promise<{ spec: T; dir: string; text: string }> {
  const path = resolve(file);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new NightshiftError('INVALID_INPUT', `cannot read ${file}: ${error.code ?? error.message}`, {
      hint: 'give the path of a spec file (YAML)',
    });
  });
  const spec = specOrThrow(parse, text, file);
  return { spec, dir: dirname(path), text };
}
