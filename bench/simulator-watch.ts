/** What the benchmark reads from a simulator, wherever it runs (simulator-thread.ts). */
import type { Simulator } from '../dev/simulator/server';
import { PATHS, STATUS } from '../nodes/Factori/transport/contract';

export interface SimulatorReport {
	/** Server time (ms) of each data call it accepted (not 429), in arrival order. */
	accepted: number[];
	rateLimited: number;
	/** The most data calls (accepted or not) that arrived in one window of the period. */
	busiestWindow: number;
}

/** Starts timing `sim`'s accepted data calls; the simulator stamps each in the turn it answers. */
export function watch(sim: Simulator): { report(): SimulatorReport; reset(): void } {
	const accepted: number[] = [];
	sim.stats.onCall((path, status) => {
		if (path === PATHS.consumerData && status !== STATUS.rateLimited) accepted.push(performance.now());
	});
	return {
		report: () => ({
			accepted: [...accepted],
			rateLimited: sim.stats.calls(PATHS.consumerData, STATUS.rateLimited),
			busiestWindow: sim.stats.maxArrivalsInWindow,
		}),
		reset: () => {
			sim.resetStats();
			accepted.length = 0;
		},
	};
}
