/**
 * The Factori node under faults, run by n8n-core against the simulator over HTTP: rate limits,
 * server errors, dropped and slow connections, a token that stops working, credits that run
 * out and answers that break the contract. Whatever happens, every input item ends with
 * exactly one result or one clear error, paired to it; the simulator never sees more than the
 * account's limit in any window; nothing is sent after a 402; a cancelled run stops sending.
 *
 * Every test starts its own simulator: the pacer and the token cache are per account (base
 * URL + user name) and per process, so a fresh port is a fresh account.
 */
import type { INode, INodeExecutionData, INodeParameters, IRun } from 'n8n-workflow';

import { STATUS } from '../../nodes/Factori/transport/contract';
import { defaultMaxInFlight } from '../../nodes/Factori/transport/pacer';
import { DROPPED, type FaultSpec, type Simulator, type SimulatorOptions } from '../../dev/simulator/server';
import { accountFixtures, withStoredToken, type AccountFixture as Fixture } from '../support/account-fixture';
import { factoriNode, outputOf, runWorkflow } from '../support/n8n-harness';

const DATA = '/consumer/data';
const LIMIT = 20;
const PERIOD_MS = 1_000;
/** What the pacer lets run at once at LIMIT per second: the requests already on their way. */
const IN_FLIGHT = defaultMaxInFlight(LIMIT, PERIOD_MS);
const ACCOUNT = { username: 'faults', password: 'faults-password-1' };

const startAccount = accountFixtures(ACCOUNT);
/** A fresh account whose credential already holds a token: faults meet the run, not its login. */
const start = async (options: SimulatorOptions = {}) => await withStoredToken(await startAccount(LIMIT, options), ACCOUNT);

/** Runs `action` once, when the simulator has answered (or dropped) `count` data calls. */
function afterDataCalls(sim: Simulator, count: number, action: () => void): void {
	let seen = 0;
	sim.stats.onCall((path) => {
		if (path === DATA && ++seen === count) action();
	});
}

const emails = (count: number, label = 'item'): INodeExecutionData[] =>
	Array.from({ length: count }, (_, index) => ({ json: { email: `${label}.${index}@Example.com` } }));

const lookupNode = (options: INodeParameters = { maxAttempts: 3 }, onError: INode['onError'] = 'continueErrorOutput') =>
	factoriNode(
		{ resource: 'consumer', operation: 'lookup', identifierType: 'email', identifier: '={{ $json.email }}', options },
		{ onError },
	);

interface Outcome {
	run: IRun;
	results: INodeExecutionData[];
	errors: INodeExecutionData[];
}

async function lookUp(fixture: Fixture, input: INodeExecutionData[], node = lookupNode(), signal?: AbortSignal): Promise<Outcome> {
	const run = await runWorkflow({ nodes: [node], input, store: fixture.store, signal });
	return { run, results: outputOf(run, 'Factori', 0), errors: outputOf(run, 'Factori', 1) };
}

/**
 * Every input item came out exactly once, on the main or the error output, paired to itself:
 * a result names the item's own identifier, an error carries a message and the item's index.
 */
function expectEveryItemOnce({ results, errors }: Outcome, input: INodeExecutionData[]): void {
	expect(results.length + errors.length).toBe(input.length);
	const paired = [...results, ...errors].map((item) => (item.pairedItem as { item: number }).item);
	expect([...paired].sort((a, b) => a - b)).toEqual(input.map((_item, index) => index));
	for (const item of results) {
		const index = (item.pairedItem as { item: number }).item;
		expect(item.json.identifier).toBe(String(input[index].json.email).toLowerCase());
		expect(typeof item.json.matched).toBe('boolean');
	}
	for (const item of errors) {
		const index = (item.pairedItem as { item: number }).item;
		expect(typeof item.json.error).toBe('string');
		expect(item.error?.context.itemIndex).toBe(index);
	}
}

/** The identifier (lowercase email) an error item was paired to. */
const identifierOf = (item: INodeExecutionData, input: INodeExecutionData[]) =>
	String(input[(item.pairedItem as { item: number }).item].json.email).toLowerCase();

function expectWithinLimit(sim: Simulator): void {
	expect(sim.stats.maxArrivalsInWindow).toBeLessThanOrEqual(LIMIT);
}

/** Server times at which `value` arrived, in order. */
function arrivalsOf(fixture: Fixture, value: string): number[] {
	return fixture.sim.stats.identifiers.flatMap((identifier, index) =>
		identifier.value === value ? [fixture.calls[index].at] : [],
	);
}

describe('429: the account is cooled off, not the item dropped', () => {
	test.each([
		['with Retry-After: 2', { 'Retry-After': '2' }, 2_000],
		['without Retry-After', undefined, PERIOD_MS],
	])('%s: the retry waits it out, the whole account pauses, every item ends with its result', async (_name, headers, coolOffMs) => {
		const fixture = await start();
		fixture.sim.injectFault({ path: DATA, status: STATUS.rateLimited, headers, body: { status: 'error', message: 'Rate limit exceeded' } });
		const input = emails(30);

		const outcome = await lookUp(fixture, input);

		expectEveryItemOnce(outcome, input);
		expect(outcome.errors).toHaveLength(0);
		expect(fixture.sim.stats.calls(DATA, STATUS.rateLimited)).toBe(1);
		expect(fixture.sim.stats.calls(DATA)).toBe(31);
		expectWithinLimit(fixture.sim);
		// The first arrival got the 429; its retry came no earlier than the cool-off asked.
		const refused = fixture.sim.stats.identifiers[0].value;
		const [first, retry] = arrivalsOf(fixture, refused);
		expect(retry - first).toBeGreaterThanOrEqual(coolOffMs);
		// Without the account-wide pause the other 29 would all have gone within the cool-off;
		// only the requests already on their way when the 429 came back may arrive in it.
		const during = fixture.calls.filter(({ at }) => at > first && at < first + coolOffMs);
		expect(during.length).toBeLessThanOrEqual(IN_FLIGHT);
	});

	test("the account's real limit is lower than the credential says: 429s are honoured, no item is lost", async () => {
		const fixture = await start({ rateLimit: LIMIT / 2 });
		const input = emails(30);

		const outcome = await lookUp(fixture, input, lookupNode({}));

		expectEveryItemOnce(outcome, input);
		expect(outcome.errors).toHaveLength(0);
		expect(fixture.sim.stats.calls(DATA, STATUS.rateLimited)).toBeGreaterThan(0);
		expect(fixture.sim.stats.calls(DATA, STATUS.ok)).toBe(30);
	});
});

describe('server errors and dropped connections are retried with backoff', () => {
	const cases: Array<[string, FaultSpec, number]> = [
		['500', { status: 500 }, 500],
		['502 with an HTML body', { status: 502, body: '<html><body>Bad Gateway</body></html>' }, 502],
		['503 with no body', { status: 503, body: '' }, 503],
		['504', { status: 504 }, 504],
		['a dropped connection', { drop: true }, DROPPED],
	];

	test.each(cases)('%s three times: retried, every item ends with its result', async (_name, fault, recorded) => {
		const fixture = await start();
		fixture.sim.injectFault({ path: DATA, times: 3, ...fault });
		const input = emails(30);

		const outcome = await lookUp(fixture, input);

		expectEveryItemOnce(outcome, input);
		expect(outcome.errors).toHaveLength(0);
		expect(fixture.sim.stats.calls(DATA, recorded)).toBe(3);
		expect(fixture.sim.stats.calls(DATA)).toBe(33);
		expectWithinLimit(fixture.sim);
	});

	test.each([
		['503', { status: 503 }, 503, /^Item \d+: Factori answered 503 2 times in a row: Injected fault \(503\)$/],
		['a dropped connection', { drop: true }, DROPPED, /^Item \d+: Factori could not be reached \(2 attempts\)$/],
	] as Array<[string, FaultSpec, number, RegExp]>)(
		'%s on every attempt: each item stops at the attempt cap with a clear error of its own',
		async (_name, fault, recorded, message) => {
			const fixture = await start();
			fixture.sim.injectFault({ path: DATA, times: 1_000, ...fault });
			const input = emails(8);

			const outcome = await lookUp(fixture, input, lookupNode({ maxAttempts: 2 }));

			expectEveryItemOnce(outcome, input);
			expect(outcome.results).toHaveLength(0);
			for (const item of outcome.errors) {
				expect(item.json.error).toMatch(message);
				expect(item.json.error).toMatch(new RegExp(`^Item ${item.error?.context.itemIndex}: `));
				expect(item.error?.description).toMatch(/the other items were not affected/);
			}
			// Exactly maxAttempts calls per item, each item's own.
			expect(fixture.sim.stats.calls(DATA, recorded)).toBe(16);
			for (const item of input) expect(arrivalsOf(fixture, String(item.json.email).toLowerCase())).toHaveLength(2);
			expectWithinLimit(fixture.sim);
		},
	);

	test('400, 403 and 404 are answers: not retried', async () => {
		const fixture = await start();
		const input = emails(6);
		fixture.sim.markUnmatched('email', 'item.5@example.com');
		fixture.sim.injectFault({ path: DATA, status: STATUS.badRequest, body: { status: 'error', message: 'invalid email' } });
		fixture.sim.injectFault({ path: DATA, status: STATUS.forbidden, body: { status: 'error', message: 'Not allowed' } });

		const outcome = await lookUp(fixture, input);

		expectEveryItemOnce(outcome, input);
		expect(fixture.sim.stats.calls(DATA)).toBe(6);
		const itemOf = (email: string) => input.findIndex((item) => String(item.json.email).toLowerCase() === email);
		const [rejected, refused] = fixture.sim.stats.identifiers.map((entry) => entry.value);
		expect(outcome.errors.map((item) => item.json.error).sort()).toEqual(
			[
				`Item ${itemOf(refused)}: Factori answered 403: Not allowed`,
				`Item ${itemOf(rejected)}: Factori rejected the email '${rejected}': invalid email`,
			].sort(),
		);
		const noMatch = outcome.results.find((item) => item.json.identifier === 'item.5@example.com');
		expect(noMatch?.json).toMatchObject({ matched: false, consumer: null });
	});
});

describe('slow answers', () => {
	test('300 ms latency and five answers held 1.5 s: in flight stays bounded, the window within the limit', async () => {
		const fixture = await start({ latencyMs: 300 });
		fixture.sim.injectFault({ path: DATA, times: 5, delayMs: 1_500 });
		const input = emails(50);

		const outcome = await lookUp(fixture, input);

		expectEveryItemOnce(outcome, input);
		expect(outcome.errors).toHaveLength(0);
		expect(fixture.sim.stats.calls(DATA)).toBe(50);
		expect(fixture.sim.stats.peakInFlight).toBeLessThanOrEqual(IN_FLIGHT);
		expectWithinLimit(fixture.sim);
	});
});

describe('401 in the middle of a run: n8n logs in once more through the credential', () => {
	test.each([
		['every token expires', (sim: Simulator) => sim.expireTokens(ACCOUNT.username)],
		[
			'the token in use is revoked',
			(sim: Simulator) => sim.revokeToken((sim.stats.authorizations.at(-1) ?? '').replace(/^Bearer /, '')),
		],
	])('%s after 25 calls: one new login, every item ends with its result', async (_name, breakToken) => {
		const fixture = await start();
		afterDataCalls(fixture.sim, 25, () => breakToken(fixture.sim));
		const input = emails(50);

		const outcome = await lookUp(fixture, input);

		expectEveryItemOnce(outcome, input);
		expect(outcome.errors).toHaveLength(0);
		expect(fixture.sim.stats.calls(DATA, STATUS.unauthorized)).toBeGreaterThan(0);
		expect(fixture.sim.stats.calls(DATA, STATUS.ok)).toBe(50);
		// The login the credential's token came from is not in these stats: this is the re-login.
		expect(fixture.sim.stats.logins).toEqual({ [ACCOUNT.username]: 1 });
		expect(fixture.sim.stats.calls(DATA, STATUS.rateLimited)).toBe(0);
		// Each refused call that n8n sends again after its re-login took a slot of its own: no
		// window holds more than the limit, refused calls and all.
		expectWithinLimit(fixture.sim);
	});
});

describe('402: credits run out part-way', () => {
	test.each([
		['Continue (using error output)', 'continueErrorOutput' as const],
		['Continue', 'continueRegularOutput' as const],
	])('On Error "%s": the rest get a clear "no credits" error, nothing is sent after the 402', async (_name, onError) => {
		const fixture = await start();
		const credits = 30;
		fixture.sim.setQuota(ACCOUNT.username, { maxLimit: credits });
		// Were the rest paced out one by one to get their error, this run would take 100 s.
		const input = emails(2_000);

		const outcome = await lookUp(fixture, input, lookupNode({ maxAttempts: 3 }, onError));
		const { run } = outcome;
		const items = onError === 'continueErrorOutput' ? outcome : splitByError(outcome);

		expectEveryItemOnce(items, input);
		expect(items.results).toHaveLength(credits);
		expect(items.errors).toHaveLength(input.length - credits);
		for (const item of items.errors) {
			expect(item.json.error).toBe(`Item ${item.error?.context.itemIndex}: Factori says this account has no credits left`);
			expect(item.error?.description).toMatch(/No more lookups were sent in this run/);
		}
		// The 402s are only the calls already on their way when the first one came back.
		const refused = fixture.sim.stats.calls(DATA, STATUS.insufficientCredits);
		expect(refused).toBeGreaterThanOrEqual(1);
		expect(refused).toBeLessThanOrEqual(IN_FLIGHT);
		expect(fixture.sim.stats.calls(DATA)).toBe(credits + refused);
		expect(run.status).toBe('success');

		const callsAtEnd = fixture.sim.stats.calls();
		await new Promise((resolve) => setTimeout(resolve, 1_200));
		expect(fixture.sim.stats.calls()).toBe(callsAtEnd);
	}, 20_000);
});

/** With "Continue" (regular output) failed items come out on the main output carrying `error`. */
function splitByError(outcome: Outcome): Outcome {
	return {
		run: outcome.run,
		results: outcome.results.filter((item) => item.error === undefined),
		errors: outcome.results.filter((item) => item.error !== undefined),
	};
}

describe('answers that break the contract', () => {
	test('a body that is not JSON, and JSON without the record: a clear error for those items only', async () => {
		const fixture = await start();
		fixture.sim.injectFault({ path: DATA, status: 200, body: 'Service temporarily unavailable' });
		fixture.sim.injectFault({ path: DATA, status: 200, body: { status: 'success' } });
		fixture.sim.injectFault({ path: DATA, status: 200, body: { status: 'success', data: 'not a record' } });
		const input = emails(20);

		const outcome = await lookUp(fixture, input);

		expectEveryItemOnce(outcome, input);
		expect(outcome.errors).toHaveLength(3);
		for (const item of outcome.errors) {
			expect(item.json.error).toBe(`Item ${item.error?.context.itemIndex}: Factori's lookup answer was not in the expected form`);
			expect(item.error?.description).toMatch(/no consumer record/);
		}
		// The broken answers went to the first three arrivals, and those are the failed items.
		const broken = fixture.sim.stats.identifiers.slice(0, 3).map((identifier) => identifier.value);
		expect(outcome.errors.map((item) => identifierOf(item, input)).sort()).toEqual([...broken].sort());
		// Not retried: a broken answer is not a passing state.
		expect(fixture.sim.stats.calls(DATA)).toBe(20);
	});
});

describe('a cancelled execution', () => {
	test('stops waiting and sending: the run ends, and no call reaches the simulator afterwards', async () => {
		const fixture = await start();
		const input = emails(200);
		const controller = new AbortController();
		afterDataCalls(fixture.sim, 30, () => controller.abort());

		const { run } = await lookUp(fixture, input, lookupNode(), controller.signal);

		expect(run.status).toBe('canceled');
		// Requests already written when the cancellation came may still land just after it.
		await new Promise((resolve) => setTimeout(resolve, 200));
		const settled = fixture.sim.stats.calls(DATA);
		expect(settled).toBeLessThanOrEqual(30 + IN_FLIGHT);
		// Uncancelled, the other 170 items would keep going out at 20 a second.
		await new Promise((resolve) => setTimeout(resolve, 1_500));
		expect(fixture.sim.stats.calls(DATA)).toBe(settled);
	});
});
