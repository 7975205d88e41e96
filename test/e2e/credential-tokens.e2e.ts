/**
 * The credential's token flow in a real n8n, over the published webhook example: the first
 * execution turns the temporary password into the user's own and logs in; later
 * executions, also after an n8n restart, use the token n8n stored; a token the server
 * expired costs exactly one new login. The credential test is run as the editor runs it.
 *
 * The tests run in order and build on each other, as a user's day with the node does.
 */
import { startSimulator, type Simulator } from '../../dev/simulator/server';
import { FACTORI_CREDENTIAL_TYPE } from '../../dev/examples';
import { executionIds, execution } from './support/executions';
import { leaks, tokensSeen, type Secrets } from './support/secrets';
import { SharedN8n } from './support/shared-n8n';
import { publishWebhookExample, type PublishedWebhook } from './support/workflows';

const NEW_ACCOUNT = { username: 'e2e-new-user', temporaryPassword: 'temporary-pass-e2e' };
const CHOSEN_PASSWORD = 'chosen-pass-e2e-1';
const READY_ACCOUNT = { username: 'e2e-ready-user', password: 'ready-pass-e2e-1' };
const WRONG_PASSWORD = 'wrong-pass-e2e-1';

interface Entry {
	matched?: boolean;
	identifier?: string;
	consumer?: Record<string, unknown> | null;
	error?: string;
}

interface CredentialTestResult {
	status: string;
	message: string;
}

describe('the Factori credential in n8n', () => {
	let n8n: SharedN8n;
	let sim: Simulator;
	let webhook: PublishedWebhook;
	let credential: { id: string; name: string };

	const logins = () => sim.stats.logins[NEW_ACCOUNT.username] ?? 0;
	const resets = () => sim.stats.resets[NEW_ACCOUNT.username] ?? 0;

	async function enrich(emails: string[]): Promise<Entry[]> {
		const answer = await webhook.post({ contacts: emails.map((email) => ({ email })) });
		expect(answer.status).toBe(200);
		return answer.body as Entry[];
	}

	beforeAll(async () => {
		sim = await startSimulator({ accounts: [NEW_ACCOUNT, READY_ACCOUNT] });
		n8n = await SharedN8n.open();
		// As a user fills in the credential form: their new password and the temporary one.
		credential = await n8n.rest.createCredential('Factori (token flow test)', FACTORI_CREDENTIAL_TYPE, {
			username: NEW_ACCOUNT.username,
			password: CHOSEN_PASSWORD,
			temporaryPassword: NEW_ACCOUNT.temporaryPassword,
			baseUrl: sim.url,
		});
		webhook = await publishWebhookExample(n8n, credential, 'e2e-token-flow');
	});

	afterAll(async () => {
		await sim?.stop();
	});

	test('the first execution resets the temporary password, logs in once and enriches', async () => {
		expect(logins()).toBe(0);
		const entries = await enrich(['first.person@example.com', 'second.person@example.com', 'third.person@example.com']);

		expect(entries.map((entry) => entry.matched)).toEqual([true, true, true]);
		expect(resets()).toBe(1);
		expect(logins()).toBe(1);
		expect(sim.stats.calls('/consumer/data', 200)).toBe(3);
	});

	test('a second execution reuses the stored token: no new login', async () => {
		const entries = await enrich(['fourth.person@example.com', 'fifth.person@example.com']);

		expect(entries.map((entry) => entry.matched)).toEqual([true, true]);
		expect(logins()).toBe(1);
		expect(resets()).toBe(1);
		expect(new Set(sim.stats.authorizations).size).toBe(1);
	});

	test('after an n8n restart the token stored in the database is used: no new login', async () => {
		await n8n.restart();
		await webhook.ready();

		const entries = await enrich(['sixth.person@example.com']);

		expect(entries.map((entry) => entry.matched)).toEqual([true]);
		expect(logins()).toBe(1);
		expect(new Set(sim.stats.authorizations).size).toBe(1);
	});

	test('tokens the server expired: exactly one new login, every contact still enriched', async () => {
		expect(sim.expireTokens(NEW_ACCOUNT.username)).toBeGreaterThan(0);
		const emails = Array.from({ length: 8 }, (_, index) => `after.expiry.${index}@example.com`);

		const entries = await enrich(emails);

		expect(entries.map((entry) => entry.error ?? entry.matched)).toEqual(emails.map(() => true));
		expect(entries.map((entry) => entry.identifier)).toEqual(emails);
		expect(sim.stats.calls('/consumer/data', 401)).toBeGreaterThanOrEqual(1);
		expect(logins()).toBe(2);
		expect(resets()).toBe(1);
		expect(new Set(sim.stats.authorizations).size).toBe(2);
	});

	test('the credential test, as the editor runs it, logs in and reads the usage', async () => {
		// The editor loads the credential (secrets redacted) and sends it back to be tested.
		const stored = await n8n.rest.request<{ id: string; name: string; type: string; data: Record<string, unknown> }>(
			'GET',
			`/credentials/${credential.id}?includeData=true`,
		);
		expect(stored.data.password).not.toBe(CHOSEN_PASSWORD);
		const usageCalls = sim.stats.calls('/consumer/usage', 200);

		const result = await n8n.rest.request<CredentialTestResult>('POST', '/credentials/test', {
			credentials: { id: stored.id, name: stored.name, type: stored.type, data: stored.data },
		});

		expect(result.status).toBe('OK');
		expect(sim.stats.calls('/consumer/usage', 200)).toBe(usageCalls + 1);
		expect(resets()).toBe(1);
	});

	test('the credential test with a wrong password fails and says why, without the password', async () => {
		const wrong = await n8n.rest.createCredential('Factori (wrong password)', FACTORI_CREDENTIAL_TYPE, {
			username: READY_ACCOUNT.username,
			password: WRONG_PASSWORD,
			baseUrl: sim.url,
		});
		const stored = await n8n.rest.request<{ id: string; name: string; type: string; data: Record<string, unknown> }>(
			'GET',
			`/credentials/${wrong.id}?includeData=true`,
		);

		const result = await n8n.rest.request<CredentialTestResult>('POST', '/credentials/test', {
			credentials: { id: stored.id, name: stored.name, type: stored.type, data: stored.data },
		});

		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/password/i);
		expect(leaks(result.message, { 'wrong password': WRONG_PASSWORD, 'account password': READY_ACCOUNT.password })).toEqual([]);
		expect(sim.stats.logins[READY_ACCOUNT.username] ?? 0).toBe(0);
	});

	test('no password or token appears in execution data, the database or the n8n log', async () => {
		const secrets: Secrets = {
			'temporary password': NEW_ACCOUNT.temporaryPassword,
			'chosen password': CHOSEN_PASSWORD,
			'wrong password': WRONG_PASSWORD,
			'ready account password': READY_ACCOUNT.password,
			...tokensSeen(sim.stats.authorizations),
		};
		expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(6);

		const ids = await executionIds(n8n.rest, webhook.workflow.id);
		expect(ids.length).toBe(4);
		for (const id of ids) {
			const run = await execution(n8n.rest, id);
			expect(run.status).toBe('success');
			expect(run.raw).toContain('@example.com');
			expect({ execution: id, leaks: leaks(run.raw, secrets, { tokenShape: true }) }).toEqual({ execution: id, leaks: [] });
		}
		const database = await n8n.databaseBytes();
		expect(database).toContain('after.expiry.7@example.com');
		expect(leaks(database, secrets)).toEqual([]);
		const log = await n8n.log();
		expect(log).toMatch(/e2e-token-flow/);
		expect(leaks(log, secrets, { tokenShape: true })).toEqual([]);
	});
});
