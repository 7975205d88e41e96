/**
 * The last step before n8n sends a request of the node. n8n first reads the credential and,
 * when it has to, logs in through it; then it runs the credential's `authenticate`, which
 * calls `departing`, and sends. The node hears of it there (see the launch line in client.ts).
 * n8n hands the same request options to `authenticate` each time, its resend after a 401 too.
 */
import type { IHttpRequestOptions } from 'n8n-workflow';

const departures = new WeakMap<object, () => void>();

/** Calls `departure` when the request is about to leave. */
export function onDeparture(request: IHttpRequestOptions, departure: () => void): void {
	departures.set(request, departure);
}

/** For the credential: a request that no node registered (the credential test) goes on as it is. */
export function departing(request: object): void {
	departures.get(request)?.();
}
