import { z } from 'zod';

const blueprint = z
  .string()
  .min(1)
  .describe('built-in blueprint name or a blueprint file path on the server');

/**
 * `.nightshift/github.yml` in a repo's default branch, and `$NIGHTSHIFT_HOME/github.yml` for
 * server-wide defaults: which GitHub events start runs. A repo's file overrides the server's
 * per reaction and per key.
 */
export const GithubConfigFile = z
  .strictObject({
    comment: z
      .strictObject({
        enabled: z.boolean().optional(),
        command: z
          .string()
          .regex(/^\/\S+$/, 'expected a slash command such as /nightshift')
          .optional(),
        blueprint: blueprint.optional(),
      })
      .optional()
      .describe('`/nightshift <prompt>` in an issue comment or PR review comment starts a run'),
    label: z
      .strictObject({
        enabled: z.boolean().optional(),
        name: z.string().min(1).optional(),
        blueprint: blueprint.optional(),
      })
      .optional()
      .describe('a label on an issue starts a run with the issue as the prompt'),
    review: z
      .strictObject({
        enabled: z.boolean().optional(),
        on: z.array(z.enum(['opened', 'synchronize', 'reopened', 'ready_for_review'])).optional(),
        blueprint: blueprint.optional(),
      })
      .optional()
      .describe('pull requests get a review run whose findings are posted as a PR review'),
    ci_fix: z
      .strictObject({
        enabled: z.boolean().optional(),
        max_rounds: z.number().int().min(0).max(10).optional(),
        blueprint: blueprint.optional(),
      })
      .optional()
      .describe('a failed check suite or check run on a nightshift/* branch starts a fix run on it'),
    repos: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected OWNER/NAME'))
      .optional()
      .describe('server-wide only: repos (OWNER/NAME) whose events are accepted besides the known ones'),
  })
  .describe('Nightshift GitHub reactions');
export type GithubConfigFile = z.input<typeof GithubConfigFile>;

/** The effective reactions of one repo, with every default filled in. */
export interface GithubReactions {
  comment: { enabled: boolean; command: string; blueprint: string };
  label: { enabled: boolean; name: string; blueprint: string };
  review: { enabled: boolean; on: string[]; blueprint: string };
  ci_fix: { enabled: boolean; max_rounds: number; blueprint: string };
  repos: string[];
}

export const DEFAULT_REACTIONS: GithubReactions = {
  comment: { enabled: true, command: '/nightshift', blueprint: 'default' },
  label: { enabled: true, name: 'nightshift', blueprint: 'default' },
  review: { enabled: false, on: ['opened', 'synchronize'], blueprint: 'review' },
  ci_fix: { enabled: true, max_rounds: 2, blueprint: 'default' },
  repos: [],
};
