import type { Harness, HarnessContext, HarnessSession } from '../../src/agents/types.ts';
import type { HarnessEvent } from '../../src/core/events.ts';

/** One turn of the scripted agent: shell commands it runs in the sandbox, then what it says. */
export interface ScriptedTurn {
  commands: string[];
  say?: string;
}

/**
 * A harness written for the tests: each turn (the start, then every fix round or follow-up)
 * plays the next scripted turn, running its commands through the real sandbox like an agent's
 * shell tool would, and emitting the normalized events a real harness emits. Prompts it
 * received are kept in `prompts`.
 */
export class ScriptedHarness implements Harness {
  readonly prompts: string[] = [];
  private next = 0;

  constructor(
    readonly name: string,
    private readonly turns: ScriptedTurn[],
  ) {}

  start(prompt: string, context: HarnessContext): HarnessSession {
    this.prompts.push(prompt);
    const turn = this.turns[Math.min(this.next++, this.turns.length - 1)]!;
    let stopped = false;
    async function* play(): AsyncGenerator<HarnessEvent> {
      yield { type: 'agent.message', data: { text: `working on: ${prompt.split('\n')[0]}` } };
      for (const [i, command] of turn.commands.entries()) {
        if (stopped || context.signal.aborted) return;
        const id = `call_${i}`;
        yield { type: 'agent.tool_call', data: { id, name: 'shell', input: { command } } };
        const result = await context.sandbox.exec(['sh', '-c', command], {
          signal: context.signal,
          env: context.env,
        });
        yield {
          type: 'agent.tool_result',
          data: { id, output: result.stdout + result.stderr, isError: result.exitCode !== 0 },
        };
      }
      yield { type: 'agent.usage', data: { inputTokens: 100, outputTokens: 20, model: 'scripted' } };
      yield { type: 'agent.result', data: { text: turn.say ?? 'done' } };
    }
    return {
      events: play(),
      followUp: () => {},
      stop: async () => {
        stopped = true;
      },
    };
  }
}
