import fc from 'fast-check';

import { PERIOD_MS } from '../../nodes/Factori/transport/contract';
import {
	INITIAL_ARRIVAL_MARGIN_MS,
	MAX_ARRIVAL_MARGIN_MS,
	MAX_DEFAULT_IN_FLIGHT,
	MIN_DEFAULT_IN_FLIGHT,
	Pacer,
	defaultMaxInFlight,
	pacerFor,
	type PacerOptions,
	type Release,
	type ReleaseNote,
} from '../../nodes/Factori/transport/pacer';
import { FakeClock, flush } from '../support/fake-clock';

/** The margin of a pacer that has seen no 429. */
const MARGIN = INITIAL_ARRIVAL_MARGIN_MS;

interface Request {
	owner: string;
	/** ms after the simulation starts */
	arriveAt: number;
	/** How long after its grant it leaves (preparation, a login first); part of its answer time. */
	delay?: number;
	/** From its departure to its answer. */
	latency: number;
	/** Where in [departure, departure + min(latency, margin)] the server sees it, as a fraction. */
	travel?: number;
	/** How it is released (default 'answered'). */
	note?: ReleaseNote;
	/**
	 * Its first answer is a 401: it is sent again once acquireResend resolves, leaving this many
	 * ms later, and released after that second answer, as n8n's re-login does.
	 */
	resend?: number;
}

interface Started {
	owner: string;
	at: number;
	end: number;
	serverAt: number;
	/** When the server saw its resend, if it had one. */
	resentAt?: number;
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
		if (request.delay) await clock.sleep(request.delay);
		const departure = clock.now();
		const travel = (request.travel ?? 0) * Math.min(request.latency, MARGIN);
		if (request.latency > 0) await clock.sleep(request.latency);
		let resentAt: number | undefined;
		if (request.resend !== undefined) {
			await pacer.acquireResend();
			await clock.sleep(request.resend);
			resentAt = clock.now() + travel;
			if (request.latency > 0) await clock.sleep(request.latency);
		}
		inFlight--;
		started.push({ owner: request.owner, at, end: clock.now(), serverAt: departure + travel, resentAt });
		release(request.note);
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

/** Every arrival the server saw: each request's, and its resend's. */
const arrivals = (started: Started[]): number[] =>
	started.flatMap((start) => (start.resentAt === undefined ? [start.serverAt] : [start.serverAt, start.resentAt]));

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

/** A request the test ends by hand: when the pacer granted it, and its release. */
interface Held {
	grantedAt?: number;
	end(note?: ReleaseNote): void;
}

function ask(pacer: Pacer, clock: FakeClock, owner = 'a'): Held {
	let release: Release | undefined;
	const held: Held = {
		end: (note) => {
			if (!release) throw new Error('ended before it was granted');
			release(note);
		},
	};
	void pacer.acquire(owner).then((granted) => {
		held.grantedAt = clock.now();
		release = granted;
	});
	return held;
}

/** Random schedules of requests from several owners, each answered after a random latency. */
function schedules(bounds: { maxLimit: number; maxOwners: number; maxSpread: number; maxRequests: number; lateDepartures: boolean }) {
	return fc
		.record({
			// Small limits too, so that most schedules meet the limit.
			limit: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: bounds.maxLimit })),
			periodMs: fc.constantFrom(PERIOD_MS.second, PERIOD_MS.minute),
			maxInFlight: fc.option(fc.integer({ min: 1, max: bounds.maxLimit }), { nil: undefined }),
			owners: fc.integer({ min: 1, max: bounds.maxOwners }),
			spread: fc.double({ min: 0, max: bounds.maxSpread, noNaN: true }),
		})
		.chain((settings) =>
			fc.record({
				settings: fc.constant(settings),
				requests: fc.array(
					fc.record({
						owner: fc.integer({ min: 0, max: settings.owners - 1 }).map((n) => `execution-${n}`),
						arriveAt: fc.integer({ min: 0, max: Math.round(settings.spread * settings.periodMs) }),
						delay: bounds.lateDepartures ? fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 })) : fc.constant(0),
						latency: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 500 })),
						travel: fc.double({ min: 0, max: 1, noNaN: true }),
					}),
					{ minLength: 1, maxLength: bounds.maxRequests },
				),
			}),
		);
}

describe('Pacer: the rate limit', () => {
	it('never lets more than limit starts into any window, nor more than maxInFlight run (random schedules)', async () => {
		const scenario = schedules({ maxLimit: 300, maxOwners: 5, maxSpread: 4, maxRequests: 400, lateDepartures: false });
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

	it('keeps arrivals within the limit when resends follow 401s, and every request leaves as late after its grant (random schedules)', async () => {
		// A busy engine delays every request alike; a resend leaves at any time after it may.
		const scenario = fc.record({
			schedule: schedules({ maxLimit: 200, maxOwners: 3, maxSpread: 3, maxRequests: 150, lateDepartures: false }),
			delay: fc.integer({ min: 0, max: 100 }),
			resends: fc.array(fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined, freq: 2 }), { maxLength: 150 }),
		});
		await fc.assert(
			fc.asyncProperty(scenario, async ({ schedule: { settings, requests }, delay, resends }) => {
				const clock = new FakeClock(1_000_000);
				const pacer = new Pacer({ limit: settings.limit, periodMs: settings.periodMs, maxInFlight: settings.maxInFlight }, clock);
				const resent = requests.map((request, index) => ({ ...request, delay, resend: resends[index] }));
				const { started } = await simulate(pacer, clock, resent);

				expect(started).toHaveLength(requests.length);
				expect(busiestWindow(arrivals(started), settings.periodMs)).toBeLessThanOrEqual(settings.limit);
				expect(clock.pendingTimers).toBe(0);
			}),
			{ numRuns: 300 },
		);
	});

	// Known gap: a delay before departure that no prompt answer of the two periods around it
	// exposes reads as server latency. Its one known cause in a run, the login, is handled by the
	// client (the request that logs in goes alone and is released as 'delayed', tested below);
	// a stall of the whole engine is not. Marked failing until fixed.
	it.failing('keeps server arrivals within the limit when requests leave late and the delay shows in their answer time (random schedules)', async () => {
		const scenario = schedules({ maxLimit: 200, maxOwners: 3, maxSpread: 3, maxRequests: 150, lateDepartures: true });
		await fc.assert(
			fc.asyncProperty(scenario, async ({ settings, requests }) => {
				const clock = new FakeClock(1_000_000);
				const pacer = new Pacer({ limit: settings.limit, periodMs: settings.periodMs, maxInFlight: settings.maxInFlight }, clock);
				const { started } = await simulate(pacer, clock, requests);

				expect(started).toHaveLength(requests.length);
				expect(busiestWindow(started.map((s) => s.serverAt), settings.periodMs)).toBeLessThanOrEqual(settings.limit);
				expect(clock.pendingTimers).toBe(0);
			}),
			{ numRuns: 300 },
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
		const cycle = 1_000 + MARGIN;
		// Two batches of 100 (maxInFlight) per cycle, at 0 and 300 ms: 1000 / (1000 + margin) of the limit.
		for (let k = 0; k < 40; k++) {
			expect(started[200 * k].at).toBe(k * cycle);
			expect(started[200 * k + 100].at).toBe(k * cycle + 300);
		}
		expect(peakInFlight).toBe(100);
	});

	it('frees a fast request slot a period after its answer, a slow one a period plus the margin after its start', async () => {
		for (const [latency, next] of [
			[0, 1_000],
			[MARGIN / 2, 1_000 + MARGIN / 2],
			[MARGIN - 1, 1_000 + MARGIN - 1],
			[MARGIN, 1_000 + MARGIN],
			[300, 1_000 + MARGIN],
			[5_000, 1_000 + MARGIN],
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

describe('Pacer: the slot of a late answer', () => {
	it.each([
		[100, 200],
		[100, 30],
		[100, 600],
		[20, 200],
	])('an answer %i + %i ms is held exactly that lateness longer than a prompt one of its burst', async (prompt, lateness) => {
		const run = async (late: number) => {
			const clock = new FakeClock();
			const pacer = new Pacer({ limit: 4, periodMs: 1_000 }, clock);
			// A burst of 4: one answered promptly, three late; then 4 callers answered as promptly.
			const burst = [prompt, late, late, late].map((latency) => ({ owner: 'a', arriveAt: 0, latency }));
			const { started } = await simulate(pacer, clock, [...burst, ...backlog('a', 4, prompt)]);
			return started.slice(4).map((s) => s.at);
		};
		// min(answer + period, start + period + margin): the rule for a prompt answer.
		const promptSlot = 1_000 + Math.min(prompt, MARGIN);
		expect(await run(prompt)).toEqual([promptSlot, promptSlot, promptSlot, promptSlot]);
		const held = promptSlot + lateness;
		expect(await run(prompt + lateness)).toEqual([promptSlot, held, held, held]);
	});

	it.each([1_080, 1_110, 1_200])('holds a late slot just as long when another caller asks at %i ms', async (latecomerAt) => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 4, periodMs: 1_000 }, clock);
		const burst = [100, 300, 300, 300].map((latency) => ({ owner: 'a', arriveAt: 0, latency }));
		const latecomer = { owner: 'b', arriveAt: latecomerAt, latency: 100 };
		const { started } = await simulate(pacer, clock, [...burst, ...backlog('a', 4, 100), latecomer]);
		// The prompt answer of the burst (at 100) leaves the last period at 1 100, before the next
		// prompt one (granted at 1 000 + margin) comes. The late slots free 200 ms after the prompt
		// one all the same, whenever someone asks.
		const promptSlot = 1_000 + MARGIN;
		expect(started.slice(4).map((s) => s.at).filter((at) => at < promptSlot + 200)).toEqual([promptSlot]);
	});

	it('measures a burst that all answered late against prompt answers that came after it', async () => {
		const run = async (burstLatency: number) => {
			const clock = new FakeClock();
			const pacer = new Pacer({ limit: 4, periodMs: 1_000 }, clock);
			const { started } = await simulate(pacer, clock, [
				...backlog('a', 2, burstLatency),
				...Array.from({ length: 2 }, () => ({ owner: 'a', arriveAt: 500, latency: 100 })),
				...Array.from({ length: 2 }, () => ({ owner: 'a', arriveAt: 700, latency: 100 })),
			]);
			return started.map((s) => s.at);
		};
		expect(await run(100)).toEqual([0, 0, 500, 500, 1_000 + MARGIN, 1_000 + MARGIN]);
		// Answered at 300, when no faster answer was known; by the time the slots are checked the
		// answers of 600 show the burst 200 ms late.
		expect(await run(300)).toEqual([0, 0, 500, 500, 1_200 + MARGIN, 1_200 + MARGIN]);
	});

	// When every answer of the last two periods left late (the first burst of a run waited for
	// the login), the pacer alone would read their delay as server latency; the client sends the
	// request that logs in alone and releases it as 'delayed'.
	it("keeps server arrivals within the limit when the request that logged in is released as 'delayed'", async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
		// The first request waits 300 ms for the login, then reaches the server; the others leave
		// promptly, once it is answered, and take 300 ms to be answered.
		const loggingIn = { owner: 'a', arriveAt: 0, delay: 300, latency: 0, note: 'delayed' as const };
		const { started } = await simulate(pacer, clock, [loggingIn, ...backlog('a', 5, 300).map((request) => ({ ...request, arriveAt: 300 }))]);
		expect(started.slice(0, 2).map((s) => s.serverAt)).toEqual([300, 300]);
		expect(busiestWindow(started.map((s) => s.serverAt), 1_000)).toBeLessThanOrEqual(2);
		// Its slot: a period after its answer. Read as server latency, it would free at 1 000 + margin.
		expect(started[2].at).toBe(1_300);
	});

	it("takes no measure of the server from a 'delayed' answer", async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
		const { started } = await simulate(pacer, clock, [
			{ owner: 'a', arriveAt: 0, latency: 10, note: 'delayed' },
			...backlog('a', 3, 300),
		]);
		// The 'delayed' slot frees a period after its answer (1 010). The other one answered in
		// 300 ms, the fastest measure there is: its slot frees a period plus the margin after its
		// start. Had the 10 ms answer counted, it would have been held until 1 300.
		expect(started.map((s) => s.at)).toEqual([0, 0, 1_010, 1_000 + MARGIN]);
	});
});

describe('Pacer: the slot of a request still in flight', () => {
	it('is held past its start + period + margin while the other answers of the last period are fast', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
		const hanging = ask(pacer, clock);
		const fast = ask(pacer, clock);
		const third = ask(pacer, clock);
		const fourth = ask(pacer, clock);
		await clock.advanceTo(100);
		fast.end();
		await clock.advanceTo(1_000 + MARGIN);
		expect([hanging.grantedAt, fast.grantedAt, third.grantedAt, fourth.grantedAt]).toEqual([0, 0, 1_000 + MARGIN, undefined]);
		await clock.advanceTo(1_000 + MARGIN + 10);
		third.end();
		await clock.advanceTo(2_000 + MARGIN + 9);
		expect(fourth.grantedAt).toBeUndefined();
		// The slot of the third, a period after its answer: the hanging request still holds its own.
		await clock.advanceTo(2_000 + MARGIN + 10);
		expect(fourth.grantedAt).toBe(2_000 + MARGIN + 10);
	});

	it('is freed at its start + period + margin when no answer came in the last period', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
		const first = [ask(pacer, clock), ask(pacer, clock)];
		const next = [ask(pacer, clock), ask(pacer, clock)];
		await clock.advanceTo(1_000 + MARGIN - 1);
		expect(next.map((held) => held.grantedAt)).toEqual([undefined, undefined]);
		await clock.advanceTo(1_000 + MARGIN);
		expect(next.map((held) => held.grantedAt)).toEqual([1_000 + MARGIN, 1_000 + MARGIN]);
		expect(first.map((held) => held.grantedAt)).toEqual([0, 0]);
	});

	it('is freed at its start + period + margin when every answer of the last period took longer than that', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
		const slow = ask(pacer, clock);
		ask(pacer, clock);
		const next = [ask(pacer, clock), ask(pacer, clock)];
		await clock.advanceTo(1_500);
		expect(next.map((held) => held.grantedAt)).toEqual([1_000 + MARGIN, 1_000 + MARGIN]);
		slow.end(); // took 1 500 ms: the server itself is this slow
		const last = ask(pacer, clock);
		await clock.advanceTo(2_000 + 2 * MARGIN - 1);
		expect(last.grantedAt).toBeUndefined();
		await clock.advanceTo(2_000 + 2 * MARGIN);
		expect(last.grantedAt).toBe(2_000 + 2 * MARGIN);
	});

	it.each([
		[10, 1_010, 1_000 + MARGIN],
		[100, 1_000 + MARGIN, 1_100],
	])(
		'is freed once the last fast answer (it took %i ms) has left the last period, at the earliest a period plus the margin after its start',
		async (took, thirdAt, fourthAt) => {
			const clock = new FakeClock();
			const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
			const fast = ask(pacer, clock);
			const hanging = ask(pacer, clock);
			const third = ask(pacer, clock);
			const fourth = ask(pacer, clock);
			await clock.advanceTo(took);
			fast.end();
			await clock.advanceTo(5_000);
			expect([third.grantedAt, fourth.grantedAt]).toEqual([thirdAt, fourthAt]);
			expect(hanging.grantedAt).toBe(0);
		},
	);
});

describe('Pacer: release', () => {
	it.each<[ReleaseNote | undefined, number]>([
		['unsent', 100],
		['answered', 1_000 + MARGIN],
		[undefined, 1_000 + MARGIN],
	])('release(%s) after 100 ms gives the only slot to a waiter at %i ms', async (note, expected) => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
		const first = ask(pacer, clock);
		const waiter = ask(pacer, clock);
		await clock.advanceTo(100);
		first.end(note);
		await clock.runUntilIdle();
		expect(waiter.grantedAt).toBe(expected);
	});

	it("an 'unsent' request is no answer: it keeps no request in flight holding its slot", async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
		ask(pacer, clock);
		const unsent = ask(pacer, clock);
		const third = ask(pacer, clock);
		const fourth = ask(pacer, clock);
		await clock.advanceTo(500);
		unsent.end('unsent');
		await flush();
		expect(third.grantedAt).toBe(500);
		await clock.advanceTo(1_000 + MARGIN);
		expect(fourth.grantedAt).toBe(1_000 + MARGIN);
	});

	it.each<[ReleaseNote | undefined, ReleaseNote | undefined]>([
		[undefined, undefined],
		['answered', 'unsent'],
		[undefined, 'unsent'],
	])('release(%s) then release(%s): the second changes nothing', async (firstNote, secondNote) => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
		const first = ask(pacer, clock);
		const waiter = ask(pacer, clock);
		await clock.advanceTo(100);
		first.end(firstNote);
		await clock.advanceTo(900);
		first.end(secondNote);
		await clock.runUntilIdle();
		expect(waiter.grantedAt).toBe(1_000 + MARGIN);
	});

	it("release() after release('unsent') frees no second place in flight", async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 10, periodMs: 1_000, maxInFlight: 1 }, clock);
		const first = ask(pacer, clock);
		await flush();
		first.end('unsent');
		first.end();
		const second = ask(pacer, clock);
		const third = ask(pacer, clock);
		await clock.advanceTo(5_000);
		expect([second.grantedAt, third.grantedAt]).toEqual([0, undefined]);
		second.end();
		await flush();
		expect(third.grantedAt).toBe(5_000);
	});

	it("release('unsent') of a request whose slot already ran out frees nobody else's slot", async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
		const stuck = ask(pacer, clock);
		const second = ask(pacer, clock);
		const third = ask(pacer, clock);
		await clock.advanceTo(1_100);
		expect([second.grantedAt, third.grantedAt]).toEqual([1_000 + MARGIN, undefined]);
		stuck.end('unsent');
		await clock.advanceTo(2_000 + 2 * MARGIN - 1);
		expect(third.grantedAt).toBeUndefined();
		await clock.advanceTo(2_000 + 2 * MARGIN);
		expect(third.grantedAt).toBe(2_000 + 2 * MARGIN);
	});
});

describe('Pacer: a resend after a re-login (acquireResend)', () => {
	it('needs a slot within the limit, and is served before the callers already waiting', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 1, periodMs: 1_000 }, clock);
		const repeated = ask(pacer, clock);
		const waiting = ask(pacer, clock);
		await clock.advanceTo(100);
		let resentAt: number | undefined;
		void pacer.acquireResend().then(() => (resentAt = clock.now()));
		// Its request had its 401 by 100, how fast is not known: its slot is held a period after.
		await clock.advanceTo(1_099);
		expect(resentAt).toBeUndefined();
		await clock.advanceTo(1_100);
		expect(resentAt).toBe(1_100);
		await clock.advanceTo(1_150);
		repeated.end(); // the resend was answered
		await clock.advanceTo(5_000);
		expect(waiting.grantedAt).toBe(1_150 + 1_000);
	});

	it('does not wait for a place in flight: the request it repeats holds one', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 10, periodMs: 1_000, maxInFlight: 1 }, clock);
		ask(pacer, clock);
		const next = ask(pacer, clock);
		let resent = false;
		void pacer.acquireResend().then(() => (resent = true));
		await flush();
		expect(resent).toBe(true);
		expect(next.grantedAt).toBeUndefined();
	});

	it('goes no sooner than a period after the last answer whose slot was freed ahead of it', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 3, periodMs: 1_000 }, clock);
		const repeated = ask(pacer, clock);
		const answered = [ask(pacer, clock), ask(pacer, clock)];
		const next = ask(pacer, clock);
		await clock.advanceTo(40);
		for (const held of answered) held.end(); // round trips of 40 ms
		// Their slots free 40 ms less the margin before a period after their answers.
		await clock.advanceTo(1_010);
		expect(next.grantedAt).toBe(1_000 + MARGIN);
		await clock.advanceTo(1_020);
		let resentAt: number | undefined;
		void pacer.acquireResend().then(() => (resentAt = clock.now()));
		// A slot is free, but the resend would leave at once: it waits for the answers' period.
		await clock.advanceTo(1_039);
		expect(resentAt).toBeUndefined();
		await clock.advanceTo(1_040);
		expect(resentAt).toBe(40 + 1_000);
		repeated.end();
		next.end();
	});

	it('holds its slot until every request not yet released at its grant is, then for a period', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 3, periodMs: 1_000 }, clock);
		const repeated = ask(pacer, clock);
		const measured = ask(pacer, clock);
		await clock.advanceTo(40);
		measured.end();
		void pacer.acquireResend();
		await clock.advanceTo(500);
		repeated.end(); // after its resend's answer, as n8n returns it
		const after = [ask(pacer, clock), ask(pacer, clock), ask(pacer, clock)];
		await clock.advanceTo(5_000);
		// After the 401 the slots free a whole period after their answers; the resend's a period
		// after the repeated request's release.
		expect(after.map((held) => held.grantedAt)).toEqual([40 + 1_000, 500 + 1_000, 500 + 1_000]);
	});

	it('with no request of its own in flight (the credential test), keeps its slot for two periods', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
		const measured = ask(pacer, clock);
		await clock.advanceTo(40);
		measured.end();
		await pacer.acquireResend();
		const after = [ask(pacer, clock), ask(pacer, clock)];
		await clock.advanceTo(5_000);
		expect(after.map((held) => held.grantedAt)).toEqual([40 + 1_000, 40 + 2_000]);
	});

	it('keeps arrivals within the limit when every request leaves late and a resend leaves at once', async () => {
		// Measured on a busy machine: every request left ~18 ms after its grant, the answers took
		// 19 ms, and a resend, prepared in fewer steps, left 2 ms after its own grant.
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 20, periodMs: 1_000 }, clock);
		const requests: Request[] = Array.from({ length: 50 }, (_, index) => ({
			owner: 'a',
			arriveAt: 0,
			delay: 18,
			latency: 1,
			resend: index >= 25 && index < 35 ? 2 : undefined,
		}));
		const { started } = await simulate(pacer, clock, requests);
		expect(started).toHaveLength(50);
		expect(busiestWindow(arrivals(started), 1_000)).toBeLessThanOrEqual(20);
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
		expect(Math.max(...lateStarts)).toBeLessThanOrEqual(50_500 + 2 * (1_000 + MARGIN));
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

	it('doubles the arrival margin once per cool-off, up to its maximum, and ignored cool-offs leave it alone', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 10, periodMs: 1_000 }, clock);
		pacer.coolOff(0);
		expect(pacer.arrivalMarginMs).toBe(MARGIN);
		pacer.coolOff(1_000);
		// More 429s of requests sent before the pause began: the same cool-off.
		pacer.coolOff(1_000);
		await clock.advanceTo(999);
		pacer.coolOff(1_000);
		expect(pacer.arrivalMarginMs).toBe(2 * MARGIN);
		const margins: number[] = [];
		for (let n = 0; n < 8; n++) {
			await clock.advanceBy(5_000);
			pacer.coolOff(1_000);
			margins.push(pacer.arrivalMarginMs);
		}
		expect(margins).toEqual(margins.map((_, n) => Math.min(MAX_ARRIVAL_MARGIN_MS, MARGIN * 2 ** (n + 2))));
	});

	it('frees slow slots a period plus the wider margin after their start once a 429 came', async () => {
		const clock = new FakeClock();
		const pacer = new Pacer({ limit: 2, periodMs: 1_000 }, clock);
		pacer.coolOff(100);
		const { started } = await simulate(pacer, clock, backlog('a', 4, 300));
		expect(started.map((s) => s.at)).toEqual([100, 100, 1_100 + 2 * MARGIN, 1_100 + 2 * MARGIN]);
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
