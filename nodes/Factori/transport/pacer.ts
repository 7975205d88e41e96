/**
 * The pacer: lets requests of one Factori account start no faster than its rate limit, with
 * a bounded number in flight, fairly between the executions that share the account.
 *
 * Pure logic: no timers and no n8n imports. All waiting goes through the injected `Clock`, so
 * the node passes one built on n8n-workflow's `sleep(ms, abortSignal)` and tests a fake one.
 *
 * How a start occupies the budget. The server counts a request in a sliding window of
 * `periodMs` when it arrives, somewhere between the moment the pacer grants it and the moment
 * its answer is back. So each start holds one of the `limit` slots until
 *
 *     min(answer + periodMs,  start + periodMs + margin + lateness)
 *
 * - `answer + periodMs`: the arrival came before the answer, so this is always safe, and for
 *   fast answers (the local simulator, zero latency on a fake clock) it costs nothing.
 * - `start + periodMs + margin + lateness`: a slow answer does not hold its slot for its whole
 *   latency (that would cut throughput to periodMs / (periodMs + latency), 77 % at 300 ms).
 *   But a request may leave well after its grant: n8n prepares every request of a process on
 *   one thread, so of 100 granted at once the last leaves after the other 99 were prepared
 *   (hundreds of milliseconds on a busy machine). Such a delay lengthens the answer time just
 *   as it delays the arrival, while the server's own time is in every answer: `lateness` is
 *   how much longer this answer took than the fastest answer of the last two periods (a
 *   period before the slot's own answer, and everything since). It is worked out when the
 *   slot is checked, not when the answer comes, so that the answers of a burst that all left
 *   late are measured against prompt ones that came before it and those that follow it. The
 *   slot of an answer faster than the margin is freed a period after the answer, which
 *   absorbs any lateness. A delay that every answer around it shares (a whole burst that
 *   waited for a login) would read as the server's: a caller who knows of such a delay
 *   releases that request as 'delayed' instead.
 * - A request still in flight holds its slot, unless even the fastest answers of the last
 *   period took longer than a period plus the margin (the server itself is that slow), or no
 *   answer came in the last period: then it is freed a period plus the margin after its start.
 *
 * Either way no window of `periodMs` (a start at t occupies (t - periodMs, t]) ever holds more
 * than `limit` starts.
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
 * How much later than the server's window a slow request's slot is freed, in ms, at first.
 *
 * The slot of a request whose answer is back within the margin is freed a period after that
 * answer, which absorbs any jitter. The slot of a slower request is freed a period plus the
 * margin (plus its lateness, see above) after its start, so the server stays within the limit
 * as long as the travel times of two requests started a period apart differ by less than the
 * margin beyond what their answer times show. Throughput costs: latency / period below the
 * margin, and at most margin / (period + margin) at any latency: 1 % for per-second limits at
 * 10 ms.
 *
 * A 429 says arrivals came closer than that: the margin then doubles (see coolOff), up to
 * MAX_ARRIVAL_MARGIN_MS. So it starts small and grows only for a network that shows more.
 * Measured with the simulator on the engine's own thread (its arrival times then wait for the
 * engine too, a harsher clock than a remote server's): bench/RESULTS-simulator-on-engine-thread.md,
 * `npm run bench -- --simulator-on-engine-thread`, no 429 in 12 runs, and the arrivals used at
 * most 0.8 ms of the margin.
 */
export const INITIAL_ARRIVAL_MARGIN_MS = 10;
/** The widest margin 429s can grow it to (four 429s from the start): 14 % for per-second limits. */
export const MAX_ARRIVAL_MARGIN_MS = 160;

/**
 * How a request ended, for its slot: 'answered' (the default) when it was sent, whatever came
 * back; 'unsent' when it never left (the run stopped first), which frees its slot at once;
 * 'delayed' when it was answered but may have left long after its grant (it logged in first):
 * its answer time says nothing of the server's, and its slot frees a period after the answer.
 */
export type ReleaseNote = 'answered' | 'unsent' | 'delayed';

/** Ends a start; call it once the request is done. Later calls change nothing. */
export type Release = (note?: ReleaseNote) => void;

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

/**
 * Answer times of the last two periods, as a monotonic queue: each entry is the fastest answer
 * from just after the entry before it up to now. So the fastest answer since any moment is the
 * first entry after that moment (a binary search), and adding an answer is O(1) amortized.
 */
class AnswerTimes {
	private entries: Array<{ at: number; took: number }> = [];
	private head = 0;

	add(at: number, took: number): void {
		while (this.entries.length > this.head && this.entries[this.entries.length - 1].took >= took) this.entries.pop();
		this.entries.push({ at, took });
	}

	/** Drops what came at or before `until`: no later question reaches back that far. */
	forget(until: number): void {
		while (this.head < this.entries.length && this.entries[this.head].at <= until) this.head++;
		if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
			this.entries = this.entries.slice(this.head);
			this.head = 0;
		}
	}

	/** The fastest answer that came after `since`, or undefined when none did. */
	fastestAfter(since: number): { at: number; took: number } | undefined {
		let low = this.head;
		let high = this.entries.length;
		while (low < high) {
			const middle = (low + high) >>> 1;
			if (this.entries[middle].at <= since) low = middle + 1;
			else high = middle;
		}
		return this.entries[low];
	}
}

interface Start {
	at: number;
	/** Granted by acquireResend: what its slot waits for (see expiry). */
	resend?: {
		/** The requests that were not released yet when it was granted: the one it repeats is one of them. */
		awaiting: Set<Start>;
		/** When it leaves at the earliest (see acquireResend). */
		leaves: number;
	};
	/**
	 * When it was answered; its slot frees `periodMs` after this, less the shared shift. For a
	 * resend, when the last request it was awaiting was released.
	 */
	answeredAt?: number;
	/** Released as 'delayed': its slot frees `periodMs` after its answer, with no shift. */
	delayed?: boolean;
	/** Still holds a slot. */
	live: boolean;
}

interface Waiter {
	owner: string;
	/** Asked for by acquireResend: served first, outside the in-flight bound. */
	resend: boolean;
	settled: boolean;
	resolve: (start: Start) => void;
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

	/** Starts not answered yet, in start order (answered and freed ones leave from the front). */
	private readonly flying = new Queue<Start>();
	/** Answered starts that may still hold a slot, in answer order: the first to free is first. */
	private readonly answered = new Queue<Start>();
	/** The same for starts released as 'delayed' (their own queue: they free by another rule). */
	private readonly delayed = new Queue<Start>();
	/** Resends (acquireResend), in start order: no answer is ever reported for them. */
	private readonly resent = new Queue<Start>();
	/** Starts granted by acquire and not released yet, whether or not they still hold a slot. */
	private readonly unreleased = new Set<Start>();
	/**
	 * The queues whose slots free by a rule known now (see expiry), each in the order its slots
	 * free: pruned from the front.
	 */
	private readonly settled = [this.answered, this.delayed, this.resent];
	private readonly answerTimes = new AnswerTimes();
	/** How much later than its server window a slow request's slot is freed; see coolOff. */
	private margin = INITIAL_ARRIVAL_MARGIN_MS;
	/**
	 * A period after the latest answer whose slot was freed sooner (by the shift): until then a
	 * request that leaves at once could share a server window with that answer's request.
	 */
	private earlyFreedUntil = -Infinity;
	private occupied = 0;
	private inFlight = 0;
	private pausedUntil = -Infinity;

	/** Waiting callers, one queue per owner, and the owners' round-robin order. */
	private readonly queues = new Map<string, Queue<Waiter>>();
	/** Waiting resends (acquireResend), served before the owners. */
	private readonly resends = new Queue<Waiter>();
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
	 * response is done, or the request failed or was never sent (see ReleaseNote). Rejects with
	 * the signal's reason if the signal aborts while waiting; a cancelled waiter takes no slot.
	 * `owner` identifies an execution: owners are served round-robin, so a big batch does not
	 * starve a small one.
	 */
	acquire(owner: string, signal?: AbortSignal): Promise<Release> {
		return this.enqueue(owner, false, signal, (start) => this.releaseOf(start));
	}

	/**
	 * Resolves when a request already in flight may be sent again (n8n resends once after a
	 * re-login): one more arrival at the server, so one more start within the limit. Served
	 * before every other waiter and outside the in-flight bound, since the request it repeats
	 * holds its place in flight (requests waiting to resend must not wait for each other).
	 *
	 * A resend leaves in fewer steps than a request does after its grant, sooner than the answers
	 * that freed slots ahead of time allow for (see shift): it resolves no sooner than a period
	 * after the last of those answers. The request it repeats was answered (a 401) before this
	 * call, how fast is not known: it counts as an instant answer, which stops the shift and
	 * holds the slots of requests in flight for a period (see expiry), its own among them.
	 * Whoever resends never hears of the answer, so its slot frees by a rule of its own.
	 */
	async acquireResend(signal?: AbortSignal): Promise<void> {
		this.answerTimes.add(this.clock.now(), 0);
		const start = await this.enqueue('', true, signal, (granted) => granted);
		const hold = (start.resend?.leaves ?? 0) - this.clock.now();
		if (hold > 0) await this.clock.sleep(hold, signal);
	}

	/** Queues a waiter; `granted` turns its start into what the caller gets. */
	private enqueue<T>(owner: string, resend: boolean, signal: AbortSignal | undefined, granted: (start: Start) => T): Promise<T> {
		if (signal?.aborted) return Promise.reject(signal.reason);
		return new Promise<T>((resolve, reject) => {
			const waiter: Waiter = { owner, resend, settled: false, resolve: (start) => resolve(granted(start)), reject, signal };
			if (signal) {
				waiter.onAbort = () => this.cancel(waiter);
				signal.addEventListener('abort', waiter.onAbort, { once: true });
			}
			if (resend) {
				this.resends.push(waiter);
			} else {
				let queue = this.queues.get(owner);
				if (!queue) {
					queue = new Queue<Waiter>();
					this.queues.set(owner, queue);
					this.turns.push(owner);
				}
				queue.push(waiter);
			}
			this.waiting++;
			this.kick();
		});
	}

	/** The current arrival margin, in ms (see INITIAL_ARRIVAL_MARGIN_MS). */
	get arrivalMarginMs(): number {
		return this.margin;
	}

	/**
	 * The server refused a request for the rate (429): pause every start of this account until
	 * now + ms (never shortening a pause), and double the arrival margin, once per cool-off:
	 * the other refusals that come back during the pause were sent before it began.
	 */
	coolOff(ms: number): void {
		if (!Number.isFinite(ms) || ms <= 0) return;
		const now = this.clock.now();
		if (now >= this.pausedUntil) this.margin = Math.min(MAX_ARRIVAL_MARGIN_MS, this.margin * 2);
		this.pausedUntil = Math.max(this.pausedUntil, now + ms);
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
			while (this.resends.shift() !== undefined);
		}
		waiter.reject(waiter.signal?.reason);
		this.kick();
	}

	/** Frees slots that have run out; afterwards every queue's front is live (and in flight, for `flying`). */
	private prune(now: number): void {
		const { periodMs } = this.settings;
		this.answerTimes.forget(now - 2 * periodMs);
		for (const queue of this.settled) {
			for (let start = queue.peek(); start; start = queue.peek()) {
				if (start.live && this.expiry(start, now) > now) break;
				queue.shift();
				if (start.live && start.answeredAt !== undefined) {
					this.earlyFreedUntil = Math.max(this.earlyFreedUntil, start.answeredAt + periodMs);
				}
				this.free(start);
			}
		}
		this.dropAnsweredFlying();
		if (!this.inFlightSlotsExpire(now)) return;
		for (let start = this.flying.peek(); start; start = this.flying.peek()) {
			if (start.at + periodMs + this.margin > now) break;
			this.flying.shift();
			this.free(start);
			this.dropAnsweredFlying();
		}
	}

	private dropAnsweredFlying(): void {
		for (let start = this.flying.peek(); start && (start.answeredAt !== undefined || !start.live); start = this.flying.peek()) {
			this.flying.shift();
		}
	}

	/**
	 * How much earlier than a period after its answer every answered slot frees: the fastest
	 * answer time of the last two periods, less the margin. Every answered slot that is still
	 * live was answered within the last period, so this counts its own time and every answer
	 * from a period before it on: a burst that left late is measured against prompt answers
	 * that came before it as well as after it, and its lateness is never negative.
	 */
	private shift(now: number): number {
		const fastest = this.answerTimes.fastestAfter(now - 2 * this.settings.periodMs);
		return fastest ? Math.max(0, fastest.took - this.margin) : 0;
	}

	/**
	 * Whether a request still in flight may give its slot up a period plus the margin after its
	 * start: only when no answer tells how long the server takes now, or when even the fastest
	 * recent answers take longer than that (the wait is the server's, not ours).
	 */
	private inFlightSlotsExpire(now: number): boolean {
		const { periodMs } = this.settings;
		return (this.answerTimes.fastestAfter(now - periodMs)?.took ?? Infinity) >= periodMs + this.margin;
	}

	private free(start: Start): void {
		if (!start.live) return;
		start.live = false;
		this.occupied--;
	}

	/** When the next start may happen: now or later, or Infinity until a release. */
	private nextStartAt(now: number): number {
		this.prune(now);
		const { limit, maxInFlight } = this.settings;
		if (this.inFlight >= maxInFlight && !this.resendWaiting()) return Infinity;
		let at = Math.max(now, this.pausedUntil);
		if (this.occupied >= limit) {
			// Only when the limit is lowered can more than one slot have to run out first.
			const extra = this.occupied - limit;
			const expiries: number[] = [];
			if (extra === 0) {
				for (const start of [...this.settled.map((queue) => queue.peek()), this.flying.peek()]) {
					if (start) expiries.push(this.expiry(start, now));
				}
			} else {
				for (const queue of this.settled) for (const start of queue) if (start.live) expiries.push(this.expiry(start, now));
				for (const start of this.flying) if (start.live && start.answeredAt === undefined) expiries.push(this.expiry(start, now));
			}
			expiries.sort((a, b) => a - b);
			at = Math.max(at, expiries[extra] ?? Infinity);
		}
		return at;
	}

	/** When a live start frees its slot, as far as is known now. */
	private expiry(start: Start, now: number): number {
		const { periodMs } = this.settings;
		if (start.resend) {
			// It reached the server before the request it repeats was released, which is one of
			// those it awaits: a period after the last of them is always safe.
			if (start.answeredAt !== undefined) return start.answeredAt + periodMs;
			if (start.resend.awaiting.size > 0) return Infinity;
			// Nothing of ours was in flight (the credential test, another node): nothing tells
			// when it arrives, so it keeps its slot for two periods after it leaves.
			return start.resend.leaves + 2 * periodMs;
		}
		if (start.answeredAt !== undefined) return start.answeredAt + periodMs - (start.delayed ? 0 : this.shift(now));
		const earliest = start.at + periodMs + this.margin;
		if (this.inFlightSlotsExpire(now)) return earliest;
		// Held while fast answers are recent: look again when the fastest leaves the period, or
		// a waiter could sleep until some unrelated release.
		const fastest = this.answerTimes.fastestAfter(now - periodMs);
		return Math.max(earliest, fastest ? fastest.at + periodMs : -Infinity);
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

	/** Whether a resend waits (its waiter is served first); drops cancelled ones from the front. */
	private resendWaiting(): boolean {
		while (this.resends.peek()?.settled) this.resends.shift();
		return this.resends.length > 0;
	}

	private grantNext(now: number): void {
		if (this.resendWaiting()) {
			this.grant(this.resends.shift() as Waiter, now);
			return;
		}
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
		this.occupied++;
		if (waiter.resend) {
			start.resend = { awaiting: new Set(this.unreleased), leaves: Math.max(now, this.earlyFreedUntil) };
			this.resent.push(start);
		} else {
			this.flying.push(start);
			this.inFlight++;
			this.unreleased.add(start);
		}
		waiter.resolve(start);
	}

	private releaseOf(start: Start): Release {
		let released = false;
		return (note: ReleaseNote = 'answered') => {
			if (released) return;
			released = true;
			this.inFlight--;
			this.unreleased.delete(start);
			this.settle(start, note);
			this.kick();
		};
	}

	private settle(start: Start, note: ReleaseNote): void {
		const now = this.clock.now();
		start.answeredAt = now;
		for (const resend of this.resent) {
			if (resend.resend?.awaiting.delete(start) && resend.resend.awaiting.size === 0) resend.answeredAt = now;
		}
		if (note === 'unsent') {
			this.free(start);
			return;
		}
		if (note === 'delayed') {
			start.delayed = true;
			if (start.live) this.delayed.push(start);
			return;
		}
		this.answerTimes.add(now, now - start.at);
		if (start.live) this.answered.push(start);
	}

	private failAll(error: unknown): void {
		for (const queue of [this.resends, ...this.queues.values()]) {
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

/** The pacer of an account key, when a node of this process has paced calls of it. */
export const pacerOf = (accountKey: string): Pacer | undefined => pacers.get(accountKey);

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
