/**
 * The usage operation through whole workflows run by n8n-core against the simulator, checked
 * against the simulator's own counts.
 */
import type { IDataObject, INode, IRun } from 'n8n-workflow';

import { type Simulator } from '../../dev/simulator/server';
import { PATHS, type Usage } from '../../nodes/Factori/transport/contract';
import { useSimulator } from '../support/simulator-fixture';
import { CredentialStore, errorOf, factoriNode, outputOf, runWorkflow } from '../support/n8n-harness';

let sim: Simulator;
let accountCount = 0;

useSimulator({ latencyMs: 0 }, (started) => (sim = started));

function account(maxLimit?: number): { username: string; password: string; store: CredentialStore } {
	const username = `usage-user-${++accountCount}`;
	const password = `own-password-${accountCount}-y`;
	sim.addAccount({ username, password, maxLimit });
	const store = new CredentialStore(() => undefined);
	store.put('cred-1', { username, password, baseUrl: sim.url });
	return { username, password, store };
}

async function getUsage(
	store: CredentialStore,
	input: IDataObject[] = [{}],
	onError?: 'continueRegularOutput' | 'continueErrorOutput',
): Promise<IRun> {
	return await runWorkflow({
		nodes: [factoriNode({ resource: 'usage', operation: 'get' }, onError ? { onError } : {})],
		input: input.map((json) => ({ json })),
		store,
	});
}

async function lookUp(store: CredentialStore, emails: string[], extra: Partial<INode> = {}): Promise<IRun> {
	return await runWorkflow({
		nodes: [
			factoriNode(
				{ resource: 'consumer', operation: 'lookup', identifierType: 'email', identifier: '={{ $json.email }}' },
				extra,
			),
		],
		input: emails.map((email) => ({ json: { email } })),
		store,
	});
}

/** The one item the usage operation put out; fails the test unless there is exactly one. */
function onlyItem(run: IRun) {
	expect(errorOf(run, 'Factori')).toBeUndefined();
	const items = outputOf(run, 'Factori', 0);
	expect(items).toHaveLength(1);
	expect(items[0].pairedItem).toEqual({ item: 0 });
	return items[0];
}

const withPercent = (usage: Usage, percent: number) => ({ ...usage, percent_used: percent });

test('a fresh account: the four fields Factori returns, and 0 percent used', async () => {
	const { username, store } = account();
	const run = await getUsage(store);

	const item = onlyItem(run);
	expect(sim.usage(username)).toEqual({ max_limit: 1_000_000, usage_quota: 1_000_000, total_hits: 0, failed_requests: 0 });
	expect(item.json).toEqual(withPercent(sim.usage(username), 0));
	expect(sim.stats.calls(PATHS.usage)).toBe(1);
	expect(sim.stats.calls(PATHS.consumerData)).toBe(0);
});

test('one call and one item, however many items come in', async () => {
	const { username, store } = account();
	const run = await getUsage(store, [{ a: 1 }, { a: 2 }, { a: 3 }]);

	expect(onlyItem(run).json).toEqual(withPercent(sim.usage(username), 0));
	expect(sim.stats.calls(PATHS.usage)).toBe(1);
});

test('after lookups: the counts the simulator keeps, and the share of the quota they used', async () => {
	const { username, store } = account(40);
	// Three distinct identifiers (one without a match, which is billed too), one duplicate.
	await lookUp(store, ['one@example.com', 'two.nomatch@example.com', 'three@example.com', 'ONE@example.com']);
	expect(sim.stats.calls(PATHS.consumerData)).toBe(3);

	const item = onlyItem(await getUsage(store));
	expect(sim.usage(username)).toEqual({ max_limit: 40, usage_quota: 37, total_hits: 3, failed_requests: 0 });
	expect(item.json).toEqual(withPercent(sim.usage(username), 7.5));
});

test('failed requests are not billed; the percentage is rounded to two decimals', async () => {
	const { username, store } = account();
	sim.setQuota(username, { maxLimit: 200, totalHits: 150, failedRequests: 10 });
	expect(onlyItem(await getUsage(store)).json).toEqual(withPercent(sim.usage(username), 70));

	sim.setQuota(username, { maxLimit: 3, totalHits: 1, failedRequests: 0 });
	expect(onlyItem(await getUsage(store)).json).toEqual(withPercent(sim.usage(username), 33.33));
});

test('a nearly spent quota, then a spent one', async () => {
	const { username, store } = account();
	sim.setQuota(username, { maxLimit: 1000, totalHits: 998 });
	await lookUp(store, ['last@example.com']);

	const nearly = onlyItem(await getUsage(store));
	expect(sim.usage(username)).toEqual({ max_limit: 1000, usage_quota: 1, total_hits: 999, failed_requests: 0 });
	expect(nearly.json).toEqual(withPercent(sim.usage(username), 99.9));

	await lookUp(store, ['very-last@example.com']);
	const spent = await lookUp(store, ['one-too-many@example.com'], { onError: 'continueRegularOutput' });
	expect(outputOf(spent, 'Factori', 0)[0].json.error).toMatch(/no credits left/);

	const none = onlyItem(await getUsage(store));
	expect(sim.usage(username)).toEqual({ max_limit: 1000, usage_quota: 0, total_hits: 1000, failed_requests: 0 });
	expect(none.json).toEqual(withPercent(sim.usage(username), 100));
});

describe('when Factori refuses the usage call', () => {
	test('under "Continue (using error output)" the one item goes to the error output', async () => {
		const { store } = account();
		sim.injectFault({ path: PATHS.usage, status: 403, body: { status: 'error', message: 'Forbidden' } });
		const run = await getUsage(store, [{}], 'continueErrorOutput');

		expect(outputOf(run, 'Factori', 0)).toEqual([]);
		const errors = outputOf(run, 'Factori', 1);
		expect(errors).toHaveLength(1);
		expect(errors[0].pairedItem).toEqual({ item: 0 });
		expect(errors[0].json.error).toMatch(/answered 403/);
	});

	test('under "Stop Workflow" the node fails', async () => {
		const { store } = account();
		sim.injectFault({ path: PATHS.usage, status: 403 });
		const run = await getUsage(store);

		expect(errorOf(run, 'Factori')?.message).toMatch(/answered 403/);
		expect(outputOf(run, 'Factori', 0)).toEqual([]);
	});
});
