import { parseBlueprint } from '../blueprints/parse.ts';
import { formatProblem } from '../blueprints/problems.ts';
import { validateWithSchema } from '../blueprints/zod-problems.ts';
import { NightshiftError } from '../core/errors.ts';
import type { RunEvent } from '../core/events.ts';
import { FacetPlan, type SwarmFacet, type SwarmPlanner, type SwarmSpec } from './schema.ts';

/** Where the planner agent writes its plan, relative to the repository root. */
export const PLAN_FILE = '.nightshift/facets.json';

/** Most bytes of a plan file Nightshift reads; a bigger file is refused, not cut. */
export const MAX_PLAN_BYTES = 256 * 1024;

const READ_STEP = 'facets';

/**
 * The planner run's steps: setup, the planner agent, then a step that prints the plan file
 * (capped) so Nightshift reads it from the run's events. There is no publish step: the plan
 * is not a change, and nothing is pushed.
 */
export function plannerBlueprint(planner: SwarmPlanner) {
  const settings = [
    '      prompt: "{{prompt}}"',
    planner.harness ? `      harness: ${JSON.stringify(planner.harness)}` : '',
    planner.model ? `      model: ${JSON.stringify(planner.model)}` : '',
  ].filter(Boolean);
  const read = `test -f ${PLAN_FILE} || { echo "the planner wrote no ${PLAN_FILE}" >&2; exit 1; }; head -c ${MAX_PLAN_BYTES + 1} ${PLAN_FILE}`;
  const text = [
    'name: swarm-plan',
    'steps:',
    '  - id: setup\n    run: "{{environment.setup}}"\n    secrets: true',
    `  - id: plan\n    agent:\n${settings.join('\n')}`,
    `  - id: ${READ_STEP}\n    run: ${JSON.stringify(read)}`,
  ];
  const { blueprint, errors } = parseBlueprint(`${text.join('\n')}\n`, { source: 'swarm-plan' });
  if (!blueprint)
    throw new NightshiftError(
      'BLUEPRINT_INVALID',
      `planner blueprint: ${errors.map((e) => formatProblem(e)).join('; ')}`,
      { hint: 'check the swarm spec’s planner.harness and planner.model' },
    );
  return blueprint;
}

/** The planner's task: the goal, the spec's own instructions, and the exact file to write. */
export function plannerPrompt(spec: SwarmSpec, planner: SwarmPlanner): string {
  return [
    `Plan how several agents, working in parallel on separate branches, can reach this goal: ${spec.goal}`,
    planner.prompt ?? '',
    `Read the repository, then split the work into at most ${planner.max_facets} independent facets that touch different files where possible. Do not change any other file.`,
    `Write the plan to ${PLAN_FILE} as JSON: {"facets": [{"id": "kebab-case-id", "title": "short title", "prompt": "complete instructions for the agent doing this facet", "paths": ["optional globs of the files it is about"]}]}.`,
    'Each id: lower-case letters, digits and `-`, unique. Each prompt must make sense on its own: the facet agent sees only it and the repository.',
  ]
    .filter(Boolean)
    .join('\n\n');
}

/**
 * The facets of a finished planner run, read from its events and validated: the file must be
 * JSON matching `FacetPlan`, ids unique, at most `maxFacets`. Every problem is reported with
 * its path in the file (`.nightshift/facets.json: facets[1].id: ...`).
 */
export function readPlan(events: readonly RunEvent[], maxFacets: number): SwarmFacet[] {
  const text = events
    .flatMap((e) =>
      e.type === 'step.output' && e.data.step === READ_STEP && e.data.stream === 'stdout'
        ? [e.data.text]
        : [],
    )
    .join('');
  const invalid = (message: string) =>
    new NightshiftError('INVALID_INPUT', `the planner's plan is invalid: ${message}`, {
      hint: `the planner agent must write ${PLAN_FILE} as {"facets": [{"id", "title", "prompt", "paths"?}]} with at most ${maxFacets} facets (planner.max_facets)`,
    });
  if (Buffer.byteLength(text) > MAX_PLAN_BYTES)
    throw invalid(`${PLAN_FILE} is larger than ${MAX_PLAN_BYTES / 1024} KiB`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw invalid(`${PLAN_FILE} is not JSON (${(error as Error).message})`);
  }
  const { value, problems } = validateWithSchema(FacetPlan, data);
  if (!value) throw invalid(problems.map((p) => formatProblem(p, PLAN_FILE)).join('; '));
  const errors: string[] = [];
  if (value.facets.length > maxFacets)
    errors.push(`${PLAN_FILE} facets: ${value.facets.length} facets, more than the ${maxFacets} allowed`);
  const seen = new Set<string>();
  for (const [index, facet] of value.facets.entries()) {
    if (seen.has(facet.id))
      errors.push(`${PLAN_FILE} facets[${index}].id: duplicate facet id \`${facet.id}\``);
    seen.add(facet.id);
  }
  if (errors.length > 0) throw invalid(errors.join('; '));
  return value.facets;
}
