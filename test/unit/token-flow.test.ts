/**
 * The credential's token flow (`logIn`) and its login coalescing (`LoginCoalescer`), run
 * against the local simulator over real HTTP: the order of calls, every failure a user can
 * meet and what its message tells them, and one login per account under concurrency.
 */
import axios from 'axios';

import { PATHS, STATUS, authorizationHeader, tokenIn } from '../../nodes/Factori/transport/contract';
import {
	LoginCoalescer,
	LoginError,
	logIn,
	loginKey,
	type LoginSettings,
	type PostJson,
} from '../../nodes/Factori/transport/token-flow';
import { closedPort, trackIssuedTokens, useSimulator } from '../support/simulator-fixture';
import { simulatorPath, type Simulator } from '../../dev/simulator/server';

const SHORT = PATHS.createShortToken;
const LONG = PATHS.createLongToken;
const RESET = PATHS.resetPassword;

interface Exchange {
	path: string;
	status: number;
}

/** A PostJson over axios that also records which endpoint answered what, in order. */
function transport() {
	const exchanges: Exchange[] = [];
	const postJson: PostJson = async (url, body) => {
		const response = await axios.post(url, body, { validateStatus: () => true, proxy: false });
		exchanges.push({ path: simulatorPath(new URL(url).pathname), status: response.status });
		return { status: response.status, body: response.data as unknown };
	};
	return { postJson, exchanges, paths: () => exchanges.map((exchange) => exchange.path) };
}

let accountCounter = 0;
const uniqueName = (label: string) => `${label}-${++accountCounter}`;

describe('token flow against the simulator', () => {
	let sim: Simulator;
	useSimulator({}, (started) => (sim = started));
	const issuedTokens = trackIssuedTokens();

	/** A fresh simulator account and the credential settings that match it. */
	function newAccount(kind: 'temporary' | 'ready', overrides: Partial<LoginSettings> = {}): LoginSettings {
		const username = uniqueName(kind);
		if (kind === 'temporary') {
			sim.addAccount({ username, temporaryPassword: `temp-${username}-Q7` });
			return { baseUrl: sim.url, username, password: `own-${username}-Z9x`, temporaryPassword: `temp-${username}-Q7`, ...overrides };
		}
		sim.addAccount({ username, password: `own-${username}-Z9x` });
		return { baseUrl: sim.url, username, password: `own-${username}-Z9x`, ...overrides };
	}

	async function usageStatus(longToken: string): Promise<number> {
		const response = await axios.get(sim.url + PATHS.usage, {
			headers: authorizationHeader(longToken),
			validateStatus: () => true,
			proxy: false,
		});
		return response.status;
	}

	/** The LoginError a login ends in; fails the test when it succeeds or fails otherwise. */
	async function loginFailure(postJson: PostJson, settings: LoginSettings): Promise<LoginError> {
		const outcome = await logIn(postJson, settings).then(
			(token) => ({ token }),
			(error: unknown) => ({ error }),
		);
		if (!('error' in outcome)) throw new Error('the login succeeded');
		expect(outcome.error).toBeInstanceOf(LoginError);
		return outcome.error as LoginError;
	}

	/** Neither the message, the stack nor the serialized error holds a password or a token. */
	function expectNoSecretIn(error: LoginError, settings: LoginSettings) {
		const text = [error.message, error.stack ?? '', JSON.stringify(error)].join('\n');
		const secrets = [settings.password, settings.temporaryPassword, ...issuedTokens()].filter(
			(secret): secret is string => Boolean(secret),
		);
		for (const secret of secrets) expect(text).not.toContain(secret);
	}

	describe('order of calls', () => {
		test('a new account with a temporary password: refused short token, reset, short token, long token', async () => {
			const settings = newAccount('temporary');
			const http = transport();

			const longToken = await logIn(http.postJson, settings);

			expect(http.exchanges).toEqual([
				{ path: SHORT, status: STATUS.forbidden },
				{ path: RESET, status: STATUS.ok },
				{ path: SHORT, status: STATUS.ok },
				{ path: LONG, status: STATUS.ok },
			]);
			expect(sim.stats.resets).toEqual({ [settings.username]: 1 });
			expect(sim.stats.logins).toEqual({ [settings.username]: 1 });
			expect(sim.stats.calls(LONG)).toBe(1);
			expect(await usageStatus(longToken)).toBe(STATUS.ok);
		});

		test('once reset, the same settings log in without another reset', async () => {
			const settings = newAccount('temporary');
			await logIn(transport().postJson, settings);
			const http = transport();

			const longToken = await logIn(http.postJson, settings);

			expect(http.paths()).toEqual([SHORT, LONG]);
			expect(sim.stats.resets).toEqual({ [settings.username]: 1 });
			expect(await usageStatus(longToken)).toBe(STATUS.ok);
		});

		test('a ready account: short token, then long token, no reset', async () => {
			const settings = newAccount('ready');
			const http = transport();

			const longToken = await logIn(http.postJson, settings);

			expect(http.exchanges).toEqual([
				{ path: SHORT, status: STATUS.ok },
				{ path: LONG, status: STATUS.ok },
			]);
			expect(sim.stats.resets).toEqual({});
			expect(sim.stats.logins).toEqual({ [settings.username]: 1 });
			expect(await usageStatus(longToken)).toBe(STATUS.ok);
		});

		test('a ready account with a leftover temporary password does not reset', async () => {
			const settings = { ...newAccount('ready'), temporaryPassword: 'left-over-temporary' };
			const http = transport();

			expect(await usageStatus(await logIn(http.postJson, settings))).toBe(STATUS.ok);
			expect(http.paths()).toEqual([SHORT, LONG]);
			expect(sim.stats.resets).toEqual({});
		});

		test('a trailing slash on the base URL and spaces around the token type change nothing', async () => {
			const settings = newAccount('ready', { tokenType: ' long ' });
			const http = transport();

			await logIn(http.postJson, { ...settings, baseUrl: `${sim.url}//` });

			expect(http.exchanges.map((exchange) => exchange.status)).toEqual([STATUS.ok, STATUS.ok]);
		});
	});

	describe('failures say what to do and carry no secret', () => {
		test('wrong password', async () => {
			const settings = { ...newAccount('ready'), password: 'not-the-password-1' };
			const http = transport();

			const error = await loginFailure(http.postJson, settings);

			expect(error.reason).toBe('badCredentials');
			expect(error.message).toContain(`"${settings.username}"`);
			expect(error.message).toMatch(/"User ID" and "Password"/);
			expect(http.exchanges).toEqual([{ path: SHORT, status: STATUS.unauthorized }]);
			expect(sim.stats.logins).toEqual({});
			expectNoSecretIn(error, settings);
		});

		test('unknown user name', async () => {
			const settings: LoginSettings = { baseUrl: sim.url, username: uniqueName('nobody'), password: 'some-password-1' };
			const http = transport();

			const error = await loginFailure(http.postJson, settings);

			expect(error.reason).toBe('badCredentials');
			expect(error.message).toMatch(/"User ID"/);
			expect(http.paths()).toEqual([SHORT]);
			expectNoSecretIn(error, settings);
		});

		test('wrong password on a ready account with a temporary password filled in: one reset try, then neither accepted', async () => {
			const settings = { ...newAccount('ready'), password: 'not-the-password-1', temporaryPassword: 'not-the-temporary-1' };
			const http = transport();

			const error = await loginFailure(http.postJson, settings);

			expect(error.reason).toBe('badCredentials');
			expect(error.message).toMatch(/neither the password nor the temporary password/);
			expect(error.message).toMatch(/"Temporary Password"/);
			expect(http.exchanges).toEqual([
				{ path: SHORT, status: STATUS.unauthorized },
				{ path: RESET, status: STATUS.unauthorized },
			]);
			expect(sim.stats.resets).toEqual({});
			expectNoSecretIn(error, settings);
		});

		test('reset required but no temporary password given', async () => {
			const settings = { ...newAccount('temporary'), temporaryPassword: undefined };
			const http = transport();

			const error = await loginFailure(http.postJson, settings);

			expect(error.reason).toBe('resetRequired');
			expect(error.message).toMatch(/"Temporary Password" field/);
			expect(error.message).toMatch(/at least 8 characters/);
			expect(http.exchanges).toEqual([{ path: SHORT, status: STATUS.forbidden }]);
			expect(sim.stats.resets).toEqual({});
			expectNoSecretIn(error, settings);
		});

		test('temporary password rejected', async () => {
			const settings = { ...newAccount('temporary'), temporaryPassword: 'wrong-temporary-1' };
			const http = transport();

			const error = await loginFailure(http.postJson, settings);

			expect(error.reason).toBe('temporaryPasswordRejected');
			expect(error.message).toMatch(/rejected the temporary password/);
			expect(error.message).toMatch(/"Temporary Password" field/);
			expect(http.exchanges).toEqual([
				{ path: SHORT, status: STATUS.forbidden },
				{ path: RESET, status: STATUS.unauthorized },
			]);
			expect(sim.stats.resets).toEqual({});
			expectNoSecretIn(error, settings);
		});

		test('new password rejected: too short', async () => {
			const settings = newAccount('temporary', { password: 'Sh0rt' });
			const http = transport();

			const error = await loginFailure(http.postJson, settings);

			expect(error.reason).toBe('newPasswordRejected');
			expect(error.message).toMatch(/Factori says: ".*at least 8 characters"/);
			expect(error.message).toMatch(/Choose another "Password"/);
			expect(http.exchanges).toEqual([
				{ path: SHORT, status: STATUS.forbidden },
				{ path: RESET, status: STATUS.badRequest },
			]);
			expectNoSecretIn(error, settings);
		});

		test('new password rejected: the same as the temporary one', async () => {
			const account = newAccount('temporary');
			const settings = { ...account, password: account.temporaryPassword as string };
			const http = transport();

			const error = await loginFailure(http.postJson, settings);

			expect(error.reason).toBe('newPasswordRejected');
			expect(error.message).toMatch(/must differ/);
			expect(error.message).toMatch(/different from the temporary one/);
			expect(http.paths()).toEqual([SHORT, RESET]);
			expect(sim.stats.resets).toEqual({});
			expectNoSecretIn(error, settings);
		});

		test('long token refused: a token type Factori does not know', async () => {
			const settings = newAccount('ready', { tokenType: 'forever' });
			const http = transport();

			const error = await loginFailure(http.postJson, settings);

			expect(error.reason).toBe('longTokenRefused');
			expect(error.message).toMatch(/long-term token of type "forever"/);
			expect(error.message).toMatch(/Check the credential's "Token Type"/);
			expect(http.exchanges).toEqual([
				{ path: SHORT, status: STATUS.ok },
				{ path: LONG, status: STATUS.badRequest },
			]);
			expect(issuedTokens()).toHaveLength(1);
			expectNoSecretIn(error, settings);
		});

		test('Factori unreachable: nothing listens on the port', async () => {
			const settings: LoginSettings = {
				baseUrl: `http://127.0.0.1:${await closedPort()}/api/v1.0`,
				username: uniqueName('offline'),
				password: 'offline-password-1',
				temporaryPassword: 'offline-temporary-1',
			};

			const error = await loginFailure(transport().postJson, settings);

			expect(error.reason).toBe('unreachable');
			expect(error.message).toMatch(/^Could not reach Factori at http:\/\/127\.0\.0\.1:\d+\/api\/v1\.0\/create_short_token/);
			expect(error.message).toContain('(the connection was refused)');
			expect(error.message).toMatch(/Check the credential's Base URL/);
			// n8n swaps a whole message that names a Node error code for a generic one.
			expect(error.message).not.toMatch(/ECONN|getaddrinfo/i);
			expectNoSecretIn(error, settings);
		});

		test.each([
			{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND factori.example', shown: '(the host name could not be resolved)' },
			{ code: 'ECONNABORTED', message: 'timeout of 30000ms exceeded', shown: '(no answer came in time)' },
			{ code: 'ECONNRESET', message: 'socket hang up', shown: '(the connection was closed before an answer came)' },
		])('Factori unreachable: $code reads $shown', async ({ code, message, shown }) => {
			const settings = newAccount('ready');
			const failing: PostJson = async () => {
				throw Object.assign(new Error(message), { code });
			};

			const error = await loginFailure(failing, settings);

			expect(error.reason).toBe('unreachable');
			expect(error.message).toContain(`/create_short_token ${shown}.`);
			expect(error.message).not.toContain(code);
		});

		test.each([
			{ thrown: 'socket hang up', shown: '(socket hang up)' },
			{ thrown: 'getaddrinfo EAI_FAIL factori.example', shown: '(factori.example)' },
			{ thrown: 'EPROTO', shown: '(no answer came)' },
			{ thrown: 'failed with EPROTO', shown: '(failed with)' },
		])('Factori unreachable: "$thrown" with no known code reads $shown', async ({ thrown, shown }) => {
			const settings = newAccount('ready');
			const failing: PostJson = async () => {
				throw new Error(thrown);
			};

			const error = await loginFailure(failing, settings);

			expect(error.reason).toBe('unreachable');
			expect(error.message).toContain(`/create_short_token ${shown}.`);
		});

		test('the connection drops on the long token call', async () => {
			const settings = newAccount('ready');
			sim.injectFault({ path: LONG, drop: true });

			const error = await loginFailure(transport().postJson, settings);

			expect(error.reason).toBe('unreachable');
			expect(error.message).toMatch(/create_long_token \(the connection was closed before an answer came\)/);
			expectNoSecretIn(error, settings);
		});

		test.each([
			{ step: 'create_short_token', path: SHORT, status: 503 },
			{ step: 'reset_password', path: RESET, status: 500 },
			{ step: 'create_long_token', path: LONG, status: 502 },
		])('a $status from $step', async ({ step, path, status }) => {
			const settings = newAccount(path === RESET ? 'temporary' : 'ready');
			sim.injectFault({ path, status });
			const http = transport();

			const error = await loginFailure(http.postJson, settings);

			expect(error.reason).toBe('unexpectedAnswer');
			expect(error.message).toContain(`Factori answered ${status} to ${step}.`);
			expect(error.message).toMatch(/check the Base URL and Factori's status/);
			expect(http.exchanges[http.exchanges.length - 1]).toEqual({ path, status });
			expectNoSecretIn(error, settings);
		});

		test('a 5xx with no body', async () => {
			const settings = newAccount('ready');
			sim.injectFault({ path: SHORT, status: 500, body: '' });

			const error = await loginFailure(transport().postJson, settings);

			expect(error.reason).toBe('unexpectedAnswer');
			expect(error.message).toMatch(/^Factori answered 500 to create_short_token\. If this persists/);
		});

		test.each([
			{ step: 'create_short_token', path: SHORT, body: '{"status": "success", "tok' },
			{ step: 'create_short_token', path: SHORT, body: { status: 'success' } },
			{ step: 'create_long_token', path: LONG, body: '<html>gateway</html>' },
			{ step: 'create_long_token', path: LONG, body: { status: 'success', token: 42 } },
		])('a malformed 200 from $step: $body', async ({ step, path, body }) => {
			const settings = newAccount('ready');
			sim.injectFault({ path, status: STATUS.ok, body });

			const error = await loginFailure(transport().postJson, settings);

			expect(error.reason).toBe('unexpectedAnswer');
			expect(error.message).toContain(`Factori's answer to ${step} holds no token.`);
			expect(error.message).toMatch(/\/api\/v1\.0/);
			expectNoSecretIn(error, settings);
		});

		test('secrets a server echoes back are redacted from the message', async () => {
			const settings = newAccount('temporary');
			const echo = `bad request for ${settings.username}: ${settings.temporaryPassword} -> ${settings.password}`;
			sim.injectFault({ path: RESET, status: STATUS.badRequest, body: { status: 'error', message: echo } });

			const error = await loginFailure(transport().postJson, settings);

			expect(error.reason).toBe('newPasswordRejected');
			expect(error.message).toContain(`Factori says: "bad request for ${settings.username}: [redacted] -> [redacted]".`);
			expectNoSecretIn(error, settings);
		});

		test('a password with a code-like word in it is redacted whole from a network failure', async () => {
			const settings = { ...newAccount('ready'), password: 'open ESESAME now' };
			const failing: PostJson = async (_url, body) => {
				throw new Error(`could not send ${JSON.stringify(body)}`);
			};

			const error = await loginFailure(failing, settings);

			expect(error.message).toContain('"password":"[redacted]"');
			expect(error.message).not.toMatch(/open|now"/);
		});

		test.each([SHORT, RESET, LONG])('a network failure on %s that quotes the request body shows no secret', async (failingPath) => {
			const settings = newAccount('temporary');
			const http = transport();
			const quoting: PostJson = async (url, body) => {
				if (url.endsWith(failingPath)) throw new Error(`could not send ${JSON.stringify(body)}`);
				return await http.postJson(url, body);
			};

			const error = await loginFailure(quoting, settings);

			expect(error.reason).toBe('unreachable');
			expect(error.message).toContain(`${failingPath} (could not send {`);
			expect(error.message).toContain('[redacted]');
			if (failingPath === LONG) expect(issuedTokens()).toHaveLength(1);
			expectNoSecretIn(error, settings);
		});

		test('a long token refusal that echoes the short token does not show it', async () => {
			const settings = newAccount('ready', { tokenType: 'forever' });
			const echoing: PostJson = async (url, body) => {
				const answer = await transport().postJson(url, body);
				if (!url.endsWith(LONG)) return answer;
				return { status: STATUS.badRequest, body: { status: 'error', message: `bad temp_token ${JSON.stringify(body)}` } };
			};

			const error = await loginFailure(echoing, settings);

			expect(error.reason).toBe('longTokenRefused');
			expect(error.message).toContain('[redacted]');
			expect(issuedTokens().length).toBeGreaterThan(0);
			expectNoSecretIn(error, settings);
		});
	});

	describe('coalescing', () => {
		const login = (settings: LoginSettings, http = transport()) => () => logIn(http.postJson, settings);

		test('20 concurrent callers with no token cause one login and all get its token', async () => {
			const settings = newAccount('temporary');
			const logins = new LoginCoalescer();
			const run = jest.fn(login(settings));

			const tokens = await Promise.all(
				Array.from({ length: 20 }, async () => await logins.token(loginKey(settings), undefined, run)),
			);

			expect(run).toHaveBeenCalledTimes(1);
			expect(sim.stats.logins).toEqual({ [settings.username]: 1 });
			expect(sim.stats.resets).toEqual({ [settings.username]: 1 });
			expect(sim.stats.calls(LONG)).toBe(1);
			expect(new Set(tokens).size).toBe(1);
			expect(await usageStatus(tokens[0])).toBe(STATUS.ok);
		});

		test('a caller holding an older token than the last login produced gets the newer one, with no login', async () => {
			const settings = newAccount('ready');
			const logins = new LoginCoalescer();
			const key = loginKey(settings);
			const run = jest.fn(login(settings));
			const first = await logins.token(key, undefined, run);
			// One request got 401 with `first` and logged in again...
			const second = await logins.token(key, first, run);
			expect(second).not.toBe(first);
			expect(run).toHaveBeenCalledTimes(2);

			// ...while another request had left with `first` before that login finished.
			const late = await logins.token(key, first, run);
			const fresh = await logins.token(key, undefined, run);

			expect(late).toBe(second);
			expect(fresh).toBe(second);
			expect(run).toHaveBeenCalledTimes(2);
			expect(sim.stats.logins).toEqual({ [settings.username]: 2 });
		});

		test('callers holding the latest token (it got 401) cause exactly one new login', async () => {
			const settings = newAccount('ready');
			const logins = new LoginCoalescer();
			const key = loginKey(settings);
			const run = jest.fn(login(settings));
			const current = await logins.token(key, undefined, run);
			sim.expireTokens(settings.username);
			expect(await usageStatus(current)).toBe(STATUS.unauthorized);

			const renewed = await Promise.all(Array.from({ length: 20 }, async () => await logins.token(key, current, run)));

			expect(run).toHaveBeenCalledTimes(2);
			expect(sim.stats.logins).toEqual({ [settings.username]: 2 });
			expect(new Set(renewed).size).toBe(1);
			expect(renewed[0]).not.toBe(current);
			expect(await usageStatus(renewed[0])).toBe(STATUS.ok);
		});

		test('another password is another key: it never borrows the token, and logs in (and fails) on its own', async () => {
			const right = newAccount('ready');
			const wrong = { ...right, password: 'another-password-1' };
			const logins = new LoginCoalescer();
			const rightRun = jest.fn(login(right));
			const wrongRun = jest.fn(login(wrong));

			const [token, failure] = await Promise.all([
				logins.token(loginKey(right), undefined, rightRun),
				logins.token(loginKey(wrong), undefined, wrongRun).catch((error: unknown) => error),
			]);
			const again = await logins.token(loginKey(wrong), undefined, wrongRun).catch((error: unknown) => error);

			expect(loginKey(wrong)).not.toBe(loginKey(right));
			expect(await usageStatus(token as string)).toBe(STATUS.ok);
			expect(failure).toBeInstanceOf(LoginError);
			expect(again).toBeInstanceOf(LoginError);
			expect(rightRun).toHaveBeenCalledTimes(1);
			expect(wrongRun).toHaveBeenCalledTimes(2);
			expect(sim.stats.calls(SHORT, STATUS.ok)).toBe(1);
			expect(sim.stats.calls(SHORT, STATUS.unauthorized)).toBe(2);
		});

		test('a failed login is shared by the callers waiting on it, and not remembered', async () => {
			const settings = { ...newAccount('ready'), password: 'not-the-password-1' };
			const logins = new LoginCoalescer();
			const run = jest.fn(login(settings));
			const key = loginKey(settings);

			const failures = await Promise.all(
				Array.from({ length: 5 }, async () => await logins.token(key, undefined, run).catch((error: unknown) => error)),
			);
			expect(run).toHaveBeenCalledTimes(1);
			expect(sim.stats.calls(SHORT)).toBe(1);
			for (const failure of failures) expect((failure as LoginError).reason).toBe('badCredentials');

			await expect(logins.token(key, undefined, run)).rejects.toThrow(LoginError);
			expect(run).toHaveBeenCalledTimes(2);
		});

		test('the login key names the account, not its secrets, and ignores a trailing slash', () => {
			const settings: LoginSettings = {
				baseUrl: 'http://127.0.0.1:1/api/v1.0',
				username: 'someone',
				password: 'password-of-someone',
				temporaryPassword: 'temporary-of-someone',
				tokenType: 'long',
			};
			const key = loginKey(settings);

			expect(key.startsWith('http://127.0.0.1:1/api/v1.0|someone|')).toBe(true);
			expect(key).not.toContain(settings.password);
			expect(key).not.toContain(settings.temporaryPassword);
			expect(loginKey({ ...settings, baseUrl: `${settings.baseUrl}/` })).toBe(key);
			for (const other of [
				{ username: 'someone-else' },
				{ password: 'another-password' },
				{ temporaryPassword: undefined },
				{ tokenType: 'extended' },
				{ baseUrl: 'http://127.0.0.1:2/api/v1.0' },
			]) {
				expect(loginKey({ ...settings, ...other })).not.toBe(key);
			}
		});
	});

	test('the secret checks see every token the simulator issues', async () => {
		// Guards the spy above: the tokens it collects are the ones the flow receives.
		const settings = newAccount('ready');
		const token = await logIn(transport().postJson, settings);
		expect(issuedTokens()).toContain(token);
		expect(tokenIn({ status: 'success', token })).toBe(token);
	});
});
