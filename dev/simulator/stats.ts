import type { IdentifierType } from '../../nodes/Factori/transport/contract';
import { ArrivalWindow } from './rate-window';

export interface ReceivedIdentifier {
	type: IdentifierType;
	value: string;
}

/** Status recorded for a request whose connection was dropped without an answer. */
export const DROPPED = 0;

const toRecord = (counts: Map<string, number>): Record<string, number> => Object.fromEntries(counts);

/**
 * What the simulator has seen since it started or since `resetStats()`. Paths are relative to
 * the base path ('/consumer/data'); a path with the base path in front is read the same way.
 */
export class SimulatorStats {
	/** `/consumer/*` requests open right now. */
	inFlight = 0;
	/** Most `/consumer/*` requests open at once. */
	peakInFlight = 0;
	/** TCP connections accepted (few, when clients keep connections alive). */
	connections = 0;
	/** The identifiers `consumer/data` received, in arrival order (every arrival, answered or not). */
	readonly identifiers: ReceivedIdentifier[] = [];
	/** Authorization header values received, in order, on any path. */
	readonly authorizations: string[] = [];

	private readonly callCounts = new Map<string, Map<number, number>>();
	private readonly loginCounts = new Map<string, number>();
	private readonly resetCounts = new Map<string, number>();
	private readonly callListeners: Array<(path: string, status: number) => void> = [];
	private readonly arrivals: ArrivalWindow;

	constructor(
		periodMs: () => number,
		private readonly normalizePath: (path: string) => string = (path) => path,
	) {
		this.arrivals = new ArrivalWindow(periodMs);
	}

	/** Requests answered, optionally only on `path` and only with `status` (0: dropped). */
	calls(path?: string, status?: number): number {
		const paths = path === undefined ? [...this.callCounts.values()] : [this.callCounts.get(this.normalizePath(path))];
		let total = 0;
		for (const byStatus of paths) {
			if (!byStatus) continue;
			if (status === undefined) for (const count of byStatus.values()) total += count;
			else total += byStatus.get(status) ?? 0;
		}
		return total;
	}

	/** All requests answered (or dropped). */
	get count(): number {
		return this.calls();
	}

	/** Calls per path and status, e.g. `{ '/consumer/data': { 200: 3, 429: 1 } }`. */
	get byPath(): Record<string, Record<number, number>> {
		const result: Record<string, Record<number, number>> = {};
		for (const [path, byStatus] of this.callCounts) result[path] = Object.fromEntries(byStatus);
		return result;
	}

	/** Most `/consumer/*` arrivals (accepted or not) in any sliding window of the rate period. */
	get maxArrivalsInWindow(): number {
		return this.arrivals.max;
	}

	/** Successful `create_short_token` calls per username. */
	get logins(): Record<string, number> {
		return toRecord(this.loginCounts);
	}

	/** Successful `reset_password` calls per username. */
	get resets(): Record<string, number> {
		return toRecord(this.resetCounts);
	}

	recordCall(path: string, status: number): void {
		let byStatus = this.callCounts.get(path);
		if (!byStatus) {
			byStatus = new Map();
			this.callCounts.set(path, byStatus);
		}
		byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
		for (const listener of this.callListeners) listener(path, status);
	}

	/**
	 * Calls `listener` once each call is recorded, in the turn the simulator answers (or
	 * refuses, or drops) it, so a test can time arrivals or act at the n-th call. Kept by reset().
	 */
	onCall(listener: (path: string, status: number) => void): void {
		this.callListeners.push(listener);
	}

	/** Records a `/consumer/*` arrival; the returned function marks it finished (once). */
	enterConsumer(now: number): () => void {
		this.arrivals.record(now);
		this.inFlight++;
		if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
		let open = true;
		return () => {
			if (open) {
				open = false;
				this.inFlight--;
			}
		};
	}

	recordLogin(username: string): void {
		this.loginCounts.set(username, (this.loginCounts.get(username) ?? 0) + 1);
	}

	recordReset(username: string): void {
		this.resetCounts.set(username, (this.resetCounts.get(username) ?? 0) + 1);
	}

	/** Forgets everything seen; requests open right now still count as in flight. */
	reset(): void {
		this.callCounts.clear();
		this.loginCounts.clear();
		this.resetCounts.clear();
		this.arrivals.reset();
		this.identifiers.length = 0;
		this.authorizations.length = 0;
		this.connections = 0;
		this.peakInFlight = this.inFlight;
	}
}
