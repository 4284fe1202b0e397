import { resolve as resolvePath } from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';
import {
  formatPath,
  type Locator,
  type PathSegment,
  type Problem,
  problemAt,
  sortProblems,
  suggest,
} from '../blueprints/problems.ts';
import { parseTemplate, TEMPLATE_FILTERS } from '../blueprints/template.ts';
import { parseYamlSource } from '../blueprints/yaml-source.ts';
import { describeValue, validateWithSchema } from '../blueprints/zod-problems.ts';
import { AutomationFile, AutomationsFile, TRIGGER_SCHEMAS, type TriggerKind } from './schema.ts';
import { type Automation, type AutomationTrigger, DEFAULT_DELIVERY_HEADER } from './types.ts';

/** What `parseAutomations` hands back: the automations when there are no errors, and every problem. */
export interface AutomationsParseResult {
  automations?: Automation[];
  errors: Problem[];
  warnings: Problem[];
}

export interface ParseOptions {
  /** The file's path, recorded as each automation's `source`. */
  source: string;
  /** Directory relative blueprint paths and targets resolve against. */
  cwd: string;
  /** Set for a repo's `.nightshift/automations.yml`: the automations run on that repo only. */
  repo?: string;
}

const TRIGGER_KINDS = Object.keys(TRIGGER_SCHEMAS) as TriggerKind[];
const Header = AutomationsFile.extend({ automations: z.unknown().optional() });

/** Template roots each trigger kind provides (besides `automation` and `fire`). */
const TEMPLATE_ROOTS: Record<TriggerKind, string[]> = {
  cron: ['automation', 'fire'],
  manual: ['automation', 'fire'],
  webhook: ['automation', 'fire', 'payload'],
  slack: ['automation', 'fire', 'slack'],
};

/**
 * Parses an automations file: parse, normalize, validate. Never throws for bad input; every
 * problem comes back with its dot-path (`automations[1].trigger.cron`) and its line and column.
 *
 * @example
 * const { automations, errors } = parseAutomations(text, { source: 'nightly.yml', cwd: '/srv' });
 */
export function parseAutomations(text: string, options: ParseOptions): AutomationsParseResult {
  const yaml = parseYamlSource(text);
  const errors = [...yaml.errors];
  const warnings = [...yaml.warnings];
  if (errors.length > 0) return { errors, warnings };
  const data = yaml.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const message = `expected a mapping with \`automations\`, got ${describeValue(data)}`;
    return { errors: [problemAt([], message, yaml.locate)], warnings };
  }
  const header = validateWithSchema(Header, data, { locate: yaml.locate });
  errors.push(...header.problems);
  const list = (data as Record<string, unknown>).automations;
  if (!Array.isArray(list)) {
    if (header.problems.length === 0)
      errors.push(problemAt(['automations'], 'is required: a list of automations', yaml.locate));
    return { errors: sortProblems(errors), warnings };
  }
  const automations: Automation[] = [];
  const seen = new Map<string, number>();
  for (const [index, item] of list.entries()) {
    const name = (item as { name?: unknown } | null)?.name;
    if (typeof name === 'string') {
      const first = seen.get(name);
      if (first !== undefined) {
        const message = `duplicate name \`${name}\`: automations[${first}] has it too`;
        errors.push(problemAt(['automations', index, 'name'], message, yaml.locate));
      } else seen.set(name, index);
    }
    const automation = parseOne(item, ['automations', index], options, yaml.locate, errors, warnings);
    if (automation) automations.push(automation);
  }
  const result = { errors: sortProblems(errors), warnings: sortProblems(warnings) };
  return errors.length > 0 ? result : { automations, ...result };
}

/** Validates one automation (already parsed from YAML or JSON) at `path`. */
export function parseOne(
  item: unknown,
  path: PathSegment[],
  options: ParseOptions,
  locate: Locator | undefined,
  errors: Problem[],
  warnings: Problem[],
): Automation | undefined {
  const kind = triggerKind(item, path, locate, errors);
  const { value, problems } = validateWithSchema(AutomationFile, item, { basePath: path, locate });
  // A union's problems are vague; when the kind is known, validate the trigger by its own schema.
  const triggerProblems = problems.filter((p) => p.path.startsWith(`${formatPath(path)}.trigger`));
  errors.push(...problems.filter((p) => !triggerProblems.includes(p)));
  if (kind) {
    const raw = (item as Record<string, unknown>).trigger;
    errors.push(
      ...validateWithSchema(TRIGGER_SCHEMAS[kind], raw, { basePath: [...path, 'trigger'], locate }).problems,
    );
  }
  if (!value || !kind) return undefined;
  const before = errors.length;
  const trigger = normalizeTrigger(
    value.trigger as Record<string, unknown>,
    kind,
    [...path, 'trigger'],
    locate,
    errors,
  );
  const at = (...rest: PathSegment[]) => [...path, ...rest];
  const roots = TEMPLATE_ROOTS[kind];
  const templates: [PathSegment[], string | undefined][] = [
    [at('inputs', 'prompt'), value.inputs?.prompt],
    [at('inputs', 'script'), value.inputs?.script],
    ...Object.entries(value.inputs?.values ?? {}).map(
      ([key, text]) => [at('inputs', 'values', key), text] as [PathSegment[], string],
    ),
  ];
  if (trigger?.kind === 'webhook' && trigger.repo) templates.push([at('trigger', 'repo'), trigger.repo]);
  for (const [where, text] of templates) {
    if (text !== undefined)
      for (const message of checkAutomationTemplate(text, roots))
        errors.push(problemAt(where, message, locate));
  }
  for (const [index, filter] of (value.filters ?? []).entries()) {
    const root = filter.field.split('.')[0]!;
    if (!roots.includes(root))
      errors.push(
        problemAt(
          at('filters', index, 'field'),
          `\`${root}\` is not set for a ${kind} trigger; use one of ${roots.join(', ')}`,
          locate,
        ),
      );
    const tests = [filter.equals, filter.in, filter.matches].filter((test) => test !== undefined).length;
    if (tests !== 1)
      errors.push(
        problemAt(at('filters', index), 'a filter needs exactly one of `equals`, `in`, `matches`', locate),
      );
    if (filter.matches !== undefined && !isRegExp(filter.matches))
      errors.push(
        problemAt(
          at('filters', index, 'matches'),
          `not a valid regular expression: ${filter.matches}`,
          locate,
        ),
      );
  }
  let targets = value.targets ?? [];
  const spec = value.fleet !== undefined ? 'fleet' : value.swarm !== undefined ? 'swarm' : null;
  if (spec) {
    specProblems(spec, value, trigger, options, at, locate, errors);
  } else {
    if (value.inputs?.prompt === undefined && value.inputs?.script === undefined && kind !== 'slack')
      errors.push(problemAt(at('inputs'), 'needs a `prompt` or a `script` for the runs it starts', locate));
    if (options.repo) {
      if (value.targets)
        warnings.push(
          problemAt(at('targets'), "is ignored in a repo's automations file: they run on that repo", locate, {
            key: true,
          }),
        );
      targets = [options.repo];
    } else if (targets.length === 0) {
      errors.push(problemAt(at('targets'), 'is required: the repos the runs work on', locate));
    }
  }
  if (trigger?.kind === 'slack') {
    for (const [channel, target] of Object.entries(trigger.channels)) {
      if (!targets.some((t) => targetName(t) === target || t === target))
        errors.push(
          problemAt(
            at('trigger', 'slack', 'channels', channel),
            `\`${target}\` is not one of the targets (${targets.map(targetName).join(', ')})`,
            locate,
          ),
        );
    }
  }
  if (!trigger || errors.length > before) return undefined;
  return {
    name: value.name,
    description: value.description ?? '',
    enabled: value.enabled ?? true,
    trigger,
    filters: value.filters ?? [],
    blueprint: value.blueprint ?? null,
    inputs: {
      prompt: value.inputs?.prompt ?? (kind === 'slack' ? '{{slack.text}}' : undefined),
      script: value.inputs?.script,
      values: value.inputs?.values ?? {},
    },
    targets,
    fleet: value.fleet === undefined ? null : resolvePath(options.cwd, value.fleet),
    swarm: value.swarm === undefined ? null : resolvePath(options.cwd, value.swarm),
    concurrency: value.concurrency ?? 1,
    runAs: value.run_as ?? `automation-${value.name}`,
    source: options.source,
    cwd: options.cwd,
  };
}

/**
 * What a fleet or swarm automation (`fleet: SPEC`, `swarm: SPEC`) cannot have: the runs' own
 * `targets`, `inputs` and `blueprint` (the spec names them), the other kind of spec, a place in
 * a repo's file or the API, a trigger that picks one repo.
 */
function specProblems(
  kind: 'fleet' | 'swarm',
  value: AutomationFile,
  trigger: AutomationTrigger | undefined,
  options: ParseOptions,
  at: (...rest: PathSegment[]) => PathSegment[],
  locate: Locator | undefined,
  errors: Problem[],
): void {
  const refuse = (where: PathSegment[], message: string) =>
    errors.push(problemAt(where, message, locate, { key: true }));
  const names = kind === 'fleet' ? 'the repos and what runs on them' : 'the repo and what runs on it';
  for (const key of ['targets', 'inputs', 'blueprint'] as const) {
    if (value[key] !== undefined)
      refuse(at(key), `cannot be used with \`${kind}\`: the ${kind} spec names ${names}`);
  }
  if (kind === 'fleet' && value.swarm !== undefined)
    refuse(
      at('swarm'),
      'cannot be used with `fleet`: an automation applies a fleet or starts a swarm, not both',
    );
  // Through the API (scope runs:write) an automation must not make the server read its files.
  if (options.source === 'api')
    refuse(
      at(kind),
      "can only be set in an automations file of the server's automations directory (synced by `nightshift automations apply`, an admin's): it names a file on the server",
    );
  if (options.repo)
    refuse(
      at(kind),
      `cannot be used in a repo's automations file: put ${kind} automations in the server's automations directory`,
    );
  if (trigger?.kind === 'slack')
    refuse(at(kind), 'cannot be used with a `slack` trigger: a Slack message starts a run on one repo');
  if (trigger?.kind === 'webhook' && trigger.repo)
    refuse(
      at('trigger', 'repo'),
      `cannot be used with \`${kind}\`: the ${kind} spec names ${kind === 'fleet' ? 'the repos' : 'its repo'}`,
    );
}

/** A target's short name, as Slack messages and webhook mappings name it: the last path segment. */
export function targetName(target: string): string {
  return (
    target
      .replace(/\.git$/, '')
      .replace(/\/+$/, '')
      .split(/[/:]/)
      .pop() ?? target
  );
}

function triggerKind(
  item: unknown,
  path: PathSegment[],
  locate: Locator | undefined,
  errors: Problem[],
): TriggerKind | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const trigger = (item as Record<string, unknown>).trigger;
  if (trigger === null || typeof trigger !== 'object' || Array.isArray(trigger)) return undefined;
  const keys = Object.keys(trigger);
  const kinds = TRIGGER_KINDS.filter((kind) => keys.includes(kind));
  if (kinds.length === 1) return kinds[0];
  const typo = keys.map((key) => suggest(key, TRIGGER_KINDS)).find(Boolean);
  const detail =
    kinds.length > 1 ? `; this one has ${kinds.join(' and ')}` : typo ? ` (did you mean \`${typo}\`?)` : '';
  errors.push(
    problemAt(
      [...path, 'trigger'],
      `a trigger has exactly one of \`cron\`, \`webhook\`, \`slack\`, \`manual\`${detail}`,
      locate,
    ),
  );
  return undefined;
}

function normalizeTrigger(
  raw: Record<string, unknown>,
  kind: TriggerKind,
  path: PathSegment[],
  locate: Locator | undefined,
  errors: Problem[],
): AutomationTrigger | undefined {
  if (kind === 'cron') {
    const timezone = (raw.timezone as string | undefined) ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
    } catch {
      errors.push(
        problemAt(
          [...path, 'timezone'],
          `unknown time zone \`${timezone}\`; use an IANA name such as \`Europe/Berlin\``,
          locate,
        ),
      );
      return undefined;
    }
    try {
      new Cron(raw.cron as string, { timezone, paused: true });
    } catch (error) {
      const field = /timezone/i.test((error as Error).message) ? 'timezone' : 'cron';
      errors.push(
        problemAt(
          [...path, field],
          `${(error as Error).message}; e.g. \`0 3 * * 1-5\` at 03:00 on weekdays`,
          locate,
        ),
      );
      return undefined;
    }
    return { kind, cron: raw.cron as string, timezone, overlap: (raw.overlap as 'skip' | 'queue') ?? 'skip' };
  }
  if (kind === 'webhook') {
    return {
      kind,
      webhook: raw.webhook as string,
      secrets: raw.secrets as WebhookSecrets,
      deliveryHeader: (raw.delivery_header as string | undefined) ?? DEFAULT_DELIVERY_HEADER,
      repo: (raw.repo as string | undefined) ?? null,
    };
  }
  if (kind === 'slack')
    return { kind, channels: (raw.slack as { channels?: Record<string, string> }).channels ?? {} };
  return { kind: 'manual' };
}

type WebhookSecrets = Extract<AutomationTrigger, { kind: 'webhook' }>['secrets'];

/** Checks a template of an automation: syntax, and that its variables exist for the trigger. */
export function checkAutomationTemplate(text: string, roots: string[]): string[] {
  const { expressions, errors } = parseTemplate(text);
  for (const { source, variable, filters } of expressions) {
    const root = variable.split('.')[0]!;
    if (!roots.includes(root))
      errors.push(`unknown template variable \`${root}\` in \`${source}\`; here: ${roots.join(', ')}`);
    for (const filter of filters)
      if (!(filter in TEMPLATE_FILTERS))
        errors.push(`unknown filter \`${filter}\`; filters: ${Object.keys(TEMPLATE_FILTERS).join(', ')}`);
  }
  return errors;
}

function isRegExp(text: string): boolean {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}
