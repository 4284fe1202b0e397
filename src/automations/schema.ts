import { z } from 'zod';

/**
 * Zod schemas of automation files as written (YAML): the server-wide directory
 * (`$NIGHTSHIFT_HOME/automations/*.yml`) and a repo's `.nightshift/automations.yml`.
 * `parseAutomations` validates with these and normalizes into `Automation` (see `types.ts`);
 * `schemas/automations.schema.json` is generated from them.
 */

/** Automation name: lower-case letters, digits, `_` and `-`. */
export const AutomationName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, {
    error: 'expected a name of lower-case letters, digits, `_` and `-` (at most 63 characters)',
  })
  .meta({ description: 'Unique name of the automation.' });
export type AutomationName = z.infer<typeof AutomationName>;

/** `cron`: fires on a schedule. */
export const CronTriggerFile = z.strictObject({
  cron: z.string().min(1).meta({ description: 'Cron expression (5 or 6 fields), e.g. `0 3 * * 1-5`.' }),
  timezone: z
    .string()
    .optional()
    .meta({ description: 'IANA time zone the expression is read in, e.g. `Europe/Berlin` (default UTC).' }),
  overlap: z.enum(['skip', 'queue']).optional().meta({
    description:
      'While a previous run of this automation is still active: `skip` the fire (default) or `queue` it until that run ends.',
  }),
});
export type CronTriggerFile = z.infer<typeof CronTriggerFile>;

/** Where a webhook secret comes from: an environment variable, or a Nightshift secret. */
export const SecretRef = z
  .union([
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }),
    z.strictObject({ secret: z.string().regex(/^[A-Za-z0-9_]+$/) }),
  ])
  .meta({
    description:
      '`env: NAME` reads the environment variable NAME; `secret: NAME` reads NIGHTSHIFT_SECRET_NAME.',
  });
export type SecretRef = z.infer<typeof SecretRef>;

/** `webhook`: fires on `POST /webhooks/in/<name>` signed with one of the secrets. */
export const WebhookTriggerFile = z.strictObject({
  webhook: AutomationName.meta({ description: 'Hook name: the URL is `/webhooks/in/<name>`.' }),
  secrets: z.array(SecretRef).min(1).meta({
    description: 'HMAC-SHA256 secrets; a delivery signed with any of them is accepted (rotation).',
  }),
  delivery_header: z.string().optional().meta({
    description:
      'Header carrying a unique delivery id; a repeated id starts nothing (default `X-Nightshift-Delivery`).',
  }),
  repo: z.string().optional().meta({
    description:
      'Template choosing one of the targets from the payload, e.g. `{{payload.service}}` (default: every target).',
  }),
});
export type WebhookTriggerFile = z.infer<typeof WebhookTriggerFile>;

/** `slack`: fires on a slash command or an app mention in Slack. */
export const SlackTriggerFile = z.strictObject({
  slack: z.strictObject({
    channels: z.record(z.string(), z.string()).optional().meta({
      description: "Channel id → default target (a target's name) when a message names no repo.",
    }),
  }),
});
export type SlackTriggerFile = z.infer<typeof SlackTriggerFile>;

/** `manual`: fires only when asked (`nightshift automations run`, the API). */
export const ManualTriggerFile = z.strictObject({ manual: z.literal(true) });
export type ManualTriggerFile = z.infer<typeof ManualTriggerFile>;

/** The trigger kinds, by the key that names them. */
export const TRIGGER_SCHEMAS = {
  cron: CronTriggerFile,
  webhook: WebhookTriggerFile,
  slack: SlackTriggerFile,
  manual: ManualTriggerFile,
} as const;
export type TriggerKind = keyof typeof TRIGGER_SCHEMAS;

/** A condition on the trigger's data; the automation fires only when every filter holds. */
export const FilterFile = z.strictObject({
  field: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/, {
    error: 'expected a dotted path such as `payload.alert.severity`',
  }),
  equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
  in: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
  matches: z.string().optional().meta({ description: 'Regular expression the value must match.' }),
});
export type FilterFile = z.infer<typeof FilterFile>;

/** Templates of the run's inputs; `{{payload.x}}`, `{{slack.text}}`, `{{automation.name}}`. */
export const InputsFile = z.strictObject({
  prompt: z.string().optional(),
  script: z.string().optional(),
  values: z.record(z.string(), z.string()).optional(),
});
export type InputsFile = z.infer<typeof InputsFile>;

/** One automation as written. */
export const AutomationFile = z.strictObject({
  name: AutomationName,
  description: z.string().optional(),
  enabled: z.boolean().optional().meta({ description: 'Default true.' }),
  trigger: z
    .union([CronTriggerFile, WebhookTriggerFile, SlackTriggerFile, ManualTriggerFile])
    .meta({ description: 'Exactly one of `cron`, `webhook`, `slack`, `manual`.' }),
  filters: z.array(FilterFile).optional(),
  blueprint: z.string().optional().meta({ description: 'Built-in blueprint name or YAML path.' }),
  inputs: InputsFile.optional(),
  targets: z.array(z.string().min(1)).min(1).optional().meta({
    description: "Repos to run on (paths or URLs); in a repo's file, that repo.",
  }),
  fleet: z.string().min(1).optional().meta({
    description:
      'A fleet spec file (relative to this file) applied again on each fire, instead of `targets`, `inputs` and `blueprint`: new repos and changed inputs get runs, finished repos are not redone.',
  }),
  swarm: z.string().min(1).optional().meta({
    description:
      'A swarm spec file (relative to this file) started on each fire, instead of `targets`, `inputs` and `blueprint`; a fire while its last execution goes on is skipped.',
  }),
  concurrency: z.number().int().min(1).max(1000).optional().meta({
    description: 'Runs of this automation active at once (default 1).',
  }),
  run_as: z
    .string()
    .regex(/^[A-Za-z0-9_.@-]+$/)
    .optional()
    .meta({
      description: "Service account recorded as the runs' author (default `automation-<name>`).",
    }),
});
export type AutomationFile = z.infer<typeof AutomationFile>;

/** An automations file: a list of automations. */
export const AutomationsFile = z.strictObject({
  automations: z.array(AutomationFile),
});
export type AutomationsFile = z.infer<typeof AutomationsFile>;
