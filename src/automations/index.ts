/** Automations: a trigger (cron, webhook, Slack, manual) mapped to runs on one or more repos. */
export { type FireInput, fireAutomation } from './fire.ts';
export {
  AutomationInvalidError,
  loadAutomationsDir,
  loadAutomationsFile,
  loadRepoAutomations,
} from './load.ts';
export { parseAutomations } from './parse.ts';
export { automationRoutes } from './routes.ts';
export { type AutomationDeps, AutomationService, type AutomationView } from './service.ts';
export { automationsDir, syncAutomations } from './sync.ts';
export type { Automation, AutomationTrigger, FireKind } from './types.ts';
