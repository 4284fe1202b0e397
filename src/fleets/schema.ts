import { z } from 'zod';

/**
 * Zod schemas of fleet and swarm spec files (YAML). The JSON Schemas in `schemas/` are
 * generated from these (`npm run schemas`).
 */

/** Template values for one repo: `{{inputs.name}}` in the script, prompt and change template. */
const Values = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .meta({ description: 'Per-repo template values, used as `{{inputs.<name>}}`.' });

/** One repo of a `repos` target: a path (or file:// URL), optionally with its own values. */
export const FleetRepoEntry = z.union([
  z.string().min(1),
  z.strictObject({ repo: z.string().min(1), values: Values.optional() }),
]);
export type FleetRepoEntry = z.infer<typeof FleetRepoEntry>;

/** Where a fleet's repos come from: exactly one kind per target. */
export const FleetTarget = z.union([
  z.strictObject({
    repos: z.array(FleetRepoEntry).min(1).meta({ description: 'Repository paths or file:// URLs.' }),
  }),
  z.strictObject({
    glob: z.string().min(1).meta({
      description:
        'A glob of local repository directories (work trees or bare repositories), relative to the spec file: `repos/*`, `src/**/svc-*`, `/srv/git/*.git`.',
    }),
  }),
  z.strictObject({
    file: z.string().min(1).meta({
      description: 'A text file with one repository location a line (`#` comments and blank lines skipped).',
    }),
  }),
  z.strictObject({
    github: z
      .strictObject({
        org: z
          .string()
          .min(1)
          .meta({ description: 'The organization (or user) whose repositories to list.' }),
        topics: z
          .array(z.string().min(1))
          .optional()
          .meta({ description: 'Only repositories that have every one of these topics.' }),
        name: z.string().min(1).optional().meta({
          description:
            'Only repositories whose name matches: a glob (`svc-*`) or a regular expression between slashes (`/^svc-(api|web)$/i`).',
        }),
        archived: z
          .boolean()
          .optional()
          .meta({ description: 'Include archived repositories too (default false: they are skipped).' }),
      })
      .meta({ description: 'Repositories of a GitHub organization (needs the GitHub provider).' }),
  }),
]);
export type FleetTarget = z.infer<typeof FleetTarget>;

/** A rollout window: changes are only opened inside it (UTC). */
export const RolloutWindow = z.strictObject({
  days: z
    .array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']))
    .min(1, { error: 'lists no day, so the window would never open: leave `days` out for every day' })
    .optional()
    .meta({ description: 'Days of the week (UTC); every day when omitted.' }),
  hours: z
    .string()
    .regex(/^([01]?\d|2[0-3])-([01]?\d|2[0-4])$/, { error: 'expected hours like `9-17` (UTC)' })
    .refine((hours) => Number(hours.split('-')[0]) !== Number(hours.split('-')[1]), {
      error: 'starts and ends at the same hour, so it would never open: use `0-24` for the whole day',
    })
    .meta({
      description:
        'Start and end hour (UTC), end excluded: `9-17`; past midnight when the end is smaller (`22-6`).',
    }),
});
export type RolloutWindow = z.infer<typeof RolloutWindow>;

export const FleetRollout = z.strictObject({
  rate: z
    .string()
    .regex(/^\s*\d+\s*\/\s*(second|minute|hour|day)\s*$/, {
      error: 'expected a rate like `10/hour` (per second, minute, hour or day)',
    })
    .refine((rate) => Number(rate.split('/')[0]) >= 1, {
      error: 'opens no change at all: give at least 1 a period (`1/day`), or leave `rate` out for no limit',
    })
    .optional()
    .meta({
      description:
        'Most changes (pull requests) opened per period: `10/hour`. Runs are not throttled: their changes wait.',
    }),
  windows: z
    .array(RolloutWindow)
    .optional()
    .meta({ description: 'When changes may be opened (UTC); runs start at any time.' }),
});
export type FleetRollout = z.infer<typeof FleetRollout>;

export const FleetChange = z.strictObject({
  branch: z
    .string()
    .optional()
    .meta({ description: 'Branch of every repo’s change; default `nightshift/fleet/<name>`.' }),
  title: z.string().optional().meta({ description: 'Change title (a template).' }),
  body: z.string().optional().meta({ description: 'Change description (a template).' }),
  draft: z.boolean().optional(),
});
export type FleetChange = z.infer<typeof FleetChange>;

export const StopWhen = z.strictObject({
  failure_rate: z
    .union([
      z
        .number()
        .min(0, { error: 'must be from 0 to 1 (a share like 0.2) or a percentage like `20%`' })
        .max(1, { error: 'must be from 0 to 1 (a share like 0.2) or a percentage like `20%`' }),
      z
        .string()
        .regex(/^\d+(\.\d+)?%$/, { error: 'expected e.g. `20%`' })
        .refine((rate) => Number.parseFloat(rate) <= 100, { error: 'must be at most 100%' }),
    ])
    .meta({ description: 'Pause when the share of failed runs passes this (0.2 or `20%`).' }),
  after: z.number().int().min(1).default(10).meta({
    description:
      'Only once this many runs concluded (counting from the last apply, resume or retry of the fleet).',
  }),
});
export type StopWhen = z.infer<typeof StopWhen>;

/** A fleet spec file as written. */
export const FleetSpec = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, { error: 'expected lower-case letters, digits, `.`, `_`, `-`' })
      .meta({ description: 'The fleet’s identity: applying a spec with the same name updates that fleet.' }),
    description: z.string().optional(),
    targets: z.array(FleetTarget).min(1),
    blueprint: z.string().optional().meta({
      description: 'Built-in blueprint or YAML file; `script` with a script, `default` with a prompt.',
    }),
    script: z.string().optional().meta({ description: 'Script template, rendered per repo.' }),
    prompt: z.string().optional().meta({ description: 'Prompt template, rendered per repo.' }),
    values: Values.optional(),
    base: z.string().optional().meta({ description: 'Ref to start from; the default branch when omitted.' }),
    concurrency: z.number().int().min(1).max(1000).default(4),
    rollout: FleetRollout.optional(),
    change: FleetChange.optional(),
    stop_when: StopWhen.optional(),
  })
  .meta({ title: 'Nightshift fleet', description: 'One change applied to many repositories.' });
export type FleetSpec = z.infer<typeof FleetSpec>;

const FacetId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and `-` (at most 40)' });

/** One facet of a swarm: a sub-run on its own branch. */
export const SwarmFacet = z.strictObject({
  id: FacetId,
  title: z.string().optional().meta({ description: 'A short name for people; the id when omitted.' }),
  prompt: z.string().optional(),
  script: z.string().optional(),
  paths: z
    .array(z.string().min(1))
    .optional()
    .meta({ description: 'Globs of the files this facet is about, passed to its agent as a hint.' }),
});
export type SwarmFacet = z.infer<typeof SwarmFacet>;

/** A facet as a planner agent proposes it (in `.nightshift/facets.json`): always an agent prompt. */
export const PlannedFacet = z.strictObject({
  id: FacetId,
  title: z.string().min(1).max(200),
  prompt: z.string().min(1).max(20_000),
  paths: z.array(z.string().min(1).max(500)).max(100).optional(),
});
export type PlannedFacet = z.infer<typeof PlannedFacet>;

/** The file a planner writes: `{ "facets": [...] }`. */
export const FacetPlan = z.strictObject({ facets: z.array(PlannedFacet).min(1) });
export type FacetPlan = z.infer<typeof FacetPlan>;

/** The agent step that proposes a swarm's facets when the spec lists none. */
export const SwarmPlanner = z.strictObject({
  prompt: z.string().optional().meta({
    description: 'Extra instructions for the planner; the goal and the file format are always given.',
  }),
  harness: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Harness of the planner (default: the engine’s).' }),
  model: z.string().min(1).optional().meta({ description: 'Model of the planner (default: the harness’s).' }),
  max_facets: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(8)
    .meta({ description: 'Most facets the planner may propose (default 8); a plan with more is refused.' }),
});
export type SwarmPlanner = z.infer<typeof SwarmPlanner>;

/** A swarm spec file as written. */
export const SwarmSpec = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, { error: 'expected lower-case letters, digits, `.`, `_`, `-`' }),
    repo: z.string().min(1),
    goal: z.string().min(1).meta({ description: 'What the swarm achieves; the title of its change.' }),
    base: z.string().optional(),
    facets: z
      .array(SwarmFacet)
      .min(1)
      .optional()
      .meta({ description: 'The facets, each a sub-run on its own branch; or give a `planner`.' }),
    planner: SwarmPlanner.optional().meta({
      description: 'An agent step that proposes the facets (instead of listing them).',
    }),
    converge: z
      .strictObject({
        resolve: z
          .string()
          .optional()
          .meta({ description: 'Prompt of the agent that resolves merge conflicts.' }),
        harness: z.string().optional(),
        gate: z.string().optional().meta({ description: 'Command that checks the integration branch.' }),
        branch: z.string().optional(),
      })
      .optional(),
  })
  .meta({ title: 'Nightshift swarm', description: 'Many agents, one outcome.' });
export type SwarmSpec = z.infer<typeof SwarmSpec>;
