import { type ToolSet, tool } from 'ai';
import { z } from 'zod';
import { plural } from '../../core/plural.ts';
import type { Sandbox } from '../../sandbox/types.ts';
import type { SubRunTools } from '../types.ts';
import { editFile, readFile, writeFile } from './files.ts';
import { capture, truncate } from './output.ts';
import { relativePath, workspacePath } from './paths.ts';
import { createRunTools } from './run-tools.ts';
import { grepFiles, listFiles } from './search.ts';

/** A file a tool call added or changed. */
export interface FileChange {
  path: string;
  kind: 'added' | 'modified';
}

/** What the tools work with: the run's sandbox, and where they report file changes. */
export interface ToolContext {
  sandbox: Sandbox;
  /** Environment of the shell tool's commands. */
  env: Record<string, string>;
  /** Cap on one tool result, in characters. */
  maxChars: number;
  /** Timeout of a shell command when the model gives none. */
  commandTimeoutMs: number;
  /** Sub-runs the agent may start (`start_run`, `run_status`); no such tools without it. */
  subRuns?: SubRunTools;
  onFileChange(toolCallId: string, change: FileChange): void;
}

/** Longest timeout the model may ask for one shell command. */
const MAX_COMMAND_TIMEOUT_S = 3600;

/** Runs a shell command in the sandbox's workspace; the model sees its exit code and output (stdout and stderr together). */
export async function runShell(
  context: Pick<ToolContext, 'sandbox' | 'env' | 'maxChars' | 'commandTimeoutMs'>,
  input: { command: string; timeout_seconds?: number },
  signal?: AbortSignal,
): Promise<string> {
  const timeoutMs = input.timeout_seconds ? input.timeout_seconds * 1000 : context.commandTimeoutMs;
  const result = await capture(context.sandbox, ['bash', '-c', input.command], {
    env: context.env,
    timeoutMs,
    signal,
  });
  const status = result.timedOut
    ? `the command timed out after ${Math.round(timeoutMs / 1000)} s and was killed`
    : result.cancelled
      ? 'the command was cancelled'
      : `exit code: ${result.exitCode ?? 'killed by a signal'}`;
  const output = result.combined === '' ? '(no output)' : truncate(result.combined, context.maxChars);
  return `${status}\n${output}`;
}

/** The built-in agent's tools, each executed inside the sandbox, never on the host. */
export function createTools(context: ToolContext): ToolSet {
  const limits = { maxChars: context.maxChars };
  return {
    bash: tool({
      description:
        'Run a bash command in the repository (working directory /workspace) and get its exit code and output. Use it to build, run tests, inspect git history, or anything the other tools do not cover. There is no network access except the model API.',
      inputSchema: z.object({
        command: z.string().min(1).describe('The command line, run with `bash -c`'),
        timeout_seconds: z
          .number()
          .int()
          .positive()
          .max(MAX_COMMAND_TIMEOUT_S)
          .optional()
          .describe(`Kill the command after this many seconds (default ${context.commandTimeoutMs / 1000})`),
      }),
      execute: (input, { abortSignal }) => runShell(context, input, abortSignal),
    }),
    read_file: tool({
      description:
        'Read a text file of the repository. Without offset/limit it shows the first 2000 lines; a note at the end says when there are more.',
      inputSchema: z.object({
        path: z.string().describe('Path relative to the repository root'),
        offset: z.number().int().positive().optional().describe('First line to show, from 1'),
        limit: z.number().int().positive().optional().describe('How many lines to show'),
      }),
      execute: (input, { abortSignal }) =>
        readFile(context.sandbox, input, { ...limits, signal: abortSignal }),
    }),
    write_file: tool({
      description: 'Create a file, or replace all of its content. Creates missing folders.',
      inputSchema: z.object({
        path: z.string().describe('Path relative to the repository root'),
        content: z.string().describe('The whole new content of the file'),
      }),
      execute: async (input, { abortSignal, toolCallId }) => {
        const { kind } = await writeFile(context.sandbox, input, { signal: abortSignal });
        const path = relativePath(workspacePath(input.path));
        context.onFileChange(toolCallId, { path, kind });
        return `${kind === 'added' ? 'created' : 'replaced'} ${path} (${input.content.length} characters)`;
      },
    }),
    edit_file: tool({
      description:
        'Replace an exact piece of text in a file. old_string must occur exactly once in the file (copy it from read_file, whitespace included, with enough context to be unique), unless replace_all is true.',
      inputSchema: z.object({
        path: z.string().describe('Path relative to the repository root'),
        old_string: z.string().describe('The exact text to replace'),
        new_string: z.string().describe('The text to put in its place'),
        replace_all: z.boolean().optional().describe('Replace every occurrence instead of exactly one'),
      }),
      execute: async (input, { abortSignal, toolCallId }) => {
        const { replacements } = await editFile(
          context.sandbox,
          {
            path: input.path,
            oldString: input.old_string,
            newString: input.new_string,
            replaceAll: input.replace_all,
          },
          { signal: abortSignal },
        );
        const path = relativePath(workspacePath(input.path));
        context.onFileChange(toolCallId, { path, kind: 'modified' });
        return `edited ${path} (${plural(replacements, 'replacement')})`;
      },
    }),
    list_files: tool({
      description:
        'List the files of the repository (ignored files left out), optionally under a folder and matching a glob such as "*.ts" or "src/**/*.test.ts".',
      inputSchema: z.object({
        path: z.string().optional().describe('Folder relative to the repository root (default: the root)'),
        pattern: z.string().optional().describe('Glob relative to that folder'),
      }),
      execute: (input, { abortSignal }) =>
        listFiles(context.sandbox, input, { ...limits, signal: abortSignal }),
    }),
    grep: tool({
      description:
        'Search file contents with a regular expression (POSIX extended, like grep -E); returns file:line:text for each matching line.',
      inputSchema: z.object({
        pattern: z.string().min(1).describe('The regular expression'),
        path: z.string().optional().describe('File or folder to search, relative to the repository root'),
        glob: z.string().optional().describe('Only files whose name matches this glob, e.g. "*.ts"'),
        ignore_case: z.boolean().optional(),
      }),
      execute: (input, { abortSignal }) =>
        grepFiles(
          context.sandbox,
          { pattern: input.pattern, path: input.path, glob: input.glob, ignoreCase: input.ignore_case },
          { ...limits, signal: abortSignal },
        ),
    }),
    ...(context.subRuns ? createRunTools(context.subRuns) : {}),
  };
}
