import { z } from 'zod';

/**
 * Zod schemas of the files that say how a sandbox is prepared for a repo:
 * `.nightshift/environment.yml` (strict), and as a fallback the devcontainer's
 * `devcontainer.json` (permissive: only the keys Nightshift uses are declared).
 */

/** Environment variable name, such as `NODE_ENV`. */
export const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a variable name like `NODE_ENV`' });
export type EnvName = z.infer<typeof EnvName>;

/** `.nightshift/environment.yml` as written. */
export const EnvironmentFile = z
  .strictObject({
    setup: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .meta({ description: 'Setup command(s), run in order with `sh -ec` before the agent starts.' }),
    env: z
      .record(EnvName, z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .meta({ description: 'Environment variables for every step; numbers and booleans become strings.' }),
    test: z
      .string()
      .optional()
      .meta({ description: 'Command that checks the work (`{{environment.test}}`); exit code 0 passes.' }),
    secrets: z.array(EnvName).optional().meta({
      description:
        'Names of secrets given to setup steps only (never to the agent), as environment variables; the server provides each as NIGHTSHIFT_SECRET_<NAME>.',
    }),
  })
  .meta({
    title: 'Nightshift environment',
    description: 'How a Nightshift sandbox is prepared for this repo.',
  });
export type EnvironmentFile = z.infer<typeof EnvironmentFile>;

/** A devcontainer lifecycle command: a shell string, an argv list, or named commands. */
export const DevcontainerCommand = z.union([
  z.string(),
  z.array(z.string()),
  z.record(z.string(), z.union([z.string(), z.array(z.string())])),
]);
export type DevcontainerCommand = z.infer<typeof DevcontainerCommand>;

/** The parts of `devcontainer.json` Nightshift uses; every other key is ignored. */
export const DevcontainerJson = z.looseObject({
  onCreateCommand: DevcontainerCommand.optional(),
  updateContentCommand: DevcontainerCommand.optional(),
  postCreateCommand: DevcontainerCommand.optional(),
  containerEnv: z.record(z.string(), z.string()).optional(),
});
export type DevcontainerJson = z.infer<typeof DevcontainerJson>;
