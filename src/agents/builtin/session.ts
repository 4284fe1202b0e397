import { APICallError, type LanguageModel, type ModelMessage, stepCountIs, streamText } from 'ai';
import { type ConversationControl, startConversation } from '../conversation.ts';
import type { HarnessSession } from '../types.ts';
import { readInstructions, systemPrompt } from './prompt.ts';
import { createTools, type FileChange, type ToolContext } from './tools.ts';

export interface SessionOptions {
  /** Resolves the model; a thrown error ends the session with `agent.error`. */
  model: () => LanguageModel;
  maxSteps: number;
  tools: Omit<ToolContext, 'onFileChange'>;
  /** The conversation so far (a previous step of the same run); each finished turn is appended. */
  history: ModelMessage[];
  /** Runs before the first turn (loads a saved conversation into `history`). */
  restore?: () => Promise<void>;
  /** Runs after every finished turn (saves `history`). */
  persist?: () => Promise<void>;
  /** The run's signal: aborting it stops the session like `stop` does. */
  signal: AbortSignal;
}

/** A readable message for anything thrown by the SDK, a tool or the gateway. */
function describe(error: unknown): string {
  if (APICallError.isInstance(error)) {
    const status = error.statusCode ? ` (HTTP ${error.statusCode})` : '';
    return `the model API call failed${status}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Starts one conversation: the prompt, then each queued follow-up once the turn before it
 * finished, each turn a `streamText` loop of model calls and tool calls up to `maxSteps`.
 */
export function startSession(prompt: string, options: SessionOptions): HarnessSession {
  return startConversation({ signal: options.signal, describe, converse });

  async function turn(
    { signal, emit }: ConversationControl,
    model: LanguageModel,
    system: string,
    message: string,
  ): Promise<string> {
    const { history, maxSteps } = options;
    const before = history.length;
    history.push({ role: 'user', content: message });
    const changes = new Map<string, FileChange>();
    const tools = createTools({ ...options.tools, onFileChange: (id, change) => changes.set(id, change) });
    let text = '';
    let last = '';
    let steps = 0;
    let finishReason = '';
    const flush = () => {
      if (text.trim() !== '') {
        emit({ type: 'agent.message', data: { text } });
        last = text;
      }
      text = '';
    };
    try {
      const result = streamText({
        model,
        system,
        messages: history,
        tools,
        stopWhen: stepCountIs(maxSteps),
        abortSignal: signal,
        maxRetries: 2,
        onError: () => {},
      });
      for await (const part of result.fullStream) {
        if (part.type === 'text-delta') text += part.text;
        else if (part.type === 'text-end') flush();
        else if (part.type === 'tool-call') {
          flush();
          emit({
            type: 'agent.tool_call',
            data: { id: part.toolCallId, name: part.toolName, input: part.input },
          });
        } else if (part.type === 'tool-result') {
          const output = typeof part.output === 'string' ? part.output : JSON.stringify(part.output);
          emit({ type: 'agent.tool_result', data: { id: part.toolCallId, output } });
          const change = changes.get(part.toolCallId);
          if (change) emit({ type: 'agent.file_change', data: change });
        } else if (part.type === 'tool-error') {
          emit({
            type: 'agent.tool_result',
            data: { id: part.toolCallId, output: describe(part.error), isError: true },
          });
        } else if (part.type === 'finish-step') {
          flush();
          steps++;
          finishReason = part.finishReason;
          emit({
            type: 'agent.usage',
            data: {
              inputTokens: part.usage.inputTokens ?? 0,
              outputTokens: part.usage.outputTokens ?? 0,
              model: part.response.modelId,
            },
          });
        } else if (part.type === 'error') throw part.error;
        else if (part.type === 'abort') throw new Error('aborted');
      }
      flush();
      history.push(...(await result.response).messages);
    } catch (error) {
      // A turn that did not finish leaves no half conversation behind (a tool call without its result).
      history.length = before;
      throw error;
    }
    if (finishReason === 'tool-calls' && steps >= maxSteps) {
      return `${last}\n\n[the agent stopped at its step limit (${maxSteps} steps) before finishing]`.trim();
    }
    return last;
  }

  async function converse(control: ConversationControl): Promise<string> {
    const model = options.model();
    await options.restore?.();
    const system = systemPrompt(await readInstructions(options.tools.sandbox, control.signal), {
      subRuns: options.tools.subRuns !== undefined,
    });
    let message: string | undefined = prompt;
    let result = '';
    while (message !== undefined && !control.signal.aborted) {
      result = await turn(control, model, system, message);
      await options.persist?.();
      message = control.nextFollowUp();
    }
    return result;
  }
}
