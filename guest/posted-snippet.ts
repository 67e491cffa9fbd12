/**
 * The guest's "posted" user-data snippet (guest/posted-notify.ps1): filling in its values, and
 * reading them back out of a server's user data. The emulator uses the second to run the
 * snippet's behaviour for a server whose user data carries it, as Cloudbase-Init would.
 */
import { readFileSync } from 'node:fs';

/** The line that marks user data as carrying the snippet. */
export const POSTED_SNIPPET_MARKER = '# bms-password-escrow posted-notify v1';

export interface PostedSnippetSettings {
  hookUrl: string;
  hmacKey: string;
  /** Only used when meta_data.json has no project_id. */
  projectIdFallback?: string | undefined;
}

export class PostedSnippetError extends Error {
  override name = 'PostedSnippetError';
}

export function postedSnippetTemplate(): string {
  return readFileSync(new URL('./posted-notify.ps1', import.meta.url), 'utf8');
}

/** PowerShell single-quoted string contents: a quote is doubled, nothing else is special. */
function psQuoted(value: string): string {
  return value.replaceAll("'", "''");
}

/** The snippet with its values filled in, ready to be (part of) a server's user data. */
export function renderPostedSnippet(
  settings: PostedSnippetSettings,
  template = postedSnippetTemplate(),
): string {
  const url = new URL(settings.hookUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new PostedSnippetError('the hook URL must be http(s)');
  if (/[\r\n]/.test(settings.hookUrl + settings.hmacKey + (settings.projectIdFallback ?? '')))
    throw new PostedSnippetError('values must be single-line');
  return template
    .replace("'__HOOK_URL__'", `'${psQuoted(settings.hookUrl)}'`)
    .replace("'__HMAC_KEY__'", `'${psQuoted(settings.hmacKey)}'`)
    .replace("'__PROJECT_ID__'", `'${psQuoted(settings.projectIdFallback ?? '')}'`);
}

function assigned(userData: string, variable: string): string | undefined {
  const m = new RegExp(`^\\s*\\$${variable}\\s*=\\s*'((?:[^']|'')*)'\\s*$`, 'm').exec(userData);
  return m ? m[1]!.replaceAll("''", "'") : undefined;
}

/** The snippet's values, when this user data carries a filled-in snippet; undefined otherwise. */
export function readPostedSnippet(userData: string | null | undefined): PostedSnippetSettings | undefined {
  if (!userData?.includes(POSTED_SNIPPET_MARKER)) return undefined;
  const hookUrl = assigned(userData, 'HookUrl');
  const hmacKey = assigned(userData, 'HmacKey');
  if (hookUrl === undefined || hmacKey === undefined || hookUrl.startsWith('__')) return undefined;
  const fallback = assigned(userData, 'ProjectIdFallback');
  return {
    hookUrl,
    hmacKey,
    projectIdFallback: fallback && !fallback.startsWith('__') ? fallback : undefined,
  };
}
