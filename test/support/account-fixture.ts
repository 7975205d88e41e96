/**
 * One Factori account on a simulator of its own, with the credential n8n would hold for it
 * and a log of every data call as the simulator saw it. Each fixture is a fresh port, so a
 * fresh account: the pacer and the login cache are per account and per process.
 */
import { PATHS } from '../../nodes/Factori/transport/contract';
import { logIn, type PostJson } from '../../nodes/Factori/transport/token-flow';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../dev/simulator/server';
import { CredentialStore } from './n8n-harness';

export interface DataCall {
	/** When it arrived (server time, ms). */
	at: number;
	status: number;
	/** The identifier it carried. */
	value: string;
}

export interface AccountFixture {
	sim: Simulator;
	store: CredentialStore;
	limit: number;
	/** Every data call in arrival order (the order of sim.stats.identifiers). */
	calls: DataCall[];
}

/**
 * Returns a function that starts a fixture whose credential allows `limit` calls per second;
 * `simulator` options may set the server's own limit apart. Stops them after each test.
 */
export function accountFixtures(account: { username: string; password: string }) {
	const started: Simulator[] = [];
	afterEach(async () => {
		await Promise.all(started.splice(0).map((sim) => sim.stop()));
	});
	return async (limit: number, simulator: SimulatorOptions = {}): Promise<AccountFixture> => {
		const sim = await startSimulator({ accounts: [account], rateLimit: limit, periodMs: 1_000, ...simulator });
		started.push(sim);
		// The simulator decides a data call's answer in the same turn it arrives in.
		const calls: DataCall[] = [];
		sim.stats.onCall((path, status) => {
			if (path === PATHS.consumerData) {
				calls.push({ at: performance.now(), status, value: sim.stats.identifiers[calls.length]?.value ?? '' });
			}
		});
		const store = new CredentialStore(() => undefined);
		store.put('cred-1', { ...account, baseUrl: sim.url, rateLimit: limit, rateLimitPeriod: 'second' });
		return { sim, store, limit, calls };
	};
}

const postJson: PostJson = async (url, body) => {
	const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	return { status: response.status, body: (await response.json()) as unknown };
};

/** A long token for `account`, through the simulator's token endpoints (the credential's own flow). */
export const longTokenFor = async (baseUrl: string, account: { username: string; password: string }): Promise<string> =>
	await logIn(postJson, { baseUrl, ...account });

/**
 * Puts a long token into the fixture's credential, the state every run after a credential's
 * first starts in, then forgets what the simulator saw of the login.
 */
export async function withStoredToken(fixture: AccountFixture, account: { username: string; password: string }): Promise<AccountFixture> {
	const saved = fixture.store.saved.get('cred-1');
	fixture.store.put('cred-1', { ...saved, longToken: await longTokenFor(fixture.sim.url, account) });
	fixture.sim.resetStats();
	fixture.calls.length = 0;
	return fixture;
}
