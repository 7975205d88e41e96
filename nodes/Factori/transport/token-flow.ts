/**
 * Factori's login: reset a temporary password when the account still has one, create a
 * short-term token, trade it for a long-term one. Plain functions over an injected HTTP
 * call, so the order of calls and every failure are testable without n8n.
 */
import { createHash } from 'crypto';

import {
	PASSWORD_RESET_REQUIRED,
	PATHS,
	STATUS,
	errorCode,
	errorMessage,
	longTokenBody,
	tokenIn,
	resetPasswordBody,
	shortTokenBody,
	DEFAULT_TOKEN_TYPE,
} from './contract';

export interface LoginSettings {
	baseUrl: string;
	username: string;
	password: string;
	temporaryPassword?: string;
	tokenType?: string;
}

export interface PostResult {
	status: number;
	body: unknown;
}

/** POSTs JSON to a Factori path and returns status and parsed body; rejects only when no answer came. */
export type PostJson = (url: string, body: object) => Promise<PostResult>;

/** A login that failed for a reason the user can act on. Never carries a secret. */
export class LoginError extends Error {
	constructor(
		message: string,
		readonly reason:
			| 'badCredentials'
			| 'resetRequired'
			| 'temporaryPasswordRejected'
			| 'newPasswordRejected'
			| 'longTokenRefused'
			| 'unreachable'
			| 'unexpectedAnswer',
	) {
		super(message);
		this.name = 'LoginError';
	}
}

export const trimBaseUrl = (baseUrl: string) => baseUrl.trim().replace(/\/+$/, '');

/** Removes every secret from a text that came back from the server or the network stack. */
function redact(text: string, secrets: Array<string | undefined>): string {
	return secrets.reduce<string>(
		(result, secret) => (secret ? result.split(secret).join('[redacted]') : result),
		text,
	);
}

/** Node's network error codes, in words. */
const NETWORK_FAILURES: Readonly<Record<string, string>> = {
	ECONNREFUSED: 'the connection was refused',
	ECONNRESET: 'the connection was closed before an answer came',
	EPIPE: 'the connection was closed before an answer came',
	ENOTFOUND: 'the host name could not be resolved',
	EAI_AGAIN: 'the host name could not be resolved',
	ETIMEDOUT: 'the connection timed out',
	ECONNABORTED: 'no answer came in time',
	EHOSTUNREACH: 'the host is unreachable',
	ENETUNREACH: 'the network is unreachable',
	EADDRNOTAVAIL: 'the address is not available',
};

/**
 * Why no answer came, without Node's error codes: n8n's NodeApiError replaces a whole
 * message that mentions one (ECONNREFUSED, ETIMEDOUT ...) by a generic sentence, which
 * would drop the hint to check the Base URL.
 */
function networkFailure(failure: unknown, secrets: Array<string | undefined>): string {
	const code = (failure as { code?: unknown } | undefined)?.code;
	if (typeof code === 'string' && NETWORK_FAILURES[code]) return NETWORK_FAILURES[code];
	// Redacted first, so that removing codes cannot leave part of a secret behind.
	const message = redact(failure instanceof Error ? failure.message : String(failure), secrets);
	const words = message
		.replace(/\bgetaddrinfo\b/gi, '')
		.replace(/\bE[A-Z_]{3,}\b/g, '')
		.replace(/\s+/g, ' ')
		.trim();
	return words || 'no answer came';
}

async function post(
	postJson: PostJson,
	settings: LoginSettings,
	path: string,
	body: object,
	secrets: Array<string | undefined>,
): Promise<PostResult> {
	const url = trimBaseUrl(settings.baseUrl) + path;
	const result = await postJson(url, body).catch((error: unknown) => ({ failure: error }));
	if ('failure' in result) {
		const detail = networkFailure(result.failure, secrets);
		throw new LoginError(
			`Could not reach Factori at ${url} (${detail}). Check the credential's Base URL and that this n8n instance can reach it.`,
			'unreachable',
		);
	}
	return result;
}

function serverSays(result: PostResult, secrets: Array<string | undefined>): string {
	const message = errorMessage(result.body);
	return message ? ` Factori says: "${redact(message, secrets)}".` : '';
}

function unexpected(step: string, result: PostResult, secrets: Array<string | undefined>): LoginError {
	return new LoginError(
		`Factori answered ${result.status} to ${step}.${serverSays(result, secrets)} If this persists, check the Base URL and Factori's status.`,
		'unexpectedAnswer',
	);
}

function tokenOf(step: string, result: PostResult): string {
	const token = tokenIn(result.body);
	if (token === undefined) {
		throw new LoginError(
			`Factori's answer to ${step} holds no token. Check that the Base URL points at the Factori API (it ends in /api/v1.0).`,
			'unexpectedAnswer',
		);
	}
	return token;
}

/** Runs the whole flow once and returns the long-term token. */
export async function logIn(postJson: PostJson, settings: LoginSettings): Promise<string> {
	const { username, password, temporaryPassword } = settings;
	const tokenType = settings.tokenType?.trim() || DEFAULT_TOKEN_TYPE;
	const secrets = [password, temporaryPassword];

	let short = await post(postJson, settings, PATHS.createShortToken, shortTokenBody(username, password), secrets);

	const resetRequired = short.status === STATUS.forbidden && errorCode(short.body) === PASSWORD_RESET_REQUIRED;
	// A server may also hide the pending reset behind a plain 401 for any password but the
	// temporary one: with a temporary password at hand, a 401 is worth one reset too.
	const resetWorthTrying = short.status === STATUS.unauthorized && Boolean(temporaryPassword);
	if (resetRequired || resetWorthTrying) {
		if (!temporaryPassword) {
			throw new LoginError(
				'This Factori account still has the temporary password it was issued with. Enter that password in the credential\'s "Temporary Password" field, and your own new password (at least 8 characters) in "Password": the credential resets it on first use.',
				'resetRequired',
			);
		}
		const reset = await post(
			postJson,
			settings,
			PATHS.resetPassword,
			resetPasswordBody(username, temporaryPassword, password),
			secrets,
		);
		if (reset.status === STATUS.unauthorized && resetWorthTrying) {
			throw new LoginError(
				`Factori accepted neither the password nor the temporary password for user "${username}". Check the credential's "User ID", "Password" and "Temporary Password" (clear the temporary one once the account is set up).`,
				'badCredentials',
			);
		}
		if (reset.status === STATUS.unauthorized) {
			throw new LoginError(
				`Factori rejected the temporary password for user "${username}". Check the "Temporary Password" field (it is the one Factori issued with the account).`,
				'temporaryPasswordRejected',
			);
		}
		if (reset.status === STATUS.badRequest) {
			throw new LoginError(
				`Factori refused to set the new password.${serverSays(reset, secrets)} Choose another "Password" (at least 8 characters, different from the temporary one).`,
				'newPasswordRejected',
			);
		}
		if (reset.status !== STATUS.ok) throw unexpected('reset_password', reset, secrets);
		short = await post(postJson, settings, PATHS.createShortToken, shortTokenBody(username, password), secrets);
	}

	if (short.status === STATUS.unauthorized || short.status === STATUS.forbidden) {
		throw new LoginError(
			`Factori did not accept the user name "${username}" with this password. Check the credential's "User ID" and "Password" (after the first reset, the password is the one you chose).`,
			'badCredentials',
		);
	}
	if (short.status !== STATUS.ok) throw unexpected('create_short_token', short, secrets);
	const shortToken = tokenOf('create_short_token', short);

	const long = await post(
		postJson,
		settings,
		PATHS.createLongToken,
		longTokenBody(shortToken, tokenType),
		[...secrets, shortToken],
	);
	if (long.status === STATUS.badRequest || long.status === STATUS.unauthorized) {
		throw new LoginError(
			`Factori refused to create a long-term token of type "${tokenType}".${serverSays(long, [...secrets, shortToken])} Check the credential's "Token Type" (usually "long").`,
			'longTokenRefused',
		);
	}
	if (long.status !== STATUS.ok) throw unexpected('create_long_token', long, [...secrets, shortToken]);
	return tokenOf('create_long_token', long);
}

/**
 * Identity of a login: the account, and a fingerprint of what proves it, so that a
 * credential with another password never borrows a token obtained with the right one.
 */
export function loginKey(settings: LoginSettings): string {
	const proof = createHash('sha256')
		.update(JSON.stringify([settings.password, settings.temporaryPassword ?? '', settings.tokenType ?? '']))
		.digest('hex');
	return `${trimBaseUrl(settings.baseUrl)}|${settings.username}|${proof}`;
}

interface LoginState {
	running?: Promise<string>;
	latest?: string;
}

/**
 * Coalesces logins per account within this process. n8n calls the credential's
 * pre-authentication once per request that finds no token or got a 401, and nothing in n8n
 * stops twenty such requests from logging in twenty times:
 * - while a login runs, every caller waits for it;
 * - a caller whose token is older than the one the last login produced (its request left
 *   before that login finished) gets the newer token, with no new login.
 */
export class LoginCoalescer {
	private readonly states = new Map<string, LoginState>();

	async token(key: string, staleToken: string | undefined, run: () => Promise<string>): Promise<string> {
		const state = this.states.get(key) ?? {};
		this.states.set(key, state);
		if (state.running) return await state.running;
		if (state.latest && state.latest !== staleToken) return state.latest;

		state.running = run();
		try {
			state.latest = await state.running;
			return state.latest;
		} finally {
			state.running = undefined;
		}
	}
}
