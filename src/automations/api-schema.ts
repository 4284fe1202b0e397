import { isAbsolute } from 'node:path';
import { z } from 'zod';

/**
 * Zod schemas of the automations API's requests (beside `AutomationFile`, the body of
 * `POST /` and `PUT /:name`), used both to validate them and for `/openapi.json`.
 */

/** Body of `POST /api/automations/:name/run`: an optional payload, as a webhook would send. */
export const AutomationRunBody = z.object({
  payload: z.unknown().optional().describe('made available to templates as `payload`'),
});
export type AutomationRunBody = z.infer<typeof AutomationRunBody>;

/**
 * Body of `POST /api/automations/apply`: sync the automations with the files of `dir` and of
 * each repo's `.nightshift/automations.yml`, read on the server's file system.
 */
export const AutomationApplyBody = z.object({
  dir: z.string().refine(isAbsolute, 'must be an absolute path').describe('the automations directory'),
  repos: z
    .array(z.string().refine(isAbsolute, 'must be an absolute path'))
    .default([])
    .describe('repos whose .nightshift/automations.yml to apply'),
});
export type AutomationApplyBody = z.infer<typeof AutomationApplyBody>;

/** Query of `GET /api/automations/:name/history`. */
export const AutomationHistoryQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(20),
});
export type AutomationHistoryQuery = z.infer<typeof AutomationHistoryQuery>;
