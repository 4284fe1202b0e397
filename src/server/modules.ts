import type { Engine } from '../engine/index.ts';
import type { ServerModule } from './app.ts';

/**
 * The modules `nightshift serve` mounts beside the core API (webhook ingress, automations,
 * fleets). Each part adds itself here: one import and one entry.
 */
export function serverModules(_engine: Engine): ServerModule[] {
  return [];
}
