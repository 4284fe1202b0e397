import { ClaudeCodeHarness } from './claude-code/index.ts';
import type { CliHarness, CliHarnessOptions } from './cli/harness.ts';
import { CodexHarness } from './codex/index.ts';
import { OpenCodeHarness } from './opencode/index.ts';

/** The external agent CLIs Nightshift ships adapters for, each at its pinned version. */
export function cliHarnesses(options: CliHarnessOptions): CliHarness[] {
  return [new ClaudeCodeHarness(options), new CodexHarness(options), new OpenCodeHarness(options)];
}
