/**
 * The factoriApi credential in whole workflows run by n8n-core: n8n finds no token, runs the
 * credential's preAuthentication, saves the long token and sends it as a Bearer header; on a
 * 401 it runs preAuthentication again and resends once. The simulator's counts show how
 * many resets and logins that costs.
 *
 * Logins are coalesced and accounts paced per process, keyed by base URL and user name, so
 * every test uses an account of its own.
 */
import type { ICredentialDataDecryptedObject, IHttpRequestHelper, INodeExecutionData, IRun } from 'n8n-workflow';

import { FactoriApi } from '../../credentials/FactoriApi.credentials';
import { PATHS, STATUS } from '../../nodes/Factori/transport/contract';
import { type Simulator } from '../../dev/simulator/server';
import { closedPort, trackIssuedTokens, useSimulator } from '../support/simulator-fixture';
import { CredentialStore, errorOf, factoriNode, outputOf, runWorkflow } from '../support/n8n-harness';

const SHORT = PATHS.createShortToken;
const LONG = PATHS.createLongToken;
const RESET = PATHS.resetPassword;
const CREDENTIAL_ID = 'cred-1';

const usageNode = (extra: Parameters<typeof factoriNode>[1] = {}) =>
	factoriNode({ resource: 'usage', operation: 'get' }, extra);
const lookupNode = (extra: Parameters<typeof factoriNode>[1] = {}) =>
	factoriNode(
		{ resource: 'consumer', operation: 'lookup', identifierType: 'email', identifier: '={{ $json.email }}' },
		extra,
	);
const emails = (count: number, label: string): INodeExecutionData[] =>
	Array.from({ length: count }, (_, index) => ({ json: { email: `person${index}.${label}@example.com` } }));

let accountCounter = 0;

describe('the factoriApi credential in workflows run by n8n-core', () => {
	let sim: Simulator;
	useSimulator({}, (started) => (sim = started));
	const issuedTokens = trackIssuedTokens();
	afterEach(() => jest.restoreAllMocks());

	interface Account {
		username: string;
		password: string;
		temporaryPassword?: string;
		store: CredentialStore;
		/** The credential as n8n keeps it, long token included once saved. */
		saved: () => ICredentialDataDecryptedObject;
	}

	/** A fresh simulator account and a credential store holding the credential for it. */
	function newAccount(kind: 'temporary' | 'ready', credential: Partial<ICredentialDataDecryptedObject> = {}): Account {
		const username = `${kind}-workflow-${++accountCounter}`;
		const password = `own-${username}-Z9x`;
		const temporaryPassword = kind === 'temporary' ? `temp-${username}-Q7` : undefined;
		sim.addAccount(kind === 'temporary' ? { username, temporaryPassword } : { username, password });
		const store = new CredentialStore(() => undefined);
		store.put(CREDENTIAL_ID, {
			username,
			password,
			...(temporaryPassword ? { temporaryPassword } : {}),
			baseUrl: sim.url,
			...credential,
		});
		return { username, password, temporaryPassword, store, saved: () => store.saved.get(CREDENTIAL_ID) ?? {} };
	}

	/**
	 * Holds every call of the credential's preAuthentication until `count` of them are
	 * waiting, so that they all found no token (or a rejected one) before any login ends.
	 */
	function gatePreAuthentication(count: number) {
		const original = FactoriApi.prototype.preAuthentication;
		let arrived = 0;
		let open: () => void = () => {};
		const gate = new Promise<void>((resolve) => (open = resolve));
		// A run that never brings `count` callers fails its assertions rather than hanging.
		const fallback = setTimeout(open, 10_000);
		jest.spyOn(FactoriApi.prototype, 'preAuthentication').mockImplementation(async function (this: IHttpRequestHelper, credentials) {
			if (++arrived >= count) {
				clearTimeout(fallback);
				open();
			}
			await gate;
			return await original.call(this, credentials);
		});
		return { arrivals: () => arrived };
	}

	/** Neither the run's data nor its errors hold a password or a token. */
	function expectNoSecretIn(runs: IRun[], account: Account) {
		const text = JSON.stringify(runs);
		const secrets = [
			account.password,
			account.temporaryPassword,
			...issuedTokens(),
			...sim.stats.authorizations.map((header) => header.replace(/^Bearer /, '')),
		].filter((secret): secret is string => Boolean(secret));
		expect(secrets.length).toBeGreaterThan(0);
		for (const secret of secrets) expect(text).not.toContain(secret);
	}

	const tokenCalls = () => ({
		resets: sim.stats.calls(RESET),
		shortTokens: sim.stats.calls(SHORT),
		longTokens: sim.stats.calls(LONG),
	});

	test('first use with a temporary password: 1 reset, 1 login, 1 long token, saved and sent as Bearer', async () => {
		const account = newAccount('temporary');

		const run = await runWorkflow({ nodes: [usageNode()], input: [{ json: {} }], store: account.store });

		expect(errorOf(run, 'Factori')).toBeUndefined();
		expect(outputOf(run, 'Factori').map((item) => item.json)).toEqual([
			{ max_limit: 1_000_000, usage_quota: 1_000_000, total_hits: 0, failed_requests: 0, percent_used: 0 },
		]);
		expect(sim.stats.resets).toEqual({ [account.username]: 1 });
		expect(sim.stats.logins).toEqual({ [account.username]: 1 });
		expect(sim.stats.calls(SHORT, STATUS.ok)).toBe(1);
		expect(sim.stats.calls(LONG, STATUS.ok)).toBe(1);
		expect(tokenCalls()).toEqual({ resets: 1, shortTokens: 2, longTokens: 1 });

		const longToken = account.saved().longToken;
		expect(typeof longToken).toBe('string');
		expect(issuedTokens()).toContain(longToken);
		expect(sim.stats.authorizations).toEqual([`Bearer ${longToken as string}`]);
		expect(account.store.preAuthCalls).toEqual([{ expired: false }]);
		// What the user entered stays as entered: only the token is added.
		expect(account.saved()).toMatchObject({ username: account.username, password: account.password });
		expectNoSecretIn([run], account);
	});

	test('a second execution uses the saved token: no login at all', async () => {
		const account = newAccount('temporary');
		const first = await runWorkflow({ nodes: [usageNode()], input: [{ json: {} }], store: account.store });
		const longToken = account.saved().longToken as string;
		const before = tokenCalls();

		const second = await runWorkflow({ nodes: [lookupNode()], input: emails(3, 'second'), store: account.store });

		expect(outputOf(second, 'Factori').map((item) => item.json.matched)).toEqual([true, true, true]);
		expect(tokenCalls()).toEqual(before);
		expect(account.store.preAuthCalls).toHaveLength(1);
		expect(account.saved().longToken).toBe(longToken);
		expect(sim.stats.calls(PATHS.consumerData, STATUS.ok)).toBe(3);
		expect(new Set(sim.stats.authorizations)).toEqual(new Set([`Bearer ${longToken}`]));
		expectNoSecretIn([first, second], account);
	});

	test('tokens expired on the server: exactly one new login, then every item succeeds', async () => {
		const account = newAccount('temporary');
		await runWorkflow({ nodes: [usageNode()], input: [{ json: {} }], store: account.store });
		const oldToken = account.saved().longToken as string;
		expect(sim.expireTokens(account.username)).toBeGreaterThan(0);
		const gate = gatePreAuthentication(5);

		const run = await runWorkflow({ nodes: [lookupNode()], input: emails(5, 'expired'), store: account.store });

		expect(errorOf(run, 'Factori')).toBeUndefined();
		expect(outputOf(run, 'Factori').map((item) => item.json.matched)).toEqual([true, true, true, true, true]);
		// All five requests were refused with the old token and asked for a new one...
		expect(gate.arrivals()).toBe(5);
		expect(account.store.preAuthCalls.filter((call) => call.expired)).toHaveLength(5);
		// ...and the account logged in once more, without another reset.
		expect(sim.stats.logins).toEqual({ [account.username]: 2 });
		expect(sim.stats.resets).toEqual({ [account.username]: 1 });
		expect(sim.stats.calls(LONG, STATUS.ok)).toBe(2);
		expect(sim.stats.calls(PATHS.consumerData, STATUS.unauthorized)).toBe(5);
		expect(sim.stats.calls(PATHS.consumerData, STATUS.ok)).toBe(5);

		const newToken = account.saved().longToken as string;
		expect(newToken).not.toBe(oldToken);
		expect(sim.stats.authorizations.filter((header) => header === `Bearer ${newToken}`)).toHaveLength(5);
		expectNoSecretIn([run], account);
	});

	test('20 distinct identifiers in one run and no token yet: the first logs in alone, the rest use its token', async () => {
		const account = newAccount('temporary');

		const run = await runWorkflow({ nodes: [lookupNode()], input: emails(20, 'burst'), store: account.store });

		const items = outputOf(run, 'Factori');
		expect(items).toHaveLength(20);
		expect(items.every((item) => item.json.matched === true)).toBe(true);
		// The other 19 waited for the first answer, by then n8n had saved the token it logged in for.
		expect(account.store.preAuthCalls).toEqual([{ expired: false }]);
		expect(sim.stats.resets).toEqual({ [account.username]: 1 });
		expect(sim.stats.logins).toEqual({ [account.username]: 1 });
		expect(tokenCalls()).toEqual({ resets: 1, shortTokens: 2, longTokens: 1 });
		const longToken = account.saved().longToken as string;
		expect(sim.stats.authorizations).toEqual(Array.from({ length: 20 }, () => `Bearer ${longToken}`));
		expectNoSecretIn([run], account);
	});

	test('several executions started at once on one credential: one login', async () => {
		const account = newAccount('temporary');
		const executions = 5;
		const gate = gatePreAuthentication(executions);

		const runs = await Promise.all(
			Array.from({ length: executions }, async (_, index) =>
				index % 2 === 0
					? await runWorkflow({ nodes: [usageNode()], input: [{ json: {} }], store: account.store })
					: await runWorkflow({ nodes: [lookupNode()], input: emails(1, `execution${index}`), store: account.store }),
			),
		);

		for (const run of runs) {
			expect(errorOf(run, 'Factori')).toBeUndefined();
			expect(outputOf(run, 'Factori')).toHaveLength(1);
		}
		expect(gate.arrivals()).toBe(executions);
		expect(sim.stats.resets).toEqual({ [account.username]: 1 });
		expect(sim.stats.logins).toEqual({ [account.username]: 1 });
		expect(tokenCalls()).toEqual({ resets: 1, shortTokens: 2, longTokens: 1 });
		expect(new Set(sim.stats.authorizations)).toEqual(new Set([`Bearer ${account.saved().longToken as string}`]));
		expectNoSecretIn(runs, account);
	});

	test('a wrong password: every item gets a clear login error, no data call is made', async () => {
		const account = newAccount('ready', { password: 'not-the-password-1' });

		const run = await runWorkflow({
			nodes: [lookupNode({ onError: 'continueRegularOutput' })],
			input: emails(3, 'wrong'),
			store: account.store,
		});

		const items = outputOf(run, 'Factori');
		expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		for (const item of items) {
			expect(item.json.error).toMatch(/^Item \d+: Could not log in to Factori: /);
			expect(item.json.error).toMatch(new RegExp(`did not accept the user name "${account.username}"`));
			expect(item.json.error).toMatch(/Check the credential's "User ID" and "Password"/);
		}
		// The first item tried to log in; the failed login stopped the others before they asked.
		expect(account.store.preAuthCalls).toHaveLength(1);
		expect(sim.stats.calls(SHORT)).toBe(1);
		expect(sim.stats.calls(PATHS.consumerData)).toBe(0);
		expect(sim.stats.authorizations).toEqual([]);
		expect(account.saved().longToken).toBeUndefined();
		expectNoSecretIn([run], { ...account, password: 'not-the-password-1' });
		expectNoSecretIn([run], account);
	});

	test('a wrong password with On Error "Stop Workflow": the run stops with the login error', async () => {
		const account = newAccount('ready', { password: 'not-the-password-1' });

		const run = await runWorkflow({ nodes: [lookupNode()], input: emails(2, 'stop'), store: account.store });

		const error = errorOf(run, 'Factori');
		expect(error?.message).toMatch(/^Item 0: Could not log in to Factori: Factori did not accept the user name/);
		expect(sim.stats.calls(PATHS.consumerData)).toBe(0);
		expectNoSecretIn([run], { ...account, password: 'not-the-password-1' });
	});

	test('a new account without its temporary password: the error says to enter it', async () => {
		const account = newAccount('temporary', { temporaryPassword: '' });

		const run = await runWorkflow({
			nodes: [usageNode({ onError: 'continueRegularOutput' })],
			input: [{ json: {} }],
			store: account.store,
		});

		const [item] = outputOf(run, 'Factori');
		expect(item.json.error).toMatch(/still has the temporary password/);
		expect(item.json.error).toMatch(/"Temporary Password" field/);
		expect(sim.stats.calls(PATHS.usage)).toBe(0);
		expectNoSecretIn([run], account);
	});

	test('a token type Factori refuses: the error names the field', async () => {
		const account = newAccount('ready', { tokenType: 'forever' });

		const run = await runWorkflow({
			nodes: [usageNode({ onError: 'continueRegularOutput' })],
			input: [{ json: {} }],
			store: account.store,
		});

		const [item] = outputOf(run, 'Factori');
		expect(item.json.error).toMatch(/refused to create a long-term token of type "forever"/);
		expect(item.json.error).toMatch(/"Token Type"/);
		expect(sim.stats.calls(PATHS.usage)).toBe(0);
		expectNoSecretIn([run], account);
	});

	test('Factori unreachable: the error names the Base URL', async () => {
		const account = newAccount('ready', { baseUrl: `http://127.0.0.1:${await closedPort()}/api/v1.0` });

		const run = await runWorkflow({
			nodes: [usageNode({ onError: 'continueRegularOutput' })],
			input: [{ json: {} }],
			store: account.store,
		});

		const [item] = outputOf(run, 'Factori');
		expect(item.json.error).toMatch(/Could not reach Factori at http:\/\/127\.0\.0\.1:\d+\/api\/v1\.0/);
		expect(item.json.error).toMatch(/Base URL/);
		expectNoSecretIn([run], account);
	});

	test('a malformed answer to the login: the error says so, not that Factori is unreachable', async () => {
		const account = newAccount('ready');
		sim.injectFault({ path: SHORT, status: STATUS.ok, body: '{"status": "success", "tok' });

		const run = await runWorkflow({
			nodes: [usageNode({ onError: 'continueRegularOutput' })],
			input: [{ json: {} }],
			store: account.store,
		});

		const [item] = outputOf(run, 'Factori');
		expect(item.json.error).toMatch(/answer to create_short_token holds no token/);
		expect(sim.stats.calls(PATHS.usage)).toBe(0);
		expectNoSecretIn([run], account);
	});
});
