/** Jest wiring shared by the tests that talk to the local Factori simulator. */
import * as net from 'net';

import { startSimulator, type Simulator, type SimulatorOptions } from '../../dev/simulator/server';
import { TokenStore } from '../../dev/simulator/tokens';

/**
 * Starts one simulator for the file and hands it over through `bind`; every test starts
 * with clean counters and no pending faults.
 */
export function useSimulator(options: SimulatorOptions, bind: (sim: Simulator) => void): void {
	let sim: Simulator;
	beforeAll(async () => {
		sim = await startSimulator(options);
		bind(sim);
	});
	afterAll(async () => await sim.stop());
	beforeEach(() => {
		sim.resetStats();
		sim.clearFaults();
	});
}

/** Every token the simulator hands out during the current test, to search outputs for secrets. */
export function trackIssuedTokens(): () => string[] {
	let issue: jest.SpiedFunction<TokenStore['issue']>;
	beforeEach(() => {
		issue = jest.spyOn(TokenStore.prototype, 'issue');
	});
	afterEach(() => issue.mockRestore());
	return () => issue.mock.results.flatMap((result) => (result.type === 'return' ? [result.value.token as string] : []));
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as net.AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}
