/**
 * Confirms an SMN subscription with a GET of `subscribe_url`, only after the message's
 * signature verified, only for an allow-listed topic and only to an allow-listed host, with a timeout and no redirects.
 * Huawei's sample URL-decodes the URL first; an encoded URL is decoded once and then held
 * to the same allow-list.
 */
import { IntakeError } from '../intake-errors.ts';
import { checkUrl, fetchAllowed, type HostPattern } from './url-allowlist.ts';

export interface SubscriptionConfirmerOptions {
  allowlist: readonly HostPattern[];
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** `topicUrn` is the (verified, allowed) topic of the message that carried the URL. */
export type SubscriptionConfirmer = (
  subscribeUrl: string,
  topicUrn: string,
  signal?: AbortSignal,
) => Promise<void>;

function decodeOnce(raw: string): string {
  if (/^https?:\/\//i.test(raw)) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function createSubscriptionConfirmer(options: SubscriptionConfirmerOptions): SubscriptionConfirmer {
  const doFetch = options.fetch ?? fetch;
  return async (subscribeUrl, topicUrn, signal) => {
    const url = checkUrl(decodeOnce(subscribeUrl), options.allowlist, 'subscribe_url');
    // Live confirm URLs name their topic; one that names another topic would subscribe us to
    // something the allow-list never approved.
    const named = url.searchParams.getAll('topic_urn');
    if (named.length > 1 || (named.length === 1 && named[0] !== topicUrn))
      throw new IntakeError('untrusted_url', 'subscribe_url names a different topic than the message');
    let response: Response;
    try {
      response = await fetchAllowed(doFetch, url, options.timeoutMs, signal);
    } catch (cause) {
      throw new IntakeError('subscription_confirm_failed', 'subscription confirmation request failed', {
        cause,
      });
    }
    await response.body?.cancel();
    if (response.status < 200 || response.status > 299)
      throw new IntakeError(
        'subscription_confirm_failed',
        `subscription confirmation answered HTTP ${response.status}`,
      );
  };
}
