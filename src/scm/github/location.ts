import { NightshiftError } from '../../core/errors.ts';

/** A GitHub repository by owner and name. */
export interface GithubRepoRef {
  owner: string;
  name: string;
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * Reads `github:owner/name` or `<webUrl>/owner/name[.git]` (default web URL
 * `https://github.com`); null when the location is not a GitHub repo of that server.
 *
 * @example parseGithubLocation('github:acme/api') // { owner: 'acme', name: 'api' }
 */
export function parseGithubLocation(location: string, webUrl = 'https://github.com'): GithubRepoRef | null {
  let rest: string;
  const base = webUrl.replace(/\/+$/, '');
  if (location.startsWith('github:')) rest = location.slice('github:'.length);
  else if (location.toLowerCase().startsWith(`${base.toLowerCase()}/`))
    rest = location.slice(base.length + 1);
  else return null;
  const parts = rest
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/');
  const [owner, name] = parts;
  if (
    parts.length !== 2 ||
    !owner ||
    !name ||
    !SEGMENT.test(owner) ||
    !SEGMENT.test(name) ||
    name.startsWith('.')
  ) {
    throw new NightshiftError('REPO_INVALID', `${location} is not a GitHub repository location`, {
      hint: 'write it as github:OWNER/NAME or https://github.com/OWNER/NAME',
    });
  }
  return { owner, name };
}

/** The canonical URL Nightshift records for a GitHub repo (its web address). */
export function githubRepoUrl(ref: GithubRepoRef, webUrl = 'https://github.com'): string {
  return `${webUrl.replace(/\/+$/, '')}/${ref.owner}/${ref.name}`;
}
