import { describe, expect, it } from 'vitest';
import { collect, harnessEngine, startHarness, waitFor } from './harness-engine.ts';
import type { ModelServer, ScriptedTurn } from './model-server.ts';
import { processesWith } from './repos.ts';

/** What differs between the agent CLIs in the session tests. */
export interface CliSessionCase {
  /** Harness name, e.g. `claude-code`. */
  harness: string;
  /** Human name for test titles. */
  title: string;
  /** The environment that points the harness at the scripted model server. */
  env: (models: ModelServer) => NodeJS.ProcessEnv;
  /** A turn in which the agent runs `command` with its shell tool. */
  shell: (command: string) => ScriptedTurn;
  /** The conversation sent in a model request's body, as text. */
  conversation: (body: unknown) => string;
}

/**
 * The session behaviour every agent CLI must have, end to end through the sandbox and gateway:
 * follow-ups delivered in order, `stop` killing the CLI and its command, and a session resumed
 * in a new sandbox.
 */
export function describeCliSession(cli: CliSessionCase): void {
  describe(`a ${cli.title} session`, { timeout: 180_000 }, () => {
    const { state } = harnessEngine(cli.harness, cli.env);
    const harness = () => state.engine.harnesses.get(cli.harness);
    const posts = () => state.models.requests.filter((c) => c.method === 'POST');

    it('delivers follow-ups in order once the current turn ends, continuing the conversation', async () => {
      let release = () => {};
      const hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      const before = posts().length;
      state.script.push({ text: 'first answer', hold }, { text: 'second answer' }, { text: 'third answer' });
      const started = await startHarness(state.engine, harness(), 'first question', { dir: state.dir });
      const events = collect(started.session.events);
      await waitFor(() => posts().length > before);

      expect(started.session.followUp('second question', 'alice')).toBe(true);
      expect(started.session.followUp('third question', null)).toBe(true);
      release();
      const seen = await events;
      await started.release();

      expect(seen.filter((e) => e.type === 'agent.message').map((e) => e.data)).toEqual([
        { text: 'first answer' },
        { text: 'second answer' },
        { text: 'third answer' },
      ]);
      expect(seen.at(-1)).toEqual({ type: 'agent.result', data: { text: 'third answer' } });
      expect(started.session.followUp('too late', 'alice')).toBe(false);
      const calls = posts().slice(before);
      expect(calls).toHaveLength(3);
      expect(cli.conversation(calls[2]!.body)).toMatch(
        /first question.*first answer.*\[follow-up from alice\]\\nsecond question.*second answer.*third question/,
      );
    });

    it(`stops within seconds mid-command, killing ${cli.title} and its command, and says who stopped it`, async () => {
      const marker = `${cli.harness}-stop-${Date.now()}`;
      state.script.push(cli.shell(`echo waiting; sleep 600 # ${marker}`));
      const started = await startHarness(state.engine, harness(), `wait (${marker}-prompt)`, {
        dir: state.dir,
      });
      const events = collect(started.session.events);
      await waitFor(() => processesWith(`sleep 600 # ${marker}`).length > 0);
      expect(processesWith(`${marker}-prompt`).length).toBeGreaterThan(0);

      const asked = Date.now();
      await started.session.stop('alice');
      const seen = await events;
      const stoppedAfter = Date.now() - asked;
      await started.release();

      expect(stoppedAfter).toBeLessThan(10_000);
      expect(processesWith(marker)).toEqual([]);
      expect(seen.at(-1)).toEqual({
        type: 'agent.error',
        data: { message: 'the agent was stopped by alice' },
      });
    });

    it('resumes an earlier session folder in a new sandbox (a run continuing another)', async () => {
      state.script.push({ text: 'noted: 7' }, { text: 'it was 7' });
      const first = await startHarness(state.engine, harness(), 'remember the number 7', { dir: state.dir });
      await collect(first.session.events);
      await first.release();
      const before = posts().length;

      const second = await startHarness(state.engine, harness(), 'which number was it?', {
        dir: state.dir,
        resumeFrom: first.sessionDir,
      });
      const seen = await collect(second.session.events);
      await second.release();

      expect(seen.at(-1)).toEqual({ type: 'agent.result', data: { text: 'it was 7' } });
      expect(cli.conversation(posts()[before]!.body)).toMatch(
        /remember the number 7.*noted: 7.*which number was it\?/,
      );
    });
  });
}
