import type { Harness, HarnessContext, HarnessSession } from '../../src/agents/types.ts';
import type { HarnessEvent } from '../../src/core/events.ts';

/** One turn of the scripted agent: shell commands it runs in the sandbox, then what it says. */
export interface ScriptedTurn {
  commands: string[];
  say?: string;
  /** The turn waits for this (after its commands) before it ends: the test decides when. */
  hold?: Promise<void>;
}

/**
 * A harness written for the tests: each turn (the start, every fix round, every follow-up)
 * plays the next scripted turn, running its commands through the real sandbox like an agent's
 * shell tool would, and emitting the normalized events a real harness emits. Prompts and
 * follow-ups it received are kept in `prompts`; `stop` kills the command running now.
 */
export class ScriptedHarness implements Harness {
  readonly prompts: string[] = [];
  /** The model each session was started with (`HarnessContext.model`). */
  readonly models: (string | undefined)[] = [];
  private next = 0;

  /** `turns` in order, or a function choosing each turn from its prompt (for agents running in parallel). */
  constructor(
    readonly name: string,
    readonly turns: ScriptedTurn[] | ((prompt: string) => ScriptedTurn),
  ) {}

  start(prompt: string, context: HarnessContext): HarnessSession {
    this.models.push(context.model);
    const stopper = new AbortController();
    const signal = AbortSignal.any([context.signal, stopper.signal]);
    const followUps: string[] = [];
    let ended = false;
    const harness = this;
    async function* playTurn(message: string): AsyncGenerator<HarnessEvent> {
      harness.prompts.push(message);
      const { turns } = harness;
      const turn =
        typeof turns === 'function' ? turns(message) : turns[Math.min(harness.next++, turns.length - 1)]!;
      yield { type: 'agent.message', data: { text: `working on: ${message.split('\n')[0]}` } };
      for (const [i, command] of turn.commands.entries()) {
        if (signal.aborted) return;
        const id = `call_${i}`;
        yield { type: 'agent.tool_call', data: { id, name: 'shell', input: { command } } };
        const result = await context.sandbox.exec(['sh', '-c', command], { signal, env: context.env });
        yield {
          type: 'agent.tool_result',
          data: { id, output: result.stdout + result.stderr, isError: result.exitCode !== 0 },
        };
      }
      if (turn.hold)
        await Promise.race([turn.hold, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
      if (signal.aborted) return;
      yield { type: 'agent.usage', data: { inputTokens: 100, outputTokens: 20, model: 'scripted' } };
      yield { type: 'agent.result', data: { text: turn.say ?? 'done' } };
    }
    async function* play(): AsyncGenerator<HarnessEvent> {
      try {
        let message: string | undefined = prompt;
        while (message !== undefined && !signal.aborted) {
          yield* playTurn(message);
          message = followUps.shift();
        }
      } finally {
        ended = true;
      }
    }
    return {
      events: play(),
      followUp(message, author) {
        if (ended || signal.aborted) return false;
        followUps.push(author ? `${author}: ${message}` : message);
        return true;
      },
      stop: async () => {
        stopper.abort();
      },
    };
  }
}
