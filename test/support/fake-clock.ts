import type { Clock } from '../../nodes/Factori/transport/pacer';

interface Timer {
	at: number;
	seq: number;
	resolve: () => void;
}

/** Lets every pending promise callback run (setImmediate runs after the microtask queue). */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Virtual time. `sleep` registers a timer that fires only when the test moves time forward
 * (`advanceTo`, `advanceBy`, `runUntilIdle`); an aborted sleep rejects with the signal's
 * reason and its timer is gone. Timers fire in time order, ties in the order they were set.
 */
export class FakeClock implements Clock {
	private time: number;
	private seq = 0;
	private timers: Timer[] = [];

	constructor(start = 0) {
		this.time = start;
	}

	now(): number {
		return this.time;
	}

	/** Sleeps not yet fired nor aborted. */
	get pendingTimers(): number {
		return this.timers.length;
	}

	sleep(ms: number, signal?: AbortSignal): Promise<void> {
		if (signal?.aborted) return Promise.reject(signal.reason);
		return new Promise<void>((resolve, reject) => {
			const onAbort = () => {
				this.timers = this.timers.filter((timer) => timer !== entry);
				reject(signal?.reason);
			};
			const entry: Timer = {
				at: this.time + Math.max(0, ms),
				seq: this.seq++,
				resolve: () => {
					signal?.removeEventListener('abort', onAbort);
					resolve();
				},
			};
			this.timers.push(entry);
			signal?.addEventListener('abort', onAbort, { once: true });
		});
	}

	/** Fires, in order, every timer due at or before `target`, letting callbacks run after each. */
	async advanceTo(target: number): Promise<void> {
		await flush();
		for (let next = this.nextTimer(); next && next.at <= target; next = this.nextTimer()) {
			this.fireAt(next.at);
			await flush();
		}
		this.time = Math.max(this.time, target);
		await flush();
	}

	advanceBy(ms: number): Promise<void> {
		return this.advanceTo(this.time + ms);
	}

	/** Jumps from timer to timer until none is left; returns the final time. */
	async runUntilIdle(maxSteps = 10_000_000): Promise<number> {
		await flush();
		for (let steps = 0; ; steps++) {
			const next = this.nextTimer();
			if (!next) return this.time;
			if (steps >= maxSteps) throw new Error(`still busy after ${maxSteps} timer steps`);
			this.fireAt(next.at);
			await flush();
		}
	}

	private nextTimer(): Timer | undefined {
		let best: Timer | undefined;
		for (const timer of this.timers) {
			if (!best || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer;
		}
		return best;
	}

	/** Moves to `at` and fires every timer due then (those set while firing wait for the next step). */
	private fireAt(at: number): void {
		this.time = Math.max(this.time, at);
		const due = this.timers.filter((timer) => timer.at <= this.time).sort((a, b) => a.at - b.at || a.seq - b.seq);
		this.timers = this.timers.filter((timer) => timer.at > this.time);
		for (const timer of due) timer.resolve();
	}
}
