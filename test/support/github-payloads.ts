/** Real GitHub webhook payloads (from @octokit/webhooks-examples), adapted to a test repo and signed. */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { signBody } from '../../src/triggers/github/verify.ts';

const require = createRequire(import.meta.url);
const EXAMPLES = require('@octokit/webhooks-examples') as {
  name: string;
  examples: Record<string, unknown>[];
}[];

// biome-ignore lint/suspicious/noExplicitAny: webhook payloads are edited freely by tests
type Json = Record<string, any>;

/**
 * A deep copy of the first example payload of `event` (with `action`, and matching `where`)
 * moved to repository `fullName`: every mention of the example's repository is rewritten.
 */
export function examplePayload(
  event: string,
  fullName: string,
  where: (p: Json) => boolean = () => true,
): Json {
  const found = EXAMPLES.find((d) => d.name === event)?.examples.find((p) => where(p as Json));
  if (!found) throw new Error(`no example payload for ${event}`);
  const original = (found as Json).repository?.full_name as string | undefined;
  let text = JSON.stringify(found);
  if (original) text = text.split(original).join(fullName);
  const payload = JSON.parse(text) as Json;
  const [owner, name] = fullName.split('/');
  if (payload.repository) {
    payload.repository.name = name;
    payload.repository.full_name = fullName;
    payload.repository.owner = { ...payload.repository.owner, login: owner };
    payload.repository.html_url = `https://github.com/${fullName}`;
  }
  return payload;
}

export interface Delivery {
  id: string;
  event: string;
  body: string;
  headers: Record<string, string>;
}

/** A delivery as GitHub sends it: JSON body, event and delivery headers, HMAC-SHA256 signature. */
export function signedDelivery(
  event: string,
  payload: unknown,
  secret: string,
  id: string = randomUUID(),
): Delivery {
  const body = JSON.stringify(payload);
  return {
    id,
    event,
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': event,
      'x-github-delivery': id,
      'x-hub-signature-256': signBody(body, secret),
    },
  };
}

/** Posts a delivery to the webhook URL; returns the status and JSON answer. */
export async function send(
  url: string,
  delivery: { body: string | Uint8Array; headers: Record<string, string> },
) {
  const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });
  return { status: response.status, body: (await response.json()) as Json };
}
