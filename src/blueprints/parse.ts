import { basename, extname } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../core/clock.ts';
import type { StepKind } from '../core/events.ts';
import {
  type Locator,
  type PathSegment,
  type Problem,
  problemAt,
  sortProblems,
  suggest,
} from './problems.ts';
import { BlueprintFile, type Duration, STEP_SCHEMAS, type StepFile } from './schema.ts';
import { checkTemplate } from './template.ts';
import { type Blueprint, type BlueprintStep, STEP_DEFAULTS } from './types.ts';
import { parseYamlSource } from './yaml-source.ts';
import { describeValue, validateWithSchema } from './zod-problems.ts';

/** What `parseBlueprint` hands back: the blueprint when there are no errors, and every problem. */
export interface BlueprintParseResult {
  blueprint?: Blueprint;
  errors: Problem[];
  warnings: Problem[];
}

const STEP_KINDS = Object.keys(STEP_SCHEMAS) as StepKind[];
/** The top level alone; each step is validated by the schema of its kind. */
const BlueprintHeader = BlueprintFile.extend({ steps: z.unknown().optional() });

/** Collects problems while a blueprint is normalized. */
interface Context {
  locate: Locator;
  errors: Problem[];
  warnings: Problem[];
}

/** A step that has exactly one kind, with its validated fields when they were valid. */
interface StepEntry {
  index: number;
  kind: StepKind;
  id: string;
  /** The step as written, for checks that still make sense when some fields are invalid. */
  raw: Record<string, unknown>;
  value?: StepFile;
}

/**
 * Parses a blueprint from YAML text: parse, normalize, validate. Never throws for bad input;
 * every problem comes back with its dot-path (`steps[2].fix`) and its line and column.
 *
 * @example
 * const { blueprint, errors } = parseBlueprint(text, { source: 'fix-lint.yml' });
 * for (const problem of errors) console.error(formatProblem(problem, 'fix-lint.yml'));
 */
export function parseBlueprint(text: string, options: { source: string }): BlueprintParseResult {
  const yaml = parseYamlSource(text);
  const ctx: Context = { locate: yaml.locate, errors: [...yaml.errors], warnings: [...yaml.warnings] };
  if (ctx.errors.length > 0) return { errors: ctx.errors, warnings: ctx.warnings };

  const data = yaml.data;
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    const message = `expected a mapping with \`name\` and \`steps\`, got ${describeValue(data)}`;
    return { errors: [problemAt([], message, ctx.locate)], warnings: ctx.warnings };
  }

  const raw = data as Record<string, unknown>;
  const header = validateWithSchema(BlueprintHeader, raw, { locate: ctx.locate });
  ctx.errors.push(...header.problems);
  const timeoutMs = header.value?.timeout === undefined ? null : toMs(header.value.timeout, ['timeout'], ctx);
  let steps: BlueprintStep[] = [];
  if (raw.steps === undefined) {
    ctx.errors.push(problemAt(['steps'], 'is required: a blueprint needs a list of steps', ctx.locate));
  } else if (!Array.isArray(raw.steps) || raw.steps.length === 0) {
    ctx.errors.push(
      problemAt(
        ['steps'],
        `expected a list of at least one step, got ${describeValue(raw.steps)}`,
        ctx.locate,
      ),
    );
  } else {
    steps = normalizeSteps(raw.steps, ctx);
  }

  const result = { errors: sortProblems(ctx.errors), warnings: sortProblems(ctx.warnings) };
  if (ctx.errors.length > 0 || !header.value) return result;
  const blueprint: Blueprint = {
    name: header.value.name ?? (basename(options.source, extname(options.source)) || 'blueprint'),
    description: header.value.description ?? '',
    timeoutMs,
    steps,
    source: options.source,
  };
  return { blueprint, ...result };
}

function normalizeSteps(rawSteps: unknown[], ctx: Context): BlueprintStep[] {
  const entries = rawSteps.flatMap((item, index) => {
    const entry = classifyStep(item, index, ctx);
    return entry ? [entry] : [];
  });
  assignIds(entries, ctx);
  checkFixTargets(entries, ctx);
  checkPublishIsLast(entries, rawSteps.length, ctx);
  for (const entry of entries) checkTemplates(entry, ctx);
  return entries.flatMap((entry) => {
    const step = entry.value && toStep(entry, entry.value, ctx);
    return step ? [step] : [];
  });
}

/** Finds the step's kind (exactly one of run, agent, gate, publish) and validates it by that kind. */
function classifyStep(item: unknown, index: number, ctx: Context): StepEntry | undefined {
  const path = ['steps', index];
  const expected = 'a step has exactly one of `run`, `agent`, `gate`, `publish`';
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    ctx.errors.push(
      problemAt(path, `expected a mapping: ${expected}; got ${describeValue(item)}`, ctx.locate),
    );
    return undefined;
  }
  const keys = Object.keys(item);
  const kinds = STEP_KINDS.filter((kind) => keys.includes(kind));
  if (kinds.length !== 1) {
    const typo = keys.map((key) => ({ key, kind: suggest(key, STEP_KINDS) })).find((hit) => hit.kind);
    const detail =
      kinds.length > 1
        ? `; this one has ${kinds.map((kind) => `\`${kind}\``).join(' and ')} (split it into ${kinds.length} steps)`
        : typo
          ? ` (did you mean \`${typo.kind}\` instead of \`${typo.key}\`?)`
          : '';
    ctx.errors.push(problemAt(path, `${expected}${detail}`, ctx.locate));
    return undefined;
  }
  const kind = kinds[0]!;
  const { value, problems } = validateWithSchema(STEP_SCHEMAS[kind], item, {
    basePath: path,
    locate: ctx.locate,
    hintFor: (key) => {
      const owners = STEP_KINDS.filter((other) => other !== kind && key in STEP_SCHEMAS[other].shape);
      return owners.length > 0
        ? `\`${key}\` belongs to ${owners.join(' and ')} steps, not to a ${kind} step`
        : undefined;
    },
  });
  ctx.errors.push(...problems);
  return { index, kind, id: '', raw: item as Record<string, unknown>, value };
}

/** Explicit ids must be unique; steps without one get their kind, made unique (`run-2`). */
function assignIds(entries: StepEntry[], ctx: Context): void {
  const taken = new Map<string, number>();
  const pending: StepEntry[] = [];
  for (const entry of entries) {
    const id = entry.raw.id;
    if (typeof id !== 'string') {
      pending.push(entry);
      continue;
    }
    entry.id = id;
    const first = taken.get(id);
    if (first === undefined) taken.set(id, entry.index);
    else
      ctx.errors.push(
        problemAt(
          ['steps', entry.index, 'id'],
          `duplicate id \`${id}\`: steps[${first}] has it too`,
          ctx.locate,
        ),
      );
  }
  for (const entry of pending) {
    let id: string = entry.kind;
    for (let n = 2; taken.has(id); n++) id = `${entry.kind}-${n}`;
    entry.id = id;
    taken.set(id, entry.index);
  }
}

/** A gate's `fix` must name an earlier agent step. */
function checkFixTargets(entries: StepEntry[], ctx: Context): void {
  for (const entry of entries) {
    if (entry.kind !== 'gate') continue;
    const path = ['steps', entry.index];
    const { fix, max_rounds: maxRounds } = entry.raw;
    if (typeof fix !== 'string') {
      if (maxRounds !== undefined) {
        ctx.warnings.push(problemAt([...path, 'max_rounds'], 'has no effect without `fix`', ctx.locate));
      }
      continue;
    }
    const earlierAgents = entries
      .filter((other) => other.kind === 'agent' && other.index < entry.index)
      .map((other) => other.id);
    const choices =
      earlierAgents.length > 0
        ? `earlier agent steps: ${earlierAgents.join(', ')}`
        : 'there is no earlier agent step';
    const target = entries.find((other) => other.id === fix);
    let problem: string | undefined;
    if (!target) {
      const hint = suggest(fix, earlierAgents);
      problem = `no step has id \`${fix}\`${hint ? ` (did you mean \`${hint}\`?)` : ''}; ${choices}`;
    } else if (target.kind !== 'agent') {
      problem = `\`${fix}\` is a ${target.kind} step, but \`fix\` must name an earlier agent step; ${choices}`;
    } else if (target.index > entry.index) {
      problem = `\`${fix}\` comes after this gate, but \`fix\` must name an earlier agent step; ${choices}`;
    }
    if (problem) ctx.errors.push(problemAt([...path, 'fix'], problem, ctx.locate));
  }
}

/** At most one publish step, and it is the last step. */
function checkPublishIsLast(entries: StepEntry[], stepCount: number, ctx: Context): void {
  const publishes = entries.filter((entry) => entry.kind === 'publish');
  for (const [n, entry] of publishes.entries()) {
    const path = ['steps', entry.index, 'publish'];
    if (n > 0) {
      ctx.errors.push(
        problemAt(
          path,
          `only one publish step is allowed; steps[${publishes[0]!.index}] is one`,
          ctx.locate,
          { key: true },
        ),
      );
    } else if (entry.index !== stepCount - 1) {
      ctx.errors.push(problemAt(path, 'the publish step must be the last step', ctx.locate, { key: true }));
    }
  }
}

/** Checks every template field of a step as written: syntax, known variables and filters. */
function checkTemplates(entry: StepEntry, ctx: Context): void {
  const { raw } = entry;
  const fields: [PathSegment[], unknown, boolean][] = [
    [['run'], raw.run, false],
    [['gate'], raw.gate, false],
  ];
  const { agent, publish, env } = raw as Record<string, Record<string, unknown> | undefined>;
  if (typeof agent === 'string') fields.push([['agent'], agent, false]);
  else if (isMapping(agent))
    fields.push(
      [['agent', 'prompt'], agent.prompt, false],
      [['agent', 'fix_prompt'], agent.fix_prompt, true],
    );
  if (isMapping(publish))
    fields.push([['publish', 'title'], publish.title, false], [['publish', 'body'], publish.body, false]);
  if (isMapping(env))
    for (const [key, value] of Object.entries(env)) fields.push([['env', key], value, false]);
  for (const [path, text, allowGate] of fields) {
    if (typeof text !== 'string') continue;
    const { errors, warnings } = checkTemplate(text, { allowGate });
    const at = ['steps', entry.index, ...path];
    for (const message of errors) ctx.errors.push(problemAt(at, message, ctx.locate));
    for (const message of warnings) ctx.warnings.push(problemAt(at, message, ctx.locate));
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Fills in defaults and converts durations. */
function toStep(entry: StepEntry, step: StepFile, ctx: Context): BlueprintStep {
  const path = ['steps', entry.index];
  const base = {
    id: entry.id,
    timeoutMs: step.timeout === undefined ? null : toMs(step.timeout, [...path, 'timeout'], ctx),
    continueOnError: ('continue_on_error' in step && step.continue_on_error) || false,
    env: Object.fromEntries(
      Object.entries(('env' in step && step.env) || {}).map(([key, value]) => [key, String(value)]),
    ),
  };
  if ('run' in step) return { ...base, kind: 'run', command: step.run, secrets: step.secrets ?? false };
  if ('gate' in step) {
    return {
      ...base,
      kind: 'gate',
      command: step.gate,
      fix: step.fix ?? null,
      maxRounds: step.max_rounds ?? STEP_DEFAULTS.maxRounds,
    };
  }
  if ('agent' in step) {
    const agent = typeof step.agent === 'string' ? { prompt: step.agent } : step.agent;
    return {
      ...base,
      kind: 'agent',
      prompt: agent.prompt ?? STEP_DEFAULTS.agentPrompt,
      fixPrompt: agent.fix_prompt ?? STEP_DEFAULTS.fixPrompt,
      harness: agent.harness ?? null,
      model: agent.model ?? null,
    };
  }
  const publish = step.publish === true ? {} : step.publish;
  return {
    ...base,
    kind: 'publish',
    title: publish.title ?? STEP_DEFAULTS.publishTitle,
    body: publish.body ?? STEP_DEFAULTS.publishBody,
  };
}

function toMs(duration: Duration, path: PathSegment[], ctx: Context): number | null {
  const ms = parseDuration(duration);
  if (ms === undefined || ms <= 0) {
    ctx.errors.push(problemAt(path, 'expected a duration of more than 0, such as `30m`', ctx.locate));
    return null;
  }
  return ms;
}
