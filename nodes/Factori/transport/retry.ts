/**
 * Whether and when to send a request again: pure decisions, no waiting and no n8n imports.
 * The caller waits (through the pacer's clock) and, for a 429, cools the whole account off.
 */
import { DEFAULT_RATE_LIMIT_PERIOD, PERIOD_MS, STATUS, retryAfterMs } from './contract';

/** What came back. `network`: the connection dropped, timed out, or gave no response. */
export type Outcome = { kind: 'response'; status: number; retryAfterHeader?: unknown } | { kind: 'network' };

export type Decision =
	| { action: 'done' }
	| { action: 'retry'; delayMs: number; coolOffAccount: boolean }
	| { action: 'giveUp'; reason: 'attempts' };

export interface RetryPolicy {
	/** Attempts in all (the first one included) for server errors and network failures. */
	maxAttempts: number;
	baseDelayMs: number;
	maxDelayMs: number;
	/** The rate limit's period: how long to cool off after a 429 without `Retry-After`. */
	periodMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = {
	maxAttempts: 5,
	baseDelayMs: 500,
	maxDelayMs: 10_000,
	periodMs: PERIOD_MS[DEFAULT_RATE_LIMIT_PERIOD],
};

/**
 * A 429 is the server asking us to slow down, not a fault, so it gets more attempts than a
 * server error: up to maxAttempts x this factor in all (10 with the default policy), which
 * outlasts several cool-offs. The count still ends, so a server that answers 429 forever
 * ends in giveUp. Attempts are counted across kinds: a 503 after six 429s gives up, since
 * the request has then been tried more often than maxAttempts already.
 */
export const RATE_LIMITED_ATTEMPT_FACTOR = 2;

/** Server errors that say "try again later"; 501 and 505 say "never" and end the request. */
const PERMANENT_SERVER_ERRORS: ReadonlySet<number> = new Set([501, 505]);
/** 408 Request Timeout is a network failure the server noticed first. */
const REQUEST_TIMEOUT = 408;

/**
 * Decides what to do after attempt number `attempt` (1-based: attempts made so far) ended in
 * `outcome`. `random` returns a number in [0, 1) for the backoff's full jitter.
 *
 * - 1xx-3xx and 4xx other than 408 and 429: done. 400, 403, 404 are answers; 401 is handled
 *   by n8n's credential refresh, 402 (credits spent) by the caller.
 * - 429: retry after `Retry-After` (seconds or an HTTP date) or one full period without it,
 *   and cool the whole account off; give up after maxAttempts x RATE_LIMITED_ATTEMPT_FACTOR.
 * - 5xx except 501 and 505, 408, and network failures: retry with capped exponential backoff
 *   and full jitter, random() x min(maxDelayMs, baseDelayMs x 2^(attempt-1)); give up once
 *   maxAttempts are made. Unlisted 5xx (proxies' 520-524, 507, 529 ...) are usually passing
 *   states, a failed ping is not billed, and the attempts are bounded: so they retry too.
 */
export function decide(
	outcome: Outcome,
	attempt: number,
	policy: RetryPolicy,
	nowMs: number,
	random: () => number,
): Decision {
	if (outcome.kind === 'response') {
		const { status } = outcome;
		if (status === STATUS.rateLimited) {
			if (attempt >= policy.maxAttempts * RATE_LIMITED_ATTEMPT_FACTOR) return giveUp();
			const delayMs = retryAfterMs(outcome.retryAfterHeader, nowMs) ?? policy.periodMs;
			return { action: 'retry', delayMs, coolOffAccount: true };
		}
		if (!isTransient(status)) return { action: 'done' };
	}
	if (attempt >= policy.maxAttempts) return giveUp();
	return { action: 'retry', delayMs: backoffMs(attempt, policy, random), coolOffAccount: false };
}

function isTransient(status: number): boolean {
	if (status === REQUEST_TIMEOUT) return true;
	return status >= 500 && status <= 599 && !PERMANENT_SERVER_ERRORS.has(status);
}

/** Full jitter: uniformly in [0, min(maxDelayMs, baseDelayMs x 2^(attempt-1))). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
	const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (Math.max(1, attempt) - 1));
	const fraction = Math.min(1, Math.max(0, random()));
	return fraction * ceiling;
}

function giveUp(): Decision {
	return { action: 'giveUp', reason: 'attempts' };
}
