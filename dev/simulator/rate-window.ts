/**
 * Sliding windows over high-resolution timestamps (milliseconds, monotonic).
 *
 * A window of `periodMs` ending at `now` holds the events with `t > now - periodMs`.
 */

/** Drops the timestamps that have left the window ending at `now`; the array stays sorted. */
function prune(times: number[], now: number, periodMs: number): void {
	const edge = now - periodMs;
	let drop = 0;
	while (drop < times.length && times[drop] <= edge) drop++;
	if (drop > 0) times.splice(0, drop);
}

export type WindowDecision = { accepted: true } | { accepted: false; retryAfterMs: number };

/** At most `limit` accepted events per key in any window of `periodMs`. */
export class SlidingWindowLimiter {
	private readonly accepted = new Map<string, number[]>();

	constructor(
		public limit: number,
		public periodMs: number,
	) {}

	/** Accepts the event at `now` when a slot is free; otherwise says how long until one frees. */
	tryAccept(key: string, now: number): WindowDecision {
		let times = this.accepted.get(key);
		if (!times) {
			times = [];
			this.accepted.set(key, times);
		}
		prune(times, now, this.periodMs);
		if (times.length < this.limit) {
			times.push(now);
			return { accepted: true };
		}
		// The slot frees when the event `limit` places from the newest leaves the window.
		const freeing = times[times.length - this.limit];
		return { accepted: false, retryAfterMs: Math.max(0, freeing + this.periodMs - now) };
	}

	reset(): void {
		this.accepted.clear();
	}
}

/**
 * Counts arrivals and keeps the most seen in any window of `periodMs`. The busiest window
 * always ends at an arrival, so checking at each arrival gives the exact maximum.
 */
export class ArrivalWindow {
	private readonly times: number[] = [];
	private maxSeen = 0;

	constructor(private readonly periodMs: () => number) {}

	record(now: number): void {
		prune(this.times, now, this.periodMs());
		this.times.push(now);
		if (this.times.length > this.maxSeen) this.maxSeen = this.times.length;
	}

	get max(): number {
		return this.maxSeen;
	}

	reset(): void {
		this.times.length = 0;
		this.maxSeen = 0;
	}
}
