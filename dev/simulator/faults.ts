/** An answer injected in place of (or ahead of) the normal one. */
export interface FaultSpec {
	/** Path under the base path, e.g. '/consumer/data'; any request when omitted. */
	path?: string;
	/** How many matching requests get the fault (default 1). */
	times?: number;
	/** Status of the injected answer (500 when a body or headers are given without one). */
	status?: number;
	/** JSON-encoded unless a string, which is sent raw (e.g. malformed JSON; '' for no body). */
	body?: unknown;
	headers?: Record<string, string>;
	/** Wait this long first; alone, the request is then answered normally. */
	delayMs?: number;
	/** Destroy the connection without answering. */
	drop?: boolean;
}

export interface Fault {
	readonly path?: string;
	readonly status?: number;
	readonly body?: unknown;
	readonly headers?: Record<string, string>;
	readonly delayMs: number;
	readonly drop: boolean;
	/** Whether the fault replaces the normal answer (rather than only delaying it). */
	readonly replaces: boolean;
}

interface Pending {
	fault: Fault;
	remaining: number;
}

/** Faults waiting for requests, consumed in the order they were injected. */
export class FaultQueue {
	private readonly queue: Pending[] = [];

	constructor(private readonly normalizePath: (path: string) => string) {}

	add(spec: FaultSpec): void {
		const times = spec.times ?? 1;
		if (!Number.isInteger(times) || times < 1) throw new Error('fault times must be a whole number >= 1');
		if (spec.status !== undefined && (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599)) {
			throw new Error('fault status must be an HTTP status code');
		}
		const delayMs = spec.delayMs ?? 0;
		if (!(delayMs >= 0)) throw new Error('fault delayMs must be >= 0');
		const drop = spec.drop === true;
		const fault: Fault = {
			path: spec.path === undefined ? undefined : this.normalizePath(spec.path),
			status: spec.status,
			body: spec.body,
			headers: spec.headers,
			delayMs,
			drop,
			replaces: drop || spec.status !== undefined || spec.body !== undefined || spec.headers !== undefined,
		};
		this.queue.push({ fault, remaining: times });
	}

	/** The first pending fault for `path`, used up once. */
	take(path: string): Fault | undefined {
		const index = this.queue.findIndex((pending) => pending.fault.path === undefined || pending.fault.path === path);
		if (index < 0) return undefined;
		const pending = this.queue[index];
		pending.remaining--;
		if (pending.remaining === 0) this.queue.splice(index, 1);
		return pending.fault;
	}

	get pending(): number {
		return this.queue.reduce((sum, pending) => sum + pending.remaining, 0);
	}

	clear(): void {
		this.queue.length = 0;
	}
}
