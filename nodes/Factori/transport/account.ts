import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import {
	DEFAULT_BASE_URL,
	DEFAULT_RATE_LIMIT,
	DEFAULT_RATE_LIMIT_PERIOD,
	PERIOD_MS,
	type RateLimitPeriod,
} from './contract';
import { trimBaseUrl } from './token-flow';

/** What the node needs of the credential: where to call, and the account's rate limit. */
export interface Account {
	/** Identity of the account: every execution in this process shares its pacer. */
	key: string;
	baseUrl: string;
	limit: number;
	periodMs: number;
	/** Whether the credential holds a long token already; without one, the first call logs in. */
	hasToken: boolean;
}

export function accountOf(credentials: ICredentialDataDecryptedObject): Account {
	const baseUrl = trimBaseUrl(typeof credentials.baseUrl === 'string' && credentials.baseUrl ? credentials.baseUrl : DEFAULT_BASE_URL);
	const username = typeof credentials.username === 'string' ? credentials.username.trim() : '';
	const limit = Number(credentials.rateLimit);
	const period = credentials.rateLimitPeriod === 'minute' ? 'minute' : (DEFAULT_RATE_LIMIT_PERIOD as RateLimitPeriod);
	return {
		key: `${baseUrl}|${username}`,
		baseUrl,
		limit: Number.isFinite(limit) && limit >= 1 ? Math.floor(limit) : DEFAULT_RATE_LIMIT,
		periodMs: PERIOD_MS[period],
		hasToken: typeof credentials.longToken === 'string' && credentials.longToken !== '',
	};
}
