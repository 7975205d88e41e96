/**
 * The pacer: lets requests of one Factori account start no faster than its rate limit, with
 * a bounded number in flight, fairly between the executions that share the account.
 *
 * Pure logic: no timers and no n8n imports. All waiting goes through the injected `Clock`, so
 * the node passes one built on n8n-workflow's `sleep(ms, abortSignal)` and tests a fake one.
 *
 * How a start occupies the budget. The server counts a request in a sliding window of
 * `periodMs` when it arrives, and it arrives somewhere between the moment we start it and the
 * moment its response is back. So each start holds one of the `limit` slots until
 *
 *     min(start + periodMs + ARRIVAL_JITTER_MARGIN_MS, responseDone + periodMs)
 *
 * - `responseDone + periodMs`: the next request on that slot starts a full period after the
 *   previous one's response, hence at least a period after the previous one's arrival,
 *   whatever the jitter. That is a hard guarantee, and for fast answers (the local simulator,
 *   zero latency on a fake clock) it costs nothing: throughput is the full limit.
 * - `start + periodMs + margin`: a slow answer does not hold its slot for its whole latency
 *   (that would cut throughput to periodMs / (periodMs + latency), 77 % at 300 ms). Past the
 *   margin the slot is freed anyway, and the guarantee becomes "two requests a period apart
 *   may differ in travel time by up to the margin". See ARRIVAL_JITTER_MARGIN_MS.
 *
 * Either way no window of `periodMs` (a start at t occupies (t - periodMs, t]) ever holds
 * more than `limit` starts.
 */

/** The time source and the only way to wait. `sleep` rejects when `signal` aborts. */
export interface Clock {
	now(): number;
	sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface PacerOptions {
	/** Starts allowed in any window of `periodMs`. */
	limit: number;
	periodMs: number;
	/** Requests started and not yet released; derived from the limit when absent. */
	maxInFlight?: number;
}

/**
 * How much later than the server's window a slow request's slot is freed, in ms.
 *
 * On these machines request arrivals jitter by tens of milliseconds (an evenly spaced client
 * at 95 % of 200/s landed 208 arrivals in one server second). The slot of a request whose
 * response is back within 50 ms is freed a full period after that response, which absorbs
 * any jitter. The slot of a slower request is freed a period plus 50 ms after its start, so
 * the server stays within the limit as long as two requests started a period apart differ
 * in travel time by less than 50 ms; beyond that the 429 cool-off catches the rest.
 * Throughput costs: none with zero latency, latency / period below 50 ms, and at most
 * 50 / 1050 = 4.8 % for per-second limits (0.08 % for per-minute limits) at any latency.
 */
export const ARRIVAL_JITTER_MARGIN_MS = 50;

/**
 * The latency up to which the default `maxInFlight` still reaches the full rate: by Little's
 * law, in-flight = rate x latency, so a limit of 200/s at 500 ms needs 100 in flight. 500 ms
 * is about twice a slow answer from a remote API, so ordinary latency never caps throughput.
 */
export const LATENCY_HEADROOM_MS = 500;
/** A per-minute limit still gets a few parallel requests, to spend its budget quickly. */
export const MIN_DEFAULT_IN_FLIGHT = 10;
/** Sockets and memory stay bounded however high a limit is configured. */
export const MAX_DEFAULT_IN_FLIGHT = 200;

/** The default `maxInFlight` for a limit: enough for LATENCY_HEADROOM_MS, within the bounds. */
export function defaultMaxInFlight(limit: number, periodMs: number): number {
	const needed = Math.ceil((limit * LATENCY_HEADROOM_MS) / periodMs);
	return Math.min(MAX_DEFAULT_IN_FLIGHT, Math.max(MIN_DEFAULT_IN_FLIGHT, needed));
}

/** A queue with O(1) push and shift. */
class Queue<T> {
	private items: T[] = [];
	private head = 0;

	get length(): number {
		return this.items.length - this.head;
	}

	push(item: T): void {
		this.items.push(item);
	}

	peek(): T | undefined {
		return this.head < this.items.length ? this.items[this.head] : undefined;
	}

	shift(): T | undefined {
		if (this.head >= this.items.length) return undefined;
		const item = this.items[this.head];
		this.head++;
		if (this.head >= 1024 && this.head * 2 >= this.items.length) {
			this.items = this.items.slice(this.head);
			this.head = 0;
		}
		return item;
	}

	*[Symbol.iterator](): Iterator<T> {
		for (let i = this.head; i < this.items.length; i++) yield this.items[i];
	}
}

interface Start {
	at: number;
	releasedAt?: number;
	/** Still holds a slot. */
	live: boolean;
}

interface Waiter {
	owner: string;
	settled: boolean;
	resolve: (release: () => void) => void;
	reject: (reason: unknown) => void;
	signal?: AbortSignal;
	onAbort?: () => void;
}

interface Settings {
	limit: number;
	periodMs: number;
	maxInFlight: number;
}

function settingsFrom(options: PacerOptions): Settings {
	const { limit, periodMs, maxInFlight } = options;
	if (!Number.isFinite(limit) || limit < 1) {
		throw new RangeError(`The rate limit must be at least 1, not ${limit}`);
	}
	if (!Number.isFinite(periodMs) || periodMs <= 0) {
		throw new RangeError(`The rate limit period must be a positive number of ms, not ${periodMs}`);
	}
	if (maxInFlight !== undefined && (!Number.isFinite(maxInFlight) || maxInFlight < 1)) {
		throw new RangeError(`The number of requests in flight must be at least 1, not ${maxInFlight}`);
	}
	const wholeLimit = Math.floor(limit);
	return {
		limit: wholeLimit,
		periodMs,
		maxInFlight: maxInFlight === undefined ? defaultMaxInFlight(wholeLimit, periodMs) : Math.floor(maxInFlight),
	};
}

export class Pacer {
	private settings: Settings;

	/** Starts that may still hold a slot, in start order: slot freed at `at + period + margin`. */
	private readonly byStart = new Queue<Start>();
	/** Starts answered within the margin, in release order: slot freed at `releasedAt + period`. */
	private readonly byRelease = new Queue<Start>();
	private occupied = 0;
	private inFlight = 0;
	private pausedUntil = -Infinity;

	/** Waiting callers, one queue per owner, and the owners' round-robin order. */
	private readonly queues = new Map<string, Queue<Waiter>>();
	private readonly turns = new Queue<string>();
	private waiting = 0;

	/** The dispatcher: at most one loop, and it waits on at most one sleep. */
	private running = false;
	private interrupt: (() => void) | undefined;
	private waitingUntil = Infinity;

	constructor(
		options: PacerOptions,
		private readonly clock: Clock,
	) {
		this.settings = settingsFrom(options);
	}

	/** Current settings, with the derived `maxInFlight`. */
	get options(): Readonly<Required<PacerOptions>> {
		return { ...this.settings };
	}

	/**
	 * Resolves when this caller may start one request; returns a release() to call when the
	 * response is done (or the request failed). Rejects with the signal's reason if the signal
	 * aborts while waiting; a cancelled waiter takes no slot. `owner` identifies an execution:
	 * owners are served round-robin, so a big batch does not starve a small one.
	 */
	acquire(owner: string, signal?: AbortSignal): Promise<() => void> {
		if (signal?.aborted) return Promise.reject(signal.reason);
		return new Promise<() => void>((resolve, reject) => {
			const waiter: Waiter = { owner, settled: false, resolve, reject, signal };
			if (signal) {
				waiter.onAbort = () => this.cancel(waiter);
				signal.addEventListener('abort', waiter.onAbort, { once: true });
			}
			let queue = this.queues.get(owner);
			if (!queue) {
				queue = new Queue<Waiter>();
				this.queues.set(owner, queue);
				this.turns.push(owner);
			}
			queue.push(waiter);
			this.waiting++;
			this.kick();
		});
	}

	/** Pause every start of this account until now + ms (429 cool-off); never shortens a pause. */
	coolOff(ms: number): void {
		if (!Number.isFinite(ms) || ms <= 0) return;
		this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + ms);
		this.kick();
	}

	/** Apply new limit / period / maxInFlight (the credential was edited); starts so far still count. */
	configure(options: PacerOptions): void {
		this.settings = settingsFrom(options);
		this.kick();
	}

	private cancel(waiter: Waiter): void {
		if (waiter.settled) return;
		waiter.settled = true;
		this.waiting--;
		if (this.waiting === 0) {
			// Nothing left to serve: drop the cancelled entries now rather than on the next turn.
			this.queues.clear();
			while (this.turns.shift() !== undefined);
		}
		waiter.reject(waiter.signal?.reason);
		this.kick();
	}

	/** Frees slots that have run out; afterwards both queues' fronts are live. */
	private prune(now: number): void {
		const { periodMs } = this.settings;
		for (let start = this.byStart.peek(); start; start = this.byStart.peek()) {
			if (start.live && start.at + periodMs + ARRIVAL_JITTER_MARGIN_MS > now) break;
			this.byStart.shift();
			this.free(start);
		}
		for (let start = this.byRelease.peek(); start; start = this.byRelease.peek()) {
			if (start.live && (start.releasedAt as number) + periodMs > now) break;
			this.byRelease.shift();
			this.free(start);
		}
	}

	private free(start: Start): void {
		if (!start.live) return;
		start.live = false;
		this.occupied--;
	}

	/** When the next start may happen: now or later, or Infinity until a release. */
	private nextStartAt(now: number): number {
		this.prune(now);
		const { limit, periodMs, maxInFlight } = this.settings;
		if (this.inFlight >= maxInFlight) return Infinity;
		let at = Math.max(now, this.pausedUntil);
		if (this.occupied >= limit) {
			// Only when the limit is lowered can more than one slot have to run out first.
			const expiries: number[] = [];
			for (const start of this.liveStarts()) {
				expiries.push(Math.min(start.at + periodMs + ARRIVAL_JITTER_MARGIN_MS, this.releaseExpiry(start)));
			}
			expiries.sort((a, b) => a - b);
			at = Math.max(at, expiries[this.occupied - limit]);
		}
		return at;
	}

	/** The live starts; cheap in the usual case where only the fronts are needed. */
	private *liveStarts(): Generator<Start> {
		const { limit } = this.settings;
		if (this.occupied === limit) {
			// At the limit, the slot freed first is at the front of one of the two queues.
			const first = this.byStart.peek();
			const second = this.byRelease.peek();
			if (first) yield first;
			if (second) yield second;
			return;
		}
		// Every live start is in byStart (byRelease only repeats some of them).
		for (const start of this.byStart) if (start.live) yield start;
	}

	private releaseExpiry(start: Start): number {
		return start.releasedAt === undefined ? Infinity : start.releasedAt + this.settings.periodMs;
	}

	/** Something changed: start the dispatcher, or cut its wait short if it can act sooner. */
	private kick(): void {
		if (!this.running) {
			if (this.waiting > 0) void this.dispatch();
			return;
		}
		if (!this.interrupt) return;
		if (this.waiting === 0 || this.nextStartAt(this.clock.now()) < this.waitingUntil) {
			const interrupt = this.interrupt;
			this.interrupt = undefined;
			interrupt();
		}
	}

	private async dispatch(): Promise<void> {
		this.running = true;
		try {
			while (this.waiting > 0) {
				const now = this.clock.now();
				const at = this.nextStartAt(now);
				if (at <= now) this.grantNext(now);
				else await this.waitUntil(at, now);
			}
		} finally {
			this.running = false;
			this.interrupt = undefined;
		}
	}

	/** One wait of the dispatcher: a sleep until `at`, or (at = Infinity) until a release. */
	private async waitUntil(at: number, now: number): Promise<void> {
		this.waitingUntil = at;
		if (at === Infinity) {
			await new Promise<void>((resolve) => {
				this.interrupt = resolve;
			});
			return;
		}
		const controller = new AbortController();
		this.interrupt = () => controller.abort();
		try {
			await this.clock.sleep(at - now, controller.signal);
		} catch (error) {
			// Our own interruption is expected. Anything else is the clock failing: rather than
			// leave every caller waiting forever, hand them the error.
			if (!controller.signal.aborted) this.failAll(error);
		} finally {
			if (!controller.signal.aborted) this.interrupt = undefined;
		}
	}

	private grantNext(now: number): void {
		for (let owner = this.turns.shift(); owner !== undefined; owner = this.turns.shift()) {
			const queue = this.queues.get(owner) as Queue<Waiter>;
			let waiter = queue.shift();
			while (waiter?.settled) waiter = queue.shift();
			if (queue.length > 0) this.turns.push(owner);
			else this.queues.delete(owner);
			if (waiter) {
				this.grant(waiter, now);
				return;
			}
		}
	}

	private grant(waiter: Waiter, now: number): void {
		waiter.settled = true;
		this.waiting--;
		if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);

		const start: Start = { at: now, live: true };
		this.byStart.push(start);
		this.occupied++;
		this.inFlight++;

		let released = false;
		waiter.resolve(() => {
			if (released) return;
			released = true;
			this.inFlight--;
			const releasedAt = this.clock.now();
			start.releasedAt = releasedAt;
			// Answered within the margin: the slot is freed a period after the answer instead.
			if (start.live && releasedAt - start.at < ARRIVAL_JITTER_MARGIN_MS) this.byRelease.push(start);
			this.kick();
		});
	}

	private failAll(error: unknown): void {
		for (const queue of this.queues.values()) {
			for (let waiter = queue.shift(); waiter; waiter = queue.shift()) {
				if (waiter.settled) continue;
				waiter.settled = true;
				if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
				waiter.reject(error);
			}
		}
		this.queues.clear();
		while (this.turns.shift() !== undefined);
		this.waiting = 0;
	}
}

const pacers = new Map<string, Pacer>();

/**
 * One pacer per account key (base URL + user name) per process, shared by every execution.
 * A later call with other options reconfigures it (the credential was edited); the clock of
 * the first call stays.
 */
export function pacerFor(accountKey: string, options: PacerOptions, clock: Clock): Pacer {
	const existing = pacers.get(accountKey);
	if (existing) {
		existing.configure(options);
		return existing;
	}
	const pacer = new Pacer(options, clock);
	pacers.set(accountKey, pacer);
	return pacer;
}
