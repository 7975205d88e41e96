import fc from 'fast-check';

import { PERIOD_MS, STATUS } from '../../nodes/Factori/transport/contract';
import {
	DEFAULT_RETRY,
	RATE_LIMITED_ATTEMPT_FACTOR,
	backoffMs,
	decide,
	type Decision,
	type Outcome,
	type RetryPolicy,
} from '../../nodes/Factori/transport/retry';

const NOW = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
const half = () => 0.5;
const response = (status: number, retryAfterHeader?: unknown): Outcome => ({ kind: 'response', status, retryAfterHeader });
const network: Outcome = { kind: 'network' };
const minute: RetryPolicy = { ...DEFAULT_RETRY, periodMs: PERIOD_MS.minute };

describe('DEFAULT_RETRY', () => {
	it('is 5 attempts, 500 ms base, 10 s cap, and the default one-second period', () => {
		expect(DEFAULT_RETRY).toEqual({ maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 10_000, periodMs: 1_000 });
	});
});

describe('decide: answers that end the request', () => {
	it.each([
		[200, 'ok'],
		[201, 'created'],
		[204, 'no content'],
		[299, 'any 2xx'],
		[304, 'not modified'],
		[STATUS.badRequest, 'bad input'],
		[STATUS.unauthorized, 'n8n refreshes the token itself'],
		[STATUS.insufficientCredits, 'the caller reports spent credits'],
		[STATUS.forbidden, 'forbidden'],
		[STATUS.noMatch, 'no consumer found is an answer'],
		[405, 'other 4xx'],
		[409, 'other 4xx'],
		[422, 'other 4xx'],
		[501, 'not implemented never changes'],
		[505, 'HTTP version never changes'],
	])('%i (%s) is done, on any attempt', (status) => {
		for (const attempt of [1, 3, 5, 50]) {
			expect(decide(response(status), attempt, DEFAULT_RETRY, NOW, half)).toEqual({ action: 'done' });
		}
	});
});

describe('decide: 429 rate limited', () => {
	it.each<[string, unknown, RetryPolicy, number]>([
		['Retry-After in seconds', '2', DEFAULT_RETRY, 2_000],
		['Retry-After in fractional seconds', '1.5', DEFAULT_RETRY, 1_500],
		['Retry-After as a number', 3, DEFAULT_RETRY, 3_000],
		['Retry-After as a header array', ['4'], DEFAULT_RETRY, 4_000],
		['Retry-After zero', '0', DEFAULT_RETRY, 0],
		['Retry-After as an HTTP date 5 s ahead', 'Wed, 21 Oct 2015 07:28:05 GMT', DEFAULT_RETRY, 5_000],
		['Retry-After as an HTTP date in the past', 'Wed, 21 Oct 2015 07:27:00 GMT', DEFAULT_RETRY, 0],
		['no Retry-After, per-second limit: one period', undefined, DEFAULT_RETRY, 1_000],
		['no Retry-After, per-minute limit: one period', undefined, minute, 60_000],
		['unreadable Retry-After: one period', 'soon', DEFAULT_RETRY, 1_000],
		['empty Retry-After: one period', '', minute, 60_000],
	])('%s', (_name, header, policy, delayMs) => {
		expect(decide(response(STATUS.rateLimited, header), 1, policy, NOW, half)).toEqual({
			action: 'retry',
			delayMs,
			coolOffAccount: true,
		});
	});

	it('ignores jitter: the delay is what the server asked for', () => {
		expect(decide(response(429, '2'), 1, DEFAULT_RETRY, NOW, () => 0.01)).toMatchObject({ delayMs: 2_000 });
		expect(decide(response(429, '2'), 1, DEFAULT_RETRY, NOW, () => 0.99)).toMatchObject({ delayMs: 2_000 });
	});

	it(`allows maxAttempts x ${RATE_LIMITED_ATTEMPT_FACTOR} attempts in all`, () => {
		const cap = DEFAULT_RETRY.maxAttempts * RATE_LIMITED_ATTEMPT_FACTOR;
		expect(decide(response(429), DEFAULT_RETRY.maxAttempts, DEFAULT_RETRY, NOW, half).action).toBe('retry');
		expect(decide(response(429), cap - 1, DEFAULT_RETRY, NOW, half).action).toBe('retry');
		expect(decide(response(429), cap, DEFAULT_RETRY, NOW, half)).toEqual({ action: 'giveUp', reason: 'attempts' });
	});
});

describe('decide: server errors and network failures', () => {
	const transient: Array<[string, Outcome]> = [
		['500', response(500)],
		['502', response(502)],
		['503', response(503)],
		['504', response(504)],
		['503 with Retry-After (backoff still applies)', response(503, '30')],
		['network failure', network],
		['408 request timeout', response(408)],
		['other 5xx: 507', response(507)],
		['other 5xx: 520 from a proxy', response(520)],
		['other 5xx: 599', response(599)],
	];

	describe.each(transient)('%s', (_name, outcome) => {
		it.each([
			[1, 0.5, 250],
			[2, 0.5, 500],
			[3, 0.5, 1_000],
			[4, 0.5, 2_000],
			[1, 0, 0],
			[4, 0.75, 3_000],
		])('attempt %i with random %d waits %d ms, no cool-off', (attempt, r, delayMs) => {
			expect(decide(outcome, attempt, DEFAULT_RETRY, NOW, () => r)).toEqual({
				action: 'retry',
				delayMs,
				coolOffAccount: false,
			});
		});

		it('gives up once maxAttempts are made', () => {
			expect(decide(outcome, 5, DEFAULT_RETRY, NOW, half)).toEqual({ action: 'giveUp', reason: 'attempts' });
			expect(decide(outcome, 6, DEFAULT_RETRY, NOW, half)).toEqual({ action: 'giveUp', reason: 'attempts' });
		});
	});

	it('caps the backoff at maxDelayMs', () => {
		const policy: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 100 };
		expect(decide(response(503), 6, policy, NOW, () => 1)).toMatchObject({ delayMs: 10_000 });
		expect(decide(response(503), 60, policy, NOW, () => 0.5)).toMatchObject({ delayMs: 5_000 });
		expect(decide(network, 2_000, policy, NOW, () => 0.5).action).toBe('giveUp');
		expect(backoffMs(1_000_000, policy, () => 0.5)).toBe(5_000);
	});

	it('keeps a misbehaving random() inside [0, ceiling]', () => {
		expect(backoffMs(1, DEFAULT_RETRY, () => -3)).toBe(0);
		expect(backoffMs(1, DEFAULT_RETRY, () => 7)).toBe(500);
	});

	it('counts attempts across kinds: a 503 after six 429s gives up', () => {
		expect(decide(response(503), 7, DEFAULT_RETRY, NOW, half).action).toBe('giveUp');
	});
});

/** Runs decide() against a server that always gives the same outcome; returns attempts and total wait. */
function endless(outcome: Outcome, policy: RetryPolicy, random: () => number) {
	let waited = 0;
	let coolOffs = 0;
	for (let attempt = 1; attempt < 1_000; attempt++) {
		const decision: Decision = decide(outcome, attempt, policy, NOW + waited, random);
		if (decision.action === 'done') throw new Error('an endless failure is never done');
		if (decision.action === 'giveUp') return { attempts: attempt, waited, coolOffs };
		waited += decision.delayMs;
		if (decision.coolOffAccount) coolOffs++;
	}
	throw new Error('did not end');
}

describe('decide: a server that never recovers', () => {
	it('endless 429 without Retry-After ends after 10 attempts and 9 periods of cool-off', () => {
		expect(endless(response(429), DEFAULT_RETRY, half)).toEqual({ attempts: 10, waited: 9_000, coolOffs: 9 });
		expect(endless(response(429), minute, half)).toEqual({ attempts: 10, waited: 540_000, coolOffs: 9 });
	});

	it('endless 429 with Retry-After ends after 10 attempts', () => {
		expect(endless(response(429, '1'), DEFAULT_RETRY, half)).toEqual({ attempts: 10, waited: 9_000, coolOffs: 9 });
	});

	it('endless 503 ends after 5 attempts, waiting at most 500 + 1000 + 2000 + 4000 ms', () => {
		expect(endless(response(503), DEFAULT_RETRY, () => 0.999_999)).toEqual({
			attempts: 5,
			waited: expect.closeTo(7_500, 0) as number,
			coolOffs: 0,
		});
		expect(endless(network, DEFAULT_RETRY, half)).toEqual({ attempts: 5, waited: 3_750, coolOffs: 0 });
	});

	it('any sequence of outcomes ends within maxAttempts x factor, each delay within its bound', () => {
		const outcome = fc.oneof(
			fc.constant<Outcome>(network),
			fc.integer({ min: 100, max: 599 }).map((status) => response(status)),
			fc.constantFrom(429, 500, 502, 503, 504).map((status) => response(status)),
			fc.option(fc.integer({ min: 0, max: 120 })).map((seconds) => response(429, seconds ?? undefined)),
		);
		const policy = fc.record({
			maxAttempts: fc.integer({ min: 1, max: 10 }),
			baseDelayMs: fc.integer({ min: 0, max: 2_000 }),
			maxDelayMs: fc.integer({ min: 0, max: 30_000 }),
			periodMs: fc.constantFrom(PERIOD_MS.second, PERIOD_MS.minute),
		});
		fc.assert(
			fc.property(fc.array(outcome, { minLength: 1, maxLength: 40 }), policy, fc.double({ min: 0, max: 0.999_999, noNaN: true }), (outcomes, p, r) => {
				for (let attempt = 1; ; attempt++) {
					const current = outcomes[(attempt - 1) % outcomes.length];
					const decision = decide(current, attempt, p, NOW, () => r);
					if (decision.action !== 'retry') {
						expect(attempt).toBeLessThanOrEqual(p.maxAttempts * RATE_LIMITED_ATTEMPT_FACTOR);
						return;
					}
					expect(attempt).toBeLessThan(p.maxAttempts * RATE_LIMITED_ATTEMPT_FACTOR);
					expect(decision.delayMs).toBeGreaterThanOrEqual(0);
					if (decision.coolOffAccount) {
						expect(current).toMatchObject({ status: 429 });
					} else {
						expect(attempt).toBeLessThan(p.maxAttempts);
						expect(decision.delayMs).toBeLessThanOrEqual(Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1)));
					}
				}
			}),
			{ numRuns: 2_000 },
		);
	});
});
