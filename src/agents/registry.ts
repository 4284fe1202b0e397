import { NightshiftError } from '../core/errors.ts';
import type { SandboxFile } from '../sandbox/types.ts';
import type { Harness } from './types.ts';

/** The harnesses an engine can use, by name. */
export class HarnessRegistry {
  private readonly harnesses = new Map<string, Harness>();

  register(harness: Harness): this {
    this.harnesses.set(harness.name, harness);
    return this;
  }

  names(): string[] {
    return [...this.harnesses.keys()].sort();
  }

  /** Files the sandbox must show for these harnesses (each harness once), installing what is missing. */
  async sandboxFiles(names: Iterable<string>): Promise<SandboxFile[]> {
    const files: SandboxFile[] = [];
    for (const name of new Set(names)) files.push(...((await this.get(name).sandboxFiles?.()) ?? []));
    return files;
  }

  get(name: string): Harness {
    const harness = this.harnesses.get(name);
    if (harness) return harness;
    const known = this.names();
    throw new NightshiftError('HARNESS_UNAVAILABLE', `harness "${name}" is not available`, {
      hint: known.length
        ? `available harnesses: ${known.join(', ')}`
        : 'no agent harness is installed in this version yet; use the `script` blueprint (`--script CMD`)',
    });
  }
}
