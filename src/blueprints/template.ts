import { invalidInput } from '../core/errors.ts';
import type { Repo, Run } from '../core/run.ts';
import { didYouMean } from './problems.ts';

/**
 * Blueprint templates: `{{ name }}` with a dotted path, optionally piped through filters
 * (`{{ prompt | firstline }}`). Values are inserted raw, without shell quoting or escaping:
 * `run` and `gate` commands are written by the blueprint's author, and the values they
 * interpolate (the prompt, the script, inputs) are the requesting user's own words, which
 * is fine because everything a blueprint runs runs inside the sandbox anyway.
 */

/** The values a template can use. A variable that is undefined is an error when used. */
export interface TemplateVars {
  /** The run's prompt. */
  prompt?: string;
  /** The run's script (for the `script` blueprint). */
  script?: string;
  repo?: { name?: string; url?: string };
  run?: { id?: string; branch?: string };
  /** Free-form run inputs: `{{inputs.ticket}}`. */
  inputs?: Record<string, string>;
  /** Set while an agent fixes a failed gate (in `fix_prompt`). */
  gate?: { output?: string; command?: string; round?: number };
  environment?: { setup?: string; test?: string };
}

/** Every variable a template may name; `*` means any key (`inputs.<key>`). */
export const TEMPLATE_VARIABLES: Record<keyof TemplateVars, readonly string[] | null> = {
  prompt: null,
  script: null,
  repo: ['name', 'url'],
  run: ['id', 'branch'],
  inputs: ['*'],
  gate: ['output', 'command', 'round'],
  environment: ['setup', 'test'],
};

/**
 * Filters: `firstline` keeps the first non-blank line without a leading `#` (a script's
 * comment or a Markdown heading makes a good title), `trim` strips surrounding whitespace.
 */
export const TEMPLATE_FILTERS: Record<string, (value: string) => string> = {
  firstline: (value) =>
    (value.split('\n').find((line) => line.trim() !== '') ?? '').trim().replace(/^#+\s*/, ''),
  trim: (value) => value.trim(),
};

/** One `{{ ... }}` found in a template. */
export interface TemplateExpression {
  /** The whole expression as written, braces included. */
  source: string;
  /** Dotted variable path, such as `repo.name`. */
  variable: string;
  filters: string[];
  /** Offset of `{{` in the template. */
  index: number;
}

const EXPRESSION = /\{\{([^}]*)\}\}/g;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$/;

/** Finds the expressions in a template, and the syntax errors (unclosed or malformed `{{`). */
export function parseTemplate(text: string): { expressions: TemplateExpression[]; errors: string[] } {
  const expressions: TemplateExpression[] = [];
  const errors: string[] = [];
  let end = 0;
  for (const match of text.matchAll(EXPRESSION)) {
    end = match.index + match[0].length;
    const [variable = '', ...filters] = match[1]!.split('|').map((part) => part.trim());
    if (!VARIABLE.test(variable) || filters.some((filter) => filter === '')) {
      errors.push(`\`${match[0]}\` is not a valid template: write \`{{ name }}\` or \`{{ name | filter }}\``);
      continue;
    }
    expressions.push({ source: match[0], variable, filters, index: match.index });
  }
  if (text.indexOf('{{', end) !== -1) errors.push('`{{` is not closed with `}}`');
  return { expressions, errors };
}

/**
 * Checks a template without rendering it: syntax, variable names and filters. Errors are
 * for things that can never work (an unknown variable); warnings for variables that will
 * be missing where they are used (`gate.*` outside a `fix_prompt`).
 */
export function checkTemplate(
  text: string,
  options: { allowGate?: boolean } = {},
): { errors: string[]; warnings: string[] } {
  const { expressions, errors } = parseTemplate(text);
  const warnings: string[] = [];
  const roots = Object.keys(TEMPLATE_VARIABLES);
  for (const { source, variable, filters } of expressions) {
    const [root = '', field, ...rest] = variable.split('.');
    const fields = TEMPLATE_VARIABLES[root as keyof TemplateVars];
    if (fields === undefined) {
      errors.push(
        `unknown template variable \`${root}\` in \`${source}\`${didYouMean(root, roots)}; known: ${roots.join(', ')}`,
      );
    } else if (fields === null && field !== undefined) {
      errors.push(`\`${root}\` is text and has no \`${field}\` in \`${source}\`; write \`{{${root}}}\``);
    } else if (fields !== null && (field === undefined || rest.length > 0)) {
      errors.push(
        `\`${source}\` needs one field of \`${root}\`: ${fields.map((f) => `${root}.${f === '*' ? '<key>' : f}`).join(', ')}`,
      );
    } else if (fields !== null && field !== undefined && !fields.includes('*') && !fields.includes(field)) {
      errors.push(
        `unknown template variable \`${variable}\`${didYouMean(field, fields)}; \`${root}\` has ${fields.join(', ')}`,
      );
    } else if (root === 'gate' && !options.allowGate) {
      warnings.push(`\`${source}\` is only set in an agent's \`fix_prompt\`; here rendering will fail`);
    }
    for (const filter of filters) {
      if (!(filter in TEMPLATE_FILTERS)) {
        errors.push(
          `unknown filter \`${filter}\`${didYouMean(filter, Object.keys(TEMPLATE_FILTERS))}; filters: ${Object.keys(TEMPLATE_FILTERS).join(', ')}`,
        );
      }
    }
  }
  return { errors, warnings };
}

/**
 * Renders a template with `vars`. Throws INVALID_INPUT naming the variable when one is
 * missing (undefined), and listing those that are set.
 *
 * @example renderTemplate('Fix {{ repo.name }}: {{ prompt | firstline }}', vars)
 */
export function renderTemplate(text: string, vars: TemplateVars): string {
  const { expressions, errors } = parseTemplate(text);
  if (errors.length > 0) throw invalidInput(`invalid template: ${errors.join('; ')}`);
  let out = '';
  let last = 0;
  for (const { source, variable, filters, index } of expressions) {
    let value = lookup(vars, variable);
    if (value === undefined) {
      throw invalidInput(
        `template variable \`${variable}\` is not set (in \`${source}\`)`,
        `available variables: ${availableVariables(vars).join(', ') || 'none'}`,
      );
    }
    if (typeof value === 'object') {
      throw invalidInput(
        `template variable \`${variable}\` is not text (in \`${source}\`); name one of its fields`,
      );
    }
    for (const filter of filters) {
      const apply = TEMPLATE_FILTERS[filter];
      if (!apply) throw invalidInput(`unknown template filter \`${filter}\` (in \`${source}\`)`);
      value = apply(String(value));
    }
    out += text.slice(last, index) + String(value);
    last = index + source.length;
  }
  return out + text.slice(last);
}

/** The dotted names of every variable set in `vars`, such as `prompt`, `repo.name`, `inputs.ticket`. */
export function availableVariables(vars: TemplateVars): string[] {
  const names: string[] = [];
  for (const [root, value] of Object.entries(vars)) {
    if (value === undefined) continue;
    if (typeof value !== 'object' || value === null) names.push(root);
    else
      for (const [key, inner] of Object.entries(value)) if (inner !== undefined) names.push(`${root}.${key}`);
  }
  return names;
}

/**
 * The template values of a run: its inputs, repo, branch and the environment's commands.
 * Gate values are added by the executor during fix rounds.
 */
export function runTemplateVars(options: {
  run: Pick<Run, 'id' | 'branch' | 'inputs'>;
  repo: Pick<Repo, 'name' | 'url'>;
  environment: { setup: string; test: string };
  gate?: TemplateVars['gate'];
}): TemplateVars {
  const { run, repo, environment, gate } = options;
  return {
    prompt: run.inputs.prompt,
    script: run.inputs.script,
    repo: { name: repo.name, url: repo.url },
    run: { id: run.id, branch: run.branch ?? undefined },
    inputs: { ...run.inputs.values },
    environment,
    gate,
  };
}

function lookup(vars: TemplateVars, variable: string): unknown {
  let value: unknown = vars;
  for (const segment of variable.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}
