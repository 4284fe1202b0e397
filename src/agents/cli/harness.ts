import { NightshiftError } from '../../core/errors.ts';
import type { SandboxFile } from '../../sandbox/types.ts';
import { installedTool, installTool } from '../tools/index.ts';
import type { Harness, HarnessContext, HarnessSession } from '../types.ts';
import { type CliAdapter, startCliSession } from './session.ts';

/** The placeholder key agent CLIs are given; the run's model gateway replaces it with the real one. */
export const GATEWAY_KEY = 'nightshift-gateway';

/** Variables every agent CLI gets: no telemetry, no update checks, no error reporting. */
export const QUIET_ENV: Record<string, string> = {
  DISABLE_AUTOUPDATER: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  DO_NOT_TRACK: '1',
  NO_UPDATE_NOTIFIER: '1',
};

export interface CliHarnessOptions {
  /** The tools cache the CLI is installed into (see `toolsDir`). */
  toolsDir: string;
  /** Progress of an install (`nightshift harness install` prints it). */
  onProgress?: (message: string) => void;
}

/**
 * An agent CLI installed from npm at a pinned version into the tools cache and shown read-only
 * in the sandbox at `/run/nightshift/tools/<name>`. Subclasses say how a turn runs and reads.
 */
export abstract class CliHarness implements Harness {
  abstract readonly name: string;
  abstract readonly tool: { name: string; version: string };

  constructor(protected readonly options: CliHarnessOptions) {}

  /** Where the installed package appears inside the sandbox. */
  get mountPoint(): string {
    return `/run/nightshift/tools/${this.name}`;
  }

  /** Inside the sandbox, the package folder (`node_modules/<package>`). */
  protected get packagePath(): string {
    return `${this.mountPoint}/node_modules/${this.tool.name}`;
  }

  /** Installs the pinned version into the tools cache when missing. */
  async install(onProgress = this.options.onProgress) {
    return installTool({ dir: this.options.toolsDir, ...this.tool, onProgress });
  }

  /** True when the pinned version is in the tools cache. */
  async installed(): Promise<boolean> {
    return (await installedTool(this.options.toolsDir, this.tool.name, this.tool.version)) !== null;
  }

  async sandboxFiles(): Promise<SandboxFile[]> {
    const tool = await this.install();
    return [{ path: tool.dir, target: this.mountPoint }];
  }

  withoutModelProvider(): NightshiftError {
    return new NightshiftError('HARNESS_UNAVAILABLE', `the ${this.name} harness has no model provider`, {
      hint: this.providerHint,
    });
  }

  /** Fails with HARNESS_UNAVAILABLE when the run has no model gateway (no provider key configured). */
  async prepare(context: HarnessContext): Promise<void> {
    if (!context.modelGatewaySocket) throw this.withoutModelProvider();
  }

  start(prompt: string, context: HarnessContext): HarnessSession {
    return startCliSession(prompt, context, this.adapter(context));
  }

  /** What to set when no model provider is configured. */
  protected abstract readonly providerHint: string;
  protected abstract adapter(context: HarnessContext): CliAdapter;
}
