/**
 * The simulator on a thread of its own, for the benchmark: its HTTP work does not wait for the
 * engine's event loop, nor the engine for it, and it stamps each arrival when the request
 * reaches it, the way a remote server would. Its CPU still counts in the process's.
 * startSimulatorHere runs it on the engine's thread instead, for comparison.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { startSimulator, type SimulatorOptions } from '../dev/simulator/server';
import { watch, type SimulatorReport } from './simulator-watch';

export type SimulatorRequest = { kind: 'report' } | { kind: 'reset' } | { kind: 'stop' };
export type SimulatorReply = { kind: 'started'; url: string } | { kind: 'report'; report: SimulatorReport } | { kind: 'done' };

export interface SimulatorThread {
	url: string;
	report(): Promise<SimulatorReport>;
	resetStats(): Promise<void>;
	stop(): Promise<void>;
}

// A worker runs plain JavaScript: register the TypeScript loader the benchmark itself runs under.
const BOOT = `require('ts-node').register({ transpileOnly: true }); require(require('node:worker_threads').workerData.entry);`;

export async function startSimulatorThread(options: SimulatorOptions): Promise<SimulatorThread> {
	const worker = new Worker(BOOT, { eval: true, workerData: { entry: join(__dirname, 'simulator-worker.ts'), options } });
	const next = () =>
		new Promise<SimulatorReply>((resolve, reject) => {
			const fail = (error: Error) => reject(error);
			worker.once('error', fail);
			worker.once('message', (reply: SimulatorReply) => {
				worker.off('error', fail);
				resolve(reply);
			});
		});
	const ask = async (request: SimulatorRequest) => {
		const reply = next();
		worker.postMessage(request);
		return await reply;
	};
	const started = await next();
	if (started.kind !== 'started') throw new Error(`the simulator thread answered ${started.kind} instead of starting`);
	return {
		url: started.url,
		report: async () => {
			const reply = await ask({ kind: 'report' });
			if (reply.kind !== 'report') throw new Error(`the simulator thread answered ${reply.kind} instead of a report`);
			return reply.report;
		},
		resetStats: async () => void (await ask({ kind: 'reset' })),
		stop: async () => {
			await ask({ kind: 'stop' });
			await worker.terminate();
		},
	};
}

/** The same simulator on the engine's own thread: its arrival times wait for the engine too. */
export async function startSimulatorHere(options: SimulatorOptions): Promise<SimulatorThread> {
	const sim = await startSimulator(options);
	const seen = watch(sim);
	return {
		url: sim.url,
		report: async () => await Promise.resolve(seen.report()),
		resetStats: async () => await Promise.resolve(seen.reset()),
		stop: async () => await sim.stop(),
	};
}
