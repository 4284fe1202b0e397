import {
  findNodeAtLocation,
  getNodeValue,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';
import type { Locator, Problem } from '../blueprints/problems.ts';
import { problemAt } from '../blueprints/problems.ts';
import { describeValue, validateWithSchema } from '../blueprints/zod-problems.ts';
import type { EnvironmentParseResult } from './parse.ts';
import { type DevcontainerCommand, DevcontainerJson } from './schema.ts';

/** The lifecycle commands that prepare a container, in the order the devcontainer spec runs them. */
const SETUP_COMMANDS = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand'] as const;

/**
 * Reads the environment from a `devcontainer.json` (JSON with comments and trailing
 * commas): `onCreateCommand`, `updateContentCommand` and `postCreateCommand` become the
 * setup commands, in that order; `containerEnv` becomes `env`; there is no test command.
 * Every other key is ignored.
 */
export function parseDevcontainer(text: string): EnvironmentParseResult {
  const parseErrors: ParseError[] = [];
  const root = parseTree(text, parseErrors, { allowTrailingComma: true, disallowComments: false });
  const position = offsetToPosition(text);
  const errors: Problem[] = parseErrors.map((error) => ({
    path: '',
    message: `JSON syntax error: ${printParseErrorCode(error.error)}`,
    ...position(error.offset),
  }));
  if (errors.length > 0 || !root) return { errors, warnings: [] };

  const locate: Locator = (path, options = {}) => {
    let node = findNodeAtLocation(root, path);
    for (let depth = path.length - 1; !node && depth >= 0; depth--)
      node = findNodeAtLocation(root, path.slice(0, depth));
    if (!node) return undefined;
    const keyNode = options.key && node.parent?.type === 'property' ? node.parent.children?.[0] : undefined;
    return position((keyNode ?? node).offset);
  };
  const data: unknown = getNodeValue(root);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      errors: [problemAt([], `expected an object, got ${describeValue(data)}`, locate)],
      warnings: [],
    };
  }

  const { value, problems } = validateWithSchema(DevcontainerJson, data, { locate });
  if (!value) return { errors: problems, warnings: [] };
  const warnings: Problem[] = [];
  for (const [key, item] of Object.entries(value.containerEnv ?? {})) {
    if (/\$\{\w+:/.test(item)) {
      const message =
        // biome-ignore lint/suspicious/noTemplateCurlyInString: devcontainer variable syntax, shown to the user
        'devcontainer variables such as `${localEnv:NAME}` are not expanded; the value is used as written';
      warnings.push(problemAt(['containerEnv', key], message, locate));
    }
  }
  const setup = SETUP_COMMANDS.flatMap((key) => (value[key] === undefined ? [] : commandsOf(value[key])));
  return { environment: { setup, env: { ...value.containerEnv }, test: null }, errors: [], warnings };
}

/**
 * Turns a devcontainer command into shell commands: a string as written, an argv list
 * joined with shell quoting, and named commands one each (the spec runs those in
 * parallel; Nightshift runs them in order).
 */
export function commandsOf(command: DevcontainerCommand): string[] {
  if (typeof command === 'string') return command.trim() === '' ? [] : [command];
  if (Array.isArray(command)) return command.length === 0 ? [] : [command.map(shellQuote).join(' ')];
  return Object.values(command).flatMap(commandsOf);
}

/**
 * Quotes one argument for `sh`, leaving plain words as they are.
 *
 * @example shellQuote("it's") // 'it'\''s'
 */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_\-+=.,/:@%]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

function offsetToPosition(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return (offset) => {
    let line = 0;
    while (line + 1 < starts.length && starts[line + 1]! <= offset) line++;
    return { line: line + 1, column: offset - starts[line]! + 1 };
  };
}
