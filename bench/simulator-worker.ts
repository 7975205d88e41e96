/** The thread startSimulatorThread runs: a simulator, and answers about what it saw. */
import { parentPort, workerData } from 'node:worker_threads';

import { startSimulator, type SimulatorOptions } from '../dev/simulator/server';
import { PATHS, STATUS } from '../nodes/Factori/transport/contract';
import type { SimulatorReply, SimulatorRequest } from './simulator-thread';

async function main(): Promise<void> {
	const port = parentPort;
	if (!port) throw new Error('simulator-worker.ts runs only as a worker thread');
	const sim = await startSimulator((workerData as { options: SimulatorOptions }).options);
	const accepted: number[] = [];
	// The simulator records a data call in the turn it answers or refuses it.
	const record = sim.stats.recordCall.bind(sim.stats);
	sim.stats.recordCall = (path: string, status: number) => {
		if (path === PATHS.consumerData && status !== STATUS.rateLimited) accepted.push(performance.now());
		record(path, status);
	};
	const send = (reply: SimulatorReply) => port.postMessage(reply);
	port.on('message', (request: SimulatorRequest) => {
		if (request.kind === 'report') {
			send({
				kind: 'report',
				report: {
					accepted: [...accepted],
					rateLimited: sim.stats.calls(PATHS.consumerData, STATUS.rateLimited),
					busiestWindow: sim.stats.maxArrivalsInWindow,
				},
			});
		} else if (request.kind === 'reset') {
			sim.resetStats();
			accepted.length = 0;
			send({ kind: 'done' });
		} else {
			void sim.stop().then(() => send({ kind: 'done' }));
		}
	});
	send({ kind: 'started', url: sim.url });
}

void main();
