import { z } from 'zod';
import { AutomationApplyBody, AutomationHistoryQuery, AutomationRunBody } from '../automations/api-schema.ts';
import { AutomationFile } from '../automations/schema.ts';
import { SIGNATURE_HEADER } from '../triggers/webhook/verify.ts';
import type { RouteSpec } from './router.ts';

/**
 * The `/openapi.json` entries of the modules `nightshift serve` mounts whose routes are not
 * registered through `ApiRoutes`: automations (validated with `AutomationFile` and the schemas
 * of `automations/api-schema.ts`, the same ones used here) and the webhook ingresses, which
 * verify signatures over the raw body and read the fields below by hand (their schemas here
 * describe that wire format).
 */

const json = (status: number, description: string) => ({ status, type: 'application/json', description });

/** Automations API at `/api/automations`: reading needs runs:read, everything else runs:write. */
export function automationSpecs(base: string): RouteSpec[] {
  const read = { method: 'get', scope: 'runs:read' } as const;
  const write = { method: 'post', scope: 'runs:write' } as const;
  return [
    {
      ...read,
      path: base,
      summary: 'List automations with their next fire times',
      success: json(200, '`{ automations }`'),
    },
    {
      ...write,
      path: base,
      summary: 'Create an automation (the file format, as JSON)',
      body: AutomationFile,
      success: json(201, 'the automation'),
      answers: { 409: 'an automation of that name exists' },
    },
    {
      ...write,
      path: `${base}/apply`,
      scope: 'admin',
      summary: 'Sync the automations with their files (read on the server; `nightshift automations apply`)',
      body: AutomationApplyBody,
      success: json(200, '`{ applied, removed }`'),
    },
    { ...read, path: `${base}/:name`, summary: 'An automation', success: json(200, 'the automation') },
    {
      ...write,
      method: 'put',
      path: `${base}/:name`,
      summary: 'Create or replace an automation made through the API',
      body: AutomationFile,
      success: json(200, 'the automation'),
      answers: { 409: 'the automation is defined in a file' },
    },
    {
      ...write,
      method: 'delete',
      path: `${base}/:name`,
      summary: 'Delete an automation made through the API',
      success: { status: 204, type: 'application/json', description: 'deleted' },
    },
    {
      ...write,
      path: `${base}/:name/enable`,
      summary: 'Enable an automation',
      success: json(200, 'the automation'),
    },
    {
      ...write,
      path: `${base}/:name/disable`,
      summary: 'Disable an automation',
      success: json(200, 'the automation'),
    },
    {
      ...write,
      path: `${base}/:name/run`,
      summary: 'Fire an automation now',
      body: AutomationRunBody,
      success: json(202, 'the fire, `outcome: started` with its runs'),
      answers: { 200: 'the fire did not start runs (skipped, nothing matched)' },
    },
    {
      ...read,
      path: `${base}/:name/history`,
      summary: "An automation's fires, newest first",
      query: AutomationHistoryQuery,
      success: json(
        200,
        '`{ fires }`: each with its `outcome`, `reason`, `runIds`, and for a Slack fire `reply`, `notifiedAt` and `answer` (`{ attempts, error, givenUp }`: how answering its thread went)',
      ),
    },
  ];
}

/** Any JSON object: a webhook's payload, of the sender's choosing. */
const JsonObject = z.record(z.string(), z.unknown());

/** Generic webhooks at `/webhooks/in/:name` (public: HMAC-signed by one of the hook's secrets). */
export function webhookInSpecs(base: string): RouteSpec[] {
  return [
    {
      method: 'post',
      path: `${base}/:name`,
      summary: 'Start the runs of the automation whose webhook is `name`; the payload fills its templates',
      scope: null,
      body: JsonObject,
      headers: {
        [SIGNATURE_HEADER]: {
          required: true,
          description: '`sha256=` HMAC-SHA256 of the raw body, hex, with one of the hook secrets',
        },
        'X-Nightshift-Delivery': {
          required: false,
          description: "unique delivery id (the hook's `delivery_header`); a repeated id starts nothing",
        },
      },
      success: json(202, 'the runs started'),
      answers: {
        200: 'a repeated delivery id: nothing started',
        413: 'the body is too large',
        503: 'the hook has no secret set on the server',
      },
    },
  ];
}

/** Slack Events API envelope: the fields the server reads. */
export const SlackEventEnvelope = z.object({
  type: z.string().describe('`url_verification` or `event_callback`'),
  challenge: z.string().optional(),
  event_id: z.string().optional(),
  event: z
    .object({
      type: z.string().describe('`app_mention` starts a run'),
      text: z.string().optional(),
      user: z.string().optional(),
      channel: z.string().optional(),
      ts: z.string().optional(),
      thread_ts: z.string().optional(),
      bot_id: z.string().optional(),
    })
    .optional(),
});

/** Slack slash command (form fields the server reads). */
export const SlackCommandForm = z.object({
  channel_id: z.string(),
  user_id: z.string().optional(),
  text: z.string().optional(),
  trigger_id: z.string().optional().describe('a repeated trigger_id starts nothing'),
});

const slackHeaders = {
  'X-Slack-Signature': {
    required: true,
    description: '`v0=` HMAC-SHA256 of `v0:TIMESTAMP:BODY` with the signing secret',
  },
  'X-Slack-Request-Timestamp': {
    required: true,
    description: 'seconds since 1970; refused when over 5 minutes away',
  },
};

/** Slack at `/slack` (public: signed with the app's signing secret). */
export function slackSpecs(base: string): RouteSpec[] {
  return [
    {
      method: 'post',
      path: `${base}/events`,
      summary: 'Slack Events API: URL verification, and app mentions that start runs',
      scope: null,
      body: SlackEventEnvelope,
      headers: slackHeaders,
      success: json(200, '`{ challenge }` for url_verification, else empty'),
      answers: { 503: 'Slack is not configured on this server' },
    },
    {
      method: 'post',
      path: `${base}/commands`,
      summary: 'Slack slash command: starts a run, answered in a thread',
      scope: null,
      body: SlackCommandForm,
      bodyType: 'application/x-www-form-urlencoded',
      headers: slackHeaders,
      success: json(200, 'an ephemeral Slack message'),
      answers: { 503: 'Slack is not configured on this server' },
    },
  ];
}

/** GitHub webhooks at `/webhooks/github` (public: `X-Hub-Signature-256` with the webhook secret). */
export function githubSpecs(base: string): RouteSpec[] {
  return [
    {
      method: 'post',
      path: base,
      summary: 'GitHub webhook deliveries: verified, deduplicated by delivery id, queued, answered at once',
      scope: null,
      body: JsonObject,
      headers: {
        'X-GitHub-Event': {
          required: true,
          description: 'the event name (`issue_comment`, `pull_request`, ...)',
        },
        'X-GitHub-Delivery': {
          required: true,
          description: 'delivery id; a redelivery of a claimed id starts nothing',
        },
        'X-Hub-Signature-256': {
          required: true,
          description: '`sha256=` HMAC-SHA256 of the raw body with a webhook secret',
        },
      },
      success: json(202, '`{ accepted: true }`: queued'),
      answers: { 200: '`{ duplicate: true }`: a redelivery', 413: 'the body is over the limit' },
    },
  ];
}
