import type { Sandbox } from '../../sandbox/types.ts';
import { RUN_TOOLS_LINE } from '../run-tools/definitions.ts';
import { capture } from './output.ts';
import { WORKSPACE } from './paths.ts';

/** Files at the repository root whose text goes into the system prompt, in this order. */
export const INSTRUCTION_FILES = ['AGENTS.md', 'CLAUDE.md'];

/** Most characters of one instruction file kept in the prompt. */
const MAX_INSTRUCTION_CHARS = 40_000;

const BASE_PROMPT = `You are Nightshift's coding agent, working alone in the background on a git repository checked out at ${WORKSPACE} inside an isolated sandbox. Nobody watches you work: finish the task on your own, then reply with a short summary of what you changed and how you checked it.

Tools:
- bash: run a shell command in ${WORKSPACE} (tests, builds, git log/diff, anything else); you get the exit code and output.
- read_file, write_file, edit_file: read a file, write a whole file, or replace an exact piece of text that occurs once.
- list_files, grep: find files by glob, search their contents.

Guidelines:
- Read the relevant code before changing it; follow the repository's conventions.
- Prefer edit_file for changes to existing files; copy old_string exactly from read_file.
- Run the repository's tests or checks when there are any, and fix what you broke.
- Do not commit, push or create branches: Nightshift reviews your changes in the workspace and publishes them.
- The network is closed except for the model API; do not try to install from the internet unless the task says the environment allows it.`;

/** The repository's own instructions for agents (`AGENTS.md`, `CLAUDE.md` at its root), read inside the sandbox. */
export async function readInstructions(
  sandbox: Sandbox,
  signal?: AbortSignal,
): Promise<{ file: string; text: string }[]> {
  const found: { file: string; text: string }[] = [];
  for (const file of INSTRUCTION_FILES) {
    const result = await capture(sandbox, ['cat', '--', `${WORKSPACE}/${file}`], { signal });
    if (result.exitCode !== 0 || result.stdout.trim() === '') continue;
    const text =
      result.stdout.length > MAX_INSTRUCTION_CHARS
        ? `${result.stdout.slice(0, MAX_INSTRUCTION_CHARS)}\n[... the rest of ${file} is left out ...]`
        : result.stdout;
    found.push({ file, text: text.trim() });
  }
  return found;
}

const SUB_RUNS = `\n- ${RUN_TOOLS_LINE}`;

/** The system prompt: how to work and with which tools, then the repository's instructions. */
export function systemPrompt(
  instructions: { file: string; text: string }[],
  options: { subRuns?: boolean } = {},
): string {
  const base = options.subRuns
    ? BASE_PROMPT.replace('\n\nGuidelines:', `${SUB_RUNS}\n\nGuidelines:`)
    : BASE_PROMPT;
  const sections = instructions.map(
    ({ file, text }) => `<repository-instructions file="${file}">\n${text}\n</repository-instructions>`,
  );
  if (sections.length === 0) return base;
  return `${base}\n\nThe repository gives these instructions to agents working on it; follow them:\n\n${sections.join('\n\n')}`;
}
