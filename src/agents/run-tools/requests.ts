import { z } from 'zod';
import { formatProblem } from '../../blueprints/problems.ts';
import { validateWithSchema } from '../../blueprints/zod-problems.ts';
import { RUN_TOOLS } from './definitions.ts';

/** JSON-RPC 2.0 error codes the sub-run socket answers with. */
export const RPC = { parseError: -32700, invalidRequest: -32600, invalidParams: -32602 } as const;

/**
 * A request on a run's sub-run socket: exactly what the in-sandbox MCP server sends, nothing more.
 * No field names a run: the socket belongs to one run, and that is the run it acts for.
 */
const Request = z.discriminatedUnion('method', [
  z.strictObject({
    jsonrpc: z.literal('2.0'),
    id: z.union([z.int(), z.string().max(100)]),
    method: z.literal('tools/list'),
    params: z.strictObject({}).optional(),
  }),
  z.strictObject({
    jsonrpc: z.literal('2.0'),
    id: z.union([z.int(), z.string().max(100)]),
    method: z.literal('tools/call'),
    params: z.strictObject({ name: z.string().max(100), arguments: z.record(z.string(), z.unknown()) }),
  }),
]);
export type Request = z.infer<typeof Request>;

/** A request refused before any tool runs: the JSON-RPC error to answer, and why (for the audit log). */
export interface Refusal {
  code: number;
  reason: string;
}

/** A message or a tool call's arguments checked against its schema (unknown fields are wrong too). */
export function parseArguments<T extends z.ZodType>(
  schema: T,
  args: unknown,
): { value: z.output<T> } | { problems: string } {
  const { value, problems } = validateWithSchema(schema, args);
  if (problems.length) return { problems: problems.map((problem) => formatProblem(problem)).join('; ') };
  return { value: value as z.output<T> };
}

/** Reads one line of a connection: a well-formed request, or the refusal it gets. */
export function parseRequest(line: string): Request | Refusal {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    return { code: RPC.parseError, reason: 'a request that is not JSON' };
  }
  const parsed = parseArguments(Request, message);
  if ('problems' in parsed)
    return { code: RPC.invalidRequest, reason: `a malformed request (${parsed.problems})` };
  return parsed.value;
}

/** The tools as MCP's `tools/list` describes them (JSON Schema inputs, no field beyond those listed). */
export function listedTools() {
  return Object.entries(RUN_TOOLS).map(([name, tool]) => {
    const { $schema: _, ...inputSchema } = z.toJSONSchema(tool.input) as Record<string, unknown>;
    return { name, description: tool.description, inputSchema };
  });
}
