import { z } from 'zod';
import {
  didYouMean,
  type Locator,
  type PathSegment,
  type Problem,
  problemAt,
  sortProblems,
} from './problems.ts';

type Issue = z.core.$ZodIssue;

/**
 * Validates `data` against `schema` and turns every issue into a problem with a plain
 * message (`expected a string, got a number`), its dot-path under `basePath`, and its line.
 * Unknown keys get one problem each, with a "did you mean" when a known key is close;
 * `hintFor` may explain a key that belongs elsewhere (`fix` in a run step).
 */
export function validateWithSchema<S extends z.ZodType>(
  schema: S,
  data: unknown,
  options: { basePath?: PathSegment[]; locate?: Locator; hintFor?: (key: string) => string | undefined } = {},
): { value?: z.output<S>; problems: Problem[] } {
  const basePath = options.basePath ?? [];
  const result = schema.safeParse(data, { error: issueMessage });
  if (result.success) return { value: result.data, problems: [] };

  const problems: Problem[] = [];
  const collect = (issues: readonly Issue[], prefix: PathSegment[]) => {
    for (const issue of issues) {
      const relative = [...prefix, ...(issue.path as PathSegment[])];
      const path = [...basePath, ...relative];
      const branch = issue.code === 'invalid_union' ? matchingBranch(issue.errors) : undefined;
      if (branch) {
        collect(branch, relative);
      } else if (issue.code === 'unrecognized_keys') {
        const known = objectKeysAt(schema, relative);
        for (const key of issue.keys) {
          const message =
            options.hintFor?.(key) ??
            `unknown key \`${key}\`${didYouMean(key, known)}; allowed: ${known.join(', ')}`;
          problems.push(problemAt([...path, key], message, options.locate, { key: true }));
        }
      } else {
        problems.push(problemAt(path, issue.message, options.locate));
      }
    }
  };
  collect(result.error.issues, []);
  return { problems: sortProblems(problems) };
}

/**
 * The one union branch whose type matched (its problems are deeper, like a list with one
 * bad item), so its problems are reported instead of a vague "expected X or Y". Among
 * mappings, the one that knew every key given (`glob: 5` is the `glob` branch's problem).
 */
function matchingBranch(branches: Issue[][]): Issue[] | undefined {
  const matching = branches.filter((issues) =>
    issues.every(
      (issue) => issue.path.length > 0 || (issue.code !== 'invalid_type' && issue.code !== 'invalid_value'),
    ),
  );
  if (matching.length === 1) return matching[0];
  const knowing = matching.filter((issues) =>
    issues.every((issue) => issue.code !== 'unrecognized_keys' || issue.path.length > 0),
  );
  return knowing.length === 1 ? knowing[0] : undefined;
}

/** Error map passed to zod: messages a person reads next to a dot-path. */
function issueMessage(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `is required (${describeExpected(issue.expected)})`;
      return `expected ${describeExpected(issue.expected)}, got ${describeValue(issue.input)}`;
    case 'invalid_union': {
      const expected = issue.errors.flatMap((branch) =>
        branch.filter((inner) => inner.path.length === 0).flatMap(expectedOf),
      );
      const keys = expected.length === 0 ? branchKeys(issue.errors, issue.input) : [];
      if (keys.length > 0) {
        const given = Object.keys(issue.input as object);
        const got = given.length === 0 ? 'none' : given.map((key) => `\`${key}\``).join(', ');
        const hint = given.length === 1 ? didYouMean(given[0]!, keys) : '';
        return `expected exactly one of the keys ${keys.map((key) => `\`${key}\``).join(', ')}, got ${got}${hint}`;
      }
      return `expected ${[...new Set(expected)].join(' or ') || 'another value'}, got ${describeValue(issue.input)}`;
    }
    case 'invalid_value':
      return `expected ${issue.values.map((value) => JSON.stringify(value)).join(' or ')}, got ${describeValue(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${issue.minimum} item(s)`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}`;
    case 'too_big':
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    case 'invalid_key':
      return issue.issues.map((inner) => inner.message).join('; ') || 'is not a valid key';
    case 'invalid_format':
      return `does not match the expected format${issue.pattern ? ` ${issue.pattern}` : ''}`;
    default:
      return issue.message ?? 'is not valid';
  }
}

/**
 * The key that selects each branch of a union of mappings (`glob:`, `repos:`, ...), when
 * `input` is a mapping that matches none: a branch's key is the one it missed, or the one of
 * `input` it knew while the others did not. Empty when the branches are not told apart by a key.
 */
function branchKeys(branches: Issue[][], input: unknown): string[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return [];
  const given = Object.keys(input);
  const keys: string[] = [];
  for (const issues of branches) {
    const missing = issues.filter(
      (issue) =>
        issue.code === 'invalid_type' && issue.path.length === 1 && !given.includes(String(issue.path[0])),
    );
    const unknown = issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys' && issue.path.length === 0 ? issue.keys : [],
    );
    const own =
      missing.length > 0
        ? missing.map((issue) => String(issue.path[0]))
        : given.filter((key) => !unknown.includes(key));
    if (own.length !== 1) return [];
    keys.push(own[0]!);
  }
  return [...new Set(keys)];
}

function expectedOf(issue: Issue): string[] {
  if (issue.code === 'invalid_type') return [describeExpected(issue.expected)];
  if (issue.code === 'invalid_value') return issue.values.map((value) => JSON.stringify(value));
  return [];
}

function describeExpected(expected: string): string {
  const words: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping',
    record: 'a mapping',
  };
  return words[expected] ?? expected;
}

/** Describes a value by its YAML kind, as a user sees it in the file. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
  if (typeof value === 'boolean') return String(value);
  return `a ${typeof value} (${String(value)})`;
}

/** The keys the object schema at `path` accepts, for "did you mean" suggestions. */
function objectKeysAt(schema: z.ZodType, path: PathSegment[]): string[] {
  let candidates: z.ZodType[] = [schema];
  for (const segment of path) {
    candidates = candidates.flatMap(unwrap).flatMap((candidate) => {
      if (candidate instanceof z.ZodObject && typeof segment === 'string') {
        const child = candidate.shape[segment] as z.ZodType | undefined;
        return child ? [child] : [];
      }
      if (candidate instanceof z.ZodArray && typeof segment === 'number')
        return [candidate.element as z.ZodType];
      if (candidate instanceof z.ZodRecord) return [candidate.valueType as z.ZodType];
      return [];
    });
  }
  const objects = candidates.flatMap(unwrap).filter((candidate) => candidate instanceof z.ZodObject);
  return [...new Set(objects.flatMap((object) => Object.keys(object.shape)))];
}

function unwrap(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault) {
    return unwrap(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap(unwrap);
  return [schema];
}
