/**
 * A local Factori API simulator (factori-api.md) on Node's own `http`: the token flow with
 * password reset, bearer-guarded consumer calls, quota, a sliding-window rate limit,
 * latency, injected faults and counters for tests. Listens on 127.0.0.1 only.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
	DEFAULT_BASE_URL,
	DEFAULT_RATE_LIMIT,
	DEFAULT_RATE_LIMIT_PERIOD,
	DEFAULT_TOKEN_TYPE,
	IDENTIFIER_QUERY_NAME,
	IDENTIFIER_TYPES,
	LONG_TOKEN_TTL_SECONDS,
	PASSWORD_RESET_REQUIRED,
	PATHS,
	PERIOD_MS,
	SHORT_TOKEN_TTL_SECONDS,
	STATUS,
	type IdentifierType,
	type RateLimitPeriod,
	type Usage,
} from '../../nodes/Factori/transport/contract';
import { Accounts, DEMO_ACCOUNTS, MIN_PASSWORD_LENGTH, type QuotaUpdate, type SimulatorAccount } from './accounts';
import { checkIdentifier, consumerFor, UnmatchedRegistry } from './consumers';
import { FaultQueue, type Fault, type FaultSpec } from './faults';
import { SlidingWindowLimiter } from './rate-window';
import { DROPPED, SimulatorStats } from './stats';
import { TokenStore } from './tokens';
import {
	EXPIRES_IN_FIELD,
	LONG_TOKEN_FIELDS,
	MESSAGE,
	RESET_FIELDS,
	SHORT_TOKEN_FIELDS,
	TOKEN_HEADER,
	tokenFromHeader,
} from './wire';

export { consumerFor, checkIdentifier } from './consumers';
export { DEMO_ACCOUNT, DEMO_ACCOUNTS, READY_ACCOUNT, type QuotaUpdate, type SimulatorAccount } from './accounts';
export type { FaultSpec } from './faults';
export { DROPPED, SimulatorStats, type ReceivedIdentifier } from './stats';

/** The path every endpoint lives under, taken from the contract's base URL ('/api/v1.0'). */
export const BASE_PATH = new URL(DEFAULT_BASE_URL).pathname.replace(/\/$/, '');
export const SIMULATOR_HOST = '127.0.0.1';

export interface SimulatorOptions {
	/** 0 (default) picks a free port. */
	port?: number;
	/** Accounts to start with; the demo accounts (DEMO_ACCOUNTS) when omitted. */
	accounts?: SimulatorAccount[];
	/** Requests accepted per account in any window of the period (default DEFAULT_RATE_LIMIT). */
	rateLimit?: number;
	/** 'second' (default) or 'minute'; `periodMs` overrides it. */
	period?: RateLimitPeriod;
	periodMs?: number;
	/** Send `Retry-After` with 429 (default true). */
	retryAfter?: boolean;
	/** Delay before every answer. */
	latencyMs?: number;
	shortTokenTtlMs?: number;
	longTokenTtlMs?: number;
	/** `token_type` values create_long_token accepts (default [DEFAULT_TOKEN_TYPE]). */
	tokenTypes?: string[];
}

export interface Simulator {
	/** `http://127.0.0.1:<port>/api/v1.0` */
	readonly url: string;
	readonly port: number;
	readonly stats: SimulatorStats;
	readonly pendingFaults: number;
	addAccount(account: SimulatorAccount): void;
	setQuota(username: string, update: QuotaUpdate): void;
	usage(username: string): Usage;
	/** Makes a raw value (and its SHA-256 and MD5 hashes), or a hash, find no consumer. */
	markUnmatched(type: IdentifierType, rawValue: string): void;
	/** Expires every short and long token of `username`, or of everyone; returns how many. */
	expireTokens(username?: string): number;
	revokeToken(token: string): boolean;
	injectFault(fault: FaultSpec): void;
	clearFaults(): void;
	setLatency(ms: number): void;
	setRateLimit(limit: number, periodMs?: number): void;
	resetStats(): void;
	/** Closes the server and every open connection; resolves once closed. */
	stop(): Promise<void>;
}

type Answer =
	| { kind: 'reply'; status: number; body: unknown; headers?: Record<string, string> }
	| { kind: 'drop' };

const reply = (status: number, body: unknown, headers?: Record<string, string>): Answer => ({
	kind: 'reply',
	status,
	body,
	headers,
});
const failure = (status: number, message: string, extra?: Record<string, unknown>): Answer =>
	reply(status, { status: 'error', ...extra, message });

const MAX_BODY_BYTES = 1 << 20;
const TYPE_BY_QUERY_NAME = new Map<string, IdentifierType>(IDENTIFIER_TYPES.map((type) => [IDENTIFIER_QUERY_NAME[type], type]));
const QUERY_NAMES = IDENTIFIER_TYPES.map((type) => IDENTIFIER_QUERY_NAME[type]);
const QUERY_NAME_LIST = `${QUERY_NAMES.slice(0, -1).join(', ')} or ${QUERY_NAMES[QUERY_NAMES.length - 1]}`;
const TOKEN_PATHS: readonly string[] = [PATHS.resetPassword, PATHS.createShortToken, PATHS.createLongToken];
const CONSUMER_PATHS: readonly string[] = [PATHS.usage, PATHS.consumerData];

/** The path under the base path, or undefined for a path outside it. */
function underBase(pathname: string): string | undefined {
	if (pathname === BASE_PATH) return '/';
	return pathname.startsWith(`${BASE_PATH}/`) ? pathname.slice(BASE_PATH.length) : undefined;
}

/** A path as the stats and faults name it: without the base path. */
export const simulatorPath = (path: string): string => underBase(path) ?? path;

const isCount = (value: number) => Number.isInteger(value) && value >= 0;
const positive = (value: number, name: string): number => {
	if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${name} must be a number > 0`);
	return value;
};
const nonNegative = (value: number, name: string): number => {
	if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`${name} must be a number >= 0`);
	return value;
};

/** The request body as text; undefined when the client went away, null when too large. */
function readBody(req: http.IncomingMessage): Promise<string | null | undefined> {
	return new Promise((resolve) => {
		const chunks: Buffer[] = [];
		let size = 0;
		let settled = false;
		const settle = (value: string | null | undefined) => {
			if (!settled) {
				settled = true;
				resolve(value);
			}
		};
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size <= MAX_BODY_BYTES) chunks.push(chunk);
		});
		req.on('end', () => settle(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
		req.on('error', () => settle(undefined));
		req.on('close', () => settle(undefined));
	});
}

type Fields<K extends string> = { ok: true; values: Record<K, string> } | { ok: false; answer: Answer };

/** The named text fields of a JSON body, or the 400 that says which are missing. */
function readFields<K extends string>(text: string, names: Record<K, string>): Fields<K> {
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		return { ok: false, answer: failure(STATUS.badRequest, 'the body must be JSON') };
	}
	if (typeof body !== 'object' || body === null || Array.isArray(body)) {
		return { ok: false, answer: failure(STATUS.badRequest, 'the body must be a JSON object') };
	}
	const source = body as Record<string, unknown>;
	const values = {} as Record<K, string>;
	const missing: string[] = [];
	const notText: string[] = [];
	for (const key of Object.keys(names) as K[]) {
		const field = names[key];
		const value = source[field];
		if (value === undefined || value === null || value === '') missing.push(field);
		else if (typeof value !== 'string') notText.push(field);
		else values[key] = value;
	}
	if (missing.length > 0) {
		return { ok: false, answer: failure(STATUS.badRequest, `missing field${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`) };
	}
	if (notText.length > 0) {
		return { ok: false, answer: failure(STATUS.badRequest, `${notText.join(', ')} must be text`) };
	}
	return { ok: true, values };
}

class SimulatorServer implements Simulator {
	readonly stats: SimulatorStats;
	private readonly accounts = new Accounts();
	private readonly tokens: TokenStore;
	private readonly limiter: SlidingWindowLimiter;
	private readonly unmatched = new UnmatchedRegistry();
	private readonly faults = new FaultQueue(simulatorPath);
	private readonly sockets = new Set<Socket>();
	private readonly timers = new Set<NodeJS.Timeout>();
	private readonly retryAfter: boolean;
	private readonly tokenTypes: readonly string[];
	private latencyMs: number;
	private stopping: Promise<void> | undefined;
	private listeningPort = 0;
	readonly server: http.Server;

	constructor(options: SimulatorOptions) {
		const periodMs = options.periodMs ?? PERIOD_MS[options.period ?? DEFAULT_RATE_LIMIT_PERIOD];
		if (periodMs === undefined) throw new Error(`unknown rate-limit period "${String(options.period)}"`);
		this.limiter = new SlidingWindowLimiter(1, 1);
		this.setRateLimit(options.rateLimit ?? DEFAULT_RATE_LIMIT, periodMs);
		this.stats = new SimulatorStats(() => this.limiter.periodMs, simulatorPath);
		this.retryAfter = options.retryAfter ?? true;
		this.latencyMs = nonNegative(options.latencyMs ?? 0, 'latencyMs');
		this.tokens = new TokenStore({
			short: positive(options.shortTokenTtlMs ?? SHORT_TOKEN_TTL_SECONDS * 1000, 'shortTokenTtlMs'),
			long: positive(options.longTokenTtlMs ?? LONG_TOKEN_TTL_SECONDS * 1000, 'longTokenTtlMs'),
		});
		this.tokenTypes = options.tokenTypes ?? [DEFAULT_TOKEN_TYPE];
		if (this.tokenTypes.length === 0) throw new Error('tokenTypes must name at least one token type');
		for (const account of options.accounts ?? DEMO_ACCOUNTS) this.accounts.add(account);

		this.server = http.createServer((req, res) => this.handle(req, res));
		this.server.keepAliveTimeout = 60_000;
		this.server.headersTimeout = 65_000;
		this.server.on('connection', (socket: Socket) => {
			this.sockets.add(socket);
			this.stats.connections++;
			socket.once('close', () => this.sockets.delete(socket));
		});
	}

	listen(port: number): Promise<void> {
		return new Promise((resolve, reject) => {
			const onError = (error: Error) => reject(error);
			this.server.once('error', onError);
			this.server.listen({ port, host: SIMULATOR_HOST }, () => {
				this.server.off('error', onError);
				this.listeningPort = (this.server.address() as AddressInfo).port;
				resolve();
			});
		});
	}

	get port(): number {
		return this.listeningPort;
	}

	get url(): string {
		return `http://${SIMULATOR_HOST}:${this.listeningPort}${BASE_PATH}`;
	}

	get pendingFaults(): number {
		return this.faults.pending;
	}

	addAccount(account: SimulatorAccount): void {
		this.accounts.add(account);
	}

	setQuota(username: string, update: QuotaUpdate): void {
		this.accounts.setQuota(username, update);
	}

	usage(username: string): Usage {
		return this.accounts.usage(username);
	}

	markUnmatched(type: IdentifierType, rawValue: string): void {
		this.unmatched.mark(type, rawValue);
	}

	expireTokens(username?: string): number {
		if (username !== undefined) this.accounts.require(username);
		return this.tokens.expire(username);
	}

	revokeToken(token: string): boolean {
		return this.tokens.revoke(token);
	}

	injectFault(fault: FaultSpec): void {
		this.faults.add(fault);
	}

	clearFaults(): void {
		this.faults.clear();
	}

	setLatency(ms: number): void {
		this.latencyMs = nonNegative(ms, 'latency');
	}

	setRateLimit(limit: number, periodMs: number = this.limiter.periodMs): void {
		if (!isCount(limit) || limit < 1) throw new Error('rateLimit must be a whole number >= 1');
		this.limiter.limit = limit;
		this.limiter.periodMs = positive(periodMs, 'periodMs');
	}

	resetStats(): void {
		this.stats.reset();
	}

	stop(): Promise<void> {
		if (!this.stopping) {
			for (const timer of this.timers) clearTimeout(timer);
			this.timers.clear();
			this.stopping = new Promise((resolve) => {
				if (!this.server.listening) {
					resolve();
					return;
				}
				this.server.close(() => resolve());
				for (const socket of this.sockets) socket.destroy();
			});
		}
		return this.stopping;
	}

	private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
		const arrivedAt = performance.now();
		let target: URL;
		try {
			target = new URL(req.url ?? '/', `http://${SIMULATOR_HOST}`);
		} catch {
			req.resume();
			this.finish(res, req.url ?? '', failure(STATUS.badRequest, 'unreadable request target'), 0);
			return;
		}
		const { pathname, searchParams: query } = target;
		const path = underBase(pathname);
		const statsPath = path ?? pathname;
		const isConsumer = path !== undefined && path.startsWith('/consumer/');

		const authHeader = req.headers[TOKEN_HEADER.name];
		const authorization = Array.isArray(authHeader) ? authHeader[0] : authHeader;
		if (authorization !== undefined) this.stats.authorizations.push(authorization);
		if (isConsumer) res.once('close', this.stats.enterConsumer(arrivedAt));
		if (path === PATHS.consumerData) {
			for (const [name, value] of query) {
				const type = TYPE_BY_QUERY_NAME.get(name);
				if (type) this.stats.identifiers.push({ type, value });
			}
		}

		const fault = path === undefined ? undefined : this.faults.take(path);
		const finish = (answer: Answer) => this.finish(res, statsPath, answer, fault?.delayMs ?? 0);
		if (fault?.replaces) {
			req.resume();
			finish(this.faultAnswer(fault));
		} else if (path === undefined || !TOKEN_PATHS.includes(path)) {
			req.resume();
			finish(internalErrorAs500(() => this.consumerAnswer(path, req.method, query, authorization, arrivedAt)));
		} else {
			void readBody(req).then((text) => {
				if (text === undefined) return;
				if (text === null) finish(failure(413, 'the body is too large'));
				else finish(internalErrorAs500(() => this.tokenAnswer(path, req.method, text, performance.now())));
			});
		}
	}

	private faultAnswer(fault: Fault): Answer {
		if (fault.drop) return { kind: 'drop' };
		const status = fault.status ?? 500;
		const body = fault.body !== undefined ? fault.body : { status: 'error', message: `Injected fault (${status})` };
		return reply(status, body, fault.headers);
	}

	/** Counts the answer, then sends it after the latency (and any fault delay). */
	private finish(res: http.ServerResponse, statsPath: string, answer: Answer, extraDelayMs: number): void {
		this.stats.recordCall(statsPath, answer.kind === 'drop' ? DROPPED : answer.status);
		const delay = this.latencyMs + extraDelayMs;
		if (delay <= 0) {
			this.send(res, answer);
			return;
		}
		const timer = setTimeout(() => {
			this.timers.delete(timer);
			this.send(res, answer);
		}, delay);
		this.timers.add(timer);
	}

	private send(res: http.ServerResponse, answer: Answer): void {
		if (this.stopping || res.destroyed || res.writableEnded) return;
		if (answer.kind === 'drop') {
			res.socket?.destroy();
			return;
		}
		const { body } = answer;
		const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
		res.setHeader('Content-Type', 'application/json; charset=utf-8');
		for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
		res.setHeader('Content-Length', Buffer.byteLength(payload));
		res.writeHead(answer.status);
		res.end(payload);
	}

	private tokenAnswer(path: string, method: string | undefined, text: string, now: number): Answer {
		if (method !== 'POST') return reply(405, { status: 'error', message: MESSAGE.methodNotAllowed }, { Allow: 'POST' });
		switch (path) {
			case PATHS.resetPassword:
				return this.resetPassword(text);
			case PATHS.createShortToken:
				return this.createShortToken(text, now);
			default:
				return this.createLongToken(text, now);
		}
	}

	private resetPassword(text: string): Answer {
		const fields = readFields(text, RESET_FIELDS);
		if (!fields.ok) return fields.answer;
		const { username, password, newPassword } = fields.values;
		if (newPassword === password) return failure(STATUS.badRequest, 'the new password must differ from the old one');
		if (newPassword.length < MIN_PASSWORD_LENGTH) {
			return failure(STATUS.badRequest, `the new password must be at least ${MIN_PASSWORD_LENGTH} characters`);
		}
		if (!this.accounts.passwordMatches(username, password)) return failure(STATUS.unauthorized, MESSAGE.invalidLogin);
		this.accounts.resetPassword(username, newPassword);
		this.stats.recordReset(username);
		return reply(STATUS.ok, { status: 'success', message: MESSAGE.passwordUpdated });
	}

	private createShortToken(text: string, now: number): Answer {
		const fields = readFields(text, SHORT_TOKEN_FIELDS);
		if (!fields.ok) return fields.answer;
		const { username, password } = fields.values;
		const login = this.accounts.login(username, password);
		if (login === 'invalid') return failure(STATUS.unauthorized, MESSAGE.invalidLogin);
		if (login === 'reset-required') {
			return failure(STATUS.forbidden, MESSAGE.resetRequired, { code: PASSWORD_RESET_REQUIRED });
		}
		this.stats.recordLogin(username);
		const issued = this.tokens.issue('short', username, now);
		return reply(STATUS.ok, { status: 'success', token: issued.token, [EXPIRES_IN_FIELD]: issued.expiresInSeconds });
	}

	private createLongToken(text: string, now: number): Answer {
		const fields = readFields(text, LONG_TOKEN_FIELDS);
		if (!fields.ok) return fields.answer;
		const { shortToken, tokenType } = fields.values;
		if (!this.tokenTypes.includes(tokenType)) {
			return failure(
				STATUS.badRequest,
				`unknown ${LONG_TOKEN_FIELDS.tokenType} "${tokenType}": use ${this.tokenTypes.map((type) => `"${type}"`).join(' or ')}`,
			);
		}
		const found = this.tokens.lookup('short', shortToken, now);
		if (!found.ok) {
			const state = found.reason === 'expired' ? 'has expired' : 'is unknown';
			return failure(STATUS.unauthorized, `${LONG_TOKEN_FIELDS.shortToken} ${state}`);
		}
		const issued = this.tokens.issue('long', found.username, now);
		return reply(STATUS.ok, { status: 'success', token: issued.token, [EXPIRES_IN_FIELD]: issued.expiresInSeconds });
	}

	private consumerAnswer(
		path: string | undefined,
		method: string | undefined,
		query: URLSearchParams,
		authorization: string | undefined,
		now: number,
	): Answer {
		if (path === undefined || !CONSUMER_PATHS.includes(path)) return failure(STATUS.noMatch, MESSAGE.notFound);
		if (method !== 'GET') return reply(405, { status: 'error', message: MESSAGE.methodNotAllowed }, { Allow: 'GET' });

		const token = tokenFromHeader(authorization);
		if (token === undefined) return failure(STATUS.unauthorized, MESSAGE.missingToken);
		const found = this.tokens.lookup('long', token, now);
		if (!found.ok) {
			return failure(STATUS.unauthorized, found.reason === 'expired' ? MESSAGE.expiredToken : MESSAGE.invalidToken);
		}
		const account = this.accounts.get(found.username);
		if (!account) return failure(STATUS.unauthorized, MESSAGE.invalidToken);

		const decision = this.limiter.tryAccept(account.username, now);
		if (!decision.accepted) {
			const headers = this.retryAfter
				? { 'Retry-After': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) }
				: undefined;
			return reply(STATUS.rateLimited, { status: 'error', message: MESSAGE.rateLimited }, headers);
		}

		if (path === PATHS.usage) return reply(STATUS.ok, { status: 'success', data: this.accounts.usage(account.username) });

		if (this.accounts.usage(account.username).usage_quota <= 0) {
			return failure(STATUS.insufficientCredits, MESSAGE.insufficientCredits);
		}
		const identifier = this.readIdentifier(query);
		if (!identifier.ok) {
			this.accounts.countHit(account.username, true);
			return failure(STATUS.badRequest, identifier.message);
		}
		this.accounts.countHit(account.username, false);
		const { type, value } = identifier;
		const record = this.unmatched.has(type, value) ? null : consumerFor(type, value);
		if (record === null) return failure(STATUS.noMatch, MESSAGE.noConsumer);
		return reply(STATUS.ok, { status: 'success', data: record });
	}

	private readIdentifier(
		query: URLSearchParams,
	): { ok: true; type: IdentifierType; value: string } | { ok: false; message: string } {
		const names = [...query.keys()];
		const unknown = [...new Set(names.filter((name) => !TYPE_BY_QUERY_NAME.has(name)))];
		if (unknown.length > 0) {
			const list = unknown.map((name) => `"${name}"`).join(', ');
			return {
				ok: false,
				message: `unknown query parameter${unknown.length > 1 ? 's' : ''} ${list}: send exactly one of ${QUERY_NAME_LIST}`,
			};
		}
		if (names.length === 0) return { ok: false, message: `one identifier is required: ${QUERY_NAME_LIST}` };
		if (names.length > 1) {
			return { ok: false, message: `send exactly one identifier per call, not ${names.length} (${names.join(', ')})` };
		}
		const type = TYPE_BY_QUERY_NAME.get(names[0]) as IdentifierType;
		const value = query.get(names[0]) ?? '';
		const check = checkIdentifier(type, value);
		return check.ok ? { ok: true, type, value } : { ok: false, message: check.message };
	}
}

/** Starts a simulator on 127.0.0.1 (port 0: a free one). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
	const simulator = new SimulatorServer(options);
	await simulator.listen(options.port ?? 0);
	return simulator;
}

/** A bug in the simulator answers 500 with its message instead of leaving the client hanging. */
function internalErrorAs500(compute: () => Answer): Answer {
	try {
		return compute();
	} catch (error) {
		return failure(500, `simulator error: ${error instanceof Error ? error.message : String(error)}`);
	}
}
