/**
 * The one place that calls Factori for the node: every request goes through the account's
 * pacer, through n8n's authenticated request helper (which logs in and re-logs in on 401
 * through the credential), and through the retry policy. It alone turns Factori's status
 * codes into results and errors.
 */
import {
	type NodeApiError,
	type IExecuteFunctions,
	type IHttpRequestOptions,
} from 'n8n-workflow';

import type { Account } from './account';
import {
	ContractError,
	IDENTIFIER_QUERY_NAME,
	PATHS,
	STATUS,
	errorMessage,
	parseConsumer,
	parseUsage,
	type ConsumerRecord,
	type IdentifierType,
	type Usage,
} from './contract';
import { apiError, type ErrorDetails } from '../helpers/errors';
import { onDeparture } from './departure';
import type { Clock, Pacer, Release } from './pacer';
import { decide, type Outcome, type RetryPolicy } from './retry';
import { FirstAlone, OneAtATime, Waits } from './waits';

export const CREDENTIAL_TYPE = 'factoriApi';

/** A request that hangs this long counts as a dropped connection and is retried. */
const REQUEST_TIMEOUT_MS = 30_000;

interface Answer {
	status: number;
	body: unknown;
	headers: Record<string, unknown>;
}

export interface ClientOptions {
	account: Account;
	pacer: Pacer;
	clock: Clock;
	retry: RetryPolicy;
	/** Aborts waiting and sending: the execution was cancelled, or the node stops on an error. */
	signal: AbortSignal;
	/** Who is asking, for the pacer's fairness between executions. */
	owner: string;
}

export class FactoriClient {
	/** Set once Factori has said something that ends every later call of this run (402, a failed login). */
	private stopReason?: { message: string; description?: string; httpCode?: string };
	private readonly waits: Waits;
	/**
	 * Requests of this run leave one at a time. n8n prepares every request of the process on one
	 * thread, a few steps each (read the credential, authenticate, send). Were the next granted
	 * before the one before it got through them, a run's first requests would be prepared side
	 * by side and each leave long after its grant, while a request granted alone later leaves at
	 * once; the pacer, which reads the fastest answers as the server's time, would then free
	 * slots too early. So each request gets its grant once the one before it has reached n8n's
	 * last step before sending (the credential's authenticate) and had a turn of the event loop.
	 */
	private readonly launches = new OneAtATime();
	/**
	 * Without a stored token the first request logs in before it leaves. The pacer reads a delay
	 * that every answer of a burst shares as the server's time, and would then free the burst's
	 * slots before the server's window does: so that request goes alone, and the rest follow
	 * with the token.
	 */
	private readonly loginFirst: FirstAlone | undefined;

	constructor(
		private readonly context: IExecuteFunctions,
		private readonly options: ClientOptions,
	) {
		this.waits = new Waits(options.signal);
		if (!options.account.hasToken) this.loginFirst = new FirstAlone();
	}

	/** The consumer record for one identifier, or null when Factori has none. */
	async lookup(type: IdentifierType, value: string, itemIndex: number): Promise<ConsumerRecord | null> {
		const answer = await this.send({ url: PATHS.consumerData, qs: { [IDENTIFIER_QUERY_NAME[type]]: value } }, itemIndex);
		if (answer.status === STATUS.noMatch) return null;
		if (answer.status === STATUS.badRequest) {
			throw this.error(`Factori rejected the ${type} '${value}': ${errorMessage(answer.body) ?? 'no reason given'}`, {
				itemIndex,
				httpCode: '400',
			});
		}
		return this.parsed(() => parseConsumer(answer.body), 'lookup', itemIndex);
	}

	async usage(): Promise<Usage> {
		const answer = await this.send({ url: PATHS.usage }, 0);
		return this.parsed(() => parseUsage(answer.body), 'usage', 0);
	}

	/** Sends one request until it has an answer worth returning, or throws a per-item error. */
	private async send(request: { url: string; qs?: Record<string, string> }, itemIndex: number): Promise<Answer> {
		const { loginFirst } = this;
		if (!loginFirst) return await this.attempts(request, itemIndex);
		const entry = await this.wait((signal) => loginFirst.enter(signal), itemIndex);
		if (!entry.first) return await this.attempts(request, itemIndex);
		try {
			return await this.attempts(request, itemIndex, entry.settled);
		} finally {
			// Also when it ended before its first answer (the run stopped, the wait was cancelled).
			entry.settled();
		}
	}

	/**
	 * The attempts of one request. `loggedIn`: this is the request that logs in first (see
	 * loginFirst); called once its first attempt is answered, when the others may go.
	 */
	private async attempts(
		request: { url: string; qs?: Record<string, string> },
		itemIndex: number,
		loggedIn?: () => void,
	): Promise<Answer> {
		const { pacer, clock, retry, owner } = this.options;
		for (let attempt = 1; ; attempt++) {
			this.throwIfStopped(itemIndex);
			const launched = await this.wait((signal) => this.launches.turn(signal), itemIndex);
			let release: Release | undefined;
			try {
				release = await this.wait((signal) => pacer.acquire(owner, signal), itemIndex);
			} finally {
				if (!release) launched();
			}
			if (this.stopReason) {
				release('unsent');
				launched();
				this.throwIfStopped(itemIndex);
			}
			let outcome: Outcome;
			let answer: Answer | undefined;
			let departed = false;
			const depart = () => {
				if (departed) return;
				departed = true;
				void clock.sleep(0).finally(launched);
			};
			try {
				answer = await this.request(request, itemIndex, depart);
				outcome = answer
					? { kind: 'response', status: answer.status, retryAfterHeader: answer.headers['retry-after'] }
					: { kind: 'network' };
			} finally {
				// Also when it failed before it got to leave.
				depart();
				release(loggedIn && attempt === 1 ? 'delayed' : 'answered');
				if (attempt === 1) loggedIn?.();
			}

			if (answer?.status === STATUS.insufficientCredits) {
				this.stop({
					message: 'Factori says this account has no credits left',
					description:
						'No more lookups were sent in this run. Top up the account, then run the workflow again for the items that failed.',
					httpCode: '402',
				});
				this.throwIfStopped(itemIndex);
			}
			// Wall-clock time: Retry-After may be an HTTP date; the pacer's clock is monotonic.
			const decision = decide(outcome, attempt, retry, Date.now(), Math.random);
			if (decision.action === 'done' && answer) return this.acceptable(answer, itemIndex);
			if (decision.action === 'giveUp' || decision.action === 'done') {
				throw this.error(
					answer
						? `Factori answered ${answer.status} ${attempt === 1 ? 'once' : `${attempt} times in a row`}: ${errorMessage(answer.body) ?? 'no reason given'}`
						: `Factori could not be reached (${attempt === 1 ? '1 attempt' : `${attempt} attempts`})`,
					{
						itemIndex,
						httpCode: answer ? String(answer.status) : undefined,
						description: `${answer ? '' : 'The connection was dropped or timed out. '}Try again later; the other items were not affected.`,
					},
				);
			}
			if (decision.coolOffAccount) pacer.coolOff(decision.delayMs);
			else await this.wait((signal) => clock.sleep(decision.delayMs, signal), itemIndex);
		}
	}

	/** A wait that ends early when the execution is cancelled or this run stops sending. */
	private async wait<T>(wait: (signal: AbortSignal) => Promise<T>, itemIndex: number): Promise<T> {
		try {
			return await this.waits.run(wait);
		} catch (error) {
			this.throwIfStopped(itemIndex);
			const reason = error instanceof Error ? error.message : String(error);
			throw this.options.signal.aborted
				? this.error('The execution was stopped before this lookup got an answer', { itemIndex, description: reason })
				: this.error(`The lookup could not wait for its turn: ${reason}`, { itemIndex });
		}
	}

	/** Ends every later call of this run, and every wait for one, with this reason. */
	private stop(reason: NonNullable<FactoriClient['stopReason']>): void {
		this.stopReason ??= reason;
		this.waits.abortAll(new Error(reason.message));
	}

	/**
	 * One HTTP request; undefined when no answer came (dropped connection, time-out).
	 * `departing` runs when n8n is about to send it.
	 */
	private async request(
		request: { url: string; qs?: Record<string, string> },
		itemIndex: number,
		departing: () => void,
	): Promise<Answer | undefined> {
		const options: IHttpRequestOptions = {
			method: 'GET',
			url: this.options.account.baseUrl + request.url,
			qs: request.qs,
			json: true,
			returnFullResponse: true,
			timeout: REQUEST_TIMEOUT_MS,
			// Every status comes back as an answer except 401, which n8n must see as an error
			// so that it logs in again through the credential and resends once.
			ignoreHttpStatusErrors: { ignore: true, except: [STATUS.unauthorized] },
		};
		onDeparture(options, departing);
		let failure: unknown;
		const response = await this.context.helpers.httpRequestWithAuthentication
			.call(this.context, CREDENTIAL_TYPE, options)
			.catch((error: unknown) => {
				failure = error;
				return undefined;
			});
		if (failure !== undefined) this.classifyFailure(failure, itemIndex);
		if (response === undefined) return undefined;
		const full = response as { statusCode: number; body: unknown; headers?: Record<string, unknown> };
		return { status: full.statusCode, body: full.body, headers: full.headers ?? {} };
	}

	/**
	 * Returns normally for a failure worth retrying (no answer came); throws for one that is
	 * not: the login failed, or Factori refused a freshly obtained token.
	 */
	private classifyFailure(failure: unknown, itemIndex: number): void {
		const cause = failure instanceof Error ? failure.cause : undefined;
		if (cause instanceof Error && cause.name === 'LoginError') {
			this.stop({ message: `Could not log in to Factori: ${cause.message}` });
			this.throwIfStopped(itemIndex);
		}
		const httpCode = (failure as { httpCode?: unknown }).httpCode;
		if (String(httpCode) === String(STATUS.unauthorized)) {
			throw this.error('Factori refused the token even right after a fresh login', {
				itemIndex,
				httpCode: '401',
				description:
					'Check that the account is active, and that the credential\'s "Token Type" is one Factori accepts for data calls.',
			});
		}
		if (httpCode && String(httpCode) !== 'null' && /^\d{3}$/.test(String(httpCode))) {
			throw this.error(`Factori answered ${String(httpCode)}`, { itemIndex, httpCode: String(httpCode) });
		}
	}

	private acceptable(answer: Answer, itemIndex: number): Answer {
		const ok = [STATUS.ok, STATUS.noMatch, STATUS.badRequest] as number[];
		if (ok.includes(answer.status)) return answer;
		throw this.error(`Factori answered ${answer.status}: ${errorMessage(answer.body) ?? 'no reason given'}`, {
			itemIndex,
			httpCode: String(answer.status),
		});
	}

	private parsed<T>(parse: () => T, what: string, itemIndex: number): T {
		let problem: string | undefined;
		let value: T | undefined;
		try {
			value = parse();
		} catch (error) {
			problem = error instanceof ContractError ? error.message : String(error);
		}
		if (problem !== undefined || value === undefined) {
			throw this.error(`Factori's ${what} answer was not in the expected form`, {
				itemIndex,
				description: `${problem ?? 'The answer was empty'}. If this persists, Factori's API may have changed.`,
			});
		}
		return value;
	}

	private throwIfStopped(itemIndex: number): void {
		if (this.stopReason) throw this.error(this.stopReason.message, { ...this.stopReason, itemIndex });
	}

	private error(message: string, details: ErrorDetails): NodeApiError {
		return apiError(this.context.getNode(), message, details);
	}
}
