import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelMessage } from 'ai';
import type { NightshiftError } from '../../core/errors.ts';
import type { Harness, HarnessContext, HarnessSession } from '../types.ts';
import { DEFAULT_MODEL, gatewayModel, noGatewayError, parseModelSpec } from './model.ts';
import { DEFAULT_OUTPUT_CHARS } from './output.ts';
import { startSession } from './session.ts';

export { DEFAULT_MODEL, defaultModelFor, GATEWAY_PLACEHOLDER_KEY, parseModelSpec } from './model.ts';

/** The conversation of a step, in its session folder, as the AI SDK's messages. */
const MESSAGES_FILE = 'messages.json';

async function savedMessages(dir: string | undefined): Promise<ModelMessage[] | null> {
  if (!dir) return null;
  const text = await readFile(join(dir, MESSAGES_FILE), 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as ModelMessage[]);
}

/** Runs whose conversation is kept for their next agent step (a fix round continues it). */
const REMEMBERED_RUNS = 32;

export interface BuiltinHarnessOptions {
  /** `provider:model` when the step names none; default `anthropic:claude-sonnet-4-5`. */
  defaultModel?: string;
  /** Model calls per turn (each followed by its tool calls); default 50. */
  maxSteps?: number;
  /** Cap on one tool result handed to the model, in characters; default 30 000. */
  maxOutputChars?: number;
  /** Timeout of a shell command when the model gives none; default 2 minutes. */
  commandTimeoutMs?: number;
}

/**
 * The built-in agent: an AI SDK tool loop on the host whose tools (shell, read, write, edit,
 * list, grep) run inside the run's sandbox, talking to the model only through the run's model
 * gateway. Anthropic, OpenAI (Chat Completions or Responses) and OpenAI-compatible models,
 * chosen per step as `provider:model`. See docs/agents.md.
 *
 * @example
 * const harnesses = new HarnessRegistry().register(new BuiltinHarness({ defaultModel: 'openai:gpt-5' }));
 */
export class BuiltinHarness implements Harness {
  readonly name = 'builtin';
  private readonly conversations = new Map<string, ModelMessage[]>();

  constructor(private readonly options: BuiltinHarnessOptions = {}) {}

  withoutModelProvider(): NightshiftError {
    return noGatewayError();
  }

  /** Fails with HARNESS_UNAVAILABLE (naming the keys to set) when the run has no model gateway. */
  async prepare(context: HarnessContext): Promise<void> {
    if (!context.modelGatewaySocket) throw noGatewayError();
    parseModelSpec(context.model ?? this.defaultModel());
  }

  start(prompt: string, context: HarnessContext): HarnessSession {
    const history = this.conversation(context.runId);
    return startSession(prompt, {
      model: () => {
        if (!context.modelGatewaySocket) throw noGatewayError();
        return gatewayModel(parseModelSpec(context.model ?? this.defaultModel()), context.modelGatewaySocket);
      },
      maxSteps: this.options.maxSteps ?? 50,
      tools: {
        sandbox: context.sandbox,
        env: context.env,
        maxChars: this.options.maxOutputChars ?? DEFAULT_OUTPUT_CHARS,
        commandTimeoutMs: this.options.commandTimeoutMs ?? 120_000,
        subRuns: context.subRuns,
      },
      history,
      // A fresh worker (or a run continuing another) picks the conversation up from the session folder.
      restore: async () => {
        if (history.length > 0) return;
        const saved = (await savedMessages(context.sessionDir)) ?? (await savedMessages(context.resumeFrom));
        if (saved) history.push(...saved);
      },
      persist: () => writeFile(join(context.sessionDir, MESSAGES_FILE), JSON.stringify(history)),
      signal: context.signal,
    });
  }

  private defaultModel(): string {
    return this.options.defaultModel ?? DEFAULT_MODEL;
  }

  /** The run's conversation so far; the oldest run is forgotten past REMEMBERED_RUNS. */
  private conversation(runId: string): ModelMessage[] {
    const existing = this.conversations.get(runId);
    if (existing) return existing;
    const fresh: ModelMessage[] = [];
    this.conversations.set(runId, fresh);
    if (this.conversations.size > REMEMBERED_RUNS) {
      const oldest = this.conversations.keys().next().value;
      if (oldest !== undefined) this.conversations.delete(oldest);
    }
    return fresh;
  }
}
