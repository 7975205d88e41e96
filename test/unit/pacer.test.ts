import fc from 'fast-check';

import { PERIOD_MS } from '../../nodes/Factori/transport/contract';
import {
	ARRIVAL_JITTER_MARGIN_MS,
	MAX_DEFAULT_IN_FLIGHT,
	MIN_DEFAULT_IN_FLIGHT,
	Pacer,
	defaultMaxInFlight,
	pacerFor,
	type PacerOptions,
} from '../../nodes/Factori/transport/pacer';
import { FakeClock, flush } from '../support/fake-clock';

interface Request {
	owner: string;
	/** ms after the simulation starts */
	arriveAt: number;
	latency: number;
	/** Where in [start, start + min(latency, margin)] the server sees it, as a fraction. */
	travel?: number;
}

interface Started {
	owner: string;
	at: number;
	end: number;
	serverAt: number;
}

/** Something the test does to the pacer at a given time of the simulation. */
interface Action {
	at: number;
	run: () => void;
}

/** Sends every request through the pacer on the fake clock, as a node would, until all are done. */
async function simulate(pacer: Pacer, clock: FakeClock, requests: Request[], actions: Action[] = []) {
	const started: Started[] = [];
	let inFlight = 0;
	let peakInFlight = 0;
	const origin = clock.now();
	const tasks = requests.map(async (request) => {
		if (request.arriveAt > 0) await clock.sleep(request.arriveAt);
		const release = await pacer.acquire(request.owner);
		const at = clock.now();
		inFlight++;
		peakInFlight = Math.max(peakInFlight, inFlight);
		if (request.latency > 0) await clock.sleep(request.latency);
		inFlight--;
		const serverAt = at + (request.travel ?? 0) * Math.min(request.latency, ARRIVAL_JITTER_MARGIN_MS);
		started.push({ owner: request.owner, at, end: clock.now(), serverAt });
		release();
	});
	const acting = actions.map(async (action) => {
		await clock.sleep(action.at - (clock.now() - origin));
		action.run();
	});
	await clock.runUntilIdle();
	await Promise.all([...tasks, ...acting]);
	started.sort((a, b) => a.at - b.at);
	return { started, peakInFlight, origin };
}

/** The largest number of timestamps in any window (t - periodMs, t]. */
function busiestWindow(times: number[], periodMs: number): number {
	const sorted = [...times].sort((a, b) => a - b);
	let busiest = 0;
	let first = 0;
	for (let last = 0; last < sorted.length; last++) {
		while (sorted[first] <= sorted[last] - periodMs) first++;
		busiest = Math.max(busiest, last - first + 1);
	}
	return busiest;
}

/** Starts per period in the first `periods` periods from the first start, as a fraction of the limit. */
function throughput(starts: number[], limit: number, periodMs: number, periods: number): number {
	const end = starts[0] + periods * periodMs;
	return starts.filter((at) => at < end).length / (periods * limit);
}

const backlog = (owner: string, count: number, latency = 0): Request[] =>
	Array.from({ length: count }, () => ({ owner, arriveAt: 0, latency }));

describe('Pacer: the rate limit', () => {
	it('never lets more than limit starts into any window, nor more than maxInFlight run (random schedules)', async () => {
		const scenario = fc
			.record({
				// Small limits too, so that most schedules meet the limit.
				limit: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 300 })),
				periodMs: fc.constantFrom(PERIOD_MS.second, PERIOD_MS.minute),
				maxInFlight: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
				owners: fc.integer({ min: 1, max: 5 }),
				spread: fc.double({ min: 0, max: 4, noNaN: true }),
			})
			.chain((settings) =>
				fc.record({
					settings: fc.constant(settings),
					requests: fc.array(
						fc.record({
							owner: fc.integer({ min: 0, max: settings.owners - 1 }).map((n) => `execution-${n}`),
							arriveAt: fc.integer({ min: 0, max: Math.round(settings.spread * settings.periodMs) }),
							latency: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 500 })),
							travel: fc.double({ min: 0, max: 1, noNaN: true }),
						}),
						{ minLength: 1, maxLength: 400 },
					),
				}),
			);
		await fc.assert(
			fc.asyncProperty(scenario, async ({ settings, requests }) => {
				const clock = new FakeClock(1_000_000);
				const options: PacerOptions = { limit: settings.limit, periodMs: settings.periodMs, maxInFlight: settings.maxInFlight };
				const pacer = new Pacer(options, clock);
				const { started, peakInFlight } = await simulate(pacer, clock, requests);

				expect(started).toHaveLength(requests.length);
				expect(busiestWindow(started.map((s) => s.at), settings.periodMs)).toBeLessThanOrEqual(settings.limit);
				// The server may see a request anywhere between its start and its answer (up to the
				// margin after its start): its sliding window still never holds more than the limit.
				expect(busiestWindow(started.map((s) => s.serverAt), settings.periodMs)).toBeLessThanOrEqual(settings.limit);
				expect(peakInFlight).toBeLessThanOrEqual(pacer.options.maxInFlight);
				expect(clock.pendingTimers).toBe(0);
			}),
			{ numRuns: 2_000 },
		);
	});

	it('reaches at least 0.97 x limit per period with zero latency and a big backlog (random limits)', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.integer({ min: 1, max: 300 }),
				fc.constantFrom(PERIOD_MS.second, PERIOD_MS.minute),
				fc.integer({ min: 1, max: 4 }),
				async (limit, periodMs, owners) => {
					const clock = new FakeClock();
					const pacer = new Pacer({ limit, periodMs }, clock);
					const requests = Array.from({ length: owners }, (_, n) => backlog(`execution-${n}`, Math.ceil((limit * 30) / owners))).flat();
					const { started } = await simulate(pacer, clock, requests);
					const starts = started.map((s) => s.at);
					expect(throughput(starts, limit, periodMs, 25)).toBeGreaterThanOrEqual(0.97);
					expect(busiestWindow(starts, periodMs)).toBeLessThanOrEqual(limit);
				},
			),
			{ numRuns: 200 },
		);
	});

	it('200/s with zero latency: exactly 200 starts each second', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 200, periodMs: 1_000 }, clock);
		const { started } = await simulate(pacer, clock, backlog('a', 200 * 50));
		const starts = started.map((s) => s.at);
		expect(throughput(starts, 200, 1_000, 49)).toBe(1);
		expect(starts[starts.length - 1]).toBe(49_000);
	});

	it('200/s at 300 ms latency: 200 starts every period + margin with the default maxInFlight', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 200, periodMs: 1_000 }, clock);
		expect(pacer.options.maxInFlight).toBe(100);
		const { started, peakInFlight } = await simulate(pacer, clock, backlog('a', 200 * 40, 300));
		const cycle = 1_000 + ARRIVAL_JITTER_MARGIN_MS;
		// Two batches of 100 (maxInFlight) per cycle, at 0 and 300 ms: 1000 / 1050 = 95.2 % of the limit.
		for (let k = 0; k < 40; k++) {
			expect(started[200 * k].at).toBe(k * cycle);
			expect(started[200 * k + 100].at).toBe(k * cycle + 300);
		}
		expect(peakInFlight).toBe(100);
	});

	it('frees a fast request slot a period after its answer, a slow one a period plus the margin after its start', async () => {
		for (const [latency, next] of [
			[0, 1_000],
			[20, 1_020],
			[ARRIVAL_JITTER_MARGIN_MS - 1, 1_000 + ARRIVAL_JITTER_MARGIN_MS - 1],
			[ARRIVAL_JITTER_MARGIN_MS, 1_000 + ARRIVAL_JITTER_MARGIN_MS],
			[300, 1_000 + ARRIVAL_JITTER_MARGIN_MS],
			[5_000, 1_000 + ARRIVAL_JITTER_MARGIN_MS],
		]) {
			const clock = new FakeClock();
			const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
			const { started } = await simulate(pacer, clock, backlog('a', 2, latency));
			expect(started.map((s) => s.at)).toEqual([0, next]);
		}
	});
});

describe('Pacer: requests in flight', () => {
	it.each([
		[200, PERIOD_MS.second, 100],
		[1, PERIOD_MS.second, MIN_DEFAULT_IN_FLIGHT],
		[200, PERIOD_MS.minute, MIN_DEFAULT_IN_FLIGHT],
		[1_000, PERIOD_MS.second, MAX_DEFAULT_IN_FLIGHT],
		[50, PERIOD_MS.second, 25],
	])('limit %i per %i ms allows %i in flight by default', (limit, periodMs, expected) => {
		expect(defaultMaxInFlight(limit, periodMs)).toBe(expected);
		expect(new Pacer({ limit, periodMs }, new FakeClock()).options.maxInFlight).toBe(expected);
	});

	it('waits for a release when maxInFlight are running, however much budget is left', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 100, periodMs: 1_000, maxInFlight: 2 }, clock);
		const { started, peakInFlight } = await simulate(pacer, clock, backlog('a', 6, 10));
		expect(started.map((s) => s.at)).toEqual([0, 0, 10, 10, 20, 20]);
		expect(peakInFlight).toBe(2);
	});

	it('a second release() of the same start changes nothing', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 100, periodMs: 1_000, maxInFlight: 1 }, clock);
		const first = await pacer.acquire('a');
		first();
		first();
		await pacer.acquire('a');
		let third = false;
		void pacer.acquire('a').then(() => (third = true));
		await clock.advanceBy(5_000);
		expect(third).toBe(false);
	});
});

describe('Pacer: fairness between executions', () => {
	it('serves owners round-robin: 10 requests queued behind 2,000 of another owner finish in two periods', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 10, periodMs: 1_000 }, clock);
		const { started } = await simulate(pacer, clock, [...backlog('big', 2_000), ...backlog('small', 10)]);
		const last = (owner: string) => Math.max(...started.filter((s) => s.owner === owner).map((s) => s.at));
		// The first period's budget went to 'big' before 'small' asked; from then on they alternate.
		expect(started.slice(0, 10).every((s) => s.owner === 'big' && s.at === 0)).toBe(true);
		expect(started.slice(10, 30).map((s) => s.owner)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 ? 'small' : 'big')));
		expect(last('small')).toBe(2_000);
		expect(last('big')).toBe(200_000);
	});

	it('a latecomer is served from its first period on, while the big backlog is still waiting', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 10, periodMs: 1_000 }, clock);
		const late = Array.from({ length: 10 }, () => ({ owner: 'late', arriveAt: 50_500, latency: 0 }));
		const { started } = await simulate(pacer, clock, [...backlog('big', 1_000, 5), ...late]);
		const lateStarts = started.filter((s) => s.owner === 'late').map((s) => s.at);
		expect(Math.min(...lateStarts)).toBeGreaterThanOrEqual(50_500);
		expect(Math.max(...lateStarts)).toBeLessThanOrEqual(50_500 + 2 * (1_000 + ARRIVAL_JITTER_MARGIN_MS));
	});

	it('keeps a single dispatcher sleep for thousands of waiters, and none once the queue is empty', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 5, periodMs: 1_000 }, clock);
		const releases: Array<Promise<void>> = [];
		for (let i = 0; i < 3_000; i++) releases.push(pacer.acquire(`owner-${i % 7}`).then((release) => release()));
		await flush();
		expect(clock.pendingTimers).toBe(1);
		await clock.advanceBy(10_500);
		expect(clock.pendingTimers).toBe(1);
		await clock.runUntilIdle();
		await Promise.all(releases);
		expect(clock.now()).toBe(599_000);
		expect(clock.pendingTimers).toBe(0);
	});
});

describe('Pacer: 429 cool-off', () => {
	it('pauses every start of the account until its end', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 100, periodMs: 1_000 }, clock);
		const early = await Promise.all([pacer.acquire('a'), pacer.acquire('b')]);
		early.forEach((release) => release());
		pacer.coolOff(2_000);
		const { started } = await simulate(pacer, clock, [...backlog('a', 3), ...backlog('b', 3)]);
		expect(started.map((s) => s.at)).toEqual(Array(6).fill(2_000));
	});

	it('extends a pause but never shortens it', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 100, periodMs: 1_000 }, clock);
		pacer.coolOff(5_000);
		let startedAt: number | undefined;
		void pacer.acquire('a').then((release) => {
			startedAt = clock.now();
			release();
		});
		await clock.advanceTo(1_000);
		pacer.coolOff(1_000); // would end at 2 000: ignored
		await clock.advanceTo(4_999);
		expect(startedAt).toBeUndefined();
		pacer.coolOff(6_000); // ends at 10 999: extends
		await clock.advanceTo(10_998);
		expect(startedAt).toBeUndefined();
		await clock.runUntilIdle();
		expect(startedAt).toBe(10_999);
	});

	it('delays a waiter already waiting for a window slot', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
		(await pacer.acquire('a'))();
		const second = pacer.acquire('b').then((release) => {
			release();
			return clock.now();
		});
		await clock.advanceTo(500);
		pacer.coolOff(2_000);
		await clock.runUntilIdle();
		expect(await second).toBe(2_500);
	});

	it('ignores a zero or negative cool-off', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 10, periodMs: 1_000 }, clock);
		pacer.coolOff(0);
		pacer.coolOff(-5);
		pacer.coolOff(Number.NaN);
		const { started } = await simulate(pacer, clock, backlog('a', 3));
		expect(started.map((s) => s.at)).toEqual([0, 0, 0]);
	});
});

describe('Pacer: cancelled waiters', () => {
	it('an aborted waiter rejects with the reason, takes no slot, and the next one proceeds', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
		(await pacer.acquire('a'))();
		const controller = new AbortController();
		const cancelled = pacer.acquire('b', controller.signal);
		const outcome = cancelled.then(
			() => 'granted',
			(reason: unknown) => ({ reason, at: clock.now() }),
		);
		const next = pacer.acquire('c').then((release) => {
			release();
			return clock.now();
		});
		await clock.advanceTo(400);
		const reason = new Error('execution cancelled');
		controller.abort(reason);
		await clock.runUntilIdle();
		expect(await outcome).toEqual({ reason, at: 400 });
		expect(await next).toBe(1_000);
	});

	it('rejects at once when the signal is already aborted', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
		const controller = new AbortController();
		controller.abort('gone');
		await expect(pacer.acquire('a', controller.signal)).rejects.toBe('gone');
		const release = await pacer.acquire('a');
		expect(clock.now()).toBe(0);
		release();
	});

	it('stops its dispatcher when every waiter is cancelled, and starts again for the next one', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 1, periodMs: PERIOD_MS.minute }, clock);
		(await pacer.acquire('a'))();
		const controller = new AbortController();
		const waiters = Array.from({ length: 500 }, () => pacer.acquire('b', controller.signal).catch(() => 'cancelled'));
		await clock.advanceTo(100);
		expect(clock.pendingTimers).toBe(1);
		controller.abort();
		expect(await Promise.all(waiters)).toEqual(Array(500).fill('cancelled'));
		await flush();
		expect(clock.pendingTimers).toBe(0);

		const again = pacer.acquire('c').then((release) => {
			release();
			return clock.now();
		});
		await clock.runUntilIdle();
		expect(await again).toBe(60_000);
	});

	it('a signal that aborts after the grant does not take the slot back', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
		const controller = new AbortController();
		const release = await pacer.acquire('a', controller.signal);
		controller.abort();
		let second: number | undefined;
		void pacer.acquire('b').then((r) => {
			second = clock.now();
			r();
		});
		release();
		await clock.runUntilIdle();
		expect(second).toBe(1_000);
	});
});

describe('Pacer: a failing clock', () => {
	it('rejects the waiters with the clock error instead of leaving them waiting', async () => {
		const broken = new Error('timer broke');
		const clock = { now: () => 0, sleep: () => Promise.reject(broken) };
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
		(await pacer.acquire('a'))();
		await expect(pacer.acquire('b')).rejects.toBe(broken);
	});
});

describe('Pacer: settings', () => {
	it('configure changes the pace', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 5, periodMs: 1_000 }, clock);
		const { started } = await simulate(pacer, clock, backlog('a', 40), [
			{ at: 1_500, run: () => pacer.configure({ limit: 10, periodMs: 1_000 }) },
		]);
		const perSecond = new Map<number, number>();
		for (const s of started) perSecond.set(s.at, (perSecond.get(s.at) ?? 0) + 1);
		// From 1 500 ms on, any second holds 10 starts: the 5 made at 1 000 ms still count.
		expect([...perSecond.entries()]).toEqual([
			[0, 5],
			[1_000, 5],
			[1_500, 5],
			[2_000, 5],
			[2_500, 5],
			[3_000, 5],
			[3_500, 5],
			[4_000, 5],
		]);
	});

	it('a lowered limit waits until enough earlier starts have left the window', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 4, periodMs: 1_000 }, clock);
		const early = [0, 100, 200, 300].map((arriveAt) => ({ owner: 'a', arriveAt, latency: 0 }));
		const { started } = await simulate(pacer, clock, [...early, { owner: 'b', arriveAt: 350, latency: 0 }], [
			{ at: 320, run: () => pacer.configure({ limit: 2, periodMs: 1_000 }) },
		]);
		expect(started.map((s) => s.at)).toEqual([0, 100, 200, 300, 1_200]);
	});

	it('a longer period applies to the starts already made', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
		const { started } = await simulate(pacer, clock, backlog('a', 4), [
			{ at: 500, run: () => pacer.configure({ limit: 2, periodMs: PERIOD_MS.minute }) },
		]);
		expect(started.map((s) => s.at)).toEqual([0, 0, 60_000, 60_000]);
	});

	it.each<[PacerOptions, RegExp]>([
		[{ limit: 0, periodMs: 1_000 }, /at least 1/],
		[{ limit: Number.NaN, periodMs: 1_000 }, /at least 1/],
		[{ limit: 5, periodMs: 0 }, /positive/],
		[{ limit: 5, periodMs: 1_000, maxInFlight: 0 }, /in flight/],
	])('rejects impossible settings %j', (options, message) => {
		expect(() => new Pacer(options, new FakeClock())).toThrow(message);
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, new FakeClock());
		expect(() => pacer.configure(options)).toThrow(RangeError);
	});
});

describe('pacerFor', () => {
	it('returns one pacer per account key, and applies edited settings to it', () => {
		const clock = new FakeClock();
		const first = pacerFor('https://example.test/api/v1.0|alice', { limit: 200, periodMs: 1_000 }, clock);
		const again = pacerFor('https://example.test/api/v1.0|alice', { limit: 200, periodMs: 60_000 }, clock);
		const other = pacerFor('https://example.test/api/v1.0|bob', { limit: 200, periodMs: 1_000 }, clock);
		expect(again).toBe(first);
		expect(other).not.toBe(first);
		expect(first.options).toEqual({ limit: 200, periodMs: 60_000, maxInFlight: MIN_DEFAULT_IN_FLIGHT });
		expect(other.options.periodMs).toBe(1_000);
	});

	it('shares the budget between executions of the same account', async () => {
		const clock = new FakeClock();
		const key = 'http://127.0.0.1:1/api/v1.0|shared';
		const one = pacerFor(key, { limit: 3, periodMs: 1_000 }, clock);
		const two = pacerFor(key, { limit: 3, periodMs: 1_000 }, clock);
		const starts: number[] = [];
		const send = (pacer: Pacer, owner: string) =>
			pacer.acquire(owner).then((release) => {
				starts.push(clock.now());
				release();
			});
		const sent = [one, two, one, two, one, two].map((pacer, i) => send(pacer, i % 2 ? 'y' : 'x'));
		await clock.runUntilIdle();
		await Promise.all(sent);
		expect(starts).toEqual([0, 0, 0, 1_000, 1_000, 1_000]);
	});
});
