/**
 * Executions that run at the same time on one Factori account (same base URL and user name)
 * share its budget: one pacer per account per process. Run by n8n-core against the simulator
 * over HTTP, the way two workflows (or two runs of one) would run in one n8n instance.
 */
import type { INodeExecutionData, IRun } from 'n8n-workflow';

import { STATUS } from '../../nodes/Factori/transport/contract';
import { defaultMaxInFlight } from '../../nodes/Factori/transport/pacer';
import { accountFixtures, type AccountFixture as Fixture } from '../support/account-fixture';
import { factoriNode, outputOf, runWorkflow } from '../support/n8n-harness';

const DATA = '/consumer/data';
const PERIOD_MS = 1_000;
const ACCOUNT = { username: 'shared', password: 'shared-password-1' };

const start = accountFixtures(ACCOUNT);

const emails = (count: number, label: string): INodeExecutionData[] =>
	Array.from({ length: count }, (_, index) => ({ json: { email: `${label}.${index}@example.com` } }));

const lookupNode = () =>
	factoriNode(
		{ resource: 'consumer', operation: 'lookup', identifierType: 'email', identifier: '={{ $json.email }}' },
		{ onError: 'continueErrorOutput' },
	);

const execute = (fixture: Fixture, input: INodeExecutionData[], signal?: AbortSignal) =>
	runWorkflow({ nodes: [lookupNode()], input, store: fixture.store, signal });

/** Every input item has its own result, in input order, paired to it. */
function expectAllAnswered(run: IRun, input: INodeExecutionData[]): void {
	expect(outputOf(run, 'Factori', 1)).toHaveLength(0);
	const results = outputOf(run, 'Factori', 0);
	expect(results.map((item) => item.pairedItem)).toEqual(input.map((_item, index) => ({ item: index })));
	expect(results.map((item) => item.json.identifier)).toEqual(input.map((item) => item.json.email));
	expect(results.every((item) => item.json.matched === true)).toBe(true);
}

/** Position in arrival order of each call whose identifier starts with `label.`. */
const positionsOf = (fixture: Fixture, label: string) =>
	fixture.calls.flatMap((call, index) => (call.value.startsWith(`${label}.`) ? [index] : []));

describe('two executions at once on one account', () => {
	test('at the default 200 a second: they share the budget, no window holds more than 200, no 429', async () => {
		const fixture = await start(200);
		const first = emails(400, 'first');
		const second = emails(400, 'second');

		const [one, two] = await Promise.all([execute(fixture, first), execute(fixture, second)]);

		expectAllAnswered(one, first);
		expectAllAnswered(two, second);
		expect(fixture.sim.stats.calls(DATA, STATUS.rateLimited)).toBe(0);
		expect(fixture.sim.stats.calls(DATA)).toBe(800);
		expect(fixture.sim.stats.maxArrivalsInWindow).toBeLessThanOrEqual(200);
		// Both made progress side by side, not one after the other.
		const firstHalf = fixture.calls.slice(0, 400).map((call) => call.value);
		expect(firstHalf.filter((value) => value.startsWith('first.')).length).toBeGreaterThan(100);
		expect(firstHalf.filter((value) => value.startsWith('second.')).length).toBeGreaterThan(100);
	});

	test('at 20 a second with 300 ms latency: within the limit, no 429, in flight bounded', async () => {
		const limit = 20;
		const fixture = await start(limit, { latencyMs: 300 });
		const first = emails(40, 'first');
		const second = emails(40, 'second');

		const [one, two] = await Promise.all([execute(fixture, first), execute(fixture, second)]);

		expectAllAnswered(one, first);
		expectAllAnswered(two, second);
		expect(fixture.sim.stats.calls(DATA, STATUS.rateLimited)).toBe(0);
		expect(fixture.sim.stats.maxArrivalsInWindow).toBeLessThanOrEqual(limit);
		// One account, one bound on requests in flight, however many executions use it.
		expect(fixture.sim.stats.peakInFlight).toBeLessThanOrEqual(defaultMaxInFlight(limit, PERIOD_MS));
	});

	test('a small execution started behind a big one is served at once, not after it', async () => {
		const fixture = await start(20);
		const big = emails(100, 'big');
		const small = emails(10, 'small');

		const bigRun = execute(fixture, big);
		// The small one starts while the big one has 95 items still queued in the pacer.
		while (fixture.calls.length < 5) await new Promise((resolve) => setTimeout(resolve, 5));
		const smallRun = execute(fixture, small);
		const [bigDone, smallDone] = await Promise.all([bigRun, smallRun]);

		expectAllAnswered(bigDone, big);
		expectAllAnswered(smallDone, small);
		// Served in turns: the small run's ten calls are done before half of the big run's,
		// where first come, first served would put them after all hundred.
		expect(Math.max(...positionsOf(fixture, 'small'))).toBeLessThan(positionsOf(fixture, 'big')[50]);
		expect(fixture.sim.stats.maxArrivalsInWindow).toBeLessThanOrEqual(20);
	});

	test("one execution's 429 cools the whole account off: the other pauses too", async () => {
		const limit = 20;
		const fixture = await start(limit);
		fixture.sim.injectFault({ path: DATA, status: STATUS.rateLimited, headers: { 'Retry-After': '2' } });
		const first = emails(30, 'first');
		const second = emails(30, 'second');

		const [one, two] = await Promise.all([execute(fixture, first), execute(fixture, second)]);

		expectAllAnswered(one, first);
		expectAllAnswered(two, second);
		expect(fixture.sim.stats.calls(DATA, STATUS.rateLimited)).toBe(1);
		const refusedAt = fixture.calls[0].at;
		// Were only the execution that got the 429 paused, the other would go on through the
		// cool-off; only the requests already on their way may arrive in it.
		const during = fixture.calls.filter(({ at }) => at > refusedAt && at < refusedAt + 2_000);
		expect(during.length).toBeLessThanOrEqual(defaultMaxInFlight(limit, PERIOD_MS));
		expect(fixture.sim.stats.maxArrivalsInWindow).toBeLessThanOrEqual(limit);
	});

	test('cancelling one execution leaves the other to finish every item', async () => {
		const fixture = await start(20);
		const first = emails(60, 'first');
		const second = emails(60, 'second');
		const controller = new AbortController();

		const cancelled = execute(fixture, first, controller.signal);
		const going = execute(fixture, second);
		while (fixture.calls.length < 20) await new Promise((resolve) => setTimeout(resolve, 5));
		controller.abort();
		const [one, two] = await Promise.all([cancelled, going]);

		expect(one.status).toBe('canceled');
		expectAllAnswered(two, second);
		// The cancelled run sent only what it had sent before, plus what was on its way.
		expect(positionsOf(fixture, 'first').length).toBeLessThan(40);
		expect(fixture.sim.stats.maxArrivalsInWindow).toBeLessThanOrEqual(20);
	});
});
