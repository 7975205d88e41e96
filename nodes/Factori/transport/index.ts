import { sleep, type IExecuteFunctions } from 'n8n-workflow';

import { accountOf } from './account';
import { CREDENTIAL_TYPE, FactoriClient } from './client';
import { pacerFor, type Clock } from './pacer';
import { DEFAULT_RETRY } from './retry';

/**
 * Real time, waiting through n8n's sleep so that a cancelled execution stops waiting. The
 * monotonic clock: whole milliseconds (Date.now) let a slot answered within the same
 * millisecond it was granted come free a fraction of a millisecond early, and the wall clock
 * may be set back while a window is open.
 */
const n8nClock: Clock = { now: () => performance.now(), sleep: async (ms, signal) => await sleep(ms, signal) };

export interface Session {
	client: FactoriClient;
	/** Stops every call of this run that is still waiting or about to be sent. */
	stop: () => void;
}

/** A client for this node run, sharing the account's pacer with every other run in the process. */
export async function openSession(context: IExecuteFunctions, maxAttempts = DEFAULT_RETRY.maxAttempts): Promise<Session> {
	const account = accountOf(await context.getCredentials(CREDENTIAL_TYPE));
	const pacer = pacerFor(account.key, { limit: account.limit, periodMs: account.periodMs }, n8nClock);
	const stopper = new AbortController();
	const cancel = context.getExecutionCancelSignal();
	const signal = cancel ? AbortSignal.any([cancel, stopper.signal]) : stopper.signal;
	const owner = `${context.getExecutionId()}:${context.getNode().id ?? context.getNode().name}`;
	const client = new FactoriClient(context, {
		account,
		pacer,
		clock: n8nClock,
		retry: { ...DEFAULT_RETRY, maxAttempts, periodMs: account.periodMs },
		signal,
		owner,
	});
	return { client, stop: () => stopper.abort() };
}
