import { z } from 'zod';

/**
 * Zod schemas of a blueprint file as written (YAML). `parseBlueprint` validates with these
 * and normalizes the result into a `Blueprint` (see `types.ts`); `schemas/blueprint.schema.json`
 * is generated from them so editors can check blueprint files.
 */

const DURATION_MESSAGE =
  'expected a duration such as `30m`, `90s`, `2h`, `500ms` or a number of milliseconds';

/** A duration: `30m`, `90s`, `2h`, `500ms`, or a number of milliseconds. */
export const Duration = z
  .union([
    z.string().regex(/^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h)?\s*$/, { error: DURATION_MESSAGE }),
    z.number().positive({ error: `${DURATION_MESSAGE}, more than 0` }),
  ])
  .meta({ description: 'A duration such as `30m`, `90s`, `2h`, `500ms`, or a number of milliseconds.' });
export type Duration = z.infer<typeof Duration>;

/** Step id: lower-case letters, digits, `_` and `-`. */
export const StepId = z
  .string()
  .regex(/^[a-z0-9_-]+$/, { error: 'expected an id of lower-case letters, digits, `_` and `-`' })
  .meta({ description: 'Unique id of the step (default: its kind, made unique like `run-2`).' });
export type StepId = z.infer<typeof StepId>;

/** Environment variables of a step; numbers and booleans are written as strings. */
export const StepEnv = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a variable name like `NODE_ENV`' }),
    z.union([z.string(), z.number(), z.boolean()]),
  )
  .meta({ description: 'Environment variables for the step; values may use templates.' });
export type StepEnv = z.infer<typeof StepEnv>;

const commonFields = {
  id: StepId.optional(),
  timeout: Duration.optional().meta({ description: 'Time limit of this step.' }),
  continue_on_error: z
    .boolean()
    .optional()
    .meta({ description: 'Carry on with the next step when this one fails (default false).' }),
  env: StepEnv.optional(),
};

/** `run`: shell commands, run with `sh -ec` in the sandbox. */
export const RunStepFile = z.strictObject({
  ...commonFields,
  run: z.string().meta({
    description: 'Shell command(s), run with `sh -ec` in the sandbox. Skipped when it renders empty.',
  }),
  secrets: z.boolean().optional().meta({
    description:
      "Give this step the environment's secrets as environment variables (setup steps; default false).",
  }),
});
export type RunStepFile = z.infer<typeof RunStepFile>;

/** The agent's settings; a string is short for `{ prompt: <string> }`. */
export const AgentSettings = z.union([
  z.string(),
  z.strictObject({
    prompt: z.string().optional().meta({ description: 'Task for the agent (default `{{prompt}}`).' }),
    fix_prompt: z
      .string()
      .optional()
      .meta({ description: 'Prompt used when a gate sends its failure back to this agent.' }),
    harness: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Harness driving the model (default: the run’s).' }),
    model: z.string().min(1).optional().meta({ description: 'Model to use (default: the harness’s).' }),
  }),
]);
export type AgentSettings = z.infer<typeof AgentSettings>;

/** `agent`: an agent works on the task in the sandbox. */
export const AgentStepFile = z.strictObject({
  ...commonFields,
  agent: AgentSettings.meta({ description: 'Agent settings, or just the prompt.' }),
});
export type AgentStepFile = z.infer<typeof AgentStepFile>;

/** `gate`: a check command; on failure an earlier agent step may fix it, up to `max_rounds` times. */
export const GateStepFile = z.strictObject({
  ...commonFields,
  gate: z
    .string()
    .meta({ description: 'Check command, run with `sh -ec`; exit code 0 passes. Skipped when empty.' }),
  fix: StepId.optional().meta({
    description:
      'Id of an earlier agent step that gets the failure to fix; without it a failure fails the run.',
  }),
  max_rounds: z
    .int({ error: 'expected a whole number from 0 to 10' })
    .min(0)
    .max(10)
    .optional()
    .meta({ description: 'How many fix rounds at most (default 2).' }),
});
export type GateStepFile = z.infer<typeof GateStepFile>;

/** The change's title and body; `true` keeps both defaults. */
export const PublishSettings = z.union([
  z.literal(true),
  z.strictObject({
    title: z
      .string()
      .optional()
      .meta({ description: 'Title of the change (default `{{prompt | firstline}}`).' }),
    body: z
      .string()
      .optional()
      .meta({ description: 'Body of the change (default: the prompt and the run id).' }),
  }),
]);
export type PublishSettings = z.infer<typeof PublishSettings>;

/** `publish`: hand the work back as a change (branch and pull request). Must be the last step. */
export const PublishStepFile = z.strictObject({
  id: StepId.optional(),
  timeout: commonFields.timeout,
  publish: PublishSettings.meta({ description: '`true`, or the title and body of the change.' }),
});
export type PublishStepFile = z.infer<typeof PublishStepFile>;

/** One step: exactly one of `run`, `agent`, `gate`, `publish`. */
export const StepFile = z.union([RunStepFile, AgentStepFile, GateStepFile, PublishStepFile]);
export type StepFile = z.infer<typeof StepFile>;

/** A blueprint file as written. */
export const BlueprintFile = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Name of the blueprint (default: the file name without extension).' }),
    description: z.string().optional().meta({ description: 'One line saying what the blueprint does.' }),
    timeout: Duration.optional().meta({ description: 'Wall-clock limit of the whole run.' }),
    steps: z.array(StepFile).min(1).meta({ description: 'The steps, run in order.' }),
  })
  .meta({ title: 'Nightshift blueprint', description: 'The steps of a Nightshift run.' });
export type BlueprintFile = z.infer<typeof BlueprintFile>;

/** The step kinds and the schema that validates each. */
export const STEP_SCHEMAS = {
  run: RunStepFile,
  agent: AgentStepFile,
  gate: GateStepFile,
  publish: PublishStepFile,
} as const;
