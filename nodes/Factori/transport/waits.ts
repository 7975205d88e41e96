/** How one run of the node waits: abortable together, and in line. */

/**
 * Many waits (pacer turns, back-off sleeps) on one run's signal with a single listener on it:
 * one listener per wait would pile thousands onto one signal (Node warns past ten), and the
 * run's own stop (402, a failed login) must end every wait at once too.
 */
export class Waits {
	private readonly open = new Set<AbortController>();
	private reason: { value: unknown } | undefined;

	constructor(signal: AbortSignal) {
		if (signal.aborted) this.abortAll(signal.reason);
		else signal.addEventListener('abort', () => this.abortAll(signal.reason), { once: true });
	}

	abortAll(reason: unknown): void {
		this.reason ??= { value: reason };
		for (const controller of this.open) controller.abort(reason);
		this.open.clear();
	}

	async run<T>(wait: (signal: AbortSignal) => Promise<T>): Promise<T> {
		const controller = new AbortController();
		if (this.reason) controller.abort(this.reason.value);
		else this.open.add(controller);
		try {
			return await wait(controller.signal);
		} finally {
			this.open.delete(controller);
		}
	}
}

/**
 * Hands out turns one at a time, in order: a turn ends when its holder calls the function it
 * was given. A waiter whose signal aborts leaves the line.
 */
export class OneAtATime {
	private busy = false;
	private readonly line: Array<{ signal: AbortSignal; enter: () => void }> = [];
	private head = 0;

	turn(signal: AbortSignal): Promise<() => void> {
		return new Promise<() => void>((resolve, reject) => {
			if (signal.aborted) {
				reject(signal.reason);
				return;
			}
			const onAbort = () => reject(signal.reason);
			signal.addEventListener('abort', onAbort, { once: true });
			const enter = () => {
				signal.removeEventListener('abort', onAbort);
				this.busy = true;
				let ended = false;
				resolve(() => {
					if (ended) return;
					ended = true;
					this.busy = false;
					this.next();
				});
			};
			this.line.push({ signal, enter });
			if (!this.busy) this.next();
		});
	}

	private next(): void {
		while (this.head < this.line.length) {
			const waiter = this.line[this.head];
			this.head++;
			if (this.head * 2 >= this.line.length && this.head >= 1024) {
				this.line.splice(0, this.head);
				this.head = 0;
			}
			if (!waiter.signal.aborted) {
				waiter.enter();
				return;
			}
		}
	}
}

/**
 * Lets the first caller through alone: the others go once it calls `settled`, however its task
 * went. A waiter whose signal aborts stops waiting.
 */
export class FirstAlone {
	private first: Promise<void> | undefined;

	/**
	 * Resolves when the caller may start: `first` says whether it is the first, and `settled`
	 * lets the others go (only the first's counts; later calls change nothing).
	 */
	async enter(signal: AbortSignal): Promise<{ first: boolean; settled: () => void }> {
		if (!this.first) {
			let settled!: () => void;
			this.first = new Promise<void>((resolve) => (settled = resolve));
			return { first: true, settled };
		}
		const first = this.first;
		await new Promise<void>((resolve, reject) => {
			if (signal.aborted) {
				reject(signal.reason);
				return;
			}
			const onAbort = () => reject(signal.reason);
			signal.addEventListener('abort', onAbort, { once: true });
			void first.then(() => {
				signal.removeEventListener('abort', onAbort);
				resolve();
			});
		});
		return { first: false, settled: () => undefined };
	}
}
