/** The thread startSimulatorThread runs: a simulator, and answers about what it saw. */
import { parentPort, workerData } from 'node:worker_threads';

import { startSimulator, type SimulatorOptions } from '../dev/simulator/server';
import type { SimulatorReply, SimulatorRequest } from './simulator-thread';
import { watch } from './simulator-watch';

async function main(): Promise<void> {
	const port = parentPort;
	if (!port) throw new Error('simulator-worker.ts runs only as a worker thread');
	const sim = await startSimulator((workerData as { options: SimulatorOptions }).options);
	const seen = watch(sim);
	const send = (reply: SimulatorReply) => port.postMessage(reply);
	port.on('message', (request: SimulatorRequest) => {
		if (request.kind === 'report') {
			send({ kind: 'report', report: seen.report() });
		} else if (request.kind === 'reset') {
			seen.reset();
			send({ kind: 'done' });
		} else {
			void sim.stop().then(() => send({ kind: 'done' }));
		}
	});
	send({ kind: 'started', url: sim.url });
}

void main();
