import { z } from 'zod';
import { Duration } from '../blueprints/schema.ts';

/**
 * Zod schema of a policy file as written (YAML): the server's `$NIGHTSHIFT_HOME/policy.yml`
 * or a repo's `.nightshift/policy.yml`. `parsePolicy` validates with it and normalizes the
 * result into a `PolicySpec` (see `types.ts`); `schemas/policy.schema.json` is generated from it.
 */

const SIZE_MESSAGE = 'expected a size such as `512MiB`, `4GiB`, `10GB` or a number of bytes';

/** `unlimited`: no limit (in a repo policy: no narrowing). */
export const Unlimited = z.literal('unlimited').meta({ description: 'No limit.' });
export type Unlimited = z.infer<typeof Unlimited>;

/** A size: `512MiB`, `4GiB`, `4g` (powers of 1024), `10GB` (powers of 1000), or a number of bytes. */
export const Size = z
  .union([
    Unlimited,
    z.string().regex(/^\s*\d+(?:\.\d+)?\s*(?:[kmgtKMGT]i?[bB]?|[bB])?\s*$/, { error: SIZE_MESSAGE }),
    z.int({ error: SIZE_MESSAGE }).positive({ error: `${SIZE_MESSAGE}, more than 0` }),
  ])
  .meta({ description: 'A size such as `512MiB`, `4GiB`, `10GB`, a number of bytes, or `unlimited`.' });
export type Size = z.infer<typeof Size>;

/** A positive whole number, or `unlimited`. */
export const Count = z.union([Unlimited, z.int().positive()]);
export type Count = z.infer<typeof Count>;

/** An absolute path inside the sandbox. */
export const SandboxPath = z
  .string()
  .regex(/^\//, { error: 'expected an absolute path inside the sandbox, such as `/workspace/vendor`' });
export type SandboxPath = z.infer<typeof SandboxPath>;

/** A command name (looked up in the sandbox's PATH directories) or an absolute path. */
export const Executable = z.string().regex(/^(?:\/.*[^/]|[^/\s]+)$/, {
  error: 'expected a command name such as `curl` or an absolute path such as `/usr/bin/nc`',
});
export type Executable = z.infer<typeof Executable>;

/** A host pattern: `api.github.com`, `*.npmjs.org`, with an optional `:port`. */
export const HostPattern = z
  .string()
  .regex(/^\s*(?:[A-Za-z0-9_.*-]+|\[[0-9A-Fa-f:.]+\])(?::\d+)?\s*$/, {
    error: 'expected a host such as `api.github.com`, `*.npmjs.org` or `registry.yarnpkg.com:443`',
  })
  .meta({
    description:
      'A host name, `*.domain` for every sub-domain (not the domain itself), or an IP address, with an optional `:port`.',
  });
export type HostPattern = z.infer<typeof HostPattern>;

/** A glob over repository paths: `**`, `*`, `?`. */
export const PathGlob = z.string().min(1).meta({
  description: 'A path relative to the repo root, with `**` (any directories), `*` and `?`.',
});
export type PathGlob = z.infer<typeof PathGlob>;

export const FilesystemSection = z.strictObject({
  read_only: z
    .array(SandboxPath)
    .optional()
    .meta({ description: 'Extra paths inside the sandbox that are read-only.' }),
  hidden: z.array(SandboxPath).optional().meta({ description: 'Paths inside the sandbox made invisible.' }),
});
export type FilesystemSection = z.infer<typeof FilesystemSection>;

export const ExecutablesSection = z.strictObject({
  deny: z
    .array(Executable)
    .optional()
    .meta({ description: 'Executables that may not run: names (found in the PATH directories) or paths.' }),
  allow_exec_from: z.array(SandboxPath).optional().meta({
    description: 'Writable places from which files may be executed (default: none).',
  }),
});
export type ExecutablesSection = z.infer<typeof ExecutablesSection>;

export const NetworkSection = z.strictObject({
  allow: z
    .array(HostPattern)
    .optional()
    .meta({ description: 'Hosts the sandbox may reach; nothing else (default: none).' }),
  deny: z
    .array(HostPattern)
    .optional()
    .meta({ description: 'Hosts the sandbox may never reach; wins over `allow`.' }),
});
export type NetworkSection = z.infer<typeof NetworkSection>;

export const ResourcesSection = z.strictObject({
  memory: Size.optional().meta({ description: 'Memory of all processes together.' }),
  pids: Count.optional().meta({ description: 'Processes and threads alive at once.' }),
  cpu: z
    .union([Unlimited, z.number().positive()])
    .optional()
    .meta({ description: 'CPUs (may be fractional, such as 0.5).' }),
  disk: Size.optional().meta({ description: 'Size of what the run writes to its workspace.' }),
  wall_time: z
    .union([Unlimited, Duration])
    .optional()
    .meta({ description: 'Wall-clock limit of the run, such as `30m`.' }),
});
export type ResourcesSection = z.infer<typeof ResourcesSection>;

export const BudgetSection = z.strictObject({
  tokens: Count.optional().meta({ description: 'Model tokens (input and output) per run.' }),
  cost_usd: z
    .union([Unlimited, z.number().nonnegative()])
    .optional()
    .meta({ description: 'Model cost per run, in US dollars.' }),
});
export type BudgetSection = z.infer<typeof BudgetSection>;

export const PublishSection = z.strictObject({
  protected_paths: z
    .array(PathGlob)
    .optional()
    .meta({ description: 'Globs of paths a change may not touch unless `allow_protected` is true.' }),
  allow_protected: z
    .boolean()
    .optional()
    .meta({ description: 'Whether a change may touch protected paths (default false).' }),
  max_changed_files: Count.optional().meta({ description: 'Most files one change may touch.' }),
});
export type PublishSection = z.infer<typeof PublishSection>;

export const RunsSection = z.strictObject({
  max_children: z.int().min(0).max(1000).optional().meta({
    description: 'Most sub-runs one run may start through the agent tool `start_run` (default 5; 0: none).',
  }),
  max_depth: z.int().min(0).max(10).optional().meta({
    description:
      'How deep sub-runs may nest (default 1: a run may start sub-runs, they may not; 0: no run may start any).',
  }),
  repos: z.array(z.string().min(1)).optional().meta({
    description:
      'Globs over repository locations (paths, URLs) or names that sub-runs may work on besides the run’s own repo (default: none).',
  }),
});
export type RunsSection = z.infer<typeof RunsSection>;

/** A policy file as written. Every section is optional. */
export const PolicyFile = z
  .strictObject({
    filesystem: FilesystemSection.optional().meta({ description: 'Extra read-only and hidden paths.' }),
    executables: ExecutablesSection.optional().meta({
      description: 'Executables that may not run, and writable places files may run from.',
    }),
    network: NetworkSection.optional().meta({ description: 'Hosts the sandbox may reach (default: none).' }),
    resources: ResourcesSection.optional().meta({ description: 'Limits of the sandbox.' }),
    budget: BudgetSection.optional().meta({ description: 'Model usage allowed per run.' }),
    publish: PublishSection.optional().meta({ description: 'Rules a change must follow to be published.' }),
    runs: RunsSection.optional().meta({ description: 'Sub-runs an agent may start through its tools.' }),
  })
  .meta({
    title: 'Nightshift policy',
    description:
      'What a Nightshift sandbox may do. A repo’s .nightshift/policy.yml may only narrow the server’s policy.',
  });
export type PolicyFile = z.infer<typeof PolicyFile>;
