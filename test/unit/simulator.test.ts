import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import {
	IDENTIFIER_QUERY_NAME,
	LONG_TOKEN_TTL_SECONDS,
	PASSWORD_RESET_REQUIRED,
	PATHS,
	SHORT_TOKEN_TTL_SECONDS,
	STATUS,
	ZERO_MAID,
	authorizationHeader,
	errorCode,
	errorMessage,
	longTokenBody,
	parseConsumer,
	parseUsage,
	resetPasswordBody,
	shortTokenBody,
	tokenIn,
	type IdentifierType,
} from '../../nodes/Factori/transport/contract';
import { ArrivalWindow, SlidingWindowLimiter } from '../../dev/simulator/rate-window';
import { consumerFor, startSimulator, type Simulator, type SimulatorOptions } from '../../dev/simulator/server';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The token of a token answer; fails the test when there is none. */
function parseToken(body: unknown): string {
	const token = tokenIn(body);
	if (token === undefined) throw new Error(`no token in ${JSON.stringify(body)}`);
	return token;
}

const READY = { username: 'ready', password: 'ready-password-1' };

function client(sim: Simulator, agent?: http.Agent): AxiosInstance {
	return axios.create({ baseURL: sim.url, validateStatus: () => true, proxy: false, httpAgent: agent });
}

async function longTokenFor(api: AxiosInstance, username: string, password: string): Promise<string> {
	const short = await api.post(PATHS.createShortToken, shortTokenBody(username, password));
	expect(short.status).toBe(STATUS.ok);
	const long = await api.post(PATHS.createLongToken, longTokenBody(parseToken(short.data), 'long'));
	expect(long.status).toBe(STATUS.ok);
	return parseToken(long.data);
}

const lookup = (api: AxiosInstance, token: string, params: Record<string, string>) =>
	api.get(PATHS.consumerData, { params, headers: authorizationHeader(token) });
const usage = (api: AxiosInstance, token: string) => api.get(PATHS.usage, { headers: authorizationHeader(token) });

async function withSimulator(options: SimulatorOptions, run: (sim: Simulator, api: AxiosInstance) => Promise<void>) {
	const sim = await startSimulator(options);
	try {
		await run(sim, client(sim));
	} finally {
		await sim.stop();
	}
}

describe('simulator', () => {
	let sim: Simulator;
	let api: AxiosInstance;

	beforeAll(async () => {
		sim = await startSimulator();
		api = client(sim);
	});
	afterAll(async () => {
		await sim.stop();
	});

	test('listens on 127.0.0.1 under the base path, and 404s other paths', async () => {
		expect(sim.url).toBe(`http://127.0.0.1:${sim.port}/api/v1.0`);
		expect(sim.port).toBeGreaterThan(0);
		const outside = await axios.get(`http://127.0.0.1:${sim.port}/consumer/usage`, { validateStatus: () => true, proxy: false });
		expect(outside.status).toBe(404);
		expect((await api.get(PATHS.createShortToken)).status).toBe(405);
		expect((await api.get('/consumer/other')).status).toBe(404);
	});

	describe('token flow', () => {
		test('an account with a temporary password must reset it first', async () => {
			sim.addAccount({ username: 'fresh', temporaryPassword: 'temp-pass' });
			const blocked = await api.post(PATHS.createShortToken, shortTokenBody('fresh', 'temp-pass'));
			expect(blocked.status).toBe(STATUS.forbidden);
			expect(blocked.data.status).toBe('error');
			expect(errorCode(blocked.data)).toBe(PASSWORD_RESET_REQUIRED);
			expect(errorMessage(blocked.data)).toEqual(expect.any(String));

			// Until the reset, the user's own password cannot exist: any login gets the reset hint.
			const own = await api.post(PATHS.createShortToken, shortTokenBody('fresh', 'my-own-password'));
			expect(own.status).toBe(STATUS.forbidden);
			expect(errorCode(own.data)).toBe(PASSWORD_RESET_REQUIRED);

			const unknown = await api.post(PATHS.createShortToken, shortTokenBody('nobody', 'not-it'));
			expect(unknown.status).toBe(STATUS.unauthorized);
			expect(errorCode(unknown.data)).toBeUndefined();
			expect(errorMessage(unknown.data)).toBe('Invalid username or password');
		});

		test('reset_password answers 400, 401 and 200 as the contract says', async () => {
			sim.addAccount({ username: 'resetter', temporaryPassword: 'temp-pass' });
			const reset = (body: unknown) => api.post(PATHS.resetPassword, body);

			const missing = await reset({ username: 'resetter', password: 'temp-pass' });
			expect(missing.status).toBe(STATUS.badRequest);
			expect(errorMessage(missing.data)).toMatch(/new_password/);
			expect((await reset(resetPasswordBody('resetter', 'temp-pass', 'temp-pass'))).status).toBe(STATUS.badRequest);
			const short = await reset(resetPasswordBody('resetter', 'temp-pass', 'seven77'));
			expect(short.status).toBe(STATUS.badRequest);
			expect(errorMessage(short.data)).toMatch(/8/);
			expect((await api.post(PATHS.resetPassword, 'not json', { headers: { 'Content-Type': 'application/json' } })).status).toBe(
				STATUS.badRequest,
			);
			expect((await reset(resetPasswordBody('resetter', 'wrong-pass', 'my-own-pass'))).status).toBe(STATUS.unauthorized);
			expect((await reset(resetPasswordBody('nobody', 'temp-pass', 'my-own-pass'))).status).toBe(STATUS.unauthorized);

			const done = await reset(resetPasswordBody('resetter', 'temp-pass', 'my-own-pass'));
			expect(done.status).toBe(STATUS.ok);
			expect(done.data).toEqual({ status: 'success', message: 'Password updated' });
			expect(sim.stats.resets.resetter).toBe(1);

			expect((await api.post(PATHS.createShortToken, shortTokenBody('resetter', 'temp-pass'))).status).toBe(STATUS.unauthorized);
			const login = await api.post(PATHS.createShortToken, shortTokenBody('resetter', 'my-own-pass'));
			expect(login.status).toBe(STATUS.ok);
			expect(login.data.expires_in).toBe(SHORT_TOKEN_TTL_SECONDS);
			expect(parseToken(login.data)).toMatch(/^[0-9a-f]{32,}$/);

			// A later reset with the current password is allowed too.
			expect((await reset(resetPasswordBody('resetter', 'my-own-pass', 'another-pass'))).status).toBe(STATUS.ok);
			expect((await api.post(PATHS.createShortToken, shortTokenBody('resetter', 'another-pass'))).status).toBe(STATUS.ok);
			expect(sim.stats.resets.resetter).toBe(2);
		});

		test('the demo account starts with its temporary password', async () => {
			const demo = await api.post(PATHS.createShortToken, shortTokenBody('demo', 'demo-temporary'));
			expect(demo.status).toBe(STATUS.forbidden);
		});

		test('create_short_token rejects missing fields and unknown users', async () => {
			expect((await api.post(PATHS.createShortToken, { username: 'ready' })).status).toBe(STATUS.badRequest);
			expect((await api.post(PATHS.createShortToken, shortTokenBody('nobody', 'whatever-1'))).status).toBe(STATUS.unauthorized);
		});

		test('create_long_token: 401 for an unknown temp token, 400 for an unknown token type, 200 with expires_in', async () => {
			const unknown = await api.post(PATHS.createLongToken, longTokenBody('f'.repeat(48), 'long'));
			expect(unknown.status).toBe(STATUS.unauthorized);
			expect(unknown.data.status).toBe('error');

			const short = parseToken((await api.post(PATHS.createShortToken, shortTokenBody(READY.username, READY.password))).data);
			const badType = await api.post(PATHS.createLongToken, longTokenBody(short, 'forever'));
			expect(badType.status).toBe(STATUS.badRequest);
			expect(errorMessage(badType.data)).toMatch(/token_type/);
			expect((await api.post(PATHS.createLongToken, { temp_token: short })).status).toBe(STATUS.badRequest);

			const long = await api.post(PATHS.createLongToken, longTokenBody(short, 'long'));
			expect(long.status).toBe(STATUS.ok);
			expect(long.data.expires_in).toBe(LONG_TOKEN_TTL_SECONDS);
			expect(parseToken(long.data)).not.toBe(short);
		});

		test('consumer calls need a live long token as bearer; short tokens are refused', async () => {
			const short = parseToken((await api.post(PATHS.createShortToken, shortTokenBody(READY.username, READY.password))).data);
			const long = parseToken((await api.post(PATHS.createLongToken, longTokenBody(short, 'long'))).data);

			const none = await api.get(PATHS.usage);
			expect(none.status).toBe(STATUS.unauthorized);
			expect(none.data.status).toBe('error');
			expect(errorMessage(none.data)).toEqual(expect.any(String));
			expect((await usage(api, short)).status).toBe(STATUS.unauthorized);
			expect((await usage(api, 'f'.repeat(48))).status).toBe(STATUS.unauthorized);
			expect((await api.get(PATHS.usage, { headers: { Authorization: long } })).status).toBe(STATUS.unauthorized);

			const ok = await usage(api, long);
			expect(ok.status).toBe(STATUS.ok);
			expect(parseUsage(ok.data).max_limit).toBe(1_000_000);
		});

		test('other token types can be allowed', async () => {
			await withSimulator({ tokenTypes: ['long', 'extended'] }, async (_sim, local) => {
				const short = parseToken((await local.post(PATHS.createShortToken, shortTokenBody(READY.username, READY.password))).data);
				expect((await local.post(PATHS.createLongToken, longTokenBody(short, 'extended'))).status).toBe(STATUS.ok);
				expect((await local.post(PATHS.createLongToken, longTokenBody(short, 'short'))).status).toBe(STATUS.badRequest);
			});
		});
	});

	describe('consumer/data', () => {
		let token: string;
		beforeAll(async () => {
			sim.addAccount({ username: 'lookups', password: 'lookups-pass' });
			token = await longTokenFor(api, 'lookups', 'lookups-pass');
		});

		test.each([
			['email', 'jane.doe@example.com'],
			['email', 'o.brien+news@mail.example.co.uk'],
			['phone', '+15551234567'],
			['maid', '6f9619ff-8b86-d011-b42d-00cf4fc964ff'],
			['email', sha256('jane.doe@example.com')],
			['phone', md5('+15551234567')],
			['maid', sha256('6f9619ff-8b86-d011-b42d-00cf4fc964ff')],
		] as Array<[IdentifierType, string]>)('accepts %s %s', async (type, value) => {
			const answer = await lookup(api, token, { [IDENTIFIER_QUERY_NAME[type]]: value });
			expect(answer.status).toBe(STATUS.ok);
			const record = parseConsumer(answer.data);
			expect(record).toEqual(consumerFor(type, value));
			expect(Object.keys(record).sort()).toEqual(
				['age_range', 'city', 'first_name', 'gender', 'household_income', 'id', 'interests', 'last_name', 'state'].sort(),
			);
		});

		test.each([
			[{ phone: '555-123-4567' }, /E\.164 with country code \+1/],
			[{ phone: '+1 555 123 4567' }, /no spaces, hyphens/],
			[{ phone: '+1555123456' }, /E\.164 with country code \+1, like \+15551234567/],
			[{ phone: '+445551234567' }, /country code \+1/],
			[{ phone: '+15551234567x12' }, /extension/],
			[{ email: 'Jane.Doe@Example.com' }, /lowercase/],
			[{ email: 'jane doe@example.com' }, /spaces/],
			[{ email: 'jane.example.com' }, /proper address/],
			[{ email: `${'a'.repeat(250)}@example.com` }, /254/],
			[{ email: '' }, /empty/],
			[{ maid: ZERO_MAID }, /all-zero/],
			[{ maid: '6F9619FF-8B86-D011-B42D-00CF4FC964FF' }, /lowercase/],
			[{ maid: 'not-a-uuid' }, /UUID/],
			[{ email: sha256('x').toUpperCase() }, /lowercase hex/],
			[{}, /one identifier is required/],
			[{ email: 'jane.doe@example.com', phone: '+15551234567' }, /exactly one identifier/],
			[{ name: 'Jane' }, /unknown query parameter "name"/],
		] as Array<[Record<string, string>, RegExp]>)('rejects %j with a clear 400', async (params, message) => {
			const answer = await lookup(api, token, params);
			expect(answer.status).toBe(STATUS.badRequest);
			expect(answer.data.status).toBe('error');
			expect(errorMessage(answer.data)).toMatch(message);
		});

		test('an unencoded "+" in a phone gets a hint', async () => {
			const answer = await api.get(`${PATHS.consumerData}?phone=+15551234567`, { headers: authorizationHeader(token) });
			expect(answer.status).toBe(STATUS.badRequest);
			expect(errorMessage(answer.data)).toMatch(/%2B/);
		});

		test('records are deterministic, agree for raw and SHA-256, and echo no identifier', async () => {
			const email = 'casey.person@example.org';
			const raw = parseConsumer((await lookup(api, token, { email })).data);
			const again = parseConsumer((await lookup(api, token, { email })).data);
			const hashed = parseConsumer((await lookup(api, token, { email: sha256(email) })).data);
			expect(again).toEqual(raw);
			expect(hashed).toEqual(raw);
			expect(JSON.stringify(raw)).not.toMatch(/casey|example\.org/);

			const phone = '+15557654321';
			const phoneRecord = consumerFor('phone', phone);
			expect(JSON.stringify(phoneRecord)).not.toMatch(/5557654321/);
			expect(consumerFor('phone', sha256(phone))).toEqual(phoneRecord);
			expect(consumerFor('email', 'someone.else@example.org')).not.toEqual(raw);
			expect(consumerFor('email', 'Not Valid')).toBeNull();
		});

		test.each([
			['email', 'nomatch.jane@example.com'],
			['phone', '+15551230000'],
			['maid', 'ffffffff-8b86-d011-b42d-00cf4fc964ff'],
		] as Array<[IdentifierType, string]>)('built-in no-match %s %s answers 404', async (type, value) => {
			expect(consumerFor(type, value)).toBeNull();
			const answer = await lookup(api, token, { [IDENTIFIER_QUERY_NAME[type]]: value });
			expect(answer.status).toBe(STATUS.noMatch);
			expect(answer.data).toEqual({ status: 'error', message: 'No consumer found' });
		});

		test('markUnmatched covers the raw value and its hashes', async () => {
			const email = 'marked.person@example.com';
			expect((await lookup(api, token, { email })).status).toBe(STATUS.ok);
			sim.markUnmatched('email', email);
			for (const value of [email, sha256(email), md5(email)]) {
				expect((await lookup(api, token, { email: value })).status).toBe(STATUS.noMatch);
			}
			// The same value as another type is unaffected.
			expect((await lookup(api, token, { phone: '+15551112222' })).status).toBe(STATUS.ok);
		});

		test('hits and failed requests are counted; usage_quota follows', async () => {
			sim.addAccount({ username: 'counter', password: 'counter-pass', maxLimit: 100 });
			const own = await longTokenFor(api, 'counter', 'counter-pass');
			await lookup(api, own, { email: 'a.person@example.com' });
			await lookup(api, own, { email: 'b.person@example.com' });
			await lookup(api, own, { email: 'nomatch@example.com' });
			await lookup(api, own, { phone: 'bad' });
			await lookup(api, own, {});
			const data = parseUsage((await usage(api, own)).data);
			expect(data).toEqual({ max_limit: 100, total_hits: 5, failed_requests: 2, usage_quota: 97 });
			expect(sim.usage('counter')).toEqual(data);
		});

		test('402 when the quota is spent, not counted as a hit', async () => {
			sim.addAccount({ username: 'spender', password: 'spender-pass', maxLimit: 2 });
			const own = await longTokenFor(api, 'spender', 'spender-pass');
			expect((await lookup(api, own, { email: 'a.person@example.com' })).status).toBe(STATUS.ok);
			expect((await lookup(api, own, { email: 'nomatch@example.com' })).status).toBe(STATUS.noMatch);
			const spent = await lookup(api, own, { email: 'c.person@example.com' });
			expect(spent.status).toBe(STATUS.insufficientCredits);
			expect(spent.data).toEqual({ status: 'error', message: 'Insufficient credits' });
			expect(sim.usage('spender')).toEqual({ max_limit: 2, total_hits: 2, failed_requests: 0, usage_quota: 0 });
			expect(parseUsage((await usage(api, own)).data).usage_quota).toBe(0);

			sim.setQuota('spender', { maxLimit: 3 });
			expect((await lookup(api, own, { email: 'c.person@example.com' })).status).toBe(STATUS.ok);
			sim.setQuota('spender', { totalHits: 0, failedRequests: 0 });
			expect(sim.usage('spender').usage_quota).toBe(3);
			expect(() => sim.setQuota('nobody', { maxLimit: 1 })).toThrow();
		});
	});

	describe('expiry and revocation', () => {
		test('expireTokens expires one account or all; revokeToken kills one token', async () => {
			sim.addAccount({ username: 'expiring', password: 'expiring-pass' });
			sim.addAccount({ username: 'bystander', password: 'bystander-pass' });
			const short = parseToken((await api.post(PATHS.createShortToken, shortTokenBody('expiring', 'expiring-pass'))).data);
			const long = parseToken((await api.post(PATHS.createLongToken, longTokenBody(short, 'long'))).data);
			const other = await longTokenFor(api, 'bystander', 'bystander-pass');

			expect(sim.expireTokens('expiring')).toBe(2);
			expect((await usage(api, long)).status).toBe(STATUS.unauthorized);
			expect((await api.post(PATHS.createLongToken, longTokenBody(short, 'long'))).status).toBe(STATUS.unauthorized);
			expect((await usage(api, other)).status).toBe(STATUS.ok);

			const fresh = await longTokenFor(api, 'expiring', 'expiring-pass');
			expect(sim.revokeToken(fresh)).toBe(true);
			expect(sim.revokeToken(fresh)).toBe(false);
			expect((await usage(api, fresh)).status).toBe(STATUS.unauthorized);

			sim.expireTokens();
			expect((await usage(api, other)).status).toBe(STATUS.unauthorized);
		});

		test('tokens expire after their lifetime', async () => {
			await withSimulator({ shortTokenTtlMs: 40, longTokenTtlMs: 40 }, async (_sim, local) => {
				const shortAnswer = await local.post(PATHS.createShortToken, shortTokenBody(READY.username, READY.password));
				expect(shortAnswer.data.expires_in).toBe(1);
				await sleep(120);
				const late = await local.post(PATHS.createLongToken, longTokenBody(parseToken(shortAnswer.data), 'long'));
				expect(late.status).toBe(STATUS.unauthorized);
				expect(errorMessage(late.data)).toMatch(/expired/);
			});
			await withSimulator({ longTokenTtlMs: 40 }, async (_sim, local) => {
				const long = await longTokenFor(local, READY.username, READY.password);
				await sleep(120);
				expect((await usage(local, long)).status).toBe(STATUS.unauthorized);
			});
		});
	});

	describe('faults', () => {
		let token: string;
		beforeAll(async () => {
			sim.addAccount({ username: 'faulty', password: 'faulty-pass' });
			token = await longTokenFor(api, 'faulty', 'faulty-pass');
		});
		afterEach(() => sim.clearFaults());

		test('a status fault answers the next `times` matching requests, counting no hit', async () => {
			const before = sim.usage('faulty').total_hits;
			sim.injectFault({ path: PATHS.consumerData, status: 503, times: 2, body: { status: 'error', message: 'down' } });
			expect(sim.pendingFaults).toBe(2);
			expect((await usage(api, token)).status).toBe(STATUS.ok);
			const first = await lookup(api, token, { email: 'jane.doe@example.com' });
			expect(first.status).toBe(503);
			expect(first.data).toEqual({ status: 'error', message: 'down' });
			expect((await lookup(api, token, { email: 'jane.doe@example.com' })).status).toBe(503);
			expect((await lookup(api, token, { email: 'jane.doe@example.com' })).status).toBe(STATUS.ok);
			expect(sim.usage('faulty').total_hits).toBe(before + 1);
			expect(sim.pendingFaults).toBe(0);
		});

		test('faults are consumed in order; a fault without a path matches any request', async () => {
			sim.injectFault({ status: 502 });
			sim.injectFault({ path: `/api/v1.0${PATHS.usage}`, status: 504 });
			expect((await usage(api, token)).status).toBe(502);
			expect((await usage(api, token)).status).toBe(504);
			sim.injectFault({ status: 500, headers: { 'X-Fault': 'yes' } });
			const withHeader = await api.post(PATHS.createShortToken, shortTokenBody(READY.username, READY.password));
			expect(withHeader.status).toBe(500);
			expect(withHeader.headers['x-fault']).toBe('yes');
			expect(errorMessage(withHeader.data)).toEqual(expect.any(String));
		});

		test('a 429 fault can carry Retry-After', async () => {
			sim.injectFault({ path: PATHS.consumerData, status: 429, headers: { 'Retry-After': '7' } });
			const answer = await lookup(api, token, { email: 'jane.doe@example.com' });
			expect(answer.status).toBe(429);
			expect(answer.headers['retry-after']).toBe('7');
		});

		test('a string body is sent raw (malformed JSON, or no body)', async () => {
			sim.injectFault({ path: PATHS.consumerData, status: 200, body: '{"status":"succ' });
			const malformed = await lookup(api, token, { email: 'jane.doe@example.com' });
			expect(malformed.status).toBe(200);
			expect(malformed.data).toBe('{"status":"succ');
			sim.injectFault({ path: PATHS.consumerData, status: 500, body: '' });
			const empty = await api.get(PATHS.consumerData, {
				params: { email: 'jane.doe@example.com' },
				headers: authorizationHeader(token),
				responseType: 'text',
			});
			expect(empty.status).toBe(500);
			expect(empty.data).toBe('');
		});

		test('a drop fault destroys the connection without an answer; the next request works', async () => {
			sim.resetStats();
			sim.injectFault({ path: PATHS.consumerData, drop: true });
			const error = await lookup(api, token, { email: 'jane.doe@example.com' }).then(
				() => undefined,
				(reason: unknown) => reason,
			);
			expect(axios.isAxiosError(error)).toBe(true);
			expect(axios.isAxiosError(error) && error.response).toBeFalsy();
			expect(sim.stats.calls(PATHS.consumerData, 0)).toBe(1);
			expect((await lookup(api, token, { email: 'jane.doe@example.com' })).status).toBe(STATUS.ok);
			expect(sim.stats.inFlight).toBe(0);
		});

		test('a delay-only fault delays, then answers normally', async () => {
			const before = sim.usage('faulty').total_hits;
			sim.injectFault({ path: PATHS.consumerData, delayMs: 200 });
			const started = performance.now();
			const answer = await lookup(api, token, { email: 'jane.doe@example.com' });
			expect(performance.now() - started).toBeGreaterThanOrEqual(190);
			expect(answer.status).toBe(STATUS.ok);
			expect(sim.usage('faulty').total_hits).toBe(before + 1);
		});

		test('bad fault specs are refused', () => {
			expect(() => sim.injectFault({ times: 0 })).toThrow();
			expect(() => sim.injectFault({ status: 42 })).toThrow();
		});
	});

	describe('latency and concurrency', () => {
		let token: string;
		beforeAll(async () => {
			sim.addAccount({ username: 'busy', password: 'busy-pass' });
			token = await longTokenFor(api, 'busy', 'busy-pass');
		});
		afterEach(() => sim.setLatency(0));

		test('latency delays every answer', async () => {
			sim.setLatency(150);
			let started = performance.now();
			expect((await usage(api, token)).status).toBe(STATUS.ok);
			expect(performance.now() - started).toBeGreaterThanOrEqual(140);
			started = performance.now();
			expect((await api.post(PATHS.createShortToken, shortTokenBody('busy', 'busy-pass'))).status).toBe(STATUS.ok);
			expect(performance.now() - started).toBeGreaterThanOrEqual(140);
		});

		test('peakInFlight counts concurrent consumer requests', async () => {
			sim.resetStats();
			sim.setLatency(300);
			const answers = await Promise.all(Array.from({ length: 8 }, () => usage(api, token)));
			expect(answers.every((answer) => answer.status === STATUS.ok)).toBe(true);
			expect(sim.stats.peakInFlight).toBeGreaterThanOrEqual(2);
			expect(sim.stats.peakInFlight).toBeLessThanOrEqual(8);
			expect(sim.stats.inFlight).toBe(0);
		});

		test('hundreds of requests in flight are all answered', async () => {
			await withSimulator({ rateLimit: 10_000, periodMs: 60_000, latencyMs: 50 }, async (local, localApi) => {
				const own = await longTokenFor(localApi, READY.username, READY.password);
				const answers = await Promise.all(
					Array.from({ length: 300 }, (_, index) => lookup(localApi, own, { email: `person${index}@example.com` })),
				);
				expect(answers.filter((answer) => answer.status === STATUS.ok)).toHaveLength(300);
				expect(local.stats.maxArrivalsInWindow).toBe(300);
				expect(local.stats.identifiers).toHaveLength(300);
				expect(local.usage(READY.username).total_hits).toBe(300);
			});
		});

		test('keep-alive connections are reused', async () => {
			const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
			try {
				await withSimulator({}, async (local) => {
					const kept = client(local, agent);
					const own = await longTokenFor(kept, READY.username, READY.password);
					for (let index = 0; index < 5; index++) expect((await usage(kept, own)).status).toBe(STATUS.ok);
					expect(local.stats.connections).toBe(1);
					expect(local.stats.count).toBe(7);
				});
			} finally {
				agent.destroy();
			}
		});

		test('stop() closes open connections and pending answers', async () => {
			const local = await startSimulator({ latencyMs: 10_000 });
			const localApi = client(local);
			const pending = localApi.post(PATHS.createShortToken, shortTokenBody(READY.username, READY.password)).then(
				() => 'answered',
				() => 'failed',
			);
			while (local.stats.calls(PATHS.createShortToken) === 0) await sleep(10);
			await local.stop();
			expect(await pending).toBe('failed');
		});
	});

	describe('stats', () => {
		test('calls, identifiers, authorizations and logins are recorded', async () => {
			sim.addAccount({ username: 'watched', password: 'watched-pass' });
			sim.resetStats();
			expect(sim.stats.count).toBe(0);
			const own = await longTokenFor(api, 'watched', 'watched-pass');
			await lookup(api, own, { email: 'first@example.com' });
			await lookup(api, own, { phone: '+15550001111' });
			await lookup(api, own, { maid: 'bad' });
			await api.get(PATHS.usage, { headers: { Authorization: 'Bearer nope' } });

			expect(sim.stats.calls(PATHS.createShortToken)).toBe(1);
			expect(sim.stats.calls(PATHS.createLongToken, 200)).toBe(1);
			expect(sim.stats.calls(PATHS.consumerData)).toBe(3);
			expect(sim.stats.calls(PATHS.consumerData, 400)).toBe(1);
			expect(sim.stats.calls(`/api/v1.0${PATHS.consumerData}`, 200)).toBe(2);
			expect(sim.stats.calls(PATHS.usage, 401)).toBe(1);
			expect(sim.stats.count).toBe(6);
			expect(sim.stats.byPath[PATHS.consumerData]).toEqual({ 200: 2, 400: 1 });
			expect(sim.stats.identifiers).toEqual([
				{ type: 'email', value: 'first@example.com' },
				{ type: 'phone', value: '+15550001111' },
				{ type: 'maid', value: 'bad' },
			]);
			expect(sim.stats.authorizations).toEqual([`Bearer ${own}`, `Bearer ${own}`, `Bearer ${own}`, 'Bearer nope']);
			expect(sim.stats.logins).toEqual({ watched: 1 });
			expect(sim.stats.resets).toEqual({});

			sim.resetStats();
			expect(sim.stats.count).toBe(0);
			expect(sim.stats.identifiers).toEqual([]);
			expect(sim.stats.maxArrivalsInWindow).toBe(0);
		});
	});
});

describe('simulator rate limit', () => {
	const statuses = (answers: AxiosResponse[]) => answers.map((answer) => answer.status).sort();

	test('a sliding window accepts at most rateLimit per period, then 429 with Retry-After', async () => {
		await withSimulator({ rateLimit: 3, periodMs: 10_000 }, async (sim, api) => {
			sim.addAccount({ username: 'other', password: 'other-pass' });
			const token = await longTokenFor(api, READY.username, READY.password);
			const otherToken = await longTokenFor(api, 'other', 'other-pass');
			const answers = await Promise.all(Array.from({ length: 5 }, () => lookup(api, token, { email: 'jane.doe@example.com' })));
			expect(statuses(answers)).toEqual([200, 200, 200, 429, 429]);
			for (const answer of answers.filter((each) => each.status === 429)) {
				expect(answer.data).toEqual({ status: 'error', message: 'Rate limit exceeded' });
				const seconds = Number(answer.headers['retry-after']);
				expect(Number.isInteger(seconds)).toBe(true);
				expect(seconds).toBeGreaterThanOrEqual(1);
				expect(seconds).toBeLessThanOrEqual(10);
			}
			expect(sim.usage(READY.username).total_hits).toBe(3);
			expect((await usage(api, token)).status).toBe(429);
			expect(sim.stats.calls(PATHS.consumerData, 429)).toBe(2);
			expect(sim.stats.maxArrivalsInWindow).toBe(6);

			// Per account; token endpoints are not limited.
			expect((await usage(api, otherToken)).status).toBe(STATUS.ok);
			const logins = await Promise.all(
				Array.from({ length: 5 }, () => api.post(PATHS.createShortToken, shortTokenBody(READY.username, READY.password))),
			);
			expect(statuses(logins)).toEqual([200, 200, 200, 200, 200]);
		});
	});

	test('without retryAfter the 429 has no Retry-After', async () => {
		await withSimulator({ rateLimit: 1, periodMs: 10_000, retryAfter: false }, async (_sim, api) => {
			const token = await longTokenFor(api, READY.username, READY.password);
			expect((await usage(api, token)).status).toBe(STATUS.ok);
			const limited = await usage(api, token);
			expect(limited.status).toBe(STATUS.rateLimited);
			expect(limited.headers['retry-after']).toBeUndefined();
		});
	});

	test('a slot frees within Retry-After', async () => {
		await withSimulator({ rateLimit: 2, period: 'second' }, async (_sim, api) => {
			const token = await longTokenFor(api, READY.username, READY.password);
			let limited: AxiosResponse | undefined;
			for (let attempt = 0; attempt < 50 && !limited; attempt++) {
				const answer = await usage(api, token);
				if (answer.status === STATUS.rateLimited) limited = answer;
			}
			expect(limited).toBeDefined();
			const seconds = Number(limited?.headers['retry-after']);
			expect(seconds).toBe(1);
			await sleep(seconds * 1000 + 20);
			expect((await usage(api, token)).status).toBe(STATUS.ok);
		});
	});

	test('setRateLimit changes the limit at run time', async () => {
		await withSimulator({ rateLimit: 1, periodMs: 10_000 }, async (sim, api) => {
			const token = await longTokenFor(api, READY.username, READY.password);
			expect((await usage(api, token)).status).toBe(STATUS.ok);
			expect((await usage(api, token)).status).toBe(STATUS.rateLimited);
			sim.setRateLimit(3);
			expect((await usage(api, token)).status).toBe(STATUS.ok);
		});
	});

	test('SlidingWindowLimiter is exact on a fake clock', () => {
		const limiter = new SlidingWindowLimiter(3, 1000);
		expect([0, 100, 200].map((t) => limiter.tryAccept('a', t).accepted)).toEqual([true, true, true]);
		expect(limiter.tryAccept('a', 999)).toEqual({ accepted: false, retryAfterMs: 1 });
		expect(limiter.tryAccept('b', 999).accepted).toBe(true);
		expect(limiter.tryAccept('a', 1000).accepted).toBe(true);
		expect(limiter.tryAccept('a', 1050)).toEqual({ accepted: false, retryAfterMs: 50 });
		expect(limiter.tryAccept('a', 1100).accepted).toBe(true);
	});

	test('ArrivalWindow finds the busiest window exactly', () => {
		const window = new ArrivalWindow(() => 1000);
		for (const t of [0, 10, 20, 990, 1000, 1005, 1500, 1995, 1996, 1997, 1998]) window.record(t);
		// The window (0, 1000] no longer holds 0; (998, 1998] holds 1000, 1005, 1500 and 1995..1998.
		expect(window.max).toBe(7);
		window.reset();
		expect(window.max).toBe(0);
	});
});
