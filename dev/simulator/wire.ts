/**
 * Request field names and header format, read off contract.ts's body and header builders so
 * that an edit there changes the simulator too; plus the response messages factori-api.md gives.
 */
import {
	authorizationHeader,
	longTokenBody,
	resetPasswordBody,
	shortTokenBody,
} from '../../nodes/Factori/transport/contract';

const sentinel = (name: string) => `\u0000${name}\u0000`;

/** Which body field the contract's builder puts each argument in. */
function fieldNames<K extends string>(
	build: (values: string[]) => Record<string, unknown>,
	names: readonly K[],
): Record<K, string> {
	const body = build(names.map(sentinel));
	const result = {} as Record<K, string>;
	for (const name of names) {
		const field = Object.keys(body).find((key) => body[key] === sentinel(name));
		if (field === undefined) throw new Error(`the contract body has no field for ${name}`);
		result[name] = field;
	}
	return result;
}

export const RESET_FIELDS = fieldNames((v) => resetPasswordBody(v[0], v[1], v[2]), [
	'username',
	'password',
	'newPassword',
] as const);
export const SHORT_TOKEN_FIELDS = fieldNames((v) => shortTokenBody(v[0], v[1]), ['username', 'password'] as const);
export const LONG_TOKEN_FIELDS = fieldNames((v) => longTokenBody(v[0], v[1]), ['shortToken', 'tokenType'] as const);

/** The token header: its (lowercase) name and the text before the token, e.g. 'Bearer '. */
export const TOKEN_HEADER = (() => {
	const probe: Record<string, string> = authorizationHeader(sentinel('token'));
	const [name] = Object.keys(probe);
	const value = probe[name];
	const at = value.indexOf(sentinel('token'));
	return { name: name.toLowerCase(), prefix: value.slice(0, at), suffix: value.slice(at + sentinel('token').length) };
})();

/** The token in a token header value, or undefined when the value is not of that form. */
export function tokenFromHeader(value: string | undefined): string | undefined {
	if (value === undefined) return undefined;
	const { prefix, suffix } = TOKEN_HEADER;
	if (value.length <= prefix.length + suffix.length) return undefined;
	if (value.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase() || !value.endsWith(suffix)) return undefined;
	const token = value.slice(prefix.length, value.length - suffix.length).trim();
	return token === '' ? undefined : token;
}

/** Field of the token answers that gives the lifetime in seconds. */
export const EXPIRES_IN_FIELD = 'expires_in';

export const MESSAGE = {
	invalidLogin: 'Invalid username or password',
	resetRequired: 'The temporary password must be changed: call reset_password first',
	passwordUpdated: 'Password updated',
	noConsumer: 'No consumer found',
	insufficientCredits: 'Insufficient credits',
	rateLimited: 'Rate limit exceeded',
	missingToken: 'Missing or malformed Authorization header: expected a bearer long token',
	invalidToken: 'Invalid or revoked token',
	expiredToken: 'Token expired',
	notFound: 'Not found',
	methodNotAllowed: 'Method not allowed',
} as const;
